"""``marianne-sdk fake-daemon``: a simulated conductor served from the shell."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

import anyio

from ._arguments import positive_int, seconds
from ._exits import EXIT_ERROR, EXIT_OK


def add_fake_daemon_options(parser: argparse.ArgumentParser) -> None:
    from ..testing import Fault

    parser.epilog = (
        "Jobs are queued for one step, then run one sheet per step. Faults: "
        + ", ".join(fault.value for fault in Fault)
        + " (see marianne_sdk.testing.Fault). Refuses a --socket where something is listening."
    )
    parser.add_argument(
        "--sheet-seconds",
        type=seconds,
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
        type=positive_int,
        metavar="N",
        help="connections served at once (default 5, as the conductor); more are accepted "
        "and left unread",
    )
    parser.add_argument(
        "--check-config-files",
        action="store_true",
        help="reject a submitted config_path that does not exist, as the conductor does",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="answer from the recording FILE (written by marianne-sdk record): each request "
        "gets the recorded answer to the same method and params, in recorded order",
    )
    parser.add_argument(
        "--fallback",
        action="store_true",
        help="with --replay: answer a request the recording lacks with the simulation "
        "(by default it gets an error saying it is not in the recording)",
    )


def _job_plan(text: str) -> tuple[str, int, int | None]:
    """``JOB_ID:SHEETS[:FAILING_SHEET]`` → ``(job_id, sheets, failing_sheet)``."""
    job_id, sheets, failing = [*text.split(":", 2), ""][:3]
    try:
        plan = job_id, positive_int(sheets), positive_int(failing) if failing else None
    except (ValueError, argparse.ArgumentTypeError):
        plan = None
    if plan is None or not job_id:
        raise argparse.ArgumentTypeError(
            f"expected JOB_ID:SHEETS[:FAILING_SHEET] with positive numbers, got {text!r}"
        )
    return plan


def _fault(text: str) -> dict[str, Any]:
    """``KIND[:METHOD[:TIMES[:DELAY]]]`` → the keyword arguments of ``FakeDaemon.inject``."""
    from ..testing import Fault

    kind, method, times, delay = [*text.split(":", 3), "", "", ""][:4]
    try:
        return {
            "fault": Fault(kind),
            "method": method or None,
            "times": None if times == "always" else positive_int(times or "1"),
            "delay": float(delay or 0),
        }
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected KIND[:METHOD[:TIMES[:DELAY]]] with KIND one of "
            f"{', '.join(fault.value for fault in Fault)}, got {text!r}"
        ) from None


def fake_daemon(args: argparse.Namespace) -> int:
    from .._recording import RecordingError
    from ..testing import FakeDaemon

    options: dict[str, Any] = {
        "step_seconds": args.sheet_seconds,
        "check_config_files": args.check_config_files,
        "recording": args.replay,
        "fallback": args.fallback,
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
                    break
        if args.replay is not None and (unused := fake.unused()):
            print(f"{len(unused)} recorded request(s) never replayed:", file=sys.stderr)
            for call in unused:
                print(f"  {call.method} {json.dumps(call.params)}", file=sys.stderr)

    try:
        anyio.run(serve)
    except (OSError, RecordingError) as failure:  # a socket it cannot listen on, a bad file
        print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
