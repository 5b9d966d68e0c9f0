"""The benchmark still runs: every workload once, tiny, for every client (timings not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.harness import IMPORTS, ROOT
from bench.workloads import WORKLOADS, available_clients


def test_smoke_run_covers_every_workload_and_client(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    result = json.loads(output.read_text())
    rows = {(row["workload"], row["client"]): row for row in result["rows"]}
    expected = {(w.name, c) for w in WORKLOADS for c in available_clients()}
    assert set(rows) == expected
    for row in rows.values():
        assert row["calls"] > 0
        assert len(row["runs"]) == 1
        assert row["calls_per_second"]["median"] > 0
        assert row["cpu_us_per_call"]["median"] > 0
        assert (row["floor"] is None) == row["client"].startswith("floor-")
    assert [probe["name"] for probe in result["imports"]] == list(IMPORTS)
    assert all(probe["peak_rss_bytes"]["median"] > 0 for probe in result["imports"])
    assert result["targets"]
    assert all(set(target) == {"goal", "measured", "passed"} for target in result["targets"])
    assert result["meta"]["smoke"] is True

    assert all(name in done.stdout for name, _ in expected)
    for target in result["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        assert f"{verdict}  {target['goal']}" in done.stdout
