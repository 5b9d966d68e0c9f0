"""The benchmark still runs: every workload once, tiny, for every client (timings not checked)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from tests.sshd import unavailable_outcome

from bench.harness import IMPORTS, ROOT
from bench.remote import FLEET_CLIENTS
from bench.remote_report import SKIPPED_LABEL
from bench.remote_runs import FLEET_SIZES, REMOTE_WORKLOADS
from bench.workloads import (
    DEFAULT_POOL_SIZE,
    FLOORS,
    NEW_CONNECTION,
    OBSERVED_WORKLOADS,
    POOL_SIZES,
    POOL_WORKLOADS,
    SDKS,
    WORKLOADS,
    available_clients,
    runs_on,
)


@dataclass(frozen=True)
class SmokeRun:
    stdout: str
    stderr: str
    result: dict[str, Any]

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row["workload"], row["client"]): row for row in self.result["rows"]}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    output = tmp_path_factory.mktemp("bench") / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return SmokeRun(done.stdout, done.stderr, json.loads(output.read_text()))


def test_smoke_run_covers_every_workload_and_client(smoke_run: SmokeRun) -> None:
    result, rows = smoke_run.result, smoke_run.rows()
    expected = {(w.name, c) for w in WORKLOADS for c in runs_on(w, available_clients())}
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

    compared = [(w.name, c) for w in WORKLOADS if w.with_floor for c in available_clients()]
    assert all(f"{name:<28} {client:<14}" in smoke_run.stdout for name, client in compared)
    for target in result["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        assert f"{verdict}  {target['goal']}" in smoke_run.stdout


def test_smoke_run_prints_the_pool_size_table(smoke_run: SmokeRun) -> None:
    assert DEFAULT_POOL_SIZE in POOL_SIZES
    sdks = [client for client in SDKS if client in available_clients()]
    lines = smoke_run.stdout.splitlines()
    # Only SDK clients run against the conductor-like server, and never the floor.
    rows = smoke_run.rows()
    for by_size in POOL_WORKLOADS.values():
        assert list(by_size) == list(POOL_SIZES)
        for workload in by_size.values():
            assert workload.server == "conductor"
            assert {client for name, client in rows if name == workload.name} == set(sdks)

    labels = " / ".join(f"{s}*" if s == DEFAULT_POOL_SIZE else str(s) for s in POOL_SIZES)
    header = next(line for line in lines if line.startswith("method "))
    assert f"calls/s, pool {labels}" in header
    assert f"CPU µs/call, pool {labels}" in header
    for method in POOL_WORKLOADS:
        for client in sdks:
            line = next(line for line in lines if line.startswith(f"{method:<14} {client:<12}"))
            # calls/s and CPU for each size, then a calls/s and a CPU ratio per step up.
            assert line.count(" / ") == 2 * (len(POOL_SIZES) - 1)
            assert len(re.findall(r"\b\d+\.\d\dx\b", line)) == 2 * (len(POOL_SIZES) - 1)
    for client in sdks:
        assert (NEW_CONNECTION.name, client) in rows
        assert any(line.startswith(f"{'new client':<14} {client:<12}") for line in lines)


def test_smoke_run_prints_what_observing_costs(smoke_run: SmokeRun) -> None:
    rows = smoke_run.rows()
    lines = smoke_run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("client "))
    assert all(workload.name.split(", ", 1)[1] in header for workload in OBSERVED_WORKLOADS)
    for client in (client for client in SDKS if client in available_clients()):
        assert all((workload.name, client) in rows for workload in OBSERVED_WORKLOADS)
        line = next(line for line in lines if line.startswith(f"{client:<12} "))
        assert line.count(" µs") == len(OBSERVED_WORKLOADS)


def test_smoke_run_prints_the_remote_rows_or_why_they_were_skipped(smoke_run: SmokeRun) -> None:
    remote, stdout = smoke_run.result["remote"], smoke_run.stdout
    assert "failed" not in remote, smoke_run.stderr
    if "skipped" in remote:
        assert f"{SKIPPED_LABEL}: {remote['skipped']}" in stdout
        unavailable_outcome(remote["skipped"])  # skips, saying why; fails under CI
    clients = available_clients()
    rows = {(row["workload"], row["client"], row["via"]): row for row in remote["rows"]}
    for client in clients:
        vias = [row_via for (_, row_client, row_via) in rows if row_client == client]
        floor_via = "ssh+socat" if shutil.which("socat") else "ssh+bridge"
        expected = {floor_via} if client in FLOORS else {"local", "ssh"}
        assert expected <= set(vias), client
        for workload in REMOTE_WORKLOADS:
            for via in set(vias):
                row = rows[workload.name, client, via]
                assert row["calls"] > 0
                assert row["calls_per_second"]["median"] > 0
                line = f"{workload.name:<28} {client:<14} {via:<10} "
                assert any(each.startswith(line) for each in stdout.splitlines())
        if client not in FLOORS:
            assert any(
                row["client"] == client and row["via"] == "ssh" for row in remote["openings"]
            )
    fleets = {row["client"]: row for row in remote["fleet_rows"]}
    far_fleets = {row["client"]: row for row in remote["far_fleet_rows"]}
    assert set(fleets) == set(far_fleets) == {c for c in FLEET_CLIENTS if c in clients}
    for client in fleets:
        for row in (fleets[client], far_fleets[client]):
            assert sorted(int(size) for size in row["fleets"]) == list(FLEET_SIZES)
            assert row["slowest_single"] > 0
        # The far servers answer after their round trip: no call comes back sooner.
        assert far_fleets[client]["fastest_single"] >= remote["far_round_trip"]
        fleet_lines = [
            line for line in stdout.splitlines() if line.startswith(f"{'fleet':<14} {client:<14}")
        ]
        assert len(fleet_lines) == 2, "one line in each fleet table"
    goals = [target["goal"] for target in smoke_run.result["targets"]]
    assert sum(goal.startswith("over ssh, ") for goal in goals) == 2 * len(REMOTE_WORKLOADS)
    assert sum(goal.startswith("fleet over 16 ssh targets") for goal in goals) == len(fleets)
