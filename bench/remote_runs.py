"""Measured runs against a conductor over ssh, each in a process of its own.

``python -m bench.remote_runs paired LOOP COUNT SLICES SOCKET URL CLIENT:VIA:OPENINGS...``
opens every listed client on one event loop (``LOOP``: asyncio, uvloop or
trio), each reaching the server at ``SOCKET`` its own way (``VIA``): ``local``
(the socket itself) or ``ssh`` (``URL``, an ``ssh://`` URL naming the socket
on 127.0.0.1: the SDK's own connections, ssh running its bridge), or for a
floor client raw NDJSON through ``ssh 127.0.0.1 socat - UNIX-CONNECT:SOCKET``
(``ssh+socat``) or through ssh running the SDK's bridge (``ssh+bridge``), one
ssh per lane. With every connection open, it runs ``SLICES`` slices: in each,
every client in turn times ``OPENINGS`` fresh connections (a new client's
first ``daemon.health``), then :data:`SEQUENTIAL` and :data:`CONCURRENT_8`
of ``COUNT / SLICES`` calls each. Taking turns in slices, the clients
compared share whatever else the machine does meanwhile. Besides wall and
process CPU time, each measure has ``ssh_cpu``: the CPU the process's
children (the ssh clients) used meanwhile, read from ``/proc``.

``python -m bench.remote_runs fleet CLIENT COUNT URL...`` (SDK clients only)
makes a :class:`Fleet` of the first 1, 4 and 16 targets, opens every
connection with a first call, then in rounds times ``COUNT`` calls in all of
each target alone (on the largest fleet's own client for it) and of each
fleet; it prints each target's median, each fleet's median, the client's CPU
per fleet call, and the machine's CPU (every process's) per call alone and
per fleet call.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from bench.floor import AsyncioFloor, Commands, TrioFloor
from bench.harness import machine_busy_seconds
from bench.workloads import (
    CONCURRENT_8,
    FLOOR_LANES,
    SEQUENTIAL,
    Driver,
    FloorDriver,
    Gather,
    SdkDriver,
    gather_anyio,
    gather_asyncio,
    gather_trio,
    measure,
)
from marianne_sdk import DaemonClient, Fleet

REMOTE_WORKLOADS = (SEQUENTIAL, CONCURRENT_8)
"""Timed in this order in each slice: one connection used, then eight."""

SDK_VIAS = ("local", "ssh")
"""How an SDK client reaches the server: its socket, or an ``ssh://`` URL."""

LOOP_OF = {
    "sdk-asyncio": "asyncio",
    "sdk-uvloop": "uvloop",
    "sdk-trio": "trio",
    "floor-asyncio": "asyncio",
    "floor-trio": "trio",
}
"""The event loop each client runs on."""

FLEET_SIZES = (1, 4, 16)
"""Targets of the fleets whose calls are timed."""

CONNECT_TIMEOUT = 60.0
"""The SDK's ``connect_timeout`` here.

Sixteen ssh sessions opening at once on a small machine took more than the
default 5 s to reach their sockets; what is measured here is warm calls, and
opening times are measured one connection at a time."""

PAIRED_BUDGET = 60.0
"""Seconds the slices of a paired run may take in all (at least one slice)."""

FLEET_BUDGET = 20.0
"""Seconds the timed rounds of a fleet run may take in all (at least one round)."""

FLEET_ROUNDS = 10
"""Rounds of the fleet run: each times a batch of calls on every target alone and every fleet."""

_SETTLE = 0.2
"""Seconds between a slice's fresh connections and its timed calls, for the last ssh to end."""

_KEEP_IDLE = 3600.0
"""``max_idle_seconds`` of a paired run's clients: the floor's lanes never close either."""

_HEALTH = "daemon.health"


def children_cpu_seconds() -> float:
    """CPU seconds used so far by this process's live children (Linux ``/proc``)."""
    me, total = os.getpid(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # After "pid (comm)": state, ppid, ..., utime and stime are fields 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def ssh_argv(url: str, command: str) -> list[str]:
    """``$MARIANNE_SSH_COMMAND`` running ``command`` on the host of ``url`` (``ssh://host:port/...``)."""
    authority = url.removeprefix("ssh://").partition("/")[0]
    host, _, port = authority.rpartition(":")
    base = shlex.split(os.environ.get("MARIANNE_SSH_COMMAND") or "ssh")
    return [*base, "-T", "-o", "BatchMode=yes", "-p", port, "--", host, command]


def floor_command(via: str, socket_path: str) -> str:
    """The remote command of a floor lane: socat, or the SDK's bridge run as the SDK runs it."""
    if via == "ssh+socat":
        return f"socat - UNIX-CONNECT:{shlex.quote(socket_path)}"
    from marianne_sdk._ssh import remote_command

    return remote_command(socket_path)


@dataclass
class Participant:
    """One client of a paired run, reaching the server one way, and what it measured."""

    client: str
    via: str
    driver: Driver
    gather: Gather
    open_and_call: Callable[[], Awaitable[float]]
    """A fresh connection of this kind: its seconds to the first answer."""
    openings_per_slice: int
    openings: list[float] = field(default_factory=list)
    measures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "via": self.via,
            "openings": self.openings,
            "measures": self.measures,
        }


