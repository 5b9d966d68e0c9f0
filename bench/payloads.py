"""What the canned server answers: recorded conductor results plus one large job state.

Results come from ``tests/data/conductor-session.ndjson`` (a real conductor
session), so every answer decodes into the SDK's types. The large
``job.status`` is built from the recorded checkpoint: the same sheet shape,
repeated several hundred times with long ``stdout_tail``/``stderr_tail``, which
is what makes real job states big.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

RECORDING = Path(__file__).resolve().parent.parent / "tests" / "data" / "conductor-session.ndjson"

SMALL_JOB = "many"
"""Job id of the recorded checkpoint of about 60 KB."""

BIG_JOB = "bench-big"
"""Job id of the synthetic checkpoint of about 8 MB."""

BIG_SHEETS = 400
_STDOUT_LINES = 90
_STDERR_LINES = 45

MONITOR_EVENT = {
    "job_id": "bench",
    "sheet_num": 1,
    "event": "sheet.completed",
    "data": None,
    "timestamp": 1.0,
}
"""The ``monitor.event`` params pushed by the server (an ``ObserverEvent``)."""


def recorded_exchanges() -> list[dict[str, Any]]:
    """Every request/response pair of the recording, in order."""
    with RECORDING.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def recorded_results() -> dict[str, Any]:
    """Method → the last successful result recorded for it (``job.status``: the small job's)."""
    results: dict[str, Any] = {}
    for exchange in recorded_exchanges():
        request, response = exchange["request"], exchange["response"]
        if "result" not in response:
            continue
        if request["method"] == "job.status" and request["params"]["job_id"] != SMALL_JOB:
            continue
        results[request["method"]] = response["result"]
    return results


def _log_lines(sheet: int, stream: str, count: int) -> str:
    # Varied text, as a real tail is: identical strings would flatter any decoder.
    return "".join(
        f"2026-11-27T17:35:{line % 60:02d}.{(sheet * 7919 + line) % 1_000_000:06d}Z "
        f"[{stream}] sheet {sheet} step {line}: processed item {sheet * 1000 + line} "
        f"of /srv/demo/workspace/sheet-{sheet}/input-{line}.json in {line * 0.013:.3f} s\n"
        for line in range(count)
    )


def big_job_state(small: dict[str, Any]) -> dict[str, Any]:
    """A completed job of :data:`BIG_SHEETS` sheets (about 8 MB as JSON), shaped like ``small``."""
    state = copy.deepcopy(small)
    template = next(iter(state["sheets"].values()))
    sheets: dict[str, Any] = {}
    for number in range(1, BIG_SHEETS + 1):
        sheet = dict(template)
        sheet.update(
            sheet_num=number,
            status="completed",
            started_at="2026-11-27T17:35:00.000000Z",
            completed_at="2026-11-27T17:35:01.000000Z",
            attempt_count=1,
            exit_code=0,
            execution_duration_seconds=0.5 + number / 1000,
            stdout_tail=_log_lines(number, "stdout", _STDOUT_LINES),
            stderr_tail=_log_lines(number, "stderr", _STDERR_LINES),
            output_truncated=True,
        )
        sheets[str(number)] = sheet
    state.update(
        job_id=BIG_JOB,
        job_name="bench-big-job",
        status="completed",
        completed_at="2026-11-27T17:40:00.000000Z",
        total_sheets=BIG_SHEETS,
        total_movements=BIG_SHEETS,
        last_completed_sheet=BIG_SHEETS,
        sheets=sheets,
    )
    return state
