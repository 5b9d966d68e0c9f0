"""Summaries of the remote runs (:mod:`bench.remote`): the tables, the targets, the JSON."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.remote_runs import FLEET_SIZES, REMOTE_WORKLOADS
from bench.report import Spread, Target
from bench.workloads import CONCURRENT_8, FLOOR_LANES, FLOOR_OF, SEQUENTIAL

RATE_OF_FLOOR = 0.9
"""Target: over ssh, the SDK's calls/s at least this much of the floor's, with as many connections."""

FLEET_OVER_SLOWEST = 2.0
"""Target: a fleet call over 16 targets within this much of the slowest target's own latency.

Checked on the run whose servers answer after a network's round trip
(:data:`bench.remote.FAR_ROUND_TRIP`). On 127.0.0.1 alone, 16 targets' ssh,
sshd, bridges and servers share this machine's CPUs: that table shows what
a fleet call costs them, and the least time that CPU allows, not a target.
"""

SKIPPED_LABEL = "remote (ssh): skipped"
FAILED_LABEL = "remote (ssh): FAILED"

_CONNECTIONS = {SEQUENTIAL.name: 1, CONCURRENT_8.name: FLOOR_LANES}
_FLOOR_VIA = "ssh+socat"
_BRIDGE_VIA = "ssh+bridge"
_TARGET_CLIENTS = ("sdk-asyncio", "sdk-trio")


@dataclass(frozen=True)
class RemoteRow:
    """One workload, client and way of reaching the server, over the slices of its paired run."""

    workload: str
    client: str
    via: str
    calls: int
    calls_per_second: Spread
    cpu_us_per_call: Spread
    ssh_cpu_us_per_call: Spread
    """CPU of the client's ssh children per call (``/proc``, in 10 ms ticks)."""
    vs_floor: float | None
    """Median calls/s over the same loop library's floor through ssh + socat (ssh rows)."""
    vs_bridge_floor: float | None
    """Median calls/s over that floor through ssh running the SDK's bridge (ssh rows)."""
    vs_local: float | None
    """An SDK's median calls/s over ssh, over its own on the local socket."""


@dataclass(frozen=True)
class OpeningRow:
    """A fresh client's first call (seconds), every sample of every slice."""

    client: str
    via: str
    samples: int
    seconds: Spread


@dataclass(frozen=True)
class FleetRow:
    """One SDK client's fleet run: medians in seconds."""

    client: str
    targets: int
    slowest_single: float
    fastest_single: float
    singles_in_a_row: float
    """The targets' medians added up: a fan-out that ran one target after another."""
    single_calls: int
    fleets: dict[int, float]
    fleet_calls: int
    fleet_cpu: dict[int, float]
    """Client process CPU per fleet call."""
    single_machine_cpu: float
    fleet_machine_cpu: dict[int, float]
    """Every process's CPU (``/proc/stat``, other programs' included) per call alone, per fleet call."""

    @property
    def ratio(self) -> float:
        """The largest fleet's median over the slowest target's own median."""
        return self.fleets[max(self.fleets)] / self.slowest_single


@dataclass(frozen=True)
class RemoteSummary:
    rows: list[RemoteRow]
    openings: list[OpeningRow]
    fleets: list[FleetRow]
    far_fleets: list[FleetRow]
    """The fleet runs against servers that answer after :attr:`far_round_trip`."""
    far_round_trip: float
    notes: list[str]
    cpus: int | None
    placement: str
    """Where the runs over ssh and local ran, in words."""
    slices: int
    """The fewest slices of a paired run (each normally has :data:`bench.remote.SLICES`)."""


def summarise(remote: dict[str, Any]) -> RemoteSummary | None:
    """Rows of a remote result; None if it was skipped or failed."""
    if "skipped" in remote or "failed" in remote:
        return None
    measures: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    samples: dict[tuple[str, str], list[float]] = {}
    for run in remote["paired"].values():
        for each in run["participants"]:
            client, via = each["client"], each["via"]
            samples[client, via] = each["openings"]
            for workload in REMOTE_WORKLOADS:
                measures[workload.name, client, via] = each["measures"][workload.name]
    rates = {
        key: statistics.median(m["calls"] / m["wall"] for m in found)
        for key, found in measures.items()
    }
    rows = []
    for (name, client, via), found in measures.items():
        key, floor = (name, client, via), FLOOR_OF.get(client, client)
        rows.append(
            RemoteRow(
                workload=name,
                client=client,
                via=via,
                calls=found[0]["calls"],
                calls_per_second=Spread.of([m["calls"] / m["wall"] for m in found]),
                cpu_us_per_call=Spread.of([m["cpu"] / m["calls"] * 1e6 for m in found]),
                ssh_cpu_us_per_call=Spread.of([m["ssh_cpu"] / m["calls"] * 1e6 for m in found]),
                vs_floor=_over(rates, key, floor, _FLOOR_VIA),
                vs_bridge_floor=_over(rates, key, floor, _BRIDGE_VIA),
                vs_local=_over(rates, key, client, "local"),
            )
        )
    openings = [
        OpeningRow(client, via, len(seconds), Spread.of(seconds))
        for (client, via), seconds in samples.items()
        if seconds
    ]
    fleets = [_fleet_row(client, found) for client, found in remote["fleet"].items()]
    far = [_fleet_row(client, found) for client, found in remote["far_fleet"].items()]
    slices = min((run["slices"] for run in remote["paired"].values()), default=0)
    return RemoteSummary(
        rows,
        openings,
        fleets,
        far,
        remote["far_round_trip"],
        remote["notes"],
        remote["cpus"],
        _where(remote),
        slices,
    )


def _where(remote: dict[str, Any]) -> str:
    """Where the processes of the runs over ssh and local ran, in words."""
    if remote["server_cpus"] is None or remote["client_cpus"] is None:
        return f"placement {remote['placement']}: wherever the OS puts the processes"
    server, client = (
        ",".join(str(cpu) for cpu in remote[key]) for key in ("server_cpus", "client_cpus")
    )
    if server == client:
        return f"placement {remote['placement']}: every process on CPU {server}"
    return (
        f"placement {remote['placement']}: sshd, the bridges and the server on CPU {server}, "
        f"the clients and their ssh on CPU {client}"
    )


def _over(
    rates: dict[tuple[str, str, str], float], key: tuple[str, str, str], client: str, via: str
) -> float | None:
    """The median calls/s of ``key``, a row over ssh, over those of ``client`` via ``via``."""
    base = (key[0], client, via)
    if key[2] == "local" or base == key or base not in rates:
        return None
    return rates[key] / rates[base]


def _fleet_row(client: str, found: dict[str, Any]) -> FleetRow:
    singles = found["single_medians"]
    fleets = {int(size): each["median"] for size, each in found["fleets"].items()}
    return FleetRow(
        client=client,
        targets=len(singles),
        slowest_single=max(singles),
        fastest_single=min(singles),
        singles_in_a_row=sum(singles),
        single_calls=found["single_calls"],
        fleets=fleets,
        fleet_calls=min(each["calls"] for each in found["fleets"].values()),
        fleet_cpu={int(size): each["cpu_per_call"] for size, each in found["fleets"].items()},
        single_machine_cpu=found["single_machine_cpu_per_call"],
        fleet_machine_cpu={
            int(size): each["machine_cpu_per_call"] for size, each in found["fleets"].items()
        },
    )


def _range(spread: Spread, fmt: Callable[[float], str], unit: str = "") -> str:
    return f"{fmt(spread.median)}{unit} ({fmt(spread.min)}-{fmt(spread.max)})"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _cpu(value: float) -> str:
    return f"{value:,.1f}"


def _ms(value: float) -> str:
    return f"{value * 1000:,.1f}" if value < 10 else f"{value * 1000:,.0f}"


def _us(value: float) -> str:
    return f"{value * 1e6:,.0f} µs"


def skipped_line(remote: dict[str, Any]) -> str:
    """Why there are no remote rows."""
    if "failed" in remote:
        return f"{FAILED_LABEL}: {remote['failed']}"
    return f"{SKIPPED_LABEL}: {remote['skipped']}"


