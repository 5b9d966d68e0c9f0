"""``submit --wait``: follow a submitted job to its end, showing its progress."""

from __future__ import annotations

import argparse
import sys

from .._errors import DaemonTimeoutError
from .._generated import models
from .._streams import StreamGap
from .._waiting import TERMINAL_STATUSES
from ..sync import DaemonClient
from ._exits import EXIT_JOB_CANCELLED, EXIT_JOB_FAILED, EXIT_OK
from ._output import print_json

_RECHECK_AFTER = 2.0
"""Seconds without an event of the job after which its status is asked anyway.

The conductor announces no cancellation, and drops events for a lagging
subscriber: the status is the truth, the events only say when to ask.
"""

_EXIT_BY_STATUS = {"completed": EXIT_OK, "failed": EXIT_JOB_FAILED, "cancelled": EXIT_JOB_CANCELLED}


def follow(client: DaemonClient, job_id: str, args: argparse.Namespace) -> int:
    """Show ``job_id``'s progress until it ends; exit with its outcome (see EPILOG)."""
    on_terminal = sys.stdout.isatty() and not args.json
    shown: str | None = None
    while True:
        state = client.get_job_status(job_id)
        progress = _progress(state)
        if progress != shown:
            shown = progress
            _show(job_id, state, progress, args, on_terminal=on_terminal)
        if state.status in TERMINAL_STATUSES:
            if on_terminal:
                print(flush=True)
            return _EXIT_BY_STATUS.get(str(state.status), EXIT_JOB_FAILED)
        _wait_for_news(client, job_id)


def _wait_for_news(client: DaemonClient, job_id: str) -> None:
    """Return at an event of the job, a gap in the stream, or after a while without either."""
    try:
        with client.monitor(reconnect=True, idle_timeout=_RECHECK_AFTER) as events:
            for event in events:
                if isinstance(event, StreamGap) or event.job_id == job_id:
                    return
    except DaemonTimeoutError:
        pass


def _progress(state: models.JobState) -> str:
    return f"{state.status} {state.last_completed_sheet}/{state.total_sheets} sheets"


def _show(
    job_id: str,
    state: models.JobState,
    progress: str,
    args: argparse.Namespace,
    *,
    on_terminal: bool,
) -> None:
    if args.json:
        print_json(
            {
                "job_id": job_id,
                "status": state.status,
                "sheets_done": state.last_completed_sheet,
                "total_sheets": state.total_sheets,
            }
        )
    elif on_terminal:
        print(f"\r\x1b[K{job_id}: {progress}", end="", flush=True)
    else:
        print(f"{job_id}: {progress}", flush=True)
