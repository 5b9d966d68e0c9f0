"""Running the benchmark: the server process, one process per measured run, imports.

Runs are interleaved — every client once per workload, then the next
workload, then the whole sequence again for each repeat — so that a slow
phase of the machine spreads over all clients instead of landing on one.

Where the processes run (``placement``): by default the server and the client
share one CPU. A call then costs a plain switch between the two processes,
and on a quiet machine its client CPU time stayed within 10-20% from run to
run. On separate CPUs each call also pays for waking an idle CPU, which on a
virtual machine made the same run vary by 2-3x from one run to the next,
hiding the differences being measured. ``separate`` and ``any`` (the OS decides) are
there to see that effect.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.workloads import MONITOR, WORKLOADS, Server, runs_on

ROOT = Path(__file__).resolve().parent.parent
_RUN_TIMEOUT = 120.0

# Peak RSS is the kernel's VmHWM of the probe's own memory map: ru_maxrss would not
# do, as Linux carries it over from the parent (this process) through fork and exec.
_IMPORT_PROBE = """\
import sys, time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
sys.stdout.write(f"{{elapsed}} {{peak_kib}}")
"""
BARE_PYTHON = "python -c pass"
SDK_IMPORT = "marianne_sdk"
IMPORTS = {BARE_PYTHON: "pass", SDK_IMPORT: "import marianne_sdk"}
"""What each import probe runs in a fresh interpreter: a bare baseline, and the SDK."""

PLACEMENTS = ("shared", "separate", "any")


def cpu_sets(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """The CPUs of the server and of the clients (None: wherever the OS puts them)."""
    if placement == "any" or not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if placement == "separate" and len(cpus) > 1:
        return {cpus[0]}, {cpus[1]}
    return {cpus[-1]}, {cpus[-1]}


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run the block, and so the processes it starts, on ``cpus``."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (Linux ``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children (server, runs, probes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def canned_server(events: int, cpus: set[int] | None, kind: Server = "canned") -> Iterator[str]:
    """A :mod:`bench.server` process, for as long as the block lasts; yields its socket path."""
    with canned_servers(1, events, cpus, kind) as (path,):
        yield path


@contextlib.contextmanager
def canned_servers(
    count: int,
    events: int,
    cpus: set[int] | None,
    kind: Server = "canned",
    answer_after: float = 0.0,
) -> Iterator[list[str]]:
    """``count`` :mod:`bench.server` processes, started at once; yields their socket paths.

    ``answer_after``: seconds each waits before each answer (a host across a network).
    """
    options = ["--conductor"] if kind == "conductor" else []
    if answer_after:
        options += ["--answer-after", str(answer_after)]
    with (
        tempfile.TemporaryDirectory(prefix="marianne-bench-") as directory,
        contextlib.ExitStack() as stack,
    ):
        paths = [str(Path(directory) / f"conductor-{index}.sock") for index in range(count)]
        servers = []
        with affinity(cpus):
            for path in paths:
                server = subprocess.Popen(
                    [sys.executable, "-m", "bench.server", path, str(events), *options],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                stack.callback(_stop, server)
                servers.append(server)
        for server in servers:
            _wait_ready(server)
        yield paths


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stdout is not None:
        server.stdout.close()


def _wait_ready(server: subprocess.Popen[str]) -> None:
    assert server.stdout is not None
    # The server prints "ready" once it listens, or exits (EOF here) if it cannot.
    if server.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the canned server did not start (exit code {server.wait()})")


def measure_run(client: str, workload: str, count: int, socket_path: str) -> dict[str, Any]:
    """One run in a fresh process: ``{"calls", "wall", "cpu"}`` of the measured part."""
    return run_measured(
        "bench.workloads", [client, workload, str(count), socket_path], f"{client} on {workload!r}"
    )


def run_measured(
    module: str,
    argv: list[str],
    what: str,
    env: dict[str, str] | None = None,
    timeout: float = _RUN_TIMEOUT,
) -> dict[str, Any]:
    """``python -m module *argv`` in a fresh process; the JSON it prints (RuntimeError if it fails)."""
    done = subprocess.run(
        [sys.executable, "-m", module, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure_import(statement: str) -> dict[str, float]:
    """Seconds ``statement`` takes and the peak RSS (bytes) of a fresh interpreter running it."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(statement=statement)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=True,
    )
    process_wall = time.perf_counter() - started
    elapsed, peak_kib = done.stdout.split()
    return {
        "import_seconds": float(elapsed),
        "process_seconds": process_wall,
        "peak_rss_bytes": int(peak_kib) * 1024,
    }


def run_all(
    clients: tuple[str, ...], repeats: int, *, smoke: bool, placement: str
) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], dict[str, list[dict[str, float]]]]:
    """Every workload for every client, ``repeats`` times interleaved, plus the import probes."""
    server_cpus, client_cpus = cpu_sets(placement)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    imports: dict[str, list[dict[str, float]]] = {name: [] for name in IMPORTS}
    monitor_events = MONITOR.smoke_count if smoke else MONITOR.count
    with (
        canned_server(monitor_events, server_cpus) as canned,
        canned_server(monitor_events, server_cpus, "conductor") as conductor,
        affinity(client_cpus),
    ):
        socket_paths: dict[Server, str] = {"canned": canned, "conductor": conductor}
        for repeat in range(repeats):
            for workload in WORKLOADS:
                count = workload.smoke_count if smoke else workload.count
                socket_path = socket_paths[workload.server]
                for client in runs_on(workload, clients):
                    result = measure_run(client, workload.name, count, socket_path)
                    runs.setdefault((workload.name, client), []).append(result)
            for name, statement in IMPORTS.items():
                imports[name].append(measure_import(statement))
            print(f"  repeat {repeat + 1}/{repeats} done", file=sys.stderr, flush=True)
    return runs, imports
