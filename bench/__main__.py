"""``python -m bench``: measure the SDK against the floor, and by pool size; print the tables.

Then the same server over ssh (:mod:`bench.remote`): the SDK against the SDK
on the local socket and against the floor over ssh, opening a connection,
and fleet fan-out; where sshd cannot run, one line says why they are skipped.

``--smoke`` runs every workload once with tiny counts: it proves the benchmark
still works and says nothing about speed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import remote_report, report
from bench.harness import (
    PLACEMENTS,
    ROOT,
    cpu_sets,
    machine_busy_seconds,
    own_cpu_seconds,
    run_all,
)
from bench.remote import run_remote
from bench.workloads import WORKLOADS, available_clients

RESULTS = Path(__file__).resolve().parent / "results"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


def _meta(clients: tuple[str, ...], repeats: int, smoke: bool, placement: str) -> dict[str, Any]:
    server_cpus, client_cpus = cpu_sets(placement)
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(),
        "commit": _commit(),
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {
            name: _version(name) for name in ("marianne-sdk", "anyio", "trio", "msgspec", "uvloop")
        },
        "clients": list(clients),
        "repeats": repeats,
        "placement": placement,
        "server_cpus": sorted(server_cpus) if server_cpus else None,
        "client_cpus": sorted(client_cpus) if client_cpus else None,
        "smoke": smoke,
        "workloads": {w.name: w.smoke_count if smoke else w.count for w in WORKLOADS},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit status is 0 even when targets are missed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, one repeat")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each pair (default 5)")
    parser.add_argument("--output", type=Path, help="JSON result file (default: bench/results/)")
    parser.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="shared",
        help="server and client on one CPU (default), on two, or wherever the OS puts them",
    )
    parser.add_argument(
        "--no-remote", action="store_true", help="leave out the rows over ssh (bench.remote)"
    )
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    clients = available_clients()
    if "sdk-uvloop" not in clients:
        print("uvloop is not installed: sdk-uvloop is skipped", file=sys.stderr)

    started = time.perf_counter()
    busy, own = machine_busy_seconds(), own_cpu_seconds()
    meta = _meta(clients, repeats, args.smoke, args.placement)
    runs, imports = run_all(clients, repeats, smoke=args.smoke, placement=args.placement)
    if args.no_remote:
        remote: dict[str, Any] = {"skipped": "--no-remote"}
    else:
        remote = run_remote(clients, smoke=args.smoke, placement=args.placement)
    # CPU that other processes took meanwhile: a busy machine makes a run untrustworthy.
    meta["other_cpu_seconds"] = (machine_busy_seconds() - busy) - (own_cpu_seconds() - own)
    rows = report.summarise(runs)
    import_rows = report.summarise_imports(imports)
    remote_summary = remote_report.summarise(remote)
    found = report.targets(rows, import_rows)
    if remote_summary is not None:
        found += remote_report.targets(remote_summary)
    meta["total_seconds"] = time.perf_counter() - started

    output = args.output or RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    document = report.as_json(meta, runs, rows, import_rows, found)
    document["remote"] = remote_report.as_json(remote, remote_summary)
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    print(report.table(rows, import_rows))
    print()
    print(report.pool_table(rows))
    print()
    print(report.observed_table(rows))
    print()
    if remote_summary is None:
        print(remote_report.skipped_line(remote))
    else:
        print(remote_report.tables(remote_summary))
    print()
    print(report.verdicts(found))
    if remote_summary is not None:
        print(
            f"\nremote: {len(remote['paired'])} paired run(s) and "
            f"{len(remote['fleet']) + len(remote['far_fleet'])} fleet run(s) "
            f"in {remote['seconds']:.0f} s"
        )
    print(
        f"\n{len(runs)} pairs x {repeats} repeat(s) in {meta['total_seconds']:.0f} s; "
        f"other processes used {meta['other_cpu_seconds']:.1f} CPU-s meanwhile; {output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
