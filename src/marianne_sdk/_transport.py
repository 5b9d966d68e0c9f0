"""Bytes and framing: one conductor connection carrying NDJSON lines.

The conductor reads and writes one JSON object per line and refuses lines of
16 MiB or more (protocol §1.3), so the limit here is hard in both directions:
anyio's ``max_bytes`` is only checked between reads and would let a longer
line through.

Reads and writes go straight to the non-blocking socket, waiting with
``anyio.wait_readable``/``wait_writable``: on asyncio, anyio's Unix socket
stream wakes its reader with ``Future.set_result``, which raises
``InvalidStateError`` inside the event loop when the read was cancelled just as
data arrived (anyio 4.16), and cancelled reads are routine here. It also saves
a checkpoint per operation.

A call's deadline is an absolute time on anyio's clock, honoured only where an
operation actually has to wait: a cancel scope costs several microseconds, and
most operations do not wait (with the conductor on the same CPU, its answer is
usually there before it is read).
"""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Awaitable, Collection
from typing import Any, TypeVar

import anyio
import msgspec
from anyio.abc import SocketAttribute, SocketStream

from ._errors import DaemonNotRunningError, ProtocolError, RequestTooLargeError
from ._peercred import check_peer

MAX_LINE_BYTES = 16_777_216
"""The conductor's line limit, newline included: longer lines are not processed."""

_MAX_CONTENT = MAX_LINE_BYTES - 1
_RECEIVE_SIZE = 65_536
_LARGE_RECEIVE_SIZE = 1_048_576  # once a line has outgrown one read: fewer reads and waits
_PEEK_FLAGS = socket.MSG_PEEK | socket.MSG_DONTWAIT

HANDSHAKE = b"\n"
"""A blank line: the conductor answers it with a -32700 error (``id`` null) and runs nothing."""

NO_DEADLINE = math.inf

T = TypeVar("T")


class Disconnected(Exception):
    """The peer closed or reset the connection; no partial line was pending."""


class DeadlinePassed(Exception):
    """The caller's deadline passed while an operation waited."""


