"""The floor: the least a client can do per call, on asyncio and on trio.

Write a request line, read a line, ``json.loads`` it: no pool, no handshake, no
id check, no timeout, no typed decode. What the SDK costs is measured against
this.

Concurrent callers share a fixed set of connections (``lanes``), caller ``i``
using lane ``i % lanes`` under that lane's lock, since a conductor connection
carries one request at a time.

A lane is a Unix socket to the conductor, or (``spawn``) one end of a socket
pair whose other end is the standard input and output of a command, such as
``ssh host socat - UNIX-CONNECT:path``: the floor of a remote conductor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import trio

_LIMIT = 16 * 1024 * 1024
_RECEIVE_SIZE = 65_536

_EXIT_WAIT = 5.0
"""Seconds spawned commands have to exit once their input ended, before SIGKILL."""


class Commands:
    """Commands each talking NDJSON on its standard input and output: one lane each."""

    def __init__(self, argv: Sequence[str], lanes: int) -> None:
        self.sockets: list[socket.socket] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(lanes):
                ours, theirs = socket.socketpair()
                self.sockets.append(ours)
                with theirs:
                    self._processes.append(
                        subprocess.Popen(
                            argv,
                            stdin=theirs.fileno(),
                            stdout=theirs.fileno(),
                            stderr=subprocess.DEVNULL,
                            start_new_session=True,
                        )
                    )
                ours.setblocking(False)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the lanes (the commands see the end of their input) and reap every command."""
        for sock in self.sockets:
            sock.close()
        give_up = time.monotonic() + _EXIT_WAIT
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, give_up - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    process.kill()
                process.wait()


def _request(method: str, params: dict[str, Any] | None, request_id: int) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode() + b"\n"


class AsyncioFloor:
    """Raw asyncio streams."""

    def __init__(self, lanes: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
        self._lanes = [(reader, writer, asyncio.Lock()) for reader, writer in lanes]
        self._next_id = 0

    @classmethod
    async def connect(cls, path: str, lanes: int) -> AsyncioFloor:
        """Open ``lanes`` connections to ``path``."""
        return cls([await asyncio.open_unix_connection(path, limit=_LIMIT) for _ in range(lanes)])

    @classmethod
    async def spawn(cls, commands: Commands) -> AsyncioFloor:
        """A lane on each of ``commands``' sockets."""
        return cls(
            [
                await asyncio.open_unix_connection(sock=sock, limit=_LIMIT)
                for sock in commands.sockets
            ]
        )

    async def call(self, method: str, params: dict[str, Any] | None = None, caller: int = 0) -> Any:
        """One request/response on the caller's lane; the decoded result."""
        reader, writer, lock = self._lanes[caller % len(self._lanes)]
        self._next_id += 1
        request = _request(method, params, self._next_id)
        async with lock:
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
        return json.loads(line)["result"]

    async def monitor(self) -> int:
        """Consume ``daemon.monitor.stream`` on lane 0 until its final response; events seen."""
        reader, writer, _ = self._lanes[0]
        writer.write(_request("daemon.monitor.stream", None, 0))
        await writer.drain()
        events = 0
        while "id" not in json.loads(await reader.readline()):
            events += 1
        return events

    async def aclose(self) -> None:
        """Close every lane."""
        for _, writer, _ in self._lanes:
            writer.close()
            await writer.wait_closed()


class _TrioLane:
    """One trio socket stream, read line by line."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.lock = trio.Lock()
        self._buffer = bytearray()

    async def readline(self) -> bytes:
        buffer = self._buffer
        searched = 0
        while (end := buffer.find(b"\n", searched)) < 0:
            searched = len(buffer)
            chunk = await self.stream.receive_some(_RECEIVE_SIZE)
            if not chunk:
                raise EOFError("connection closed by the server")
            buffer += chunk
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        return line


class TrioFloor:
    """trio's own socket streams."""

    def __init__(self, lanes: list[trio.SocketStream]) -> None:
        self._lanes = [_TrioLane(stream) for stream in lanes]
        self._next_id = 0

    @classmethod
    async def connect(cls, path: str, lanes: int) -> TrioFloor:
        """Open ``lanes`` connections to ``path``."""
        return cls([await trio.open_unix_socket(path) for _ in range(lanes)])

    @classmethod
    async def spawn(cls, commands: Commands) -> TrioFloor:
        """A lane on each of ``commands``' sockets."""
        return cls(
            [trio.SocketStream(trio.socket.from_stdlib_socket(sock)) for sock in commands.sockets]
        )

    async def call(self, method: str, params: dict[str, Any] | None = None, caller: int = 0) -> Any:
        """One request/response on the caller's lane; the decoded result."""
        lane = self._lanes[caller % len(self._lanes)]
        self._next_id += 1
        request = _request(method, params, self._next_id)
        async with lane.lock:
            await lane.stream.send_all(request)
            line = await lane.readline()
        return json.loads(line)["result"]

    async def monitor(self) -> int:
        """Consume ``daemon.monitor.stream`` on lane 0 until its final response; events seen."""
        lane = self._lanes[0]
        await lane.stream.send_all(_request("daemon.monitor.stream", None, 0))
        events = 0
        while "id" not in json.loads(await lane.readline()):
            events += 1
        return events

    async def aclose(self) -> None:
        """Close every lane."""
        for lane in self._lanes:
            await lane.stream.aclose()
