"""The recording proxy behind ``marianne-sdk record``.

Clients connect to the proxy's socket; each accepted connection gets a
connection of its own to the conductor, so the conductor's few connection
slots and the order of messages on each connection are what they would be
without the proxy. Bytes are forwarded as they are read, unchanged, whatever
they contain; the proxy splits a copy of them into lines on the side and
appends each line to the recording as one :class:`~._recording.Exchange`.

A line that is not JSON is recorded as ``raw`` text. A line of
:data:`~._transport.MAX_LINE_BYTES` or more (one the conductor refuses, or
drops the connection for) is still forwarded whole, but only its first
:data:`RAW_KEPT_BYTES` are recorded, followed by a note giving its length:
the recording stays readable, and the proxy's memory bounded.

Each record is written with one ``write`` to a file opened unbuffered, so a
proxy that is killed leaves only whole lines; recording is synchronous, so a
message is in the file before it is forwarded.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import time
from collections.abc import Collection, Iterator
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskStatus

from ._failures import Unreachable
from ._recording import REDACTED, Direction, Exchange, RecordingHeader, encode_line
from ._transport import MAX_LINE_BYTES, connect, receive_some

# The fake conductor's socket helpers: a listener that refuses a served path, as the
# conductor's does, a close that wakes the waiting tasks, and a complete write.
from .testing._wire import close, listen, send_all

RAW_KEPT_BYTES = 4096
"""Bytes of an oversize line kept in the recording (the line is forwarded whole)."""

_RECEIVE_SIZE = 65536

_ENVELOPE = frozenset({"jsonrpc", "id", "method"})
"""A message's own keys, never redacted: replaying matches on them."""

_log = logging.getLogger("marianne_sdk")


class _Lines:
    """Splits a byte stream into lines, keeping at most ``MAX_LINE_BYTES`` of each."""

    def __init__(self) -> None:
        self._kept = bytearray()
        self._length = 0

    def feed(self, chunk: bytes) -> Iterator[tuple[bytes, int]]:
        """The lines ``chunk`` completes: each as ``(kept bytes, full length)``."""
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._add(chunk[start:end])
            yield self._take()
            start = end + 1
        self._add(chunk[start:])

    def rest(self) -> Iterator[tuple[bytes, int]]:
        """The unterminated last line, at the end of the stream, if there is one."""
        if self._length:
            yield self._take()

    def _add(self, part: bytes) -> None:
        room = MAX_LINE_BYTES - len(self._kept)
        if room > 0:
            self._kept += part[:room]
        self._length += len(part)

    def _take(self) -> tuple[bytes, int]:
        line = (bytes(self._kept), self._length)
        self._kept.clear()
        self._length = 0
        return line