async def by_deadline(deadline: float, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, or :class:`DeadlinePassed` once ``deadline`` is reached first."""
    if deadline == NO_DEADLINE:
        return await awaitable
    with anyio.CancelScope(deadline=deadline):
        return await awaitable
    raise DeadlinePassed


async def receive_some(
    sock: socket.socket, deadline: float = NO_DEADLINE, size: int = _RECEIVE_SIZE
) -> bytes:
    """Up to ``size`` bytes ``sock`` has, waiting (until ``deadline``) if it has none.

    ``b""`` at EOF.
    """
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            await by_deadline(deadline, anyio.wait_readable(sock))


async def send_all(sock: socket.socket, data: bytes, deadline: float = NO_DEADLINE) -> None:
    """Write all of ``data`` to ``sock``, waiting (until ``deadline``) while its buffer is full.

    If cancelled or out of time, any part of ``data`` may have been written.
    """
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    view = memoryview(data)[sent:]
    while view:
        await by_deadline(deadline, anyio.wait_writable(sock))
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            continue


class _HandshakeReply(msgspec.Struct):
    id: None
    error: dict[str, Any]


_handshake_decoder = msgspec.json.Decoder(_HandshakeReply)


def frame(payload: bytes) -> bytes:
    """``payload`` as a line, or :class:`RequestTooLargeError` if the conductor would drop it."""
    if len(payload) > _MAX_CONTENT:
        raise RequestTooLargeError(
            f"request of {len(payload)} bytes exceeds the conductor's line limit "
            f"of {_MAX_CONTENT} bytes; it was not sent"
        )
    return payload + b"\n"


class Connection:
    """One Unix socket connection to the conductor, read line by line.

    Use :meth:`open`; every I/O failure surfaces as :class:`Disconnected` or
    :class:`ProtocolError`, after which the connection must be closed.
    """

    __slots__ = ("_buffer", "_closed", "_sock", "_stream")

    def __init__(self, stream: SocketStream) -> None:
        self._stream = stream
        # Cached once: looking the raw socket up through ``extra()`` costs more
        # than the peek it is used for.
        self._sock: socket.socket = stream.extra(SocketAttribute.raw_socket)
        self._buffer = bytearray()
        self._closed = False

    @classmethod
    async def open(cls, path: str, trusted_uids: Collection[int] | None) -> Connection:
        """Connect to the socket at ``path`` if it is served by one of ``trusted_uids``.

        Raises :class:`DaemonNotRunningError` (or its subclass
        :class:`UntrustedDaemonError`) when that is impossible.
        """
        try:
            stream = await anyio.connect_unix(path)
        except FileNotFoundError as exc:
            raise DaemonNotRunningError(f"no conductor socket at {path}") from exc
        except ConnectionRefusedError as exc:
            raise DaemonNotRunningError(
                f"conductor socket {path} refuses connections (stale socket file?)"
            ) from exc
        except PermissionError as exc:
            raise DaemonNotRunningError(f"not permitted to connect to {path}") from exc
        except OSError as exc:
            raise DaemonNotRunningError(f"cannot connect to {path}: {exc}") from exc
        connection = cls(stream)
        try:
            check_peer(connection._sock, path, trusted_uids)
        except BaseException:
            await connection.aclose()
            raise
        return connection

    async def send_line(self, line: bytes, deadline: float = NO_DEADLINE) -> None:
        """Write ``line`` (already framed by :func:`frame`, or :data:`HANDSHAKE`)."""
        try:
            await send_all(self._sock, line, deadline)
        except (anyio.ClosedResourceError, OSError) as exc:
            raise Disconnected(str(exc)) from exc

    async def receive_line(self, deadline: float = NO_DEADLINE) -> bytes | bytearray:
        """The next line without its newline.

        Cancelling this, or running out of time, loses nothing: bytes already
        read stay buffered.
        """
        buffer = self._buffer
        if not buffer:
            # The usual case: the whole answer arrives in one read.
            chunk = await self._receive(deadline, _RECEIVE_SIZE)
            end = chunk.find(b"\n")
            if end == len(chunk) - 1:
                return chunk[:end]
            buffer += chunk
        searched = 0
        while True:
            end = buffer.find(b"\n", searched)
            if end >= 0:
                if end > _MAX_CONTENT:
                    break
                if end == len(buffer) - 1:
                    # A long answer usually ends its buffer: hand it over, uncopied.
                    self._buffer = bytearray()
                    del buffer[end:]
                    return buffer
                line = buffer[:end]
                del buffer[: end + 1]
                return line
            if len(buffer) > _MAX_CONTENT:
                break
            searched = len(buffer)
            buffer += await self._receive(deadline, _LARGE_RECEIVE_SIZE)
        raise ProtocolError(f"received a line longer than the limit of {_MAX_CONTENT} bytes")

    async def _receive(self, deadline: float, size: int) -> bytes:
        try:
            chunk = await receive_some(self._sock, deadline, size)
        except (anyio.ClosedResourceError, OSError) as exc:
            raise Disconnected(str(exc)) from exc
        if chunk:
            return chunk
        if self._buffer:
            raise ProtocolError(
                f"connection closed in the middle of a line ({len(self._buffer)} bytes)"
            )
        raise Disconnected("connection closed by the conductor")

    async def handshake_reply(self) -> None:
        """Read the answer to :data:`HANDSHAKE`; anything else is a :class:`ProtocolError`."""
        line = await self.receive_line()
        try:
            _handshake_decoder.decode(line)
        except msgspec.DecodeError:
            raise ProtocolError(
                f"unexpected answer to the connection handshake: {line[:200]!r}"
            ) from None

    def is_reusable(self) -> bool:
        """Whether an idle connection can carry a request: open, nothing unread, no EOF.

        Never blocks: it peeks at the socket without reading.
        """
        if self._closed or self._buffer:
            return False
        try:
            self._sock.recv(1, _PEEK_FLAGS)
        except BlockingIOError:
            return True
        except OSError:
            return False
        # Either EOF (b"") or bytes nobody asked for: both end the connection's use.
        return False

    def close_unused(self) -> None:
        """Close the socket at once, bypassing the event loop.

        Only for finalizers, where nothing can be awaited: safe because no task
        can be using a connection whose owner is being collected.
        """
        self._closed = True
        self._sock.close()

    async def aclose(self) -> None:
        """Close the connection. Idempotent; never raises.

        Shielded so that the socket is closed even by a task being cancelled;
        the cancellation is delivered at the caller's next checkpoint.
        """
        if self._closed:
            return
        self._closed = True
        # Wakes a task waiting to read or write (ClosedResourceError) before the fd goes.
        anyio.notify_closing(self._sock)
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await self._stream.aclose()