@dataclass(frozen=True)
class CannedServer:
    """The canned server: its socket, and that socket as an ``ssh://`` URL on 127.0.0.1."""

    socket_path: str
    url: str


async def _sdk(
    stack: contextlib.AsyncExitStack, client: str, via: str, server: CannedServer, openings: int
) -> Participant:
    """An SDK client with every pooled connection open, kept open while other clients run."""
    target = server.url if via == "ssh" else server.socket_path
    options: dict[str, Any] = {"pool_size": FLOOR_LANES, "connect_timeout": CONNECT_TIMEOUT}
    kept = options | {"max_idle_seconds": _KEEP_IDLE}
    sdk = await stack.enter_async_context(DaemonClient(target, **kept))

    async def call() -> None:
        await sdk.health()

    # As many callers as connections, all at once: each opens one.
    await gather_anyio([call for _ in range(FLOOR_LANES)])

    async def open_and_call() -> float:
        started = time.perf_counter()
        async with DaemonClient(target, **options) as fresh:
            await fresh.health()
            return time.perf_counter() - started

    return Participant(client, via, SdkDriver(sdk), gather_anyio, open_and_call, openings)


async def _floor(
    stack: contextlib.AsyncExitStack, client: str, via: str, server: CannedServer, openings: int
) -> Participant:
    """A floor client with its :data:`FLOOR_LANES` lanes open, each lane warm."""
    on_trio = client == "floor-trio"
    floor_class = TrioFloor if on_trio else AsyncioFloor
    gather = gather_trio if on_trio else gather_asyncio
    argv = None if via == "local" else ssh_argv(server.url, floor_command(via, server.socket_path))

    @contextlib.asynccontextmanager
    async def connected(lanes: int) -> AsyncIterator[Any]:
        commands = None if argv is None else Commands(argv, lanes)
        try:
            if commands is None:
                floor: Any = await floor_class.connect(server.socket_path, lanes)
            else:
                floor = await floor_class.spawn(commands)
            try:
                yield floor
            finally:
                await floor.aclose()
        finally:
            if commands is not None:
                commands.close()

    async def open_and_call() -> float:
        started = time.perf_counter()
        async with connected(1) as fresh:
            await fresh.call(_HEALTH)
            return time.perf_counter() - started

    floor = await stack.enter_async_context(connected(FLOOR_LANES))
    # Every lane answers once: no ssh session is still starting once calls are timed.
    await gather([partial(floor.call, _HEALTH, None, lane) for lane in range(FLOOR_LANES)])
    return Participant(client, via, FloorDriver(floor), gather, open_and_call, openings)


async def _paired(
    kinds: list[tuple[str, str, int]], count: int, slices: int, server: CannedServer
) -> dict[str, Any]:
    """Every participant open at once, then slices: each times every participant in turn."""
    async with contextlib.AsyncExitStack() as stack:
        participants = []
        for client, via, openings in kinds:
            make = _floor if client.startswith("floor-") else _sdk
            participants.append(await make(stack, client, via, server, openings))
        give_up = time.perf_counter() + PAIRED_BUDGET
        done = 0
        while done < slices and (not done or time.perf_counter() < give_up):
            # Each slice starts with the next participant: none is always first or last.
            turn = (
                participants[done % len(participants) :] + participants[: done % len(participants)]
            )
            for each in turn:
                await _slice(each, count // slices)
            done += 1
        return {"slices": done, "participants": [each.as_json() for each in participants]}


async def _slice(participant: Participant, count: int) -> None:
    """The participant's fresh connections of a slice, then ``count`` calls of each workload."""
    if participant.openings_per_slice:
        for _ in range(participant.openings_per_slice):
            participant.openings.append(await participant.open_and_call())
        # The fresh connections' ssh end meanwhile, not during the timed calls.
        await anyio.sleep(_SETTLE)
    for workload in REMOTE_WORKLOADS:
        measured = await measure(
            participant.driver,
            participant.gather,
            workload,
            count,
            children=children_cpu_seconds,
        )
        participant.measures.setdefault(workload.name, []).append(measured)


def paired(
    loop: str, kinds: list[tuple[str, str, int]], count: int, slices: int, server: CannedServer
) -> dict[str, Any]:
    """The paired run of the clients on ``loop`` (asyncio, uvloop or trio)."""
    result: dict[str, Any] = _run_on(loop, _paired, kinds, count, slices, server)
    return result


def _run_on(loop: str, function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run ``function(*args)`` on ``loop``: asyncio, uvloop or trio."""
    if loop not in ("asyncio", "uvloop", "trio"):
        raise ValueError(f"unknown event loop {loop!r}")
    options: dict[str, Any] = {"backend": "trio" if loop == "trio" else "asyncio"}
    if loop == "uvloop":
        options["backend_options"] = {"use_uvloop": True}
    return anyio.run(function, *args, **options)


async def _latencies(call: Callable[[], Awaitable[Any]], calls: int, into: list[float]) -> None:
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        into.append(time.perf_counter() - started)


def _clients_of(fleet: Fleet, urls: list[str]) -> list[DaemonClient] | None:
    """The fleet's own client of each target, or None if the fleet no longer keeps them so.

    Timing each target alone on the very clients the largest fleet calls
    spares opening another ssh session per target (private: a benchmark's liberty).
    """
    clients = getattr(fleet, "_clients", None)
    if not isinstance(clients, dict) or any(
        not isinstance(clients.get(url), DaemonClient) for url in urls
    ):
        return None
    return [clients[url] for url in urls]


async def _fleet(count: int, urls: list[str]) -> dict[str, Any]:
    """Latencies of each target alone and of each fleet, in interleaved rounds; medians."""
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    sizes = [size for size in FLEET_SIZES if size <= len(urls)]
    batch = max(1, count // FLEET_ROUNDS)
    async with contextlib.AsyncExitStack() as stack:
        fleets = [await stack.enter_async_context(Fleet(urls[:size], **options)) for size in sizes]
        singles = _clients_of(fleets[-1], urls)
        if singles is None:
            singles = [
                await stack.enter_async_context(DaemonClient(url, **options)) for url in urls
            ]
            async with anyio.create_task_group() as group:
                for single in singles:
                    group.start_soon(single.call, _HEALTH)
        # A fleet's first call opens its connections, all at once.
        for each in fleets:
            first = await each.call(_HEALTH)
            if not first.all_ok:
                raise RuntimeError(f"a fleet's first call failed: {dict(first.failed)}")
        alone: list[list[float]] = [[] for _ in urls]
        together: list[list[float]] = [[] for _ in fleets]
        cpu = [0.0 for _ in fleets]
        # Every process's CPU (the machine's), over the calls of the targets alone and of each fleet.
        machine_alone, machine = 0.0, [0.0 for _ in fleets]
        give_up = time.perf_counter() + FLEET_BUDGET
        for _ in range(FLEET_ROUNDS):
            busy = machine_busy_seconds()
            for single, seconds in zip(singles, alone, strict=True):
                await _latencies(partial(single.call, _HEALTH), batch, seconds)
            machine_alone += machine_busy_seconds() - busy
            for index, each in enumerate(fleets):
                busy, before = machine_busy_seconds(), time.process_time()
                await _latencies(partial(each.call, _HEALTH), batch, together[index])
                cpu[index] += time.process_time() - before
                machine[index] += machine_busy_seconds() - busy
            if time.perf_counter() > give_up:
                break
        last = await fleets[-1].call(_HEALTH)
        if not last.all_ok:
            raise RuntimeError(f"a fleet call failed: {dict(last.failed)}")
    return {
        "single_medians": [statistics.median(seconds) for seconds in alone],
        "single_calls": len(alone[0]),
        "single_machine_cpu_per_call": machine_alone / sum(len(seconds) for seconds in alone),
        "fleets": {
            str(size): {
                "median": statistics.median(seconds),
                "calls": len(seconds),
                "cpu_per_call": spent / len(seconds),
                "machine_cpu_per_call": busy / len(seconds),
            }
            for size, seconds, spent, busy in zip(sizes, together, cpu, machine, strict=True)
        },
    }


def fleet(client: str, count: int, urls: list[str]) -> dict[str, Any]:
    """The fleet run of the SDK client ``client``."""
    result: dict[str, Any] = _run_on(LOOP_OF[client], _fleet, count, urls)
    return result


def main() -> None:
    """``python -m bench.remote_runs paired ...`` or ``python -m bench.remote_runs fleet ...``."""
    mode, *rest = sys.argv[1:]
    if mode == "paired":
        loop, count, slices, socket_path, url, *kinds = rest
        participants = [(client, via, int(n)) for client, via, n in (k.split(":") for k in kinds)]
        server = CannedServer(socket_path, url)
        result = paired(loop, participants, int(count), int(slices), server)
    elif mode == "fleet":
        client, count, *urls = rest
        result = fleet(client, int(count), urls)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
