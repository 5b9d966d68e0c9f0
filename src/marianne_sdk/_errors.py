"""Exceptions raised by the SDK.

Every failure that comes from the daemon or from talking to it derives from
:class:`DaemonError`. The mapping from JSON-RPC error codes to these classes is
generated from the schema (``ERROR_CLASS_BY_CODE`` in ``_generated/registry.py``).
"""

from __future__ import annotations

from typing import Any


class DaemonError(Exception):
    """Base class of every daemon, connection and protocol error.

    When built from a JSON-RPC error response, ``code``, ``message``, ``data``,
    ``method`` and ``request_id`` carry what the daemon sent and what it was
    answering. Errors raised locally leave ``code`` and ``request_id`` as None.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        data: Any = None,
        method: str | None = None,
        request_id: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data
        self.method = method
        self.request_id = request_id


class DaemonNotRunningError(DaemonError):
    """The socket is missing, refuses connections, or may not be opened."""


class DaemonTimeoutError(DaemonError, TimeoutError):
    """A call's deadline passed (``except TimeoutError`` catches it too).

    Nothing tells whether the conductor ran the request: it may have.
    """


class ConductorBusyError(DaemonTimeoutError):
    """The conductor is up, but served no new connection before the deadline.

    It serves a fixed number of connections at once across all programs (5
    by default) and leaves the others waiting; all of them were held by other
    programs, or by this program's streams. Nothing was sent.
    """


class DaemonAlreadyRunningError(DaemonError):
    """The daemon reported -32002 (a daemon is already running)."""


class JobSubmissionError(DaemonError):
    """The daemon rejected a job operation (-32000, -32004, -32005)."""


class MethodNotFoundError(DaemonError):
    """The daemon does not know the method (-32601): it is older than the schema."""


class ResourceExhaustedError(DaemonError):
    """The daemon reported -32001 (resources exhausted)."""


class DaemonShuttingDownError(DaemonError):
    """The daemon reported -32003 (shutting down)."""


class InvalidParamsError(DaemonError, ValueError):
    """Params were refused: by the daemon (-32602), or locally before sending.

    A locally refused request has ``request_id`` None: nothing was sent.
    """


class InvalidRequestError(DaemonError):
    """The daemon could not accept the request envelope (-32600)."""


class DaemonParseError(DaemonError):
    """The daemon could not parse the request line (-32700)."""


class DaemonInternalError(DaemonError):
    """The daemon failed while handling the request (-32603)."""


class ProtocolError(DaemonError):
    """The daemon sent something the SDK cannot accept.

    A line over the size limit, a truncated line, a line that is not a JSON-RPC
    response, a response for another request, or a result that does not match
    the method's declared type.
    """


class RequestTooLargeError(DaemonError, ValueError):
    """The encoded request exceeds the line limit; it was not sent."""


class ConnectionLostError(DaemonError):
    """The connection failed while a request was in flight.

    ``possibly_executed`` is True when the request may have reached the daemon
    (and so may have run); such a request is never sent again automatically
    unless its method is idempotent.
    """

    def __init__(self, message: str, *, possibly_executed: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.possibly_executed = possibly_executed


class UntrustedDaemonError(DaemonNotRunningError):
    """The socket is served by a process of a user that is not trusted.

    Anyone can create a socket in ``/tmp``, so the SDK checks who is listening
    before sending anything. ``uid``, ``pid`` and ``path`` say whose socket it
    is and where.
    """

    def __init__(self, message: str, *, uid: int, pid: int, path: str) -> None:
        super().__init__(message)
        self.uid = uid
        self.pid = pid
        self.path = path


class SSHConnectError(DaemonNotRunningError):
    """``ssh`` itself failed to reach a remote conductor's host.

    The host was unreachable, authentication failed, its host key is unknown or
    changed, or the remote command is missing. The message carries the target
    and ssh's own last lines of standard error (``stderr``).
    """

    def __init__(self, message: str, *, target: str, stderr: str = "") -> None:
        super().__init__(message)
        self.target = target
        self.stderr = stderr
