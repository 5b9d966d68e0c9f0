"""What the layers below the client raise: failures of connections, never public errors.

The transport (:mod:`._transport`), the connectors of remote conductors and
the pool (:mod:`._pool`) describe what went wrong with these; the client
turns each into the :class:`DaemonError` its caller sees in exactly one
place, :func:`._messages.translate`, as trio turns socket errors into its
own in one context manager.
"""

from __future__ import annotations


class Disconnected(Exception):
    """The peer closed or reset the connection; no partial line was pending."""


class NotSent(Disconnected):
    """Writing the request failed before any byte of it was taken: no conductor read any of it."""


class BadLine(Exception):
    """The conductor sent a line that cannot be read: over the limit, or cut off."""


class DeadlinePassed(Exception):
    """The caller's deadline passed: in line for a connection, or under a wait on one."""


class Unreachable(Exception):
    """No connection could be made: nothing listens, the socket is missing, or it is refused."""


class Untrusted(Unreachable):
    """The socket is served by a user that is not trusted."""

    def __init__(self, reason: str, *, uid: int, pid: int, path: str) -> None:
        super().__init__(reason)
        self.uid = uid
        self.pid = pid
        self.path = path


class SSHFailed(Unreachable):
    """``ssh`` itself failed: the host, its key, the login or the remote command."""

    def __init__(self, reason: str, *, target: str, stderr: str) -> None:
        super().__init__(reason)
        self.target = target
        self.stderr = stderr


class ConductorStopping(Exception):
    """A stream's liveness probe found the conductor shutting down."""


class ConductorSilent(Exception):
    """A stream's liveness probe got no answer within its bound."""


class NoSlot(Exception):
    """The conductor is up but served no connection of this pool before the deadline."""


class PoolClosed(Exception):
    """The pool, and so its client, has been closed."""


CONNECTION_FAILURES = (
    Disconnected,
    BadLine,
    DeadlinePassed,
    Unreachable,
    NoSlot,
    PoolClosed,
    ConductorStopping,
    ConductorSilent,
)
"""Everything the layers below the client raise for a failed exchange."""
