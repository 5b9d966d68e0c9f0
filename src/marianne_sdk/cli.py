"""``marianne-sdk``: the conductor's methods from the shell, through the blocking client.

Every command prints its result on stdout (``--json`` for machine-readable
output) and any error on stderr: one line, ``error: <ClassName>: message``, or
under ``--json`` one JSON object (``error``, ``message``, ``code``,
``exit_status``). The exit status depends on the kind of error (see ``EPILOG``).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import anyio
import msgspec

from . import __version__
from ._discovery import resolve_socket_path
from ._errors import (
    ConductorBusyError,
    ConnectionLostError,
    DaemonError,
    DaemonNotRunningError,
    InvalidParamsError,
    ProtocolError,
    RequestTooLargeError,
)
from ._generated import models
from ._generated.registry import METHODS
from .sync import DaemonClient

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_REJECTED = 4
EXIT_PROTOCOL = 5
EXIT_TIMEOUT = 6
EXIT_CONDUCTOR_BUSY = 7
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    arguments = _attach_clone_values(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    json_errors = "--json" in arguments
    try:
        try:
            args = parser.parse_args(arguments)
            return _run(args)
        except _UsageError as error:
            return _report_usage(error, parser, json_errors=json_errors)
        finally:
            sys.stdout.flush()  # a closed pipe shows here at the latest
    except BrokenPipeError:
        # Nothing more can reach the reader; without a stdout, the interpreter
        # would report the failed flush again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    try:
        socket_path = resolve_socket_path(args.socket, clone=args.clone)
    except ValueError as error:
        raise _UsageError(f"--socket and --clone: {error}") from None
    if args.command == "methods":
        return _methods(args)
    if args.command == "fake-daemon":
        if args.socket is None:
            raise _UsageError("fake-daemon needs --socket PATH")
        return _fake_daemon(args)
    options: dict[str, Any] = {} if args.timeout is None else {"timeout": args.timeout}
    try:
        with DaemonClient(socket_path, **options) as client:
            code: int = args.run(client, args)
            return code
    except (_UsageError, BrokenPipeError):
        raise
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:
        return _report_error(
            type(error).__name__,
            str(error),
            exit_code_for(error),
            code=error.code if isinstance(error, DaemonError) else None,
            as_json=args.json,
        )


def _report_error(
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


def _report_usage(error: _UsageError, parser: argparse.ArgumentParser, *, json_errors: bool) -> int:
    if json_errors:
        return _report_error("usage", str(error), EXIT_USAGE, as_json=True)
    # As argparse reports it: the usage of the (sub)command whose arguments are wrong.
    wrong = error.parser or parser
    wrong.print_usage(sys.stderr)
    print(f"{wrong.prog}: error: {error}", file=sys.stderr)
    return EXIT_USAGE


# --- arguments -------------------------------------------------------------


class _UsageError(Exception):
    """A command's arguments make no sense (exit code 2).

    ``parser`` is the (sub)command parser whose usage line to show, if any.
    """

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


class _ArgumentParser(argparse.ArgumentParser):
    """Raises bad arguments as :class:`_UsageError`, so that ``--json`` can report them."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message, self)


def _attach_clone_values(argv: Sequence[str]) -> list[str]:
    """Read a bare ``--clone`` as the default clone.

    Like the conductor's ``--conductor-clone[=NAME]``, a clone name is attached
    with ``=``; argparse alone would take the next word (the command) as the
    name.
    """
    return ["--clone=" if arg == "--clone" else arg for arg in argv]


