"""Helpers shared by the connection-layer tests."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from marianne_sdk import DaemonClient


class LogWatch(logging.Handler):
    """The SDK's log records, with a way to wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._arrived: anyio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self._arrived is not None:
            self._arrived.set()

    async def wait_for(self, text: str) -> None:
        while not any(text in message for message in self.messages):
            self._arrived = anyio.Event()
            await self._arrived.wait()


async def echo(params: dict[str, Any]) -> Any:
    """A FakeDaemon handler: ``params["token"]``, after ``params["delay"]`` seconds."""
    await anyio.sleep(params["delay"])
    return params["token"]


Script = Callable[[socket.socket], Awaitable[None]]


@asynccontextmanager
async def raw_server(path: Path, script: Script) -> AsyncIterator[anyio.Event]:
    """A server running ``script`` on each connection; the event is set when a script ends."""
    finished = anyio.Event()

    async def handle(sock: socket.socket) -> None:
        with sock, contextlib.suppress(OSError):  # the client may hang up mid-script
            await script(sock)
        finished.set()

    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen()
        listener.setblocking(False)
        async with anyio.create_task_group() as task_group:

            async def accept() -> None:
                while True:
                    await anyio.wait_readable(listener)
                    sock, _ = listener.accept()
                    sock.setblocking(False)
                    task_group.start_soon(handle, sock)

            task_group.start_soon(accept)
            yield finished
            task_group.cancel_scope.cancel()


@asynccontextmanager
async def open_client(path: Path, *, managed: bool, **options: Any) -> AsyncIterator[DaemonClient]:
    """A client used as ``async with`` (``managed``) or built, then closed with ``close()``."""
    if managed:
        async with DaemonClient(path, **options) as client:
            yield client
        return
    client = DaemonClient(path, **options)
    try:
        yield client
    finally:
        await client.close()


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write all of ``data`` to the non-blocking ``sock``, as a test server does."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            await anyio.wait_writable(sock)
