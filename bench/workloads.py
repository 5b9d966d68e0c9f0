"""The workloads and clients, and one measured run of one pair in this process.

``python -m bench.workloads CLIENT WORKLOAD COUNT SOCKET`` connects, warms
up, runs ``COUNT`` calls (or stream events), and prints one JSON object:
``{"calls": ..., "wall": ..., "cpu": ...}`` with wall and process CPU seconds
of the measured part only. Every run gets a process of its own so that no run
inherits another's heap, caches or event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Literal, Protocol

import anyio
import trio

from bench.floor import AsyncioFloor, TrioFloor
from bench.payloads import BIG_JOB, BIG_SHEETS, SMALL_JOB, recorded_results
from marianne_sdk import DaemonClient
from marianne_sdk._client import LOCAL_MAX_IDLE_SECONDS

Kind = Literal["health", "list", "status", "monitor"]
Observed = Literal["", "observer", "tracing"]
"""What watches the SDK client's calls: nothing, an observer that does nothing, or
:class:`MarianneInstrumentor` with a span exporter that does nothing."""
Server = Literal["canned", "conductor"]
"""Which :mod:`bench.server` a workload runs against: the cheap canned one, or the one
that spends the conductor's CPU per request and serves as few connections at once."""

FLOOR_LANES = 8
"""Connections of the floor for concurrent callers.

Where the SDK is compared with the floor, its ``pool_size`` is this too, not the
client's default, so that both have the same connections to work with."""

_CLIENT_DEFAULTS = inspect.signature(DaemonClient).parameters
DEFAULT_POOL_SIZE: int = _CLIENT_DEFAULTS["pool_size"].default
# The default for a local socket (an ssh:// target's is longer).
DEFAULT_MAX_IDLE_SECONDS: float = LOCAL_MAX_IDLE_SECONDS

POOL_SIZES = tuple(sorted({1, 2, 4, DEFAULT_POOL_SIZE}))
"""The pool sizes compared against the conductor-like server; the default among them."""

POOL_CALLERS = 8
"""Concurrent callers of the pool-size workloads: more than any pool size compared."""


@dataclass(frozen=True)
class Workload:
    """What one run does: ``count`` operations of ``kind``, by ``callers`` at once.

    The SDK client has ``pool_size`` connections, or each call has a client
    of its own (``new_client_each_call``); floor clients run the workload only
    if ``with_floor``.
    """

    name: str
    kind: Kind
    count: int
    smoke_count: int
    callers: int = 1
    job_id: str = ""
    pool_size: int = FLOOR_LANES
    new_client_each_call: bool = False
    server: Server = "canned"
    with_floor: bool = True
    observed: Observed = ""


SEQUENTIAL = Workload("sequential daemon.health", "health", 10_000, 20)
CONCURRENT_8 = Workload("8 concurrent daemon.health", "health", 10_000, 16, callers=8)
CONCURRENT_64 = Workload("64 concurrent daemon.health", "health", 10_000, 128, callers=64)
SMALL_STATUS = Workload("job.status ~60 KB, typed", "status", 1_000, 2, job_id=SMALL_JOB)
BIG_STATUS = Workload("job.status ~8 MB, typed", "status", 20, 1, job_id=BIG_JOB)
MONITOR = Workload("monitor(): 100,000 events", "monitor", 100_000, 50)
FLOOR_WORKLOADS = (SEQUENTIAL, CONCURRENT_8, CONCURRENT_64, SMALL_STATUS, BIG_STATUS, MONITOR)
"""The SDK against the floor, on the canned server."""

NEW_CONNECTION = Workload(
    "sequential daemon.health, a new client each call",
    "health",
    2_000,
    10,
    new_client_each_call=True,
    with_floor=False,
)
"""What a call on a new connection costs: :data:`SEQUENTIAL`, each call with a client of its own.

That is the cost of a call after the pool's connections expired, plus making
and closing a client. (A pool with a tiny ``max_idle_seconds`` would not do:
uvloop's clock advances once per loop iteration, by whole milliseconds, so
its connections would never look expired between two calls.)"""


SEQUENTIAL_OBSERVED = Workload(
    "sequential daemon.health, a no-op observer",
    "health",
    SEQUENTIAL.count,
    SEQUENTIAL.smoke_count,
    with_floor=False,
    observed="observer",
)
SEQUENTIAL_TRACED = Workload(
    "sequential daemon.health, traced",
    "health",
    SEQUENTIAL.count,
    SEQUENTIAL.smoke_count,
    with_floor=False,
    observed="tracing",
)
"""What observing costs a call: :data:`SEQUENTIAL` with a do-nothing observer, then with
the OpenTelemetry instrumentor on (SDK tracer provider, spans exported to nowhere)."""
OBSERVED_WORKLOADS = (SEQUENTIAL_OBSERVED, SEQUENTIAL_TRACED)


def _by_pool_size(kind: Kind, method: str, count: int) -> dict[int, Workload]:
    return {
        size: Workload(
            f"{method}, pool {size}",
            kind,
            count,
            2 * POOL_CALLERS,
            callers=POOL_CALLERS,
            pool_size=size,
            server="conductor",
            with_floor=False,
        )
        for size in POOL_SIZES
    }


