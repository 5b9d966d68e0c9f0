"""The README's quickstart runs as written, against a fake conductor, on each backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from marianne_sdk.testing import FakeDaemon

README = Path(__file__).resolve().parent.parent / "README.md"


def quickstart(variant: str) -> str:
    """The quickstart's program for ``variant``: asyncio, trio (its asyncio ``main``) or sync."""
    section = README.read_text().split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    asyncio_program, blocking_program = [
        block.split("```", 1)[0] for block in section.split("```python\n")[1:]
    ]
    if variant == "blocking":
        return blocking_program
    if variant == "trio":
        # "The same main(), run with trio.run(main)."
        return asyncio_program.replace("asyncio.run(main())", "import trio\ntrio.run(main)")
    return asyncio_program


def run(program: str, socket_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "MARIANNE_SOCKET": str(socket_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("variant", ["asyncio", "trio"])
def test_the_async_quickstart(socket_path: Path, variant: str) -> None:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as fake:
        fake.plan_job("score", sheets=2)
        result = run(quickstart(variant), socket_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "0.1.0",
        "score completed 2 / 2",
        "-32000 Job 'does-not-exist' not found",
    ]


def test_the_async_quickstart_on_a_rejected_score(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path, check_config_files=True):
        result = run(quickstart("asyncio"), socket_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1:] == [
        "job.submit rejected: Config file not found: /abs/path/score.yaml"
    ]


def test_the_blocking_quickstart(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as fake:
        fake.plan_job("score", sheets=2, fail_at_sheet=2)
        result = run(quickstart("blocking"), socket_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["ok", "score failed"]
