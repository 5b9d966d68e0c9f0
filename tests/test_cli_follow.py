"""``submit --wait`` follows a job to its outcome; ``watch --reconnect`` outlives a restart."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.test_cli import COMMAND, ENV, at, next_line

from marianne_sdk.cli import EXIT_JOB_FAILED, EXIT_OK, EXIT_REJECTED
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon


@pytest.fixture
def fake(socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as threaded:
        yield threaded


@pytest.mark.parametrize(
    ("failing_sheet", "status", "exit_status"),
    [(None, "completed", EXIT_OK), (2, "failed", EXIT_JOB_FAILED)],
    ids=["completed", "failed"],
)
def test_submit_wait_shows_progress_and_exits_with_the_outcome(
    fake: ThreadedFakeDaemon, failing_sheet: int | None, status: str, exit_status: int
) -> None:
    fake.plan_job("nightly", sheets=3, fail_at_sheet=failing_sheet)
    result = at(fake, "submit", "--wait", "/scores/nightly.yaml")
    assert (result.returncode, result.stderr) == (exit_status, "")
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("nightly: ")]
    assert progress[-1].startswith(f"nightly: {status} "), lines
    assert len(progress) == len(set(progress)), "one line per change"
    if status == "completed":
        assert progress[-1] == "nightly: completed 3/3 sheets"


def test_submit_wait_json_gives_one_object_per_change(fake: ThreadedFakeDaemon) -> None:
    fake.plan_job("counted", sheets=2)
    result = at(fake, "submit", "--wait", "--json", "/scores/counted.yaml")
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["status"] == "accepted"  # the submission's own answer
    assert records[-1] == {
        "job_id": "counted",
        "status": "completed",
        "sheets_done": 2,
        "total_sheets": 2,
    }


def test_submit_wait_of_a_rejected_job_is_a_rejection(fake: ThreadedFakeDaemon) -> None:
    fake.call(setattr, fake._fake, "shutting_down", True)
    result = at(fake, "submit", "--wait", "/scores/refused.yaml")
    assert result.returncode == EXIT_REJECTED


def test_watch_reconnect_says_what_was_lost_and_goes_on(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path) as fake:
        watch = subprocess.Popen(
            [*COMMAND, "--socket", str(socket_path), "watch", "--reconnect"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            fake.wait_for(lambda: fake.monitor_subscribers == 1)
            fake.emit("before.restart")
            assert "before.restart" in next_line(watch)
            fake.restart()
            assert "were lost" in next_line(watch, timeout=30)
            fake.wait_for(lambda: fake.monitor_subscribers == 1)
            fake.emit("after.restart")
            assert "after.restart" in next_line(watch)
        finally:
            watch.kill()
            watch.communicate(timeout=30)
