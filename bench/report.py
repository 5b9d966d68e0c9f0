"""Summaries of the runs: the table, the targets and the JSON result."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.harness import BARE_PYTHON, IMPORTS, SDK_IMPORT
from bench.server import CONDUCTOR_CPU_SECONDS, CONDUCTOR_SLOTS
from bench.workloads import (
    BIG_STATUS,
    CONCURRENT_8,
    CONCURRENT_64,
    DEFAULT_MAX_IDLE_SECONDS,
    DEFAULT_POOL_SIZE,
    FLOOR_OF,
    FLOOR_WORKLOADS,
    NEW_CONNECTION,
    OBSERVED_WORKLOADS,
    POOL_CALLERS,
    POOL_SIZES,
    POOL_WORKLOADS,
    SDKS,
    SEQUENTIAL,
)

_MB = 1_000_000


@dataclass(frozen=True)
class Spread:
    """Median and range of one measure over the repeats."""

    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class Row:
    """One workload and client over every repeat."""

    workload: str
    client: str
    calls: int
    calls_per_second: Spread
    cpu_us_per_call: Spread
    floor: str | None
    cpu_ratio: float | None
    """Median CPU per call over the floor's median, on the same event loop library."""
    rate_ratio: float | None
    """Median calls/s over the floor's median."""


@dataclass(frozen=True)
class ImportRow:
    """A fresh interpreter running one import probe, over every repeat."""

    name: str
    import_seconds: Spread
    process_seconds: Spread
    peak_rss_bytes: Spread


@dataclass(frozen=True)
class Target:
    """One goal of the SDK, checked on this run's medians."""

    goal: str
    measured: str
    passed: bool


