"""Remote conductors over the user's own OpenSSH: targets, the ssh child, and its end.

``ssh://[user@]host[:port][/path/to/conductor.sock]`` names a conductor on
another host. One connection to it is one ``ssh`` child process running the
bridge (:mod:`._bridge`) on the host, so the user's ssh config, agent, jump
hosts and known hosts all apply. The ssh command is ``$MARIANNE_SSH_COMMAND``
(split like a shell line; default ``ssh``), as git does with
``GIT_SSH_COMMAND``; the SDK adds ``-T``, ``BatchMode`` (no prompt may wait
for an answer nobody gives), a ``ConnectTimeout``, keepalives, the port and
the user. Host-key checking is left to the user's configuration and never
turned off.

The child's standard input and output are one end of a socket pair, so a
remote connection is read and written exactly as a local socket is. Its
standard error is another socket pair, read until the bridge announces that
it reached the conductor's socket (``--announce``): only then is the
connection handed to the pool, so ssh's own start (about 0.4 s) never counts
as the conductor withholding a slot. When ssh ends before that, its last
lines of standard error say why (``Host key verification failed.``).

An ssh child is always reaped, and never waited for with the event loop
blocked: :meth:`SSHProcess.close` closes the socket, so that ssh sees the end
of its input and exits by itself, and hands the child to the reaper, which
polls it (``waitpid`` with ``WNOHANG``) on the event loop's timers, sends
SIGTERM after :data:`TERMINATE_AFTER` seconds and SIGKILL
:data:`KILL_AFTER` seconds later. A child whose event loop ended before it
did is reaped by the next start of an ssh child, or at interpreter exit. A
process forked from this one forgets the children it inherited without
signalling them: they are its parent's.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import logging
import math
import os
import shlex
import socket
import subprocess
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

import anyio

from . import _bridge
from ._backends import Backend, current_backend
from ._failures import SSHFailed, Unreachable, Untrusted
from ._transport import Opened, receive_some

SSH_COMMAND_ENV_VAR = "MARIANNE_SSH_COMMAND"
SCHEME = "ssh://"

SERVER_ALIVE_INTERVAL = 15
SERVER_ALIVE_COUNT_MAX = 3
"""Keepalives: a host that stopped answering ends its connections within 45 s."""

TERMINATE_AFTER = 2.0
"""Seconds a closed connection's ssh has to exit by itself before SIGTERM.

It usually needs one round trip; the bridge lingers up to
:data:`._bridge.LINGER_SECONDS` when the conductor does not close at the end
of its input."""

KILL_AFTER = 2.0
"""Seconds after SIGTERM before SIGKILL."""

EXIT_WAIT = 2.0
"""Seconds a failed connection's ssh has to report its exit status."""

_STDERR_KEPT_BYTES = 4096
_STDERR_LINES = 5
_POLL_FIRST = 0.01
_POLL_MAX = 0.25
_SSH_FAILED = 255
_COMMAND_NOT_FOUND = 127

_log = logging.getLogger("marianne_sdk")


