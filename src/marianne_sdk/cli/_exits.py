"""Exit statuses, by the kind of error, and how an error is reported on stderr."""

from __future__ import annotations

import signal
import sys

import msgspec

from .._errors import (
    ConductorBusyError,
    ConnectionLostError,
    DaemonError,
    DaemonNotRunningError,
    InvalidParamsError,
    ProtocolError,
    RequestTooLargeError,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_REJECTED = 4
EXIT_PROTOCOL = 5
EXIT_TIMEOUT = 6
EXIT_CONDUCTOR_BUSY = 7
EXIT_JOB_FAILED = 9
EXIT_JOB_CANCELLED = 10
# As a shell reports a command ended by SIGINT or SIGPIPE.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

EXIT_CODES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
    (ConductorBusyError, EXIT_CONDUCTOR_BUSY),
    (DaemonNotRunningError, EXIT_NOT_RUNNING),
    ((ProtocolError, ConnectionLostError, RequestTooLargeError), EXIT_PROTOCOL),
    (InvalidParamsError, EXIT_REJECTED),
    (TimeoutError, EXIT_TIMEOUT),
)
"""Exit status by error class; the first row ``error`` is an instance of wins.

A subclass with a status of its own goes before its bases. Any other
:class:`DaemonError` built from a JSON-RPC error response exits with
``EXIT_REJECTED``, and everything else with ``EXIT_ERROR``.
"""

EPILOG = """\
exit codes:
  0  success
  1  any other error
  2  usage error (bad arguments)
  3  no usable daemon: socket missing, connection refused, or socket served by an
     untrusted user (DaemonNotRunningError, UntrustedDaemonError)
  4  rejected: the daemon answered with a JSON-RPC error (JobSubmissionError,
     MethodNotFoundError, ...), params were refused before sending
     (InvalidParamsError), or submit/pause/resume/cancel reported that the job
     operation was refused
  5  protocol error or connection lost (ProtocolError, ConnectionLostError,
     RequestTooLargeError)
  6  timeout (DaemonTimeoutError, TimeoutError)
  7  conductor busy: it is up, but every one of its connection slots stayed held
     by other programs until the timeout (ConductorBusyError)
  9  submit --wait: the job failed
  10 submit --wait: the job was cancelled
  130  interrupted (Ctrl-C); watch exits 0
  141  stdout closed early (e.g. piped into head); nothing is printed

With --json, an error is one JSON object on stderr:
  {"error": "<ClassName>", "message": "...", "code": <JSON-RPC code or null>,
   "exit_status": <exit code>}

The socket is --socket, else the clone's socket with --clone[=NAME], else
$MARIANNE_SOCKET, else /tmp/marianne.sock.
"""


def exit_code_for(error: BaseException) -> int:
    """The exit code documented in ``EPILOG`` for ``error``."""
    for classes, code in EXIT_CODES:
        if isinstance(error, classes):
            return code
    if isinstance(error, DaemonError) and error.code is not None:
        return EXIT_REJECTED
    return EXIT_ERROR


def report_error(
    error: str, message: str, status: int, *, code: int | None = None, as_json: bool
) -> int:
    """Print an error on stderr, as one line or as one JSON object; return ``status``."""
    if as_json:
        report = {"error": error, "message": message, "code": code, "exit_status": status}
        print(msgspec.json.encode(report).decode(), file=sys.stderr)
    else:
        message = " ".join(message.split())  # one line, whatever the error says
        print(f"error: {error}: {message}" if message else f"error: {error}", file=sys.stderr)
    return status
