"""The examples are documentation that runs: each one finishes against a FakeDaemon."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.walkthrough import follow_a_job
from marianne_sdk import DaemonClient
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon

ROOT = Path(__file__).resolve().parent.parent
# Each runs on its own backend: asyncio, trio, and the blocking client.
EXAMPLES = ["asyncio_demo", "trio_demo", "sync_demo"]


@pytest.fixture
def fake(socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as threaded:
        yield threaded


def run_example(module: str, socket_path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"examples.{module}", *args],
        cwd=ROOT,
        env={**os.environ, "MARIANNE_SOCKET": socket_path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_follows_its_job_to_the_end(fake: ThreadedFakeDaemon, module: str) -> None:
    result = run_example(module, fake.socket_path)
    assert (result.returncode, result.stderr) == (0, "")
    job_id = module.replace("_", "-")
    assert f"job {job_id}: completed, 3" in result.stdout
    assert (
        "handled JobSubmissionError (code -32000): Job 'does-not-exist' not found" in result.stdout
    )
    [submitted] = [request for request in fake.requests if request.method == "job.submit"]
    assert submitted.params["config_path"] == str(ROOT / "examples" / f"{job_id}.yaml")


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_reports_a_failed_job(fake: ThreadedFakeDaemon, module: str) -> None:
    job_id = module.replace("_", "-")
    fake.plan_job(job_id, sheets=3, fail_at_sheet=2)
    result = run_example(module, fake.socket_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert f"job {job_id}: failed, 1" in result.stdout


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_exits_1_when_the_score_is_rejected(socket_path: Path, module: str) -> None:
    with FakeDaemon.in_thread(socket_path, check_config_files=True) as fake:
        result = run_example(module, fake.socket_path, "/no/such/score.yaml")
    assert result.returncode == 1
    assert "rejected (Config file not found: /no/such/score.yaml)" in result.stdout


@pytest.mark.anyio
async def test_walkthrough_in_process(
    client: DaemonClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await follow_a_job(client, Path("/scores/in-process.yaml")) == 0
    assert "job in-process: completed, 3/3 sheets completed" in capsys.readouterr().out


def test_make_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.run_demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    for command in ("examples.asyncio_demo", "examples.trio_demo", "marianne_sdk job"):
        assert f"$ python -m {command}" in result.stdout
    assert result.stdout.endswith("demo finished\n")
