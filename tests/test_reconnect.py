"""Subscriptions and waits that outlive a conductor restart, and blocks that end at once without."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from marianne_sdk import (
    ConnectionLostError,
    DaemonClient,
    DaemonTimeoutError,
    JobRequest,
    JobSubmissionError,
    ObserverEvent,
    StreamGap,
)
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

BOUND = 30.0


async def until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` holds (a counter at the server), within :data:`BOUND`."""
    with anyio.fail_after(BOUND):
        while not condition():  # noqa: ASYNC110 - the fake's counters have no event
            await anyio.sleep(0.01)


async def test_a_reconnecting_monitor_resumes_after_a_restart_with_one_gap(
    socket_path: Path,
) -> None:
    received: list[ObserverEvent | StreamGap] = []
    async with DaemonClient(socket_path, heartbeat=None) as client:
        async with FakeDaemon(socket_path) as first:
            events = client.monitor(reconnect=True)
            await events.__aenter__()
            await until(lambda: first.monitor_subscribers == 1)
            first.emit("before.one")
            first.emit("before.two")
            with anyio.fail_after(BOUND):
                received += [await anext(events), await anext(events)]
        async with FakeDaemon(socket_path) as second:
            with anyio.fail_after(BOUND):
                received.append(await anext(events))  # the gap, once subscribed again
            await until(lambda: second.monitor_subscribers == 1)
            second.emit("after.one")
            with anyio.fail_after(BOUND):
                received.append(await anext(events))
            await events.aclose()
    kinds = [item.event if isinstance(item, ObserverEvent) else "gap" for item in received]
    assert kinds == ["before.one", "before.two", "gap", "after.one"]
    gap = received[2]
    assert isinstance(gap, StreamGap)
    assert gap.broken_at <= gap.resumed_at
    assert gap.reason


async def test_without_reconnect_a_restart_ends_the_block_speaking_of_the_stream(
    socket_path: Path,
) -> None:
    async with DaemonClient(socket_path, heartbeat=None) as client:
        async with FakeDaemon(socket_path) as fake:
            events = client.monitor()
            await events.__aenter__()
            await until(lambda: fake.monitor_subscribers == 1)
        with anyio.fail_after(BOUND), pytest.raises(ConnectionLostError, match="closed the stream"):
            await anext(events)


async def test_wait_for_job_returns_the_state_the_restarted_conductor_reports(
    socket_path: Path,
) -> None:
    request = JobRequest(config_path="/tmp/nightly.yaml")
    async with DaemonClient(socket_path, heartbeat=None) as client:
        outcome: dict[str, object] = {}

        async def wait(job_id: str) -> None:
            outcome["state"] = await client.wait_for_job(job_id, timeout=BOUND, poll_interval=3600)

        async with anyio.create_task_group() as task_group:
            async with FakeDaemon(socket_path, step_seconds=3600) as first:
                job_id = (await client.submit_job(request)).job_id
                task_group.start_soon(wait, job_id)
                await until(lambda: first.monitor_subscribers == 1)
            async with FakeDaemon(socket_path, step_seconds=0.01) as second:
                second.plan_job(job_id, sheets=2)
                await client.submit_job(request)  # the restarted conductor runs it again
                await until(lambda: "state" in outcome)
    state = outcome["state"]
    assert getattr(state, "status", None) == "completed"


async def test_wait_for_job_says_when_the_restarted_conductor_does_not_know_the_job(
    socket_path: Path,
) -> None:
    failure: list[JobSubmissionError] = []
    async with DaemonClient(socket_path, heartbeat=None) as client:
        first = FakeDaemon(socket_path, step_seconds=3600)
        async with first, anyio.create_task_group() as task_group:
            job_id = (await client.submit_job(JobRequest(config_path="/tmp/lost.yaml"))).job_id

            async def wait() -> None:
                try:
                    await client.wait_for_job(job_id, timeout=BOUND, poll_interval=3600)
                except JobSubmissionError as error:
                    failure.append(error)

            task_group.start_soon(wait)
            await until(lambda: first.monitor_subscribers == 1)
            await first.restart(keep_jobs=False)
            await until(lambda: bool(failure))
    assert "unknown to the conductor since it restarted" in str(failure[0])


async def test_a_wait_ends_at_its_timeout_while_the_conductor_stays_away(
    socket_path: Path,
) -> None:
    async with DaemonClient(socket_path, heartbeat=None) as client:
        fake = FakeDaemon(socket_path, step_seconds=3600)
        async with fake, anyio.create_task_group() as task_group:
            job_id = (await client.submit_job(JobRequest(config_path="/tmp/away.yaml"))).job_id

            async def stop_when_subscribed() -> None:
                await until(lambda: fake.monitor_subscribers == 1)
                await fake.stop()

            task_group.start_soon(stop_when_subscribed)
            with anyio.fail_after(BOUND), pytest.raises(DaemonTimeoutError, match="did not end"):
                await client.wait_for_job(job_id, timeout=2, poll_interval=3600)
