"""``marianne-sdk``: the conductor's methods from the shell, through the blocking client.

Every command prints its result on stdout (``--json`` for machine-readable
output) and any error on stderr: one line, ``error: <ClassName>: message``, or
under ``--json`` one JSON object (``error``, ``message``, ``code``,
``exit_status``). The exit status depends on the kind of error (see ``EPILOG``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .. import __version__
from .._discovery import resolve_target
from .._errors import DaemonError
from ..sync import DaemonClient, Fleet
from . import _commands, _fleet_commands
from ._arguments import (
    CLIENT_OPTIONS,
    ArgumentParser,
    UsageError,
    add_options,
    attach_clone_values,
    seconds,
    sockets,
)
from ._dial_stdio import DIAL_STDIO_EPILOG, DIAL_STDIO_HELP, dial_stdio
from ._exits import (
    EPILOG,
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_CONDUCTOR_BUSY,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_JOB_CANCELLED,
    EXIT_JOB_FAILED,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROTOCOL,
    EXIT_REJECTED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    exit_code_for,
    report_error,
)
from ._fake_daemon import add_fake_daemon_options, fake_daemon
from ._record import add_record_options, record

__all__ = [
    "EPILOG",
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_CONDUCTOR_BUSY",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_JOB_CANCELLED",
    "EXIT_JOB_FAILED",
    "EXIT_NOT_RUNNING",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROTOCOL",
    "EXIT_REJECTED",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "exit_code_for",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    arguments = attach_clone_values(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    json_errors = "--json" in arguments
    try:
        try:
            args = parser.parse_args(arguments)
            return _run(args)
        except UsageError as error:
            return report_usage(error, parser, json_errors=json_errors)
        finally:
            sys.stdout.flush()  # a closed pipe shows here at the latest
    except BrokenPipeError:
        # Nothing more can reach the reader; without a stdout, the interpreter
        # would report the failed flush again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    targets = sockets(args)
    if args.command == "dial-stdio":
        # The bridge resolves its own default: the socket of the host it runs on.
        args.socket = targets[0] if targets else None
        return dial_stdio(args)
    if len(targets) > 1 and args.command != "methods":
        return _run_fleet(args, targets)
    try:
        target = resolve_target(targets[0] if targets else None, clone=args.clone)
    except ValueError as error:
        raise UsageError(f"--socket and --clone: {error}") from None
    if args.command == "methods":
        return _commands.methods(args)
    if args.command == "fake-daemon":
        if not targets:
            raise UsageError("fake-daemon needs --socket PATH")
        args.socket = targets[0]
        return fake_daemon(args)
    if args.command == "record":
        if not isinstance(target, Path):
            raise UsageError("record proxies a local conductor socket, not an ssh:// target")
        return record(args, str(target))
    return _reporting_errors(args, partial(DaemonClient, str(target)), args.run)


def _run_fleet(args: argparse.Namespace, targets: list[str]) -> int:
    if args.run_fleet is None:
        raise UsageError(
            f"{args.command} takes one --socket; status, health, jobs and watch take several"
        )
    if args.clone is not None:
        raise UsageError("--clone names one conductor: it cannot go with several --socket")
    if len(set(targets)) < len(targets):
        raise UsageError("each --socket may be given once")
    return _reporting_errors(args, partial(Fleet, targets), args.run_fleet)


def _reporting_errors(
    args: argparse.Namespace,
    connect: Callable[..., DaemonClient | Fleet],
    run: Callable[[Any, argparse.Namespace], int],
) -> int:
    """``run(connect(options), args)``; an error it raises is reported, as its exit status."""
    options: dict[str, Any] = {} if args.timeout is None else {"timeout": args.timeout}
    try:
        with connect(**options) as client:
            return run(client, args)
    except (UsageError, BrokenPipeError):
        raise
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:
        return report_error(
            type(error).__name__,
            str(error),
            exit_code_for(error),
            code=error.code if isinstance(error, DaemonError) else None,
            as_json=args.json,
        )


def report_usage(error: UsageError, parser: argparse.ArgumentParser, *, json_errors: bool) -> int:
    if json_errors:
        return report_error("usage", str(error), EXIT_USAGE, as_json=True)
    # As argparse reports it: the usage of the (sub)command whose arguments are wrong.
    wrong = error.parser or parser
    wrong.print_usage(sys.stderr)
    print(f"{wrong.prog}: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="marianne-sdk",
        description="Talk to the Marianne conductor over its JSON-RPC socket.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_options(parser, CLIENT_OPTIONS, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        run: Callable[..., int] | None,
        help: str,
        options: Sequence[str] = CLIENT_OPTIONS,
        run_fleet: Callable[..., int] | None = None,
    ) -> argparse.ArgumentParser:
        """A sub-command, which takes after its name only the ``options`` it uses.

        ``run_fleet`` runs it with ``--socket`` given several times.
        """
        sub = commands.add_parser(name, help=help, description=help)
        add_options(sub, options, defaults=False)
        sub.set_defaults(run=run, run_fleet=run_fleet)
        return sub

    command("methods", None, "list the conductor's methods", options=["--json"])
    call = command("call", _commands.call, "call any method")
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
    command("status", _commands.status, "daemon status", run_fleet=_fleet_commands.status)
    command("health", _commands.health, "daemon liveness", run_fleet=_fleet_commands.health)
    command("jobs", _commands.jobs, "list jobs", run_fleet=_fleet_commands.jobs)
    command("job", _commands.job, "one job's state").add_argument("job_id", metavar="JOB_ID")
    submit = command("submit", _commands.submit, "submit a score (job config)")
    submit.add_argument("config_path", metavar="CONFIG_PATH")
    submit.add_argument("--workspace", metavar="DIR", help="override the config's workspace")
    submit.add_argument("--fresh", action="store_true", help="start with clean state")
    submit.add_argument(
        "--wait",
        action="store_true",
        help="follow the job to its end, showing its progress; exit with its outcome",
    )
    command("pause", _commands.pause, "pause a running job").add_argument(
        "job_id", metavar="JOB_ID"
    )
    command("resume", _commands.resume, "resume a job").add_argument("job_id", metavar="JOB_ID")
    command("cancel", _commands.cancel, "cancel a job").add_argument("job_id", metavar="JOB_ID")
    watch = command(
        "watch",
        _commands.watch,
        "print the daemon's events until interrupted",
        run_fleet=_fleet_commands.watch,
    )
    watch.add_argument(
        "--idle-timeout",
        type=seconds,
        metavar="SECONDS",
        help="stop (exit 0) after SECONDS without an event",
    )
    watch.add_argument(
        "--reconnect",
        action="store_true",
        help="when the conductor goes away, subscribe again once it is back (a line says what "
        "was lost); without, exit with the error",
    )
    add_fake_daemon_options(
        command(
            "fake-daemon",
            None,
            "serve a simulated conductor on --socket until interrupted",
            options=["--socket"],
        )
    )
    add_record_options(
        command(
            "record",
            None,
            "proxy the conductor at --socket on --listen, recording every message into --out",
            options=["--socket", "--clone"],
        )
    )
    dial = command("dial-stdio", None, DIAL_STDIO_HELP, options=["--socket", "--clone"])
    dial.add_argument(
        "--announce",
        action="store_true",
        help="once connected, say so on stderr (what the SDK's ssh connections wait for)",
    )
    dial.epilog = DIAL_STDIO_EPILOG
    dial.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser
