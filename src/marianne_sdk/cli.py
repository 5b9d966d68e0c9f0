"""``marianne-sdk``: the conductor's methods from the shell, through the blocking client.

Every command prints its result on stdout (``--json`` for machine-readable
output) and any error on stderr as one line, ``error: <ClassName>: message``,
with an exit code that depends on the kind of error (see ``EPILOG``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import msgspec

from ._discovery import resolve_socket_path
from ._errors import (
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
  6  timeout (TimeoutError)

The socket is --socket, else the clone's socket with --clone[=NAME], else
$MARIANNE_SOCKET, else /tmp/marianne.sock.
"""


def exit_code_for(error: BaseException) -> int:
    """The exit code documented in ``EPILOG`` for ``error``."""
    if isinstance(error, DaemonNotRunningError):
        return EXIT_NOT_RUNNING
    if isinstance(error, ProtocolError | ConnectionLostError | RequestTooLargeError):
        return EXIT_PROTOCOL
    if isinstance(error, InvalidParamsError) or (
        isinstance(error, DaemonError) and error.code is not None
    ):
        return EXIT_REJECTED
    if isinstance(error, TimeoutError):
        return EXIT_TIMEOUT
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(_attach_clone_values(sys.argv[1:] if argv is None else argv))
    try:
        socket_path = resolve_socket_path(args.socket, clone=args.clone)
    except ValueError as error:
        parser.error(f"--socket and --clone: {error}")
    if args.command == "methods":
        return _methods(args)
    if args.command == "fake-daemon":
        if args.socket is None:
            parser.error("fake-daemon needs --socket PATH")
        return _fake_daemon(args)
    options: dict[str, Any] = {} if args.timeout is None else {"timeout": args.timeout}
    try:
        with DaemonClient(socket_path, **options) as client:
            code: int = args.run(client, args)
            return code
    except _UsageError as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Exception as error:
        message = " ".join(str(error).split())  # one line, whatever the error says
        name = type(error).__name__
        print(f"error: {name}: {message}" if message else f"error: {name}", file=sys.stderr)
        return exit_code_for(error)


# --- arguments -------------------------------------------------------------


def _attach_clone_values(argv: Sequence[str]) -> list[str]:
    """Read a bare ``--clone`` as the default clone.

    Like the conductor's ``--conductor-clone[=NAME]``, a clone name is attached
    with ``=``; argparse alone would take the next word (the command) as the
    name.
    """
    return ["--clone=" if arg == "--clone" else arg for arg in argv]


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    # Accepted before and after the command. Sub-parsers must not set defaults:
    # theirs would overwrite a value given before the command.
    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--socket", metavar="PATH", default=default(None), help="socket path")
    parser.add_argument(
        "--clone",
        metavar="[=NAME]",
        default=default(None),
        help="use the clone conductor's socket (--clone or --clone=NAME)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=default(None),
        help="per-call timeout (default: the client's, 30 s)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine-readable output (one JSON document; one per line for watch)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marianne-sdk",
        description="Talk to the Marianne conductor over its JSON-RPC socket.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[..., int] | None, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _add_global_options(sub, defaults=False)
        sub.set_defaults(run=run)
        return sub

    command("methods", None, "list the conductor's methods")
    call = command("call", _call, "call any method")
    call.add_argument("method", metavar="METHOD")
    call.add_argument(
        "params",
        nargs="*",
        metavar="PARAMS_JSON | key=value",
        help="a JSON object, or key=value pairs (values are JSON when they parse, else strings)",
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
        type=float,
        metavar="SECONDS",
        help="stop (exit 0) after SECONDS without an event",
    )
    _add_fake_daemon_options(
        command("fake-daemon", None, "serve a simulated conductor on --socket until interrupted")
    )
    return parser


def _parse_params(words: Sequence[str]) -> dict[str, Any]:
    """``['{"a": 1}']`` or ``['a=1', 'b=x']`` → ``{"a": 1, "b": "x"}``."""
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        try:
            params = msgspec.json.decode(words[0])
        except msgspec.DecodeError as error:
            raise _UsageError(f"PARAMS_JSON is not valid JSON: {error}") from None
        if not isinstance(params, dict):
            raise _UsageError("PARAMS_JSON must be a JSON object")
        return params
    params = {}
    for word in words:
        key, equals, text = word.partition("=")
        if not equals or not key:
            raise _UsageError(f"expected key=value or one JSON object, got {word!r}")
        try:
            params[key] = msgspec.json.decode(text)
        except msgspec.DecodeError:
            params[key] = text
    return params


class _UsageError(Exception):
    """A command's arguments make no sense (exit code 2)."""


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
    params = _parse_params(args.params)
    info = METHODS.get(args.method)
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
    return _refused(response.message) if response.status == "rejected" else EXIT_OK


def _pause(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.pause_job(args.job_id)
    _show_fields(args, result)
    return EXIT_OK if result.paused else _refused(result.error or "not paused")


def _resume(client: DaemonClient, args: argparse.Namespace) -> int:
    response = client.resume_job(args.job_id)
    _show_fields(args, response)
    return _refused(response.message) if response.status == "rejected" else EXIT_OK


def _cancel(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.cancel_job(args.job_id)
    _show_fields(args, result)
    return EXIT_OK if result.cancelled else _refused(f"no running task for job {args.job_id!r}")


def _refused(reason: str | None) -> int:
    """A job operation the daemon refused with a result rather than an error."""
    print(f"error: rejected: {reason or 'no reason given'}", file=sys.stderr)
    return EXIT_REJECTED


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
        type=_positive_float,
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
        help="connections served at once; more are accepted and left unread (the conductor: 5)",
    )
    parser.add_argument(
        "--check-config-files",
        action="store_true",
        help="reject a submitted config_path that does not exist, as the conductor does",
    )


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


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

    failure: OSError | None = None
    try:
        anyio.run(serve)
    except* OSError as group:  # a socket it cannot listen on, however the fake reports it
        failure = _first_leaf(group)
    if failure is None:
        return EXIT_OK
    print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr)
    return EXIT_ERROR


def _first_leaf(group: BaseExceptionGroup[OSError]) -> OSError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


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