POOL_HEALTH = _by_pool_size("health", "daemon.health", 3_000)
POOL_LIST = _by_pool_size("list", "job.list", 2_000)
POOL_WORKLOADS = {"daemon.health": POOL_HEALTH, "job.list": POOL_LIST}
"""Method → pool size → :data:`POOL_CALLERS` callers against the conductor-like server."""

WORKLOADS = (
    *FLOOR_WORKLOADS,
    NEW_CONNECTION,
    *OBSERVED_WORKLOADS,
    *(workload for by_size in POOL_WORKLOADS.values() for workload in by_size.values()),
)
WORKLOAD_BY_NAME = {workload.name: workload for workload in WORKLOADS}

_SHEETS = {SMALL_JOB: 40, BIG_JOB: BIG_SHEETS}

FLOORS = ("floor-asyncio", "floor-trio")
SDKS = ("sdk-asyncio", "sdk-uvloop", "sdk-trio")
FLOOR_OF = {"sdk-asyncio": "floor-asyncio", "sdk-uvloop": "floor-asyncio", "sdk-trio": "floor-trio"}
"""The floor each SDK client is compared with: the one on the same event loop library."""


def available_clients() -> tuple[str, ...]:
    """Every client this interpreter can run (``sdk-uvloop`` needs uvloop installed)."""
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    return tuple(c for c in FLOORS + SDKS if c != "sdk-uvloop" or has_uvloop)


