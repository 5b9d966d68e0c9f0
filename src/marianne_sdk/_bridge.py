"""The bridge: standard input and output to a conductor's Unix socket, and back.

A remote conductor is reached through ``ssh host <bridge>``: this program,
run on the conductor's host, connects to the conductor's socket and then
copies bytes unchanged, standard input to the socket and the socket to
standard output, until either side closes. It uses the standard library only,
and what Python 3.7 has, so that a host where nothing is installed runs it as
``python3 -c SOURCE [SOCKET_PATH]``; the same code is the command
``marianne-sdk dial-stdio [--socket PATH]``.

Without a path (or with an empty one) it connects to ``$MARIANNE_SOCKET``,
else to ``/tmp/marianne.sock``. As the local client does, it refuses a
socket served by anyone but its own user and root (on Linux, where the
kernel says who the peer is), since anyone can create a socket in ``/tmp``.

Nothing is written to standard output before the connection is made. When
the connection cannot be made, the bridge writes one line on standard error
and exits with one of these statuses:

- :data:`EXIT_NO_SOCKET` (80): nothing at the path, or not a socket;
- :data:`EXIT_REFUSED` (81): the socket refuses the connection (nothing
  listens: a stale socket file) or may not be opened;
- :data:`EXIT_UNTRUSTED` (82): the listener runs as another user;
- 2: bad arguments.

With ``--announce`` (what the SDK's ssh connections pass), the bridge writes
:data:`ANNOUNCEMENT` and the path on standard error once the connection is
made, so that whoever started it over ssh knows when ssh's own start is over
and the conductor's part begins.

It exits with 0 once a connection it made has ended. When standard input
ends, the bridge shuts down the socket's sending side and goes on copying
what the conductor still sends, until the conductor closes, standard output
closes, or the conductor stays silent for :data:`LINGER_SECONDS` (as socat
does): a conductor that does not close on end of input keeps no slot held.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import stat
import struct
import sys
from collections.abc import Iterator, Sequence

PROGRAM = "marianne-sdk dial-stdio"
"""How the bridge names itself on standard error (also when run as ``python3 -c``)."""

SOCKET_ENV_VAR = "MARIANNE_SOCKET"
DEFAULT_SOCKET_PATH = "/tmp/marianne.sock"

EXIT_USAGE = 2
EXIT_NO_SOCKET = 80
EXIT_REFUSED = 81
EXIT_UNTRUSTED = 82

ANNOUNCE_OPTION = "--announce"
ANNOUNCEMENT = "connected to "
"""What follows :data:`PROGRAM` on the line ``--announce`` writes, before the socket path."""

LINGER_SECONDS = 0.5
"""How long a conductor may stay silent after standard input ended."""

_CHUNK = 65_536
# struct ucred: pid, uid, gid.
_UCRED = struct.Struct("3i")


class Refusal(Exception):
    """Why the connection was not made, and the exit status that says so."""

    def __init__(self, exit_status: int, reason: str) -> None:
        super().__init__(reason)
        self.exit_status = exit_status


def peer_credentials(sock: socket.socket) -> tuple[int, int] | None:
    """``(pid, uid)`` of the process at the other end of ``sock``; None where Linux is not."""
    if sys.platform != "linux":
        return None
    pid, uid, _gid = _UCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    )
    return pid, uid


def untrusted_reason(path: str, uid: int, pid: int) -> str:
    """The line reporting an untrusted listener; :func:`parse_untrusted` reads it back."""
    trusted = ", ".join(str(each) for each in sorted({0, os.getuid()}))
    return (
        f"refusing the conductor on {path}: it runs as uid {uid} (pid {pid}), "
        f"not as a trusted uid ({trusted})"
    )


_UNTRUSTED = re.compile(r"refusing the conductor on (.*): it runs as uid (\d+) \(pid (\d+)\)")


def parse_untrusted(line: str) -> tuple[str, int, int] | None:
    """``(path, uid, pid)`` from a line :func:`untrusted_reason` wrote; None from another."""
    found = _UNTRUSTED.search(line)
    if found is None:
        return None
    return found[1], int(found[2]), int(found[3])


def open_conductor(path: str) -> socket.socket:
    """A connected, non-blocking socket to ``path`` served by this user or root, or a :class:`Refusal`.

    Connecting waits while the listener's queue of unaccepted connections
    is full; whoever started the bridge bounds that wait.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError as error:
            raise _refusal(path, error) from error
        _check_listener(sock, path)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_listener(sock: socket.socket, path: str) -> None:
    credentials = peer_credentials(sock)
    if credentials is not None:
        pid, uid = credentials
        if uid not in (0, os.getuid()):
            raise Refusal(EXIT_UNTRUSTED, untrusted_reason(path, uid, pid))


def _refusal(path: str, error: OSError) -> Refusal:
    if isinstance(error, FileNotFoundError):
        return Refusal(EXIT_NO_SOCKET, f"no conductor socket at {path}")
    with contextlib.suppress(OSError):
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return Refusal(EXIT_NO_SOCKET, f"{path} is not a socket: no conductor listens there")
    if isinstance(error, PermissionError):
        return Refusal(EXIT_REFUSED, f"not permitted to connect to {path}")
    if isinstance(error, ConnectionRefusedError):
        return Refusal(
            EXIT_REFUSED, f"nothing listens on the conductor socket {path} (a stale socket file)"
        )
    return Refusal(EXIT_REFUSED, f"cannot connect to {path}: {error}")


