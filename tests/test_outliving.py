"""Programs that outlive their process and their conductor: forks, and restarts while busy.

The conductor here is ``tests/programs/ledger_conductor.py``, a separate
process that records which process opened each connection and who sent what
on it, so a request sent on another process's connection shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import DaemonClient, JobRequest
from marianne_sdk.sync import DaemonClient as SyncDaemonClient

PROGRAM_BOUND = 120.0


class LedgerConductor:
    """The ledger conductor in a process of its own, on one socket path."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._process = self._start()

    def _start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.programs.ledger_conductor", str(self.socket_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        return process

    def restart(self) -> None:
        """Stop, then start anew on the same path; blocking, as a busy program blocks its loop."""
        self.stop()
        self._process = self._start()

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)


@contextmanager
def ledger_conductor(socket_path: Path) -> Iterator[LedgerConductor]:
    """The ledger conductor serving ``socket_path``, stopped (and its socket gone) on exit."""
    conductor = LedgerConductor(socket_path)
    try:
        yield conductor
    finally:
        conductor.stop()


def ledger(socket_path: Path) -> dict[str, Any]:
    with SyncDaemonClient(socket_path, timeout=10) as client:
        result: dict[str, Any] = client.call("test.ledger")
    return result


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_a_forked_child_calls_on_its_own_connection_and_exits(socket_path: Path, mode: str) -> None:
    with ledger_conductor(socket_path):
        program = subprocess.run(
            [sys.executable, "-m", "tests.programs.forking_client", str(socket_path), mode],
            capture_output=True,
            text=True,
            timeout=PROGRAM_BOUND,
            check=False,
        )
        assert program.returncode == 0, program.stderr
        report = json.loads(program.stdout)
        calls = ledger(socket_path)["whoami"]

    parent, calling, idle = report["parent"], report["calling"], report["idle"]
    assert report["idle_before_fork"] == 1, "the parent kept its connection for 30 s"
    assert calling["inherited_idle"] == idle["inherited_idle"] == 0, "forgotten at the fork"
    assert idle["status"] == 0, "a child that never touched the client exits at once"
    assert calling["status"] == 0, "a child that called exits"
    assert calling["answer"] == calling["pid"], "the child got its own answer"
    assert report["first"] == report["again"] == parent, "the parent's answers are its own"
    # Every request came on a connection that its own process opened.
    assert [said for _, opened_by, said in calls if opened_by != said] == []
    assert sorted(said for _, _, said in calls) == sorted([parent, parent, calling["pid"]])
    child_connections = {number for number, opened_by, _ in calls if opened_by == calling["pid"]}
    assert len(child_connections) == 1, "the child opened a connection of its own"


@pytest.mark.anyio
async def test_a_restart_while_the_loop_is_blocked_never_loses_a_submission(
    socket_path: Path,
) -> None:
    """The pooled connection died while no loop callback ran: the submit is sent once, anew."""
    with ledger_conductor(socket_path) as conductor, anyio.fail_after(60):
        async with DaemonClient(socket_path, max_idle_seconds=60, timeout=10) as client:
            await client.call("daemon.health")
            conductor.restart()  # the loop is blocked meanwhile: none of its callbacks runs
            response = await client.submit_job(JobRequest(config_path="/tmp/ledger.yaml"))
        assert response.status == "accepted"
        assert ledger(socket_path)["job.submit"] == 1, "the new conductor got exactly one submit"