def summarise(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> list[Row]:
    """A row per workload and client, with ratios to the client's floor."""
    spreads: dict[tuple[str, str], tuple[Spread, Spread]] = {}
    for key, results in runs.items():
        rates = [r["calls"] / r["wall"] for r in results]
        cpus = [r["cpu"] / r["calls"] * 1e6 for r in results]
        spreads[key] = Spread.of(rates), Spread.of(cpus)
    rows = []
    for (workload, client), results in runs.items():
        rate, cpu = spreads[workload, client]
        floor = FLOOR_OF.get(client)
        floor_rate, floor_cpu = spreads.get((workload, floor or ""), (None, None))
        rows.append(
            Row(
                workload=workload,
                client=client,
                calls=results[0]["calls"],
                calls_per_second=rate,
                cpu_us_per_call=cpu,
                floor=floor,
                cpu_ratio=cpu.median / floor_cpu.median if floor_cpu else None,
                rate_ratio=rate.median / floor_rate.median if floor_rate else None,
            )
        )
    return rows


def summarise_imports(imports: dict[str, list[dict[str, float]]]) -> list[ImportRow]:
    """A row per import probe."""
    return [
        ImportRow(
            name=name,
            import_seconds=Spread.of([p["import_seconds"] for p in probes]),
            process_seconds=Spread.of([p["process_seconds"] for p in probes]),
            peak_rss_bytes=Spread.of([p["peak_rss_bytes"] for p in probes]),
        )
        for name, probes in imports.items()
    ]


def _range(spread: Spread, fmt: Callable[[float], str], unit: str = "") -> str:
    return f"{fmt(spread.median)}{unit} ({fmt(spread.min)}-{fmt(spread.max)})"


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else ""


def _milliseconds(value: float) -> str:
    return f"{value * 1000:.1f}"


def _megabytes(value: float) -> str:
    return f"{value / _MB:.1f}"


def _import_text(probe: ImportRow, baseline: ImportRow) -> str:
    """Import time (not for the baseline), process wall time and peak RSS, with deltas."""
    process = _range(probe.process_seconds, _milliseconds, " ms")
    rss = _range(probe.peak_rss_bytes, _megabytes, " MB")
    if probe is baseline:
        return f"process {process}, peak RSS {rss}"
    process_delta = probe.process_seconds.median - baseline.process_seconds.median
    rss_delta = probe.peak_rss_bytes.median - baseline.peak_rss_bytes.median
    return (
        f"import {_range(probe.import_seconds, _milliseconds, ' ms')}, "
        f"process {process} ({process_delta * 1000:+.1f} ms), "
        f"peak RSS {rss} ({rss_delta / _MB:+.1f} MB)"
    )


def table(rows: list[Row], imports: list[ImportRow]) -> str:
    """The SDK against the floor: every such workload and client, then the import probes."""
    compared = {workload.name for workload in FLOOR_WORKLOADS}
    header = (
        f"{'workload':<28} {'client':<14} {'calls/s median (min-max)':>28} "
        f"{'CPU µs/call median (min-max)':>30} {'CPU vs floor':>12} {'calls/s vs floor':>16}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        if row.workload not in compared:
            continue
        lines.append(
            f"{row.workload:<28} {row.client:<14} "
            f"{_range(row.calls_per_second, lambda v: f'{v:,.0f}'):>28} "
            f"{_range(row.cpu_us_per_call, lambda v: f'{v:,.1f}'):>30} "
            f"{_ratio(row.cpu_ratio):>12} {_ratio(row.rate_ratio):>16}"
        )
    baseline = next(probe for probe in imports if probe.name == BARE_PYTHON)
    for probe in imports:
        lines.append(f"{'fresh interpreter':<28} {probe.name:<14} {_import_text(probe, baseline)}")
    return "\n".join(lines)


def _pool_label(size: int) -> str:
    return f"{size}*" if size == DEFAULT_POOL_SIZE else str(size)


def pool_table(rows: list[Row]) -> str:
    """Calls/s and client CPU per call by pool size, side by side with their ratios.

    Then what a call on a new connection costs, which is what a short
    ``max_idle_seconds`` makes a program that calls now and then pay.
    """
    by_key = {(row.workload, row.client): row for row in rows}
    labels = " / ".join(_pool_label(size) for size in POOL_SIZES)
    steps = list(itertools.pairwise(POOL_SIZES))
    costs = ", ".join(f"{m} {s * 1e6:.0f} µs" for m, s in CONDUCTOR_CPU_SECONDS.items())
    title = (
        f"pool_size: {POOL_CALLERS} concurrent callers; the server spends the conductor's CPU "
        f"per request ({costs}) and serves at most {CONDUCTOR_SLOTS} connections at once; "
        f"* = the client's default (pool_size={DEFAULT_POOL_SIZE}, "
        f"max_idle_seconds={DEFAULT_MAX_IDLE_SECONDS})"
    )
    rates, cpus = f"calls/s, pool {labels}", f"CPU µs/call, pool {labels}"
    header = f"{'method':<14} {'client':<12} {rates:>30} {cpus:>30}" + "".join(
        f"   {f'{high} vs {low}: calls/s':>18} {'CPU':>6}" for low, high in steps
    )
    lines = [title, header, "-" * len(header)]
    for method, by_size in POOL_WORKLOADS.items():
        for client in SDKS:
            found = [by_key.get((by_size[size].name, client)) for size in POOL_SIZES]
            if any(row is None for row in found):
                continue
            sized = dict(zip(POOL_SIZES, [row for row in found if row is not None], strict=True))
            rate = {size: row.calls_per_second.median for size, row in sized.items()}
            cpu = {size: row.cpu_us_per_call.median for size, row in sized.items()}
            rate_text = " / ".join(f"{rate[size]:,.0f}" for size in POOL_SIZES)
            cpu_text = " / ".join(f"{cpu[size]:.1f}" for size in POOL_SIZES)
            lines.append(
                f"{method:<14} {client:<12} {rate_text:>30} {cpu_text:>30}"
                + "".join(
                    f"   {_ratio(rate[high] / rate[low]):>18} {_ratio(cpu[high] / cpu[low]):>6}"
                    for low, high in steps
                )
            )
    for client in SDKS:
        fresh = by_key.get((NEW_CONNECTION.name, client))
        pooled = by_key.get((SEQUENTIAL.name, client))
        if fresh is None or pooled is None:
            continue
        extra = fresh.cpu_us_per_call.median - pooled.cpu_us_per_call.median
        lines.append(
            f"{'new client':<14} {client:<12} "
            f"{fresh.calls_per_second.median:>,.0f} calls/s, "
            f"{fresh.cpu_us_per_call.median:.1f} µs CPU/call: {extra:+.1f} µs over a pooled "
            f"call ({SEQUENTIAL.name}, {pooled.calls_per_second.median:,.0f} calls/s)"
        )
    return "\n".join(lines)


def observed_table(rows: list[Row]) -> str:
    """What observing costs a call: CPU per call with an observer and traced, over none."""
    by_key = {(row.workload, row.client): row for row in rows}
    title = (
        f"observing: {SEQUENTIAL.name} with nothing watching, with an observer that does "
        "nothing, and with MarianneInstrumentor on (spans exported to nowhere)"
    )
    header = f"{'client':<12} {'none: CPU µs/call':>18}" + "".join(
        f"   {workload.name.split(', ', 1)[1] + ': CPU µs/call':>32} {'extra':>12}"
        for workload in OBSERVED_WORKLOADS
    )
    lines = [title, header, "-" * len(header)]
    for client in SDKS:
        bare = by_key.get((SEQUENTIAL.name, client))
        observed = [by_key.get((workload.name, client)) for workload in OBSERVED_WORKLOADS]
        if bare is None or None in observed:
            continue
        base = bare.cpu_us_per_call.median
        line = f"{client:<12} {base:>18.1f}"
        for row in observed:
            assert row is not None
            cpu = row.cpu_us_per_call.median
            line += f"   {cpu:>32.1f} {f'{cpu - base:+.1f} µs':>12}"
        lines.append(line)
    return "\n".join(lines)


def targets(rows: list[Row], imports: list[ImportRow]) -> list[Target]:
    """The SDK's goals, each PASS or MISS on this run's medians."""
    by_key = {(row.workload, row.client): row for row in rows}
    found: list[Target] = []

    def ratio_at_most(goal: str, workload: str, client: str, limit: float) -> None:
        row = by_key.get((workload, client))
        if row is not None and row.cpu_ratio is not None:
            found.append(Target(goal, f"{row.cpu_ratio:.2f}x", row.cpu_ratio <= limit))

    def rate_at_least_floor(goal: str, workload: str, client: str) -> None:
        row = by_key.get((workload, client))
        if row is not None and row.rate_ratio is not None:
            found.append(Target(goal, f"{row.rate_ratio:.2f}x", row.rate_ratio >= 1.0))

    ratio_at_most(
        "sequential: sdk-asyncio CPU/call ≤ 1.15x floor-asyncio",
        SEQUENTIAL.name,
        "sdk-asyncio",
        1.15,
    )
    trio, asyncio = (
        by_key.get((SEQUENTIAL.name, "sdk-trio")),
        by_key.get((SEQUENTIAL.name, "sdk-asyncio")),
    )
    if trio and asyncio:
        speed = trio.calls_per_second.median / asyncio.calls_per_second.median
        found.append(
            Target("sequential: sdk-trio calls/s ≥ sdk-asyncio", f"{speed:.2f}x", speed >= 1.0)
        )
    for workload, what in ((CONCURRENT_8.name, "8"), (CONCURRENT_64.name, "64")):
        for client in ("sdk-asyncio", "sdk-trio"):
            rate_at_least_floor(
                f"{what} concurrent: {client} calls/s ≥ {FLOOR_OF[client]} (8 connections)",
                workload,
                client,
            )
    for client in ("sdk-asyncio", "sdk-trio"):
        rate_at_least_floor(
            f"~8 MB job.status: {client} typed decode ≥ {FLOOR_OF[client]} json.loads (calls/s)",
            BIG_STATUS.name,
            client,
        )
    sdk = next(probe for probe in imports if probe.name == SDK_IMPORT)
    seconds, rss = sdk.import_seconds.median, sdk.peak_rss_bytes.median
    found.append(Target("import marianne_sdk ≤ 0.15 s", f"{seconds:.3f} s", seconds <= 0.15))
    found.append(
        Target("import marianne_sdk peak RSS ≤ 25 MB", f"{rss / _MB:.1f} MB", rss <= 25 * _MB)
    )
    return found


def verdicts(found: list[Target]) -> str:
    """A PASS or MISS line per target."""
    return "\n".join(f"{'PASS' if t.passed else 'MISS'}  {t.goal}: {t.measured}" for t in found)


def as_json(
    meta: dict[str, Any],
    runs: dict[tuple[str, str], list[dict[str, Any]]],
    rows: list[Row],
    imports: list[ImportRow],
    found: list[Target],
) -> dict[str, Any]:
    """Everything measured, summaries and raw runs, as one JSON-able document."""
    return {
        "meta": meta,
        "rows": [asdict(row) | {"runs": runs[row.workload, row.client]} for row in rows],
        "imports": [asdict(probe) for probe in imports],
        "import_statements": IMPORTS,
        "targets": [asdict(target) for target in found],
    }