class Recorder:
    """Proxies connections from ``listen`` to ``upstream``, recording them into ``out``.

    ``out`` is overwritten. ``redact`` names keys whose values are replaced by
    :data:`~._recording.REDACTED` wherever they occur in a recorded message
    (not in the bytes forwarded). Serve with :meth:`serve`; the file is
    complete whenever it is read, and closed when serving ends.
    """

    def __init__(
        self,
        upstream: str | os.PathLike[str],
        listen: str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        redact: Collection[str] = (),
    ) -> None:
        self.upstream = os.fspath(upstream)
        self.listen = os.fspath(listen)
        self.out = os.fspath(out)
        self.redact = frozenset(redact)
        self.connections = 0
        """Connections accepted so far: the number of the last one."""
        self._file: int | None = None
        self._started = 0.0

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, and proxy every connection until cancelled; then remove the socket file.

        Raises :class:`~marianne_sdk.testing.SocketInUseError` if something
        listens on ``listen`` already (the conductor itself, say).
        """
        listener = listen(self.listen)
        try:
            self._file = os.open(self.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._started = time.monotonic()
            started_at = datetime.datetime.now(datetime.UTC).isoformat()
            self._write(
                RecordingHeader(
                    upstream=self.upstream, started_at=started_at, redacted=sorted(self.redact)
                )
            )
            async with anyio.create_task_group() as task_group:
                task_status.started()
                while True:
                    await anyio.wait_readable(listener)
                    try:
                        client, _ = listener.accept()
                    except BlockingIOError:
                        continue
                    client.setblocking(False)
                    self.connections += 1
                    task_group.start_soon(self._proxy, client, self.connections)
        finally:
            close(listener)
            if self._file is not None:
                os.close(self._file)
                self._file = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen)

    async def _proxy(self, client: socket.socket, number: int) -> None:
        try:
            try:
                upstream = await connect(self.upstream)
            except Unreachable as error:
                _log.warning("record: connection %d: %s", number, error)
                return
            _log.debug("record: connection %d opened", number)
            try:
                async with anyio.create_task_group() as task_group:
                    scope = task_group.cancel_scope
                    task_group.start_soon(
                        self._pump, client, upstream, number, Direction.TO_CONDUCTOR, scope
                    )
                    await self._pump(upstream, client, number, Direction.FROM_CONDUCTOR, scope)
            finally:
                close(upstream)
            _log.debug("record: connection %d closed", number)
        finally:
            close(client)

    async def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        number: int,
        direction: Direction,
        connection: anyio.CancelScope,
    ) -> None:
        """Forward ``source`` to ``sink`` until it ends, recording its lines.

        The end of what a client sends is passed on as such (a half close:
        the answers may still come); the conductor closing, or either side
        failing, ends the whole proxied ``connection``.
        """
        lines = _Lines()
        try:
            while chunk := await receive_some(source, _RECEIVE_SIZE):
                for line, length in lines.feed(chunk):
                    self._record(number, direction, line, length)
                await send_all(sink, chunk)
            if direction is Direction.TO_CONDUCTOR:
                sink.shutdown(socket.SHUT_WR)
                return
        except OSError as error:
            _log.debug("record: connection %d (%s): %s", number, direction.value, error)
        finally:
            # What crossed without a newline before the end (the connection's
            # or the proxy's) crossed all the same.
            for line, length in lines.rest():
                self._record(number, direction, line, length)
        connection.cancel()

    def _record(self, number: int, direction: Direction, line: bytes, length: int) -> None:
        exchange = Exchange(
            connection=number, direction=direction, time=time.monotonic() - self._started
        )
        if length >= MAX_LINE_BYTES:
            exchange.raw = self._raw(line[:RAW_KEPT_BYTES]) + (
                f"... [an oversize line of {length} bytes: the first {RAW_KEPT_BYTES} are recorded]"
            )
        else:
            try:
                exchange.message = self._redacted_message(msgspec.json.decode(line))
            except msgspec.DecodeError:
                exchange.raw = self._raw(line)
        self._write(exchange)

    def _raw(self, line: bytes) -> str:
        text = line.decode(errors="replace")
        if any(key in text for key in self.redact):
            # Not JSON, so there are no keys to find in it: leave none of it.
            return f"{REDACTED} (a line of {len(line)} bytes that is not JSON names a redacted key)"
        return text

    def _redacted_message(self, message: Any) -> Any:
        if not self.redact or not isinstance(message, dict):
            return message
        return {
            key: value if key in _ENVELOPE else self._redacted(key, value)
            for key, value in message.items()
        }

    def _redacted(self, key: str, value: Any) -> Any:
        if key in self.redact:
            return REDACTED
        if isinstance(value, dict):
            return {inner: self._redacted(inner, item) for inner, item in value.items()}
        if isinstance(value, list):
            return [self._redacted("", item) for item in value]
        return value

    def _write(self, record: RecordingHeader | Exchange) -> None:
        assert self._file is not None
        data = memoryview(encode_line(record))
        while data:  # one write, unless the file system takes only part of it
            data = data[os.write(self._file, data) :]