def _seconds(text: str) -> float:
    """A duration option: a positive, finite number of seconds."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return seconds


# Options accepted before the command, and after it by the commands they affect.
_OPTIONS: dict[str, tuple[Any, dict[str, Any]]] = {
    "--socket": (None, {"metavar": "PATH", "help": "socket path"}),
    "--clone": (
        None,
        {
            "metavar": "[=NAME]",
            "help": "use the clone conductor's socket (--clone or --clone=NAME)",
        },
    ),
    "--timeout": (
        None,
        {
            "type": _seconds,
            "metavar": "SECONDS",
            "help": "per-call timeout (default: the client's, 30 s)",
        },
    ),
    "--json": (
        False,
        {
            "action": "store_true",
            "help": "machine-readable output (one JSON document; one per line for watch)",
        },
    ),
}
_CLIENT_OPTIONS = tuple(_OPTIONS)


def _add_options(parser: argparse.ArgumentParser, names: Sequence[str], *, defaults: bool) -> None:
    # Sub-parsers must not set defaults: theirs would overwrite a value given
    # before the command.
    for name in names:
        default, settings = _OPTIONS[name]
        parser.add_argument(name, default=default if defaults else argparse.SUPPRESS, **settings)


def _build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="marianne-sdk",
        description="Talk to the Marianne conductor over its JSON-RPC socket.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_options(parser, _CLIENT_OPTIONS, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        run: Callable[..., int] | None,
        help: str,
        options: Sequence[str] = _CLIENT_OPTIONS,
    ) -> argparse.ArgumentParser:
        """A sub-command, which takes after its name only the ``options`` it uses."""
        sub = commands.add_parser(name, help=help, description=help)
        _add_options(sub, options, defaults=False)
        sub.set_defaults(run=run)
        return sub

    command("methods", None, "list the conductor's methods", options=["--json"])
    call = command("call", _call, "call any method")
    call.add_argument("method", metavar="METHOD")
    call.add_argument(
        "params",
        nargs="*",
        metavar="PARAMS_JSON | key=value",
        help=(
            "a JSON object, or key=value pairs: a value stays text where the param is a "
            "string, else it is read as JSON when it parses"
        ),
    )
    command("status", _status, "daemon status")
    command("health", _health, "daemon liveness")
    command("jobs", _jobs, "list jobs")
    command("job", _job, "one job's state").add_argument("job_id", metavar="JOB_ID")
    submit = command("submit", _submit, "submit a score (job config)")
    submit.add_argument("config_path", metavar="CONFIG_PATH")
    submit.add_argument("--workspace", metavar="DIR", help="override the config's workspace")
    submit.add_argument("--fresh", action="store_true", help="start with clean state")
    command("pause", _pause, "pause a running job").add_argument("job_id", metavar="JOB_ID")
    command("resume", _resume, "resume a job").add_argument("job_id", metavar="JOB_ID")
    command("cancel", _cancel, "cancel a job").add_argument("job_id", metavar="JOB_ID")
    watch = command("watch", _watch, "print the daemon's events until interrupted")
    watch.add_argument(
        "--idle-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop (exit 0) after SECONDS without an event",
    )
    _add_fake_daemon_options(
        command(
            "fake-daemon",
            None,
            "serve a simulated conductor on --socket until interrupted",
            options=["--socket"],
        )
    )
    return parser


def _parse_params(words: Sequence[str], params_type: type[msgspec.Struct] | None) -> dict[str, Any]:
    """``['{"a": 1}']`` or ``['a=1', 'b=x']`` → ``{"a": 1, "b": "x"}``.

    A ``key=value`` value stays text where ``params_type`` (the method's
    params, None for a method the SDK does not know) takes a string for
    ``key``: job ids are file stems, and ``123`` is one.
    """
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        try:
            params = msgspec.json.decode(words[0])
        except msgspec.DecodeError as error:
            raise _UsageError(f"PARAMS_JSON is not valid JSON: {error}") from None
        if not isinstance(params, dict):
            raise _UsageError("PARAMS_JSON must be a JSON object")
        return params
    field_types = (
        {}
        if params_type is None
        else {field.encode_name: field.type for field in msgspec.structs.fields(params_type)}
    )
    params = {}
    for word in words:
        key, equals, text = word.partition("=")
        if not equals or not key:
            raise _UsageError(f"expected key=value or one JSON object, got {word!r}")
        params[key] = _param_value(text, field_types.get(key))
    return params


def _param_value(text: str, field_type: Any) -> Any:
    if field_type is not None and _is_valid(text, field_type):
        return text
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # the client's validation names the param if it wanted something else


def _is_valid(value: Any, target_type: Any) -> bool:
    try:
        msgspec.convert(value, target_type)
    except msgspec.ValidationError:
        return False
    return True


# --- commands ---------------------------------------------------------------


def _methods(args: argparse.Namespace) -> int:
    infos = sorted(METHODS.values(), key=lambda info: info.name)
    if args.json:
        _print_json(
            [
                {
                    "name": info.name,
                    "python_name": info.python_name,
                    "idempotent": info.idempotent,
                    "streaming": info.streaming,
                    "summary": info.summary,
                }
                for info in infos
            ]
        )
        return EXIT_OK
    _print_table(
        ("METHOD", "PYTHON", "FLAGS", "SUMMARY"),
        [
            (
                info.name,
                info.python_name,
                _method_flags(info.idempotent, info.streaming),
                info.summary,
            )
            for info in infos
        ],
    )
    return EXIT_OK


def _method_flags(idempotent: bool, streaming: bool) -> str:
    flags = [flag for flag, on in (("idempotent", idempotent), ("streaming", streaming)) if on]
    return ",".join(flags) or "-"


def _call(client: DaemonClient, args: argparse.Namespace) -> int:
    info = METHODS.get(args.method)
    params = _parse_params(args.params, None if info is None else info.params_type)
    if info is not None and info.streaming:
        raise _UsageError(f"{info.name} streams events: use `marianne-sdk watch`")
    # The client validates the params of known methods before sending anything.
    result = client.call(args.method, params)
    if args.json:
        _print_json(result)
    else:
        print(msgspec.json.format(msgspec.json.encode(result), indent=2).decode())
    return EXIT_OK


def _status(client: DaemonClient, args: argparse.Namespace) -> int:
    _show_fields(args, client.status())
    return EXIT_OK


def _health(client: DaemonClient, args: argparse.Namespace) -> int:
    _show_fields(args, client.health())
    return EXIT_OK


def _jobs(client: DaemonClient, args: argparse.Namespace) -> int:
    jobs = client.list_jobs()
    if args.json:
        _print_json(jobs)
        return EXIT_OK
    _print_table(
        ("JOB", "STATUS", "PROGRESS", "SUBMITTED", "CONFIG"),
        [
            (job.job_id, job.status, _progress(job), _when(job.submitted_at), job.config_path)
            for job in jobs
        ],
    )
    return EXIT_OK


def _progress(job: models.JobListEntry) -> str:
    if job.progress_completed is not msgspec.UNSET and job.progress_total is not msgspec.UNSET:
        return f"{job.progress_completed}/{job.progress_total}"
    return "-"


_JOB_FIELDS = (
    "job_id",
    "job_name",
    "status",
    "config_path",
    "workspace",
    "total_sheets",
    "last_completed_sheet",
    "current_sheet",
    "submitted_at",
    "started_at",
    "completed_at",
    "error_message",
)


def _job(client: DaemonClient, args: argparse.Namespace) -> int:
    state = client.get_job_status(args.job_id)
    if args.json:
        _print_json(state)
        return EXIT_OK
    # Only the fields the shape that arrived carries (see JobState.shape).
    fields = {name: getattr(state, name) for name in _JOB_FIELDS}
    _print_fields(
        {
            name: _when(value) if name.endswith("_at") else value
            for name, value in fields.items()
            if value is not msgspec.UNSET
        }
    )
    if state.sheets:
        print()
        _print_table(
            ("SHEET", "STATUS", "ATTEMPTS", "EXIT", "ERROR"),
            [
                (
                    number,
                    sheet.status,
                    str(sheet.attempt_count),
                    _cell(sheet.exit_code),
                    _cell(sheet.error_message),
                )
                for number, sheet in sorted(state.sheets.items(), key=lambda item: int(item[0]))
            ],
        )
    return EXIT_OK


def _submit(client: DaemonClient, args: argparse.Namespace) -> int:
    # The daemon resolves relative paths against its own directory, not ours.
    request = models.JobRequest(
        config_path=os.path.abspath(args.config_path),
        workspace=os.path.abspath(args.workspace) if args.workspace else None,
        fresh=args.fresh,
        client_cwd=os.getcwd(),
    )
    response = client.submit_job(request)
    _show_fields(args, response)
    return _refused(args, response.message) if response.status == "rejected" else EXIT_OK


def _pause(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.pause_job(args.job_id)
    _show_fields(args, result)
    return EXIT_OK if result.paused else _refused(args, result.error or "not paused")


def _resume(client: DaemonClient, args: argparse.Namespace) -> int:
    response = client.resume_job(args.job_id)
    _show_fields(args, response)
    return _refused(args, response.message) if response.status == "rejected" else EXIT_OK


def _cancel(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.cancel_job(args.job_id)
    _show_fields(args, result)
    return (
        EXIT_OK if result.cancelled else _refused(args, f"no running task for job {args.job_id!r}")
    )


def _refused(args: argparse.Namespace, reason: str | None) -> int:
    """A job operation the daemon refused with a result rather than an error."""
    return _report_error("rejected", reason or "no reason given", EXIT_REJECTED, as_json=args.json)


def _watch(client: DaemonClient, args: argparse.Namespace) -> int:
    try:
        with client.monitor(idle_timeout=args.idle_timeout) as events:
            for event in events:
                if args.json:
                    _print_json(event)
                else:
                    print(
                        f"{_when(event.timestamp, '%H:%M:%S')}  {event.event:<24}  "
                        f"{event.job_id or '-'}  sheet {event.sheet_num}  {_cell(event.data)}",
                        flush=True,
                    )
    except KeyboardInterrupt:
        pass
    except TimeoutError:
        if args.idle_timeout is None:
            raise
    return EXIT_OK


def _add_fake_daemon_options(parser: argparse.ArgumentParser) -> None:
    from .testing import Fault

    parser.epilog = (
        "Jobs are queued for one step, then run one sheet per step. Faults: "
        + ", ".join(fault.value for fault in Fault)
        + " (see marianne_sdk.testing.Fault). Refuses a --socket where something is listening."
    )
    parser.add_argument(
        "--sheet-seconds",
        type=_seconds,
        default=0.05,
        metavar="SECONDS",
        help="how long each simulated sheet (and the queued step) takes (default: 0.05)",
    )
    parser.add_argument(
        "--plan",
        type=_job_plan,
        action="append",
        default=[],
        metavar="JOB_ID:SHEETS[:FAILING_SHEET]",
        help="how the job JOB_ID will run: its sheet count and the sheet that fails (repeatable)",
    )
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND[:METHOD[:TIMES[:DELAY]]]",
        help="make the next TIMES requests (default 1; 'always' for every one) of METHOD "
        "(default: any) suffer the fault KIND, after DELAY seconds (repeatable)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive_int,
        metavar="N",
        help="connections served at once (default 5, as the conductor); more are accepted "
        "and left unread",
    )
    parser.add_argument(
        "--check-config-files",
        action="store_true",
        help="reject a submitted config_path that does not exist, as the conductor does",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _job_plan(text: str) -> tuple[str, int, int | None]:
    """``JOB_ID:SHEETS[:FAILING_SHEET]`` → ``(job_id, sheets, failing_sheet)``."""
    job_id, sheets, failing = [*text.split(":", 2), ""][:3]
    try:
        plan = job_id, _positive_int(sheets), _positive_int(failing) if failing else None
    except (ValueError, argparse.ArgumentTypeError):
        plan = None
    if plan is None or not job_id:
        raise argparse.ArgumentTypeError(
            f"expected JOB_ID:SHEETS[:FAILING_SHEET] with positive numbers, got {text!r}"
        )
    return plan


def _fault(text: str) -> dict[str, Any]:
    """``KIND[:METHOD[:TIMES[:DELAY]]]`` → the keyword arguments of ``FakeDaemon.inject``."""
    from .testing import Fault

    kind, method, times, delay = [*text.split(":", 3), "", "", ""][:4]
    try:
        return {
            "fault": Fault(kind),
            "method": method or None,
            "times": None if times == "always" else _positive_int(times or "1"),
            "delay": float(delay or 0),
        }
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected KIND[:METHOD[:TIMES[:DELAY]]] with KIND one of "
            f"{', '.join(fault.value for fault in Fault)}, got {text!r}"
        ) from None


def _fake_daemon(args: argparse.Namespace) -> int:
    from .testing import FakeDaemon

    options: dict[str, Any] = {
        "step_seconds": args.sheet_seconds,
        "check_config_files": args.check_config_files,
    }
    if args.max_connections is not None:
        options["max_served_connections"] = args.max_connections

    async def serve() -> None:
        fake = FakeDaemon(args.socket, **options)
        for job_id, sheets, failing_sheet in args.plan:
            fake.plan_job(job_id, sheets=sheets, fail_at_sheet=failing_sheet)
        for injection in args.fault:
            fake.inject(**injection)
        # SIGTERM too, so that a terminated fake still removes its socket file.
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with fake:
                print(f"serving on {args.socket}", flush=True)
                async for _ in signals:
                    return

    try:
        anyio.run(serve)
    except OSError as failure:  # a socket it cannot listen on
        print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


# --- output -----------------------------------------------------------------


_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _print_json(value: Any) -> None:
    print(msgspec.json.encode(value).decode(), flush=True)


def _show_fields(args: argparse.Namespace, result: msgspec.Struct) -> None:
    if args.json:
        _print_json(result)
    else:
        _print_fields(msgspec.to_builtins(result))


def _print_fields(fields: Mapping[str, Any]) -> None:
    width = max(map(len, fields), default=0) + 1
    for key, value in fields.items():
        print(f"{key + ':':<{width}} {_cell(value)}")


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    for row in (header, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _cell(value: Any) -> str:
    if value is None or value is msgspec.UNSET:
        return "-"
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _when(
    moment: datetime.datetime | float | msgspec.UnsetType | None, fmt: str = _TIME_FORMAT
) -> str:
    """A timestamp, ISO (checkpoints) or epoch seconds (metadata, events), in local time."""
    if isinstance(moment, datetime.datetime):
        return moment.astimezone().strftime(fmt)
    if isinstance(moment, int | float):
        return datetime.datetime.fromtimestamp(moment).strftime(fmt)
    return "-"
