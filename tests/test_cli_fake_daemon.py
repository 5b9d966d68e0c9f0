"""``marianne-sdk fake-daemon``: a fake conductor from the shell, with slow jobs, plans and faults."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.test_cli import COMMAND, ENV, cli, error_line, next_line, ok_json

from marianne_sdk import ObserverEvent
from marianne_sdk.sync import DaemonClient


@contextmanager
def fake_daemon(socket_path: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """``marianne-sdk fake-daemon`` serving on ``socket_path`` until the block ends."""
    served = subprocess.Popen(
        [*COMMAND, "fake-daemon", "--socket", str(socket_path), *options],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    with served:
        try:
            assert next_line(served, timeout=30) == f"serving on {socket_path}\n"
            yield served
        finally:
            served.terminate()
            served.wait(timeout=30)


def at(socket_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("--socket", str(socket_path), *args)


def next_event(events: Iterator[ObserverEvent], job_id: str, name: str) -> ObserverEvent:
    return next(event for event in events if (event.job_id, event.event) == (job_id, name))


def test_pause_then_resume_a_slow_job_from_the_shell(socket_path: Path) -> None:
    with (
        fake_daemon(socket_path, "--sheet-seconds", "2", "--plan", "long:100"),
        DaemonClient(socket_path) as client,
        client.monitor(idle_timeout=60) as events,
    ):
        before_submit = time.time()
        assert ok_json(at(socket_path, "submit", "/scores/long.yaml", "--json"))["job_id"] == "long"
        started = next_event(events, "long", "job.started")
        # Queued for one step of --sheet-seconds before it runs (the default is 0.05 s).
        assert started.timestamp - before_submit >= 1.9
        assert ok_json(at(socket_path, "pause", "long", "--json")) == {"paused": True}
        assert ok_json(at(socket_path, "job", "long", "--json"))["status"] == "paused"
        assert ok_json(at(socket_path, "resume", "long", "--json"))["status"] == "accepted"
        next_event(events, "long", "job.resuming")
        assert ok_json(at(socket_path, "job", "long", "--json"))["status"] == "running"
        assert ok_json(at(socket_path, "cancel", "long", "--json")) == {"cancelled": True}
        assert ok_json(at(socket_path, "job", "long", "--json"))["status"] == "cancelled"


def test_plans_faults_and_options_from_the_shell(socket_path: Path, tmp_path: Path) -> None:
    score = tmp_path / "short.yaml"
    score.write_text("name: short\n")
    options = ["--plan", "short:2:2", "--fault", "garbage:daemon.status", "--max-connections", "2"]
    with (
        fake_daemon(socket_path, *options, "--check-config-files"),
        DaemonClient(socket_path) as client,
        client.monitor(idle_timeout=60) as events,
    ):
        garbled = at(socket_path, "status")
        assert garbled.returncode == 5
        assert error_line(garbled).startswith("error: ProtocolError: ")
        assert at(socket_path, "status").returncode == 0, "the fault applied once"

        config = ok_json(at(socket_path, "call", "daemon.config", "--json"))
        assert config["socket"]["backlog"] == 2

        missing = at(socket_path, "submit", str(tmp_path / "missing.yaml"))
        assert missing.returncode == 4
        assert "Config file not found" in missing.stderr
        assert at(socket_path, "submit", str(score)).returncode == 0
        next_event(events, "short", "job.failed")
        state = ok_json(at(socket_path, "job", "short", "--json"))
        assert (state["status"], state["total_sheets"], state["last_completed_sheet"]) == (
            "failed",
            2,
            1,
        )


def test_every_matching_request_and_a_delay(socket_path: Path) -> None:
    with fake_daemon(socket_path, "--fault", "close_after_read:daemon.health:always:0.01"):
        for _ in range(2):
            assert at(socket_path, "health").returncode == 5
        assert at(socket_path, "status").returncode == 0


def test_a_live_socket_is_refused_and_keeps_serving(socket_path: Path) -> None:
    with fake_daemon(socket_path) as first:
        second = cli("fake-daemon", "--socket", str(socket_path))
        assert second.returncode == 1
        assert error_line(second) == (
            "error: SocketInUseError: [Errno 98] something is already listening on this "
            "socket, and a FakeDaemon never takes over a live one (stop the other server or "
            f"choose another path): '{socket_path}'"
        )
        assert ok_json(at(socket_path, "health", "--json"))["pid"] == first.pid


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "conductor.sock"
    result = cli("fake-daemon", "--socket", str(path))
    assert result.returncode == 1
    assert error_line(result) == (
        f"error: FileNotFoundError: [Errno 2] No such file or directory: '{path}'"
    )


@pytest.mark.parametrize(
    "option",
    [
        ["--sheet-seconds", "0"],
        ["--plan", "nosheets"],
        ["--plan", "x:0"],
        ["--fault", "no_such_fault"],
        ["--fault", "garbage:job.list:0"],
        ["--max-connections", "0"],
    ],
)
def test_bad_options_are_usage_errors(socket_path: Path, option: list[str]) -> None:
    result = cli("fake-daemon", "--socket", str(socket_path), *option)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert not socket_path.exists()
