"""Bytes and framing: one conductor connection carrying NDJSON lines.

The conductor reads and writes one JSON object per line and refuses lines of
16 MiB or more (protocol §1.3), so the limit here is hard in both directions:
anyio's ``max_bytes`` is only checked between reads and would let a longer
line through.

Connecting, reads and writes go straight to the non-blocking socket rather
than through anyio's socket stream: on asyncio, that stream wakes its reader
with ``Future.set_result``, which raises ``InvalidStateError`` inside the
event loop when the read was cancelled just as data arrived (anyio 4.16), and
cancelled reads are routine here; uvloop does the same to a cancelled
connect. A Unix socket connects at once or not at all: when the listener's
queue of connections waiting to be accepted is full, the connect is refused
(``EAGAIN``), and :func:`connect` tries again until it is cancelled.

How bytes are read depends on the event loop. On asyncio, a reader callback
stays registered for the connection's life and moves bytes into its buffer
as they arrive, as asyncio's own transports do: registering and unregistering
with epoll for every read would cost two system calls per response. On trio
(and any other loop) the reading task itself waits for the socket with
``anyio.wait_readable``, which trio implements with one registration per wait.

A connection is a connected stream socket, however it was made: a
:class:`Connector` makes them for one conductor (:class:`UnixConnector` for
a local socket; an ssh child's end of a socket pair for a remote one), and
:func:`connection_type` chooses, once per event loop, how they are read.

Nothing here knows about time: the pool ends a wait that outlived its
caller's deadline by closing the connection under it (:meth:`Connection.expire`),
which turns that wait into :class:`DeadlinePassed`. Failures are the
:mod:`._failures` of a connection, never public errors.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import weakref
from collections.abc import Callable, Collection
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import anyio
import msgspec

from ._backends import Backend, current_backend
from ._failures import BadLine, DeadlinePassed, Disconnected, NotSent, Unreachable
from ._peercred import check_peer

if TYPE_CHECKING:
    import asyncio

MAX_LINE_BYTES = 16_777_216
"""The conductor's line limit, newline included: longer lines are not processed."""

MAX_CONTENT = MAX_LINE_BYTES - 1
"""The longest line content the conductor processes, newline excluded."""
_RECEIVE_SIZE = 65_536
_LARGE_RECEIVE_SIZE = 1_048_576  # once a line has outgrown one read: fewer reads and waits
_PAUSE_READING_AT = _LARGE_RECEIVE_SIZE  # buffered bytes holding a whole line
_PEEK_FLAGS = socket.MSG_PEEK | socket.MSG_DONTWAIT

HANDSHAKE = b"\n"
"""A blank line: the conductor answers it with a -32700 error (``id`` null) and runs nothing."""


async def receive_some(sock: socket.socket, size: int = _RECEIVE_SIZE) -> bytes:
    """Up to ``size`` bytes ``sock`` has, waiting if it has none; ``b""`` at EOF."""
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            await anyio.wait_readable(sock)


_QUEUE_FULL_RETRY = 0.01
"""Seconds between connects while the listener's accept queue is full."""


async def connect(path: str) -> socket.socket:
    """A non-blocking socket connected to ``path``; :class:`Unreachable` if impossible.

    Waits, trying again, while the listener's accept queue is full: bound it
    with a cancel scope.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        while True:
            try:
                sock.connect(path)
            except BlockingIOError:
                await anyio.sleep(_QUEUE_FULL_RETRY)
            except OSError as exc:
                raise Unreachable(_why_unreachable(path, exc)) from exc
            else:
                return sock
    except BaseException:
        sock.close()
        raise


def send_now(sock: socket.socket, data: bytes | memoryview) -> int:
    """How much of ``data`` ``sock`` takes without waiting (usually all of it)."""
    try:
        return sock.send(data)
    except BlockingIOError:
        return 0


class _HandshakeReply(msgspec.Struct):
    id: None
    error: dict[str, Any]


_handshake_decoder = msgspec.json.Decoder(_HandshakeReply)


class Opened(NamedTuple):
    """A new connection's socket, connected and non-blocking, and what else it holds."""

    sock: socket.socket
    release: Callable[[], None] | None = None
    """Frees the rest once the socket is closed (a remote connection's ssh child)."""