def forward(sock: socket.socket, stdin: int = 0, stdout: int = 1) -> None:
    """Copy ``stdin`` to ``sock`` and ``sock`` to ``stdout`` until the connection ends.

    One thread, non-blocking descriptors and ``poll``: each direction has a
    buffer, and a side is read only once its buffer has been passed on, so
    neither direction can block the other (a blocking write in one
    direction while the other peer waits for it to read would deadlock).
    ``stdout`` is watched even when there is nothing to write, so that a
    reader that went away ends the bridge at once.
    """
    up = bytearray()  # read from stdin, not yet sent
    down = bytearray()  # received from the conductor, not yet written
    stdin_open = True
    sending = True  # the socket's sending side is not shut down
    sock_fd = sock.fileno()
    poller = select.poll()
    while True:
        _watch(poller, stdin, select.POLLIN if stdin_open and not up else None)
        # A closed socket reports a hang-up whatever is asked: not watched
        # while its bytes wait for stdout and nothing waits for it.
        _watch(poller, sock_fd, (select.POLLOUT if up else 0) | (0 if down else select.POLLIN))
        _watch(poller, stdout, select.POLLOUT if down else 0)
        ready = poller.poll(None if stdin_open else LINGER_SECONDS * 1000)
        if not ready:
            return  # the conductor stayed silent after the input ended
        for fd, _events in ready:
            if fd == stdin:
                data = _read(stdin)
                if data is not None:
                    up += data
                    stdin_open = bool(data)
            elif fd == sock_fd and not down:
                data = _receive(sock)
                if data is not None:
                    if not data:
                        return  # the conductor closed, and all it sent was written
                    down += data
            elif fd == stdout and not down:
                return  # only an error or hang-up: nobody reads the conductor any more
        # Pass on at once what was read: waiting for POLLOUT first would cost a poll per line.
        if (up and not _send(sock, up)) or (down and not _write(stdout, down)):
            return
        if sending and not stdin_open and not up:
            sending = False
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)


def _watch(poller: select.poll, fd: int, events: int | None) -> None:
    """Poll ``fd`` for ``events`` (0: errors and hang-ups only; None: not at all)."""
    if events is not None:
        poller.register(fd, events)
        return
    with contextlib.suppress(KeyError):
        poller.unregister(fd)


def _read(fd: int) -> bytes | None:
    """What ``fd`` has (``b""`` at its end or on an error); None if nothing yet."""
    try:
        return os.read(fd, _CHUNK)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _receive(sock: socket.socket) -> bytes | None:
    """What the conductor sent (``b""`` once it closed or reset); None if nothing yet."""
    try:
        return sock.recv(_CHUNK)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _send(sock: socket.socket, buffer: bytearray) -> bool:
    """Send what the socket takes of ``buffer`` now, and drop it; False if the conductor is gone."""
    try:
        del buffer[: sock.send(buffer)]
    except BlockingIOError:
        pass
    except OSError:
        return False
    return True


def _write(fd: int, buffer: bytearray) -> bool:
    """Write what ``fd`` takes of ``buffer`` now, and drop it; False if its reader is gone."""
    try:
        del buffer[: os.write(fd, buffer)]
    except BlockingIOError:
        pass
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _non_blocking(*fds: int) -> Iterator[None]:
    """``fds`` non-blocking for the duration, then as they were (a terminal is shared)."""
    was_blocking = [os.get_blocking(fd) for fd in fds]
    for fd in fds:
        os.set_blocking(fd, False)
    try:
        yield
    finally:
        # No zip(strict=True): the bridge runs on the remote host's python3, 3.7 or later.
        for fd, blocking in zip(fds, was_blocking):  # noqa: B905
            with contextlib.suppress(OSError):
                os.set_blocking(fd, blocking)


def main(argv: Sequence[str] | None = None) -> int:
    """Bridge standard input and output to the socket ``argv``, ``[--announce] [SOCKET_PATH]``.

    Returns the exit status.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    announce = args[:1] == [ANNOUNCE_OPTION]
    if announce:
        del args[0]
    if len(args) > 1 or args[:1] == [ANNOUNCE_OPTION]:
        sys.stderr.write(f"usage: {PROGRAM} [{ANNOUNCE_OPTION}] [SOCKET_PATH]\n")
        return EXIT_USAGE
    path = (args[0] if args else "") or os.environ.get(SOCKET_ENV_VAR) or DEFAULT_SOCKET_PATH
    try:
        sock = open_conductor(path)
    except Refusal as refusal:
        sys.stderr.write(f"{PROGRAM}: {refusal}\n")
        return refusal.exit_status
    if announce:
        sys.stderr.write(f"{PROGRAM}: {ANNOUNCEMENT}{path}\n")
        sys.stderr.flush()
    with sock, _non_blocking(0, 1):
        forward(sock)
    return 0


def source() -> str:
    """This module's source: the program ``python3 -c`` runs on a remote host."""
    with open(__file__, encoding="utf-8") as file:
        return file.read()


if __name__ == "__main__":
    sys.exit(main())
