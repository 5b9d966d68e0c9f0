"""The fake conductor's side of the socket: listening, line framing, writing.

Written apart from the client's transport on purpose, from the conductor's
rules (protocol §1.1-1.3) rather than from the client's code: a framing bug
shared by both sides of every test would pass every test.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat

import anyio

MAX_LINE_BYTES = 16 * 1024 * 1024
"""The conductor's ``MAX_MESSAGE_BYTES`` (protocol §1.3): its reader's limit, and its line check."""

_RECEIVE_SIZE = 65_536
_BACKLOG = 100  # asyncio's default, which the conductor keeps


class SocketInUseError(OSError):
    """Something already listens on the socket path a :class:`FakeDaemon` was given.

    A fake never takes a live socket's place (it could be a real conductor's);
    only a stale socket file, one nobody listens on, is replaced.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            "something is already listening on this socket, and a FakeDaemon never takes "
            "over a live one (stop the other server or choose another path)",
            path,
        )


class LineReader:
    """Lines as the conductor reads them: ``None`` ends the connection.

    A line whose content is longer than 16 MiB cannot be read at all, and the
    conductor then drops the connection; one of exactly 16 MiB is read (and
    refused when parsed).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    async def receive_line(self) -> bytes | None:
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end >= 0:
                if end > MAX_LINE_BYTES:
                    return None
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE_BYTES:
                return None
            searched = len(self._buffer)
            try:
                chunk = await _receive(self._sock)
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk


async def _receive(sock: socket.socket) -> bytes:
    """What ``sock`` has to read, waiting until it has something; ``b""`` at EOF."""
    while True:
        try:
            return sock.recv(_RECEIVE_SIZE)
        except BlockingIOError:
            await anyio.wait_readable(sock)


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write all of ``data`` to the non-blocking ``sock``; ``OSError`` if the client has gone."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            sent = 0
        view = view[sent:]
        if view:
            await anyio.wait_writable(sock)


async def wait_closed(sock: socket.socket) -> None:
    """Return when the client closes ``sock``, without reading what it sends.

    If the client sends more instead, the close can no longer be seen without
    reading, and this waits forever (the conductor would not read either).
    """
    while True:
        await anyio.wait_readable(sock)
        try:
            pending = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError:
            return
        if not pending:
            return
        await anyio.sleep_forever()


def listen(path: str) -> socket.socket:
    """A listening socket at ``path``, replacing a stale socket file as the conductor does.

    Raises :class:`SocketInUseError` if something listens there, and
    ``FileExistsError`` if ``path`` is not a socket.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(mode):
            raise FileExistsError(errno.EEXIST, "exists and is not a socket", path)
        if _is_listening(path):
            raise SocketInUseError(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.setblocking(False)
        listener.bind(path)
        os.chmod(path, 0o660)
        listener.listen(_BACKLOG)
    except OSError as error:
        listener.close()
        if error.errno is None or error.filename is not None:
            raise
        raise type(error)(error.errno, error.strerror, path) from None  # say which path
    except BaseException:
        listener.close()
        raise
    return listener


def _is_listening(path: str) -> bool:
    """Whether a server accepts connections on the socket file ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)  # a server with a full backlog answers EAGAIN, not a wait
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except BlockingIOError:
            return True
        return True


async def accept(listener: socket.socket) -> socket.socket:
    """The next connection to ``listener``, non-blocking."""
    while True:
        await anyio.wait_readable(listener)
        with contextlib.suppress(BlockingIOError):
            connection, _ = listener.accept()
            connection.setblocking(False)
            return connection


def close(sock: socket.socket) -> None:
    """Close ``sock``, waking any task waiting on it first."""
    anyio.notify_closing(sock)
    sock.close()


def remove_socket_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