def runs_on(workload: Workload, clients: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``clients`` that run ``workload``."""
    return tuple(c for c in clients if workload.with_floor or c not in FLOORS)


class Driver(Protocol):
    """One client, as a workload drives it; results are returned decoded."""

    async def health(self, caller: int) -> Any: ...

    async def list_jobs(self, caller: int) -> Any: ...

    async def status(self, job_id: str) -> Any: ...

    async def monitor(self) -> int: ...


class _Floor(Protocol):
    async def call(
        self, method: str, params: dict[str, Any] | None = None, caller: int = 0
    ) -> Any: ...

    async def monitor(self) -> int: ...


class FloorDriver:
    """A floor client: results are plain dicts from ``json.loads``."""

    def __init__(self, floor: _Floor) -> None:
        self._floor = floor

    async def health(self, caller: int) -> Any:
        return await self._floor.call("daemon.health", None, caller)

    async def list_jobs(self, caller: int) -> Any:
        return await self._floor.call("job.list", None, caller)

    async def status(self, job_id: str) -> Any:
        return await self._floor.call("job.status", {"job_id": job_id})

    async def monitor(self) -> int:
        return await self._floor.monitor()


class SdkDriver:
    """The SDK's async client through its typed wrappers: results are msgspec Structs."""

    def __init__(self, client: DaemonClient) -> None:
        self._client = client

    async def health(self, caller: int) -> Any:
        return await self._client.health()

    async def list_jobs(self, caller: int) -> Any:
        return await self._client.list_jobs()

    async def status(self, job_id: str) -> Any:
        return await self._client.get_job_status(job_id)

    async def monitor(self) -> int:
        events = 0
        async with self._client.monitor() as stream:
            async for _ in stream:
                events += 1
        if stream.missed:
            raise RuntimeError(f"monitor(): {stream.missed} events dropped from a full buffer")
        return events


class NewClientDriver(SdkDriver):
    """``daemon.health`` on a client of its own each call, and so on a new connection."""

    def __init__(self, client: DaemonClient, path: str, options: dict[str, Any]) -> None:
        super().__init__(client)
        self._path = path
        self._options = options

    async def health(self, caller: int) -> Any:
        async with DaemonClient(self._path, **self._options) as client:
            return await client.health()


Job = Callable[[], Coroutine[Any, Any, None]]
Gather = Callable[[list[Job]], Coroutine[Any, Any, None]]
"""Runs every job concurrently, on one event loop library."""


async def gather_asyncio(jobs: list[Job]) -> None:
    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(job())


async def gather_trio(jobs: list[Job]) -> None:
    async with trio.open_nursery() as nursery:
        for job in jobs:
            nursery.start_soon(job)


async def gather_anyio(jobs: list[Job]) -> None:
    async with anyio.create_task_group() as group:
        for job in jobs:
            group.start_soon(job)


def _field(value: Any, name: str) -> Any:
    return value[name] if isinstance(value, dict) else getattr(value, name)


def _small_call(driver: Driver, kind: Kind) -> Callable[[int], Coroutine[Any, Any, Any]]:
    return driver.list_jobs if kind == "list" else driver.health


@cache
def _listed_jobs() -> int:
    # Read once, in the warm-up: the recording takes milliseconds to parse.
    return len(recorded_results()["job.list"])


def _answered(kind: Kind, result: Any) -> bool:
    """Whether ``result`` is the canned answer to a ``kind`` call."""
    if kind == "list":
        return len(result) == _listed_jobs()
    return bool(_field(result, "status") == "ok")


async def _small_calls(
    call: Callable[[int], Coroutine[Any, Any, Any]],
    gather: Gather,
    calls: int,
    callers: int,
    results: list[Any],
) -> None:
    async def caller(index: int) -> None:
        for _ in range(calls // callers):
            results[index] = await call(index)

    if callers == 1:
        await caller(0)
    else:
        await gather([partial(caller, index) for index in range(callers)])


async def _operate(driver: Driver, gather: Gather, workload: Workload, count: int) -> int:
    """Run ``count`` operations of ``workload``, check the last results; how many ran."""
    if workload.kind == "monitor":
        events = await driver.monitor()
        if events != count:
            raise RuntimeError(f"monitor(): {events} events, expected {count}")
        return events
    if workload.kind == "status":
        for _ in range(count):
            state = await driver.status(workload.job_id)
        if len(_field(state, "sheets")) != _SHEETS[workload.job_id]:
            raise RuntimeError(f"job.status {workload.job_id}: wrong sheet count")
        return count
    results: list[Any] = [None] * workload.callers
    call = _small_call(driver, workload.kind)
    await _small_calls(call, gather, count, workload.callers, results)
    if not all(_answered(workload.kind, result) for result in results):
        raise RuntimeError(f"{workload.name}: a caller got a wrong answer")
    return count // workload.callers * workload.callers


async def measure(
    driver: Driver,
    gather: Gather,
    workload: Workload,
    count: int,
    *,
    children: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Warm up (connections, decoders, caches), then time ``count`` operations.

    ``children``: CPU seconds the process's children have used so far, for
    ``"ssh_cpu"``, what they used over the measured stretch.
    """
    # A stream is measured whole, opening included: that is negligible next to its events.
    if workload.kind != "monitor":
        await _operate(driver, gather, workload, max(workload.callers, count // 20))
    before = children() if children is not None else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    calls = await _operate(driver, gather, workload, count)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"calls": calls, "wall": wall, "cpu": cpu}
    if children is not None:
        result["ssh_cpu"] = children() - before
    return result


def _lanes(workload: Workload) -> int:
    return min(workload.callers, FLOOR_LANES)


async def _run_floor_asyncio(path: str, workload: Workload, count: int) -> dict[str, Any]:
    floor = await AsyncioFloor.connect(path, _lanes(workload))
    try:
        return await measure(FloorDriver(floor), gather_asyncio, workload, count)
    finally:
        await floor.aclose()


async def _run_floor_trio(path: str, workload: Workload, count: int) -> dict[str, Any]:
    floor = await TrioFloor.connect(path, _lanes(workload))
    try:
        return await measure(FloorDriver(floor), gather_trio, workload, count)
    finally:
        await floor.aclose()


def sdk_options(workload: Workload, count: int) -> dict[str, Any]:
    """The SDK client's settings for ``count`` operations of ``workload``."""
    options: dict[str, Any] = {"pool_size": workload.pool_size}
    if workload.kind == "monitor":
        # The server writes every event at once, faster than a consumer takes
        # them; the block keeps them all, so that all of them are measured.
        options["stream_buffer_size"] = count
    return options


def _observe(observed: Observed) -> None:
    """Watch every client of this process as ``observed`` says."""
    if observed == "observer":
        from marianne_sdk.observe import Observer, add_observer

        add_observer(Observer())
    elif observed == "tracing":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from marianne_sdk.instrumentation import MarianneInstrumentor

        class Nowhere(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Nowhere()))
        MarianneInstrumentor().instrument(tracer_provider=provider)


async def _run_sdk(path: str, workload: Workload, count: int) -> dict[str, Any]:
    options = sdk_options(workload, count)
    _observe(workload.observed)
    async with DaemonClient(path, **options) as client:
        if workload.new_client_each_call:
            driver: Driver = NewClientDriver(client, path, options)
        else:
            driver = SdkDriver(client)
        return await measure(driver, gather_anyio, workload, count)


def run(client: str, path: str, workload: Workload, count: int) -> dict[str, Any]:
    """One measured run of ``client`` on ``workload`` against the server at ``path``."""
    if client == "floor-asyncio":
        return asyncio.run(_run_floor_asyncio(path, workload, count))
    if client == "floor-trio":
        return trio.run(_run_floor_trio, path, workload, count)
    if client == "sdk-asyncio":
        return anyio.run(_run_sdk, path, workload, count, backend="asyncio")
    if client == "sdk-uvloop":
        return anyio.run(
            _run_sdk, path, workload, count, backend="asyncio", backend_options={"use_uvloop": True}
        )
    if client == "sdk-trio":
        return anyio.run(_run_sdk, path, workload, count, backend="trio")
    raise ValueError(f"unknown client {client!r}")


def main() -> None:
    """``python -m bench.workloads CLIENT WORKLOAD COUNT SOCKET``."""
    client, name, count, path = sys.argv[1:5]
    print(json.dumps(run(client, path, WORKLOAD_BY_NAME[name], int(count))))


if __name__ == "__main__":
    main()
