"""The async Fleet: a call fanned out to every target, each target's outcome kept apart, and
the targets' monitor streams merged."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import (
    ConnectionLostError,
    DaemonError,
    DaemonNotRunningError,
    DaemonStatus,
    DaemonTimeoutError,
    Fleet,
    FleetResult,
    HealthResult,
    InvalidParamsError,
    ObserverEvent,
    StreamGap,
)
from marianne_sdk._generated import params, registry
from marianne_sdk.testing import FakeDaemon, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
def paths() -> Iterator[list[str]]:
    """Eight socket paths in a fresh directory; nothing listens on them until a test starts a fake."""
    directory = Path(tempfile.mkdtemp(prefix="msdk-fleet-", dir="/tmp"))
    yield [str(directory / f"conductor-{index}.sock") for index in range(8)]
    shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def serving(*paths: str, **options: Any) -> AsyncIterator[list[FakeDaemon]]:
    async with contextlib.AsyncExitStack() as stack:
        fakes = [await stack.enter_async_context(FakeDaemon(path, **options)) for path in paths]
        yield fakes


async def subscribed(*fakes: FakeDaemon) -> None:
    with anyio.fail_after(10):
        for fake in fakes:
            await fake.wait_for(lambda fake=fake: fake.monitor_subscribers == 1)


async def test_a_dead_target_fails_alone_and_the_others_answer_in_order(paths: list[str]) -> None:
    targets = paths[:4]
    dead = targets[2]
    async with serving(*(t for t in targets if t != dead)) as fakes:
        with anyio.fail_after(20):
            async with Fleet(targets, timeout=10.0) as fleet:
                result = await fleet.call("daemon.health")
    assert isinstance(result, FleetResult)
    assert list(result.ok) == [targets[0], targets[1], targets[3]]
    assert all(health["status"] == "ok" for health in result.ok.values())
    assert list(result.failed) == [dead]
    assert isinstance(result.failed[dead], DaemonNotRunningError)
    assert not result.all_ok
    assert [fake.count("daemon.health") for fake in fakes] == [1, 1, 1]


async def test_typed_results_are_decoded_for_every_target(paths: list[str]) -> None:
    targets = paths[:3]
    async with serving(*targets), Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20):
            status = await fleet._fan_out_typed(
                registry.DAEMON_STATUS, params.DaemonStatusParams(), None
            )
            health = await fleet._fan_out_typed(
                registry.DAEMON_HEALTH, params.DaemonHealthParams(), 5.0
            )
    assert list(status.ok) == targets
    assert all(isinstance(value, DaemonStatus) for value in status.ok.values())
    assert all(isinstance(value, HealthResult) for value in health.ok.values())
    assert status.all_ok
    assert health.all_ok


@pytest.mark.parametrize("fault", [Fault.SILENCE, Fault.DELAY])
async def test_a_slow_target_is_bounded_by_the_deadline_while_the_others_answer(
    paths: list[str], fault: Fault
) -> None:
    targets = paths[:4]
    async with serving(*targets) as fakes:
        fakes[1].inject(fault, "daemon.health", delay=60.0 if fault is Fault.DELAY else 0.0)
        with anyio.fail_after(20):
            async with Fleet(targets, timeout=30.0) as fleet:
                result = await fleet.call("daemon.health", timeout=0.5)
    assert list(result.ok) == [targets[0], targets[2], targets[3]]
    assert list(result.failed) == [targets[1]]
    assert isinstance(result.failed[targets[1]], DaemonTimeoutError)
    assert [fake.count("daemon.health") for fake in fakes] == [1, 1, 1, 1]


async def test_no_more_targets_are_called_at_once_than_the_bound(paths: list[str]) -> None:
    targets = paths[:5]
    in_flight = 0
    peak = 0
    two_at_once = anyio.Event()

    async def held(_: dict[str, Any]) -> str:
        # The first two wait for each other: with a bound of one they would wait forever.
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            two_at_once.set()
        await two_at_once.wait()
        in_flight -= 1
        return "held"

    async with serving(*targets) as fakes:
        for fake in fakes:
            fake.register("test.held", held)
        with anyio.fail_after(20):
            async with Fleet(targets, max_concurrent=2, timeout=10.0) as fleet:
                result = await fleet.call("test.held")
    assert list(result.ok.values()) == ["held"] * 5
    assert peak == 2


async def test_a_target_waiting_for_a_turn_past_the_deadline_is_never_sent(
    paths: list[str],
) -> None:
    targets = paths[:2]
    async with serving(*targets) as (silent, waiting):
        silent.inject(Fault.SILENCE, "daemon.health")
        waiting.inject(Fault.SILENCE, "daemon.health")
        with anyio.fail_after(20):
            async with Fleet(targets, max_concurrent=1, timeout=10.0) as fleet:
                result = await fleet.call("daemon.health", timeout=0.5)
    assert not result.ok
    assert all(isinstance(error, DaemonTimeoutError) for error in result.failed.values())
    assert "not sent" not in str(result.failed[targets[0]])
    assert "not sent" in str(result.failed[targets[1]])
    assert silent.count("daemon.health") == 1
    assert waiting.count("daemon.health") == 0


async def test_params_refused_before_sending_raise_for_the_whole_call(paths: list[str]) -> None:
    targets = paths[:3]
    async with serving(*targets) as fakes, Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20), pytest.raises(InvalidParamsError):
            await fleet.call("job.status", {"job_id": 12})
        with anyio.fail_after(20), pytest.raises(InvalidParamsError):
            await fleet._fan_out_typed(
                registry.JOB_STATUS,
                params.JobStatusParams(job_id=12),
                None,  # type: ignore[arg-type]
            )
    assert [fake.count("job.status") for fake in fakes] == [0, 0, 0]


async def test_an_error_answered_by_a_target_is_that_targets_outcome(paths: list[str]) -> None:
    targets = paths[:2]
    async with serving(*targets), Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20):
            result = await fleet.call("job.status", {"job_id": "nowhere"})
    assert list(result.failed) == targets
    assert all(error.code == -32000 for error in result.failed.values())


async def test_a_cancelled_call_leaves_no_connection_open(paths: list[str]) -> None:
    targets = paths[:3]
    async with serving(*targets) as fakes:
        for fake in fakes:
            fake.inject(Fault.SILENCE, "daemon.health")
        async with Fleet(targets, timeout=30.0) as fleet:
            with anyio.fail_after(20):
                async with anyio.create_task_group() as group:
                    group.start_soon(fleet.call, "daemon.health")
                    for fake in fakes:
                        await fake.wait_for(lambda fake=fake: fake.count("daemon.health") == 1)
                    group.cancel_scope.cancel()
                for fake in fakes:
                    await fake.wait_for(lambda fake=fake: fake.open_connections == 0)
            # The fleet is still usable after the cancellation.
            with anyio.fail_after(20):
                result = await fleet.call("daemon.ready")
    assert list(result.ok) == targets


async def test_a_closed_fleet_refuses_calls_and_streams(paths: list[str]) -> None:
    fleet = Fleet(paths[:2])
    await fleet.close()
    with pytest.raises(DaemonError, match="closed"):
        await fleet.call("daemon.health")
    with pytest.raises(DaemonError, match="closed"):
        fleet.monitor()
    with pytest.raises(DaemonError, match="closed"):
        await fleet.__aenter__()


def test_targets_are_checked_when_the_fleet_is_made(paths: list[str]) -> None:
    with pytest.raises(ValueError, match="twice"):
        Fleet([paths[0], Path(paths[0])])
    with pytest.raises(TypeError, match="collection"):
        Fleet(paths[0])
    with pytest.raises(ValueError, match="max_concurrent"):
        Fleet(paths[:2], max_concurrent=0)
    with pytest.raises(ValueError, match="pool_size"):
        Fleet(paths[:2], pool_size=0)
    assert Fleet([Path(paths[1]), paths[0]]).targets == (paths[1], paths[0])


async def test_monitor_merges_the_targets_and_a_lost_target_ends_only_its_part(
    paths: list[str],
) -> None:
    targets = paths[:4]
    dead = targets[3]
    seen: list[tuple[str, str]] = []
    async with serving(*targets[:3]) as (first, lost, third), Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20):
            async with fleet.monitor() as events:
                assert list(events.failed) == [dead]
                assert isinstance(events.failed[dead], DaemonNotRunningError)
                await subscribed(first, lost, third)
                lost.emit("before.loss")
                async for target, event in events:
                    assert isinstance(event, ObserverEvent)
                    seen.append((target, event.event))
                    if event.event == "before.loss":
                        await lost.stop()
                        first.emit("after.loss")
                    elif event.event == "after.loss":
                        third.emit("still.here")
                    elif event.event == "still.here":
                        break
            failed = dict(events.failed)
    assert seen == [
        (targets[1], "before.loss"),
        (targets[0], "after.loss"),
        (targets[2], "still.here"),
    ]
    assert list(failed) == [targets[1], dead]
    assert isinstance(failed[targets[1]], ConnectionLostError | DaemonNotRunningError)


async def test_monitor_ends_when_every_part_has_ended(paths: list[str]) -> None:
    targets = paths[:2]
    async with serving(*targets) as fakes, Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20):
            async with fleet.monitor() as events:
                await subscribed(*fakes)
                for fake in fakes:
                    await fake.stop()
                received = [pair async for pair in events]
    assert received == []
    assert list(events.failed) == targets


async def test_monitor_of_targets_that_are_all_dead_ends_at_once(paths: list[str]) -> None:
    async with Fleet(paths[:3], timeout=10.0) as fleet:
        with anyio.fail_after(20):
            async with fleet.monitor() as events:
                received = [pair async for pair in events]
    assert received == []
    assert list(events.failed) == paths[:3]
    assert all(isinstance(error, DaemonNotRunningError) for error in events.failed.values())


async def test_monitor_idle_timeout_counts_events_from_any_target(paths: list[str]) -> None:
    targets = paths[:2]
    async with serving(*targets) as fakes, Fleet(targets, timeout=10.0) as fleet:
        with anyio.fail_after(20):
            async with fleet.monitor(idle_timeout=0.3) as events:
                await subscribed(*fakes)
                fakes[1].emit("one")
                assert (await anext(events))[0] == targets[1]
                with pytest.raises(DaemonTimeoutError, match="any target"):
                    await anext(events)
            assert events.failed == {}


async def test_leaving_the_monitor_block_stops_reading_and_closing_the_fleet_ends_the_streams(
    paths: list[str],
) -> None:
    targets = paths[:2]
    async with serving(*targets) as fakes:
        fleet = Fleet(targets, timeout=10.0)
        with anyio.fail_after(20):
            async with fleet.monitor() as events:
                await subscribed(*fakes)
            with pytest.raises(StopAsyncIteration):
                await anext(events)
            await fleet.close()
            for fake in fakes:
                # The conductor notices a closed stream at its next event.
                fake.emit("after.close")
                await fake.wait_for(lambda fake=fake: fake.monitor_subscribers == 0)


async def test_a_reconnecting_monitor_gives_a_restarted_target_a_gap_of_its_own(
    paths: list[str],
) -> None:
    targets = paths[:2]
    received: list[tuple[str, str]] = []

    def kind(item: ObserverEvent | StreamGap) -> str:
        return item.event if isinstance(item, ObserverEvent) else "gap"

    async with FakeDaemon(targets[0]) as steady, Fleet(targets, timeout=10.0) as fleet:
        events = fleet.monitor(reconnect=True)
        with anyio.fail_after(30):
            async with FakeDaemon(targets[1]) as restarted:
                await events.__aenter__()
                await subscribed(steady, restarted)
            async with FakeDaemon(targets[1]) as again:
                target, item = await anext(events)  # the gap, once subscribed again
                received.append((target, kind(item)))
                await subscribed(again)
                steady.emit("from.steady")
                target, item = await anext(events)
                received.append((target, kind(item)))
                again.emit("from.again")
                target, item = await anext(events)
                received.append((target, kind(item)))
            await events.aclose()
    assert received == [
        (targets[1], "gap"),
        (targets[0], "from.steady"),
        (targets[1], "from.again"),
    ]
    assert events.failed == {}


async def test_typed_methods_fan_out_and_decode_each_targets_result(paths: list[str]) -> None:
    live, dead = paths[:2], paths[2]
    async with serving(*live) as fakes, Fleet([*live, dead]) as fleet:
        with anyio.fail_after(20):
            statuses = await fleet.status()
            listed = await fleet.list_jobs()
    assert list(statuses.ok) == live
    assert all(isinstance(status, DaemonStatus) for status in statuses.ok.values())
    assert [fake.count("daemon.status") for fake in fakes] == [1, 1]
    assert list(statuses.failed) == [dead]
    assert isinstance(statuses.failed[dead], DaemonNotRunningError)
    assert list(listed.ok) == live
    assert all(jobs == [] for jobs in listed.ok.values())