class Connector(Protocol):
    """How the connections to one conductor are made; the pool is given one."""

    @property
    def target(self) -> str:
        """The conductor, as messages name it: a socket path or an ``ssh://`` URL."""

    async def connect(self) -> Opened:
        """A new connection to the conductor; :class:`Unreachable` (or a subclass) if impossible.

        Gives up with :class:`Unreachable` once making it has taken the
        connector's connect timeout, saying what it waited for; the pool
        bounds it by its caller's deadline too, with a cancel scope, and a
        cancelled connect leaves nothing behind.
        """


class UnixConnector:
    """Connections to the conductor's local Unix socket, checked for whom it runs as."""

    __slots__ = ("_connect_timeout", "_trusted_uids", "target")

    def __init__(
        self, path: str, trusted_uids: Collection[int] | None, connect_timeout: float
    ) -> None:
        self.target = path
        self._trusted_uids = trusted_uids
        self._connect_timeout = connect_timeout

    async def connect(self) -> Opened:
        # Connecting to a listening socket is immediate: only a full accept queue waits.
        with anyio.move_on_after(self._connect_timeout):
            sock = await connect(self.target)
            try:
                check_peer(sock, self.target, self._trusted_uids)
            except BaseException:
                sock.close()
                raise
            return Opened(sock)
        raise Unreachable(f"{self.target} accepted no connection within {self._connect_timeout} s")


def connection_type(backend: Backend) -> Callable[[Opened], Connection]:
    """How connections are read on ``backend``'s loop: chosen once per loop, by the pool."""
    loop = backend.asyncio_loop
    if loop is None:
        return Connection
    return partial(_ReaderConnection, loop=loop)