def is_ssh_target(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` is an ``ssh://`` URL rather than a socket path."""
    return isinstance(target, str) and target.startswith(SCHEME)


@dataclass(frozen=True)
class SSHTarget:
    """A remote conductor: where ssh logs in, and the socket path on that host.

    ``path`` None means the host's default: its ``$MARIANNE_SOCKET``, else
    ``/tmp/marianne.sock``.
    """

    host: str
    user: str | None = None
    port: int | None = None
    path: str | None = None

    @classmethod
    def parse(cls, url: str) -> SSHTarget:
        """``ssh://[user@]host[:port][/path]`` (IPv6 hosts in brackets); ValueError if malformed."""
        if not url.startswith(SCHEME):
            raise ValueError(f"not an ssh:// target: {url!r}")
        rest = url[len(SCHEME) :]
        if "?" in rest or "#" in rest:
            raise ValueError(f"an ssh:// target takes no query or fragment: {url!r}")
        authority, slash, path = rest.partition("/")
        user_text, at, host_port = authority.rpartition("@")
        if ":" in user_text:
            raise ValueError(f"an ssh:// target takes no password (ssh uses keys): {url!r}")
        host, port = _split_host_port(host_port, url)
        user = unquote(user_text) if at else None
        if at and not user:
            raise ValueError(f"empty user name in {url!r}")
        socket_path = unquote("/" + path) if slash and path else None
        if socket_path is not None and "\0" in socket_path:
            raise ValueError(f"NUL in the socket path of {url!r}")
        return cls(host=host, user=user, port=port, path=socket_path)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{quote(self.user, safe='')}@" if self.user is not None else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{SCHEME}{user}{host}{port}{quote(self.path or '')}"

    def ssh_argv(self, connect_timeout: float) -> list[str]:
        """The ssh command line that runs the bridge on the host."""
        argv = shlex.split(os.environ.get(SSH_COMMAND_ENV_VAR) or "ssh")
        if not argv:
            raise ValueError(f"${SSH_COMMAND_ENV_VAR} names no command")
        argv += [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={max(1, math.ceil(connect_timeout))}",
            "-o",
            f"ServerAliveInterval={SERVER_ALIVE_INTERVAL}",
            "-o",
            f"ServerAliveCountMax={SERVER_ALIVE_COUNT_MAX}",
        ]
        if self.port is not None:
            argv += ["-p", str(self.port)]
        if self.user is not None:
            argv += ["-l", self.user]
        return [*argv, "--", self.host, remote_command(self.path)]


def _split_host_port(text: str, url: str) -> tuple[str, int | None]:
    port_text: str | None
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError(f"malformed [IPv6] host in {url!r}")
        port_text = after[1:] if after else None
    else:
        host, colon, after = text.partition(":")
        port_text = after if colon else None
    if not host or host.startswith("-") or any(c.isspace() or c in "@/[]" for c in host):
        raise ValueError(f"malformed host in {url!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"malformed port in {url!r}")
    return host, int(port_text)


@cache
def _bridge_program() -> str:
    """The bridge's source as one shell-safe line of Python: compressed, base64, no quotes."""
    packed = base64.b64encode(zlib.compress(_bridge.source().encode(), 9)).decode("ascii")
    return f'import base64,zlib;exec(zlib.decompress(base64.b64decode("{packed}")))'


def remote_command(path: str | None) -> str:
    """The remote shell line that bridges to ``path`` (None: the host's default).

    ``marianne-sdk dial-stdio`` where the host has it on its PATH, else the
    bridge's source through ``python3 -c``, which every conductor host has.
    """
    announce = _bridge.ANNOUNCE_OPTION
    dial = f"marianne-sdk dial-stdio {announce}" + (
        f" --socket {shlex.quote(path)}" if path else ""
    )
    python = f"python3 -c {shlex.quote(_bridge_program())} {announce} {shlex.quote(path or '')}"
    return f"command -v marianne-sdk >/dev/null 2>&1 && exec {dial} || exec {python}"


class SSHProcess:
    """One ssh child running the bridge, its standard input and output on :attr:`sock`.

    Use :meth:`start`, then :meth:`until_bridged`; :meth:`close` when done
    (idempotent, never blocks). A process collected without being closed is
    closed by its finalizer.
    """

    def __init__(
        self,
        target: SSHTarget,
        popen: subprocess.Popen[bytes],
        sock: socket.socket,
        stderr: socket.socket,
    ) -> None:
        self.target = target
        self.sock = sock
        """This end of the socket pair: non-blocking, the bridge's bytes."""
        self._popen = popen
        self._stderr = stderr
        self._said = bytearray()  # what ssh wrote on standard error, its last bytes
        self._close = weakref.finalize(self, _close, popen, sock, stderr, os.getpid(), _LoopRef())
        self._close.atexit = False  # at exit, the reaper stops every child itself
        _reaper.track(self)

    @classmethod
    def start(cls, target: SSHTarget, connect_timeout: float) -> SSHProcess:
        """Start ssh to ``target``; :class:`SSHFailed` if it cannot be run.

        The fork and exec happen on the caller's thread: about a millisecond.
        """
        _reaper.sweep()
        argv = target.ssh_argv(connect_timeout)
        ours, theirs = socket.socketpair()
        said, says = socket.socketpair()
        try:
            with theirs, says:
                popen = subprocess.Popen(
                    argv,
                    stdin=theirs.fileno(),
                    stdout=theirs.fileno(),
                    stderr=says.fileno(),
                    close_fds=True,
                    # Its own session: a Ctrl-C in the terminal is the program's to handle.
                    start_new_session=True,
                )
            ours.setblocking(False)
            said.setblocking(False)
        except OSError as error:
            ours.close()
            said.close()
            raise SSHFailed(
                f"cannot run the ssh command {argv[0]!r} for {target}: {error} "
                f"(${SSH_COMMAND_ENV_VAR} sets the ssh command)",
                target=str(target),
                stderr="",
            ) from error
        return cls(target, popen, ours, said)

    async def until_bridged(self) -> None:
        """Return once the bridge says it reached the conductor's socket.

        Raises the failure that ssh's end means when it ends first; bound it
        with a cancel scope.
        """
        announced = f"{_bridge.PROGRAM}: {_bridge.ANNOUNCEMENT}".encode()
        while True:
            chunk = await receive_some(self._stderr)
            if not chunk:
                raise await self.failure()
            self._said += chunk
            if announced in self._said:
                return
            del self._said[:-_STDERR_KEPT_BYTES]

    def silence(self, seconds: float) -> SSHFailed:
        """The failure of an ssh that has not reached the conductor's socket in ``seconds``."""
        tail = self.stderr_tail()
        return SSHFailed(
            f"ssh to {self.target} did not reach the conductor's socket within {seconds} s"
            + (f": {tail}" if tail else ""),
            target=str(self.target),
            stderr=tail,
        )

    def stderr_tail(self) -> str:
        """ssh's last lines of standard error (its own, and the remote command's)."""
        lines = [line.strip() for line in self._said.decode(errors="replace").splitlines()]
        return "\n".join([line for line in lines if line][-_STDERR_LINES:])

    async def failure(self) -> Unreachable:
        """Why the connection ended before the bridge reached the conductor, from ssh's exit.

        Waits up to :data:`EXIT_WAIT` for ssh to exit (its standard error
        ended because it is exiting), polling: ``waitpid`` has no awaitable
        form on every loop.
        """
        delay = _POLL_FIRST
        with anyio.move_on_after(EXIT_WAIT):
            while self._popen.poll() is None:
                await anyio.sleep(delay)
                delay = min(2 * delay, _POLL_MAX)
        return exit_failure(self.target, self._popen.returncode, self.stderr_tail())

    def close(self) -> None:
        """Close the connection and leave ssh to the reaper. Idempotent; never blocks."""
        self._close()

    def end_input(self) -> None:
        """At interpreter exit: make ssh see the end of its input, and have it reaped.

        The socket stays open for its connection to close: the blocking
        client's exit hook may not have run yet.
        """
        if self._close.alive:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            _reaper.bury(self._popen, None)


class SSHConnector:
    """Connections to a remote conductor, each one ssh child running the bridge."""

    __slots__ = ("_connect_timeout", "_target", "target")

    def __init__(self, target: SSHTarget, connect_timeout: float) -> None:
        self._target = target
        self._connect_timeout = connect_timeout
        self.target = str(target)

    async def connect(self) -> Opened:
        process = SSHProcess.start(self._target, self._connect_timeout)
        try:
            await self._until_bridged(process)
        except BaseException:
            process.close()
            raise
        return Opened(process.sock, release=process.close)

    async def _until_bridged(self, process: SSHProcess) -> None:
        # ssh's ConnectTimeout covers only its TCP connection: a host that
        # accepts it and then says nothing is bounded here.
        with anyio.move_on_after(self._connect_timeout):
            await process.until_bridged()
            return
        raise process.silence(self._connect_timeout)


class _LoopRef:
    """The event loop running the current task, and its thread, if there is one.

    Whoever closes a connection, from a task, a loop callback (a deadline's
    timer) or a finalizer in any thread, reaps its ssh on this loop's timers
    when it runs on the loop's thread.
    """

    __slots__ = ("backend", "thread")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.backend: Backend | None
        try:
            self.backend = current_backend()
        except RuntimeError:
            self.backend = None

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> bool:
        """Run ``callback(*args)`` on the loop ``delay`` seconds from now; False if impossible."""
        if self.backend is None or threading.get_ident() != self.thread:
            return False
        try:
            self.backend.call_at(self.backend.time() + delay, callback, *args)
        except RuntimeError:  # the loop has ended
            return False
        return True


def _close(
    popen: subprocess.Popen[bytes],
    sock: socket.socket,
    stderr: socket.socket,
    owner: int,
    loop: _LoopRef,
) -> None:
    """Close a connection's descriptors, and have its ssh reaped unless it is another process's."""
    sock.close()
    stderr.close()
    if owner == os.getpid():
        _reaper.bury(popen, loop)


def exit_failure(target: SSHTarget, returncode: int | None, stderr: str) -> Unreachable:
    """What ssh's exit status ``returncode`` (None: still running) and ``stderr`` mean."""
    said = f": {stderr}" if stderr else ""
    bridge_line = _bridge_report(stderr)
    where = f"on {target.host} ({target})"
    if returncode in (_bridge.EXIT_NO_SOCKET, _bridge.EXIT_REFUSED) and bridge_line:
        return Unreachable(f"{bridge_line} {where}")
    if returncode == _bridge.EXIT_UNTRUSTED and bridge_line:
        untrusted = _bridge.parse_untrusted(bridge_line)
        if untrusted is not None:
            path, uid, pid = untrusted
            return Untrusted(f"{bridge_line} {where}", uid=uid, pid=pid, path=path)
    if returncode == _SSH_FAILED:
        message = f"ssh could not connect to {target}{said}"
    elif returncode == _COMMAND_NOT_FOUND:
        message = (
            f"the bridge could not be started on {target.host} ({target}): "
            f"neither marianne-sdk nor python3 is on the remote PATH{said}"
        )
    elif returncode is None:
        message = f"ssh to {target} ended its output but did not exit{said}"
    elif returncode < 0:
        message = f"ssh to {target} was killed by signal {-returncode}{said}"
    else:
        message = f"the bridge on {target.host} ({target}) exited with status {returncode}{said}"
    return SSHFailed(message, target=str(target), stderr=stderr)


def _bridge_report(stderr: str) -> str | None:
    """The bridge's own line in ``stderr``, without its program name."""
    prefix = _bridge.PROGRAM + ": "
    for line in reversed(stderr.splitlines()):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return None


@dataclass
class _Dying:
    popen: subprocess.Popen[bytes]
    terminate_at: float
    kill_at: float
    terminated: bool = False


class _Reaper:
    """Every ssh child this process started and has not reaped yet.

    Live children are tracked weakly (their connections own them); closed
    ones strongly, until ``waitpid`` has collected them. Any thread's event
    loop may close one, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: weakref.WeakSet[SSHProcess] = weakref.WeakSet()
        self._dying: dict[int, _Dying] = {}
        self._exit_hook = False

    def track(self, process: SSHProcess) -> None:
        with self._lock:
            self._live.add(process)
            if not self._exit_hook:
                atexit.register(self.reap_at_exit)
                self._exit_hook = True

    def bury(self, popen: subprocess.Popen[bytes], loop: _LoopRef | None) -> None:
        """Reap ``popen``, whose input was closed, polling it on ``loop`` where possible.

        Otherwise the next start of a child, or interpreter exit, reaps it.
        """
        now = time.monotonic()
        dying = _Dying(popen, now + TERMINATE_AFTER, now + TERMINATE_AFTER + KILL_AFTER)
        with self._lock:
            self._dying[popen.pid] = dying
        if loop is not None:
            loop.call_later(_POLL_FIRST, self._poll, loop, dying, _POLL_FIRST)

    def _poll(self, loop: _LoopRef, dying: _Dying, delay: float) -> None:
        if not self._advance(dying, time.monotonic()):
            delay = min(2 * delay, _POLL_MAX)
            loop.call_later(delay, self._poll, loop, dying, delay)

    def _advance(self, dying: _Dying, now: float) -> bool:
        """Reap ``dying`` if it exited, else signal it when due; whether it was reaped."""
        popen = dying.popen
        if popen.poll() is not None:
            with self._lock:
                self._dying.pop(popen.pid, None)
            return True
        with contextlib.suppress(OSError):
            if now >= dying.kill_at:
                _log.debug("ssh (pid %d) outlived SIGTERM: sending SIGKILL", popen.pid)
                popen.kill()
            elif now >= dying.terminate_at and not dying.terminated:
                _log.debug("ssh (pid %d) did not exit by itself: sending SIGTERM", popen.pid)
                dying.terminated = True
                popen.terminate()
        return False

    def sweep(self) -> None:
        """Advance every closed child, those whose event loop is gone included."""
        now = time.monotonic()
        with self._lock:
            dying = list(self._dying.values())
        for each in dying:
            self._advance(each, now)

    def reap_at_exit(self) -> None:
        """Stop every child: end its input, then SIGTERM, then SIGKILL; wait for each.

        A child that even SIGKILL does not end within :data:`KILL_AFTER` is
        left to init (it is stuck in the kernel).
        """
        with self._lock:
            live = list(self._live)
        for process in live:
            process.end_input()
        self._wait(time.monotonic() + _EXIT_GRACE)
        now = time.monotonic()
        with self._lock:
            for dying in self._dying.values():
                dying.terminate_at = min(dying.terminate_at, now)
                dying.kill_at = min(dying.kill_at, now + KILL_AFTER)
        self._wait(now + 2 * KILL_AFTER)

    def _wait(self, deadline: float) -> None:
        self.sweep()
        while self._dying and time.monotonic() < deadline:
            time.sleep(_POLL_FIRST)
            self.sweep()

    def forget_all(self) -> None:
        """In a forked child: the ssh children are the parent's, not to be signalled or reaped."""
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._dying = {}
        self._live = weakref.WeakSet()


_EXIT_GRACE = 0.1
"""Seconds at interpreter exit for children to end by themselves before SIGTERM."""

_reaper = _Reaper()
os.register_at_fork(after_in_child=_reaper.forget_all)