def tables(summary: RemoteSummary) -> str:
    """Throughput over ssh, opening a connection, fleet fan-out; one table each."""
    far = (
        f"the same, each server answering after {summary.far_round_trip * 1e3:g} ms "
        "(a host across a network): what a fan-out overlaps"
    )
    return "\n\n".join(
        (
            _rate_table(summary),
            _opening_table(summary),
            _fleet_table(summary, summary.fleets, None),
            _fleet_table(summary, summary.far_fleets, far),
        )
    )


def _rate_table(summary: RemoteSummary) -> str:
    title = (
        "remote: the canned server over ssh (a private sshd on 127.0.0.1; ssh -T, the SDK's "
        "bridge is python3 -c) and on its local socket; one process per event loop holds its "
        f"clients open at once, each taking its turn in {summary.slices} slice(s) (min-max "
        "over the slices); the SDK's pool_size and the floor's "
        f"lanes are both {FLOOR_LANES}; the floor over ssh is raw NDJSON through one "
        "`ssh 127.0.0.1 socat - UNIX-CONNECT:...` (ssh+socat) or one ssh running the SDK's "
        "bridge (ssh+bridge) per lane; ssh CPU: the client's ssh processes, in 10 ms ticks; "
        f"{summary.placement}"
    )
    header = (
        f"{'workload':<28} {'client':<14} {'via':<10} {'calls/s median (min-max)':>28} "
        f"{'CPU µs/call median (min-max)':>30} {'ssh CPU µs/call':>16} "
        f"{'calls/s vs floor':>17} {'vs ssh+bridge':>14} {'vs local':>9}"
    )
    lines = [title, *summary.notes, header, "-" * len(header)]
    for row in summary.rows:
        lines.append(
            f"{row.workload:<28} {row.client:<14} {row.via:<10} "
            f"{_range(row.calls_per_second, _rate):>28} "
            f"{_range(row.cpu_us_per_call, _cpu):>30} "
            f"{_cpu(row.ssh_cpu_us_per_call.median):>16} "
            f"{_ratio(row.vs_floor):>17} {_ratio(row.vs_bridge_floor):>14} "
            f"{_ratio(row.vs_local):>9}"
        )
    return "\n".join(lines)


def _opening_table(summary: RemoteSummary) -> str:
    title = (
        "opening a connection: a fresh client's first daemon.health, from making the client "
        "to the answer (floor: from starting ssh or connecting); every sample of every slice"
    )
    header = (
        f"{'opening':<14} {'client':<14} {'via':<10} {'ms median (min-max)':>26} "
        f"{'samples':>7}   {'vs local':>9} {'vs floor ssh+bridge':>20}"
    )
    by_key = {(row.client, row.via): row for row in summary.openings}
    # The same ssh session and remote program, started by the floor: on any event loop.
    bridged = [row for row in summary.openings if row.via == _BRIDGE_VIA]
    lines = [title, header, "-" * len(header)]
    for row in summary.openings:
        local = by_key.get((row.client, "local"))
        floor = by_key.get((FLOOR_OF.get(row.client, ""), _BRIDGE_VIA)) or next(iter(bridged), None)
        vs_local = (
            row.seconds.median / local.seconds.median if local and row.via != "local" else None
        )
        vs_floor = (
            f"{(row.seconds.median - floor.seconds.median) * 1000:+,.0f} ms"
            if floor and row.via == "ssh"
            else ""
        )
        lines.append(
            f"{'opening':<14} {row.client:<14} {row.via:<10} {_range(row.seconds, _ms):>26} "
            f"{row.samples:>7}   {_ratio(vs_local):>9} {vs_floor:>20}"
        )
    return "\n".join(lines)