class Connection:
    """One Unix socket connection to the conductor, read line by line.

    Made by the pool from a :class:`Connector`'s :class:`Opened` through
    :func:`connection_type`. Every I/O failure surfaces as :class:`Disconnected`
    (:class:`NotSent` when no byte of a request was written), :class:`BadLine`
    or (after :meth:`expire`) :class:`DeadlinePassed`, after which the
    connection must be closed.
    """

    __slots__ = ("__weakref__", "_buffer", "_closed", "_release", "_sock", "_timed_out")

    def __init__(self, opened: Opened) -> None:
        self._sock = opened.sock
        self._release = opened.release
        self._buffer = bytearray()
        self._closed = False
        self._timed_out = False

    @classmethod
    async def open(
        cls, path: str, trusted_uids: Collection[int] | None, connect_timeout: float = 5.0
    ) -> Connection:
        """A connection to the local socket at ``path``, read as the running loop reads."""
        opened = await UnixConnector(path, trusted_uids, connect_timeout).connect()
        return connection_type(current_backend())(opened)

    async def send_line(self, line: bytes) -> None:
        """Write ``line`` (a framed request, or :data:`HANDSHAKE`).

        :class:`NotSent` says that none of it was written: the conductor
        cannot have read any of it, so it may go out on another connection.
        """
        sent = 0
        try:
            # A line usually fits the socket's buffer: no coroutine to wait in.
            sent = send_now(self._sock, line)
            while sent < len(line):
                await anyio.wait_writable(self._sock)
                sent += send_now(self._sock, memoryview(line)[sent:])
        except (anyio.ClosedResourceError, OSError) as exc:
            raise self._failure(str(exc), nothing_sent=sent == 0) from exc

    async def receive_line(self, *, eager: bool = True) -> bytes | bytearray:
        """The next line without its newline.

        On asyncio, ``eager`` tries the socket before waiting for the loop to
        find it readable. That saves a trip through the loop when the answer
        is already there, as it usually is for a lone call; but with other
        calls in flight it makes the conductor (on the same CPU) answer
        requests one at a time instead of a batch at a time. A trio task
        always tries the socket first: there, waiting first measured slower.

        Cancelling this loses nothing: bytes already read stay buffered.
        """
        searched = 0
        while True:
            buffer = self._buffer
            end = buffer.find(b"\n", searched)
            if end >= 0:
                if end > MAX_CONTENT:
                    break
                if end == len(buffer) - 1:
                    # An answer usually ends its buffer: hand it over, uncopied.
                    self._buffer = bytearray()
                    del buffer[end:]
                    return buffer
                line = buffer[:end]
                del buffer[: end + 1]
                return line
            if len(buffer) > MAX_CONTENT:
                break
            searched = len(buffer)
            await self._receive_more(eager)
        raise BadLine(f"received a line longer than the limit of {MAX_CONTENT} bytes")

    async def _receive_more(self, eager: bool) -> None:
        """Wait for bytes, and add them to the buffer."""
        size = _RECEIVE_SIZE if len(self._buffer) < _RECEIVE_SIZE else _LARGE_RECEIVE_SIZE
        try:
            chunk = await receive_some(self._sock, size)
        except (anyio.ClosedResourceError, OSError) as exc:
            raise self._failure(str(exc)) from exc
        if not chunk:
            raise self._end_of_stream()
        self._buffer += chunk

    def _end_of_stream(self) -> Exception:
        if self._buffer:
            return BadLine(f"connection closed in the middle of a line ({len(self._buffer)} bytes)")
        return Disconnected("connection closed by the conductor")

    def _failure(self, reason: str, *, nothing_sent: bool = False) -> Exception:
        """What an I/O error means: the connection broke, or :meth:`expire` closed it."""
        if self._timed_out:
            return DeadlinePassed()
        return NotSent(reason) if nothing_sent else Disconnected(reason)

    async def handshake_reply(self) -> None:
        """Read the answer to :data:`HANDSHAKE`; anything else is a :class:`BadLine`."""
        line = await self.receive_line()
        try:
            _handshake_decoder.decode(line)
        except msgspec.DecodeError:
            raise BadLine(
                f"unexpected answer to the connection handshake: {bytes(line[:200])!r}"
            ) from None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` (or :meth:`expire`) has been called."""
        return self._closed

    def is_reusable(self) -> bool:
        """Whether an idle connection can carry a request: open, nothing unread, no EOF.

        Never blocks: it peeks at the socket itself, which knows of a peer
        that closed or restarted even while the loop has not run since.
        """
        return not self._closed and not self._buffer and _socket_is_clean(self._sock)

    def expire(self) -> None:
        """Close the connection because its user's deadline passed.

        The wait it is in, or its next operation, raises :class:`DeadlinePassed`.
        """
        self._timed_out = True
        self.close()

    def close(self) -> None:
        """Close the connection at once. Idempotent; never raises, never waits.

        A task waiting to read or write on it is woken with the error its
        operation then raises.
        """
        if self._closed:
            return
        self._closed = True
        self._stop_reading()
        anyio.notify_closing(self._sock)
        self._close_socket()

        self._release_rest()

    def close_unused(self) -> None:
        """Close the socket without the event loop, for finalizers (nothing can be awaited).

        Safe because no task can be using a connection whose owner is being collected.
        """
        if self._closed:
            return
        self._closed = True
        self._close_socket()
        self._release_rest()

    def forget(self) -> None:
        """Drop a connection inherited by a forked child, touching nothing the parent uses.

        Only this process's descriptor closes: the parent's connection, its
        registration with the parent's event loop and any ssh child stay as
        they are.
        """
        self._closed = True
        self._release = None
        self._sock.close()

    def _stop_reading(self) -> None:
        """End what reads for this connection; a reading task is woken by ``notify_closing``."""

    def _close_socket(self) -> None:
        self._sock.close()

    def _release_rest(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class _ReaderConnection(Connection):
    """A connection whose bytes an asyncio reader callback moves into the buffer.

    The callback wakes a waiting task only at a newline, at the line limit or
    at the end of the stream, so a long answer costs one wake-up, not one per
    read.
    """

    __slots__ = ("_ended", "_loop", "_paused", "_release_socket", "_waiter")

    def __init__(self, opened: Opened, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(opened)
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._ended: Exception | None = None
        self._paused = False
        # The loop holds the callback, the callback only a weak reference: a
        # connection nobody closed is still collected, and then unregistered
        # before its socket closes (a closed fd left registered would break
        # the next socket to get its number).
        self._release_socket = weakref.finalize(self, _release_socket, loop, self._sock)
        # Not at interpreter exit: whoever owns the connection (a blocking
        # client's own exit hook) still has to close it then, through the loop.
        self._release_socket.atexit = False
        self._read_when_ready()

    def _read_when_ready(self) -> None:
        self._loop.add_reader(self._sock, _on_readable, weakref.ref(self))

    def on_readable(self) -> None:
        """Move what the socket has into the buffer (the reader callback)."""
        buffer = self._buffer
        size = _RECEIVE_SIZE if len(buffer) < _RECEIVE_SIZE else _LARGE_RECEIVE_SIZE
        try:
            chunk = self._sock.recv(size)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(self._failure(str(exc)))
            return
        if not chunk:
            self._end(self._end_of_stream())
            return
        buffer += chunk
        if b"\n" in chunk:
            if len(buffer) >= _PAUSE_READING_AT:
                # Lines nobody has taken yet: let the conductor wait, as a
                # reading task would.
                self._loop.remove_reader(self._sock)
                self._paused = True
            self._wake()
        elif len(buffer) > MAX_CONTENT:
            # No line can end within the limit now: receive_line says so.
            self._end(BadLine("line limit exceeded"))

    def _end(self, error: Exception) -> None:
        self._ended = error
        if not self._loop.is_closed():
            self._loop.remove_reader(self._sock)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _receive_more(self, eager: bool) -> None:
        if self._ended is not None:
            raise self._ended
        if self._paused:
            self._paused = False
            self._read_when_ready()
        searched = len(self._buffer)
        if eager:
            self.on_readable()
            if len(self._buffer) != searched or self._ended is not None:
                return
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if len(self._buffer) == searched and self._ended is not None:
            raise self._ended

    def is_reusable(self) -> bool:
        # What the reader callback has taken, and what the socket has that it
        # has not run for yet (the loop may have been blocked since).
        return (
            not self._closed
            and not self._buffer
            and self._ended is None
            and _socket_is_clean(self._sock)
        )

    def forget(self) -> None:
        # The parent's loop shares the epoll instance: unregistering would
        # unregister the parent's connection.
        self._release_socket.detach()
        super().forget()

    def _stop_reading(self) -> None:
        if self._ended is None:
            self._end(self._failure("connection closed"))

    def _close_socket(self) -> None:
        self._release_socket()


def _socket_is_clean(sock: socket.socket) -> bool:
    """Whether ``sock`` has neither unread bytes nor an end of stream nor an error pending."""
    try:
        sock.recv(1, _PEEK_FLAGS)
    except BlockingIOError:
        return True
    except OSError:
        return False
    # Either EOF (b"") or bytes nobody asked for: both end the connection's use.
    return False


def _on_readable(connection: weakref.ref[_ReaderConnection]) -> None:
    reader = connection()
    if reader is not None:
        reader.on_readable()


def _release_socket(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Stop watching ``sock``, then close it; also the finalizer of a collected connection."""
    with contextlib.suppress(Exception):  # a closed loop has nothing to unregister
        loop.remove_reader(sock)
    sock.close()


def _why_unreachable(path: str, error: OSError) -> str:
    """What a failed connect to ``path`` means, for :class:`DaemonNotRunningError`."""
    if isinstance(error, FileNotFoundError):
        return f"no conductor socket at {path}"
    with contextlib.suppress(OSError):
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return f"{path} is not a socket: no conductor listens there"
    if isinstance(error, PermissionError):
        return f"not permitted to connect to {path}"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing listens on the conductor socket {path} (a stale socket file)"
    return f"cannot connect to {path}: {error}"