def _fleet_table(summary: RemoteSummary, rows: list[FleetRow], variant: str | None) -> str:
    sizes = sorted({size for row in rows for size in row.fleets})
    largest = max(sizes, default=max(FLEET_SIZES))
    cpus = summary.cpus or 1
    title = variant or (
        f"fleet fan-out over ssh: {largest} canned servers, each its own socket, one sshd on "
        "127.0.0.1, warm connections; median latency of call('daemon.health'), each target "
        "alone (on the largest fleet's client for it) and each fleet, in interleaved rounds; "
        f"machine CPU: every process's, per call alone and per fleet call of {largest}, and "
        f"that CPU spread over all {cpus} CPUs, the least such a call can take here"
    )
    fleets = " / ".join(str(size) for size in sizes)
    header = (
        f"{'fleet':<14} {'client':<14} {'slowest single (fastest)':>25} "
        f"{f'fleet of {fleets}':>30} {f'{largest} vs slowest':>14} "
        f"{f'{largest} singles in a row':>21} {f'client CPU µs/call {fleets}':>31} "
        f"{f'machine CPU µs/call: single, {largest} (/{cpus})':>40}"
    )
    lines = [title, header, "-" * len(header)]
    for row in rows:
        latencies = " / ".join(_us(row.fleets[size]) for size in sizes)
        cpu = " / ".join(f"{row.fleet_cpu[size] * 1e6:,.0f}" for size in sizes)
        machine = row.fleet_machine_cpu[largest]
        machine_text = (
            f"{row.single_machine_cpu * 1e6:,.0f}, {machine * 1e6:,.0f} "
            f"(≥ {machine / cpus * 1e6:,.0f} µs)"
        )
        lines.append(
            f"{'fleet':<14} {row.client:<14} "
            f"{f'{_us(row.slowest_single)} ({_us(row.fastest_single)})':>25} "
            f"{latencies:>30} {_ratio(row.ratio):>14} {_us(row.singles_in_a_row):>21} "
            f"{cpu:>31} {machine_text:>40}"
        )
    if rows:
        calls = rows[0]
        lines.append(
            f"(medians of {calls.single_calls} calls per target alone and "
            f"{calls.fleet_calls} per fleet)"
        )
    return "\n".join(lines)


def targets(summary: RemoteSummary) -> list[Target]:
    """The remote goals, each PASS or MISS on this run's medians."""
    found: list[Target] = []
    by_key = {(row.workload, row.client, row.via): row for row in summary.rows}
    vias = {row.via for row in summary.rows}
    floor_via = _FLOOR_VIA if _FLOOR_VIA in vias else _BRIDGE_VIA
    for workload in REMOTE_WORKLOADS:
        connections = _CONNECTIONS[workload.name]
        for client in _TARGET_CLIENTS:
            row = by_key.get((workload.name, client, "ssh"))
            floor = by_key.get((workload.name, FLOOR_OF[client], floor_via))
            if row is None or floor is None:
                continue
            ratio = row.calls_per_second.median / floor.calls_per_second.median
            found.append(
                Target(
                    f"over ssh, {workload.name}: {client} calls/s ≥ {RATE_OF_FLOOR}x "
                    f"{FLOOR_OF[client]} via {floor_via} ({connections} connection"
                    f"{'s' if connections > 1 else ''})",
                    f"{ratio:.2f}x",
                    ratio >= RATE_OF_FLOOR,
                )
            )
    for fleet in summary.far_fleets:
        if fleet.client not in _TARGET_CLIENTS:
            continue
        largest = max(fleet.fleets)
        found.append(
            Target(
                f"fleet over {largest} ssh targets {summary.far_round_trip * 1e3:g} ms away: "
                f"{fleet.client} call ≤ {FLEET_OVER_SLOWEST}x "
                "the slowest target's single-client latency",
                f"{fleet.ratio:.2f}x ({_us(fleet.fleets[largest])} vs {_us(fleet.slowest_single)})",
                fleet.ratio <= FLEET_OVER_SLOWEST,
            )
        )
    return found


def as_json(remote: dict[str, Any], summary: RemoteSummary | None) -> dict[str, Any]:
    """The raw remote runs and their summaries (or why they were skipped)."""
    if summary is None:
        return remote
    return remote | {
        "rows": [asdict(row) for row in summary.rows],
        "openings": [asdict(row) for row in summary.openings],
        "fleet_rows": [asdict(row) | {"ratio": row.ratio} for row in summary.fleets],
        "far_fleet_rows": [asdict(row) | {"ratio": row.ratio} for row in summary.far_fleets],
    }
