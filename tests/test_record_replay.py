"""A session recorded through the real proxy, then replayed: the program sees what it saw.

The recording is made with :class:`~marianne_sdk._recorder.Recorder` between
a client and a simulating :class:`FakeDaemon`; the replay is a
``FakeDaemon(recording=...)`` on another socket, once the simulating fake has
stopped. The program under test opens ``monitor()``, submits a job and reads
its events: when replayed, nothing makes its subscription reach the fake
before the ``job.submit`` whose answer the events followed (a real program
cannot wait for the fake), so each replay is run several times over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import DaemonClient, DaemonError, JobRequest
from marianne_sdk._recorder import Recorder
from marianne_sdk._recording import Direction, read_recording
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

BOUND = 30.0
REPLAYS = 5
JOB = "recorded"
OBSERVER_PARAMS = {"job_id": JOB, "limit": 5}
REORDERED_OBSERVER_PARAMS = {"limit": 5, "job_id": JOB}


@dataclass
class Seen:
    """What the program got from the conductor, typed as the client gives it."""

    status: Any
    listed_before: Any
    submitted: Any
    events: list[Any]
    state: Any
    listed_after: Any
    observed: Any
    rejected: DaemonError


async def nothing() -> None:
    return None


async def program(
    client: DaemonClient,
    *,
    observer_params: dict[str, Any] = OBSERVER_PARAMS,
    before_submit: Callable[[], Awaitable[None]] = nothing,
) -> Seen:
    """The program under test: status, a job followed to its end, lists, a rejected call."""
    status = await client.status()
    listed_before = await client.list_jobs()
    async with client.monitor(idle_timeout=BOUND) as events:
        await before_submit()
        submitted = await client.submit_job(JobRequest(config_path=f"/scores/{JOB}.yaml"))
        seen = []
        async for event in events:
            if event.job_id == JOB:
                seen.append(event)
                if event.event in ("job.completed", "job.failed"):
                    break
    state = await client.get_job_status(JOB)
    listed_after = await client.list_jobs()
    observed = await client.call("daemon.observer_events", observer_params)
    with pytest.raises(DaemonError) as rejected:
        await client.get_job_status("missing")
    return Seen(
        status, listed_before, submitted, seen, state, listed_after, observed, rejected.value
    )


@asynccontextmanager
async def recording_proxy(upstream: str, listen: Path, out: Path) -> AsyncIterator[Recorder]:
    recorder = Recorder(upstream, listen, out)
    async with anyio.create_task_group() as task_group:
        await task_group.start(recorder.serve)
        yield recorder
        task_group.cancel_scope.cancel()


async def record(socket_path: Path) -> tuple[Path, Seen]:
    """The program's session with a simulating fake, recorded; the fake stopped after."""
    out = socket_path.with_name("session.ndjson")
    upstream_path = socket_path.with_name("upstream.sock")
    proxy_path = socket_path.with_name("proxy.sock")
    with anyio.fail_after(BOUND):
        async with FakeDaemon(upstream_path, step_seconds=0.01) as upstream:
            upstream.plan_job(JOB, sheets=2)

            async def subscribed() -> None:
                # Recorded with the subscription in place before the job starts, as a
                # session against a real conductor is when its events are recorded.
                await upstream.wait_for(lambda: upstream.monitor_subscribers == 1)

            async with (
                recording_proxy(upstream.socket_path, proxy_path, out),
                DaemonClient(proxy_path, timeout=BOUND, heartbeat=None) as client,
            ):
                seen = await program(client, before_submit=subscribed)
    assert not upstream_path.exists(), "the recorded conductor is gone"
    return out, seen


def replay_client(fake: FakeDaemon) -> DaemonClient:
    # The default heartbeat: its liveness probes are answered even if not recorded.
    return DaemonClient(fake.socket_path, timeout=BOUND)


async def test_a_replayed_session_gives_what_the_recorded_one_gave(socket_path: Path) -> None:
    recording, recorded = await record(socket_path)
    assert [e.event for e in recorded.events if not e.event.startswith("observer.")] == [
        "job.started",
        "sheet.started",
        "sheet.completed",
        "sheet.started",
        "sheet.completed",
        "job.completed",
    ]
    assert recorded.listed_before == []
    assert [job.job_id for job in recorded.listed_after] == [JOB]
    assert recorded.state.status == "completed"
    _, exchanges = read_recording(recording)
    [observer_request] = [
        exchange.message
        for exchange in exchanges
        if exchange.direction is Direction.TO_CONDUCTOR
        and isinstance(exchange.message, dict)
        and exchange.message.get("method") == "daemon.observer_events"
    ]
    assert list(observer_request["params"]) == ["job_id", "limit"]

    replay_path = socket_path.with_name("replay.sock")
    for attempt in range(REPLAYS):
        with anyio.fail_after(BOUND):
            async with (
                FakeDaemon(replay_path, recording=recording) as fake,
                replay_client(fake) as client,
            ):
                seen = await program(client, observer_params=REORDERED_OBSERVER_PARAMS)
                unused = fake.unused()
                [observer_params] = [
                    request.params
                    for request in fake.requests
                    if request.method == "daemon.observer_events"
                ]
        assert seen.status == recorded.status, attempt
        assert seen.submitted == recorded.submitted, attempt
        assert seen.events == recorded.events, f"replay {attempt}: in the recorded order"
        assert seen.state == recorded.state, attempt
        assert seen.listed_before == [], "the first recorded answer to job.list"
        assert seen.listed_after == recorded.listed_after, "the second recorded answer"
        assert list(observer_params) == ["limit", "job_id"], "sent in another key order"
        assert seen.observed == recorded.observed, "matched whatever the key order"
        assert type(seen.rejected) is type(recorded.rejected), attempt
        assert (seen.rejected.code, seen.rejected.message) == (
            recorded.rejected.code,
            recorded.rejected.message,
        )
        assert seen.rejected.code is not None
        assert unused == [], f"replay {attempt} left recorded calls unreplayed: {unused}"


async def test_unused_lists_what_a_shorter_replay_skipped(socket_path: Path) -> None:
    recording, recorded = await record(socket_path)
    with anyio.fail_after(BOUND):
        async with (
            FakeDaemon(socket_path.with_name("replay.sock"), recording=recording) as fake,
            replay_client(fake) as client,
        ):
            assert await client.status() == recorded.status
            assert await client.list_jobs() == []
            skipped = fake.unused()
    assert [call.method for call in skipped] == [
        "daemon.monitor.stream",
        "job.submit",
        "job.status",
        "job.list",
        "daemon.observer_events",
        "job.status",
    ]
    assert skipped[0].answer is None, "the conductor never answers a subscription"
    assert [call.params.get("job_id") for call in skipped[2::3]] == [JOB, "missing"]
    listed = skipped[3].answer
    assert listed is not None
    assert [job["job_id"] for job in listed["result"]] == [JOB], "the second job.list is left"
    assert skipped[5].answer is not None
    assert skipped[5].answer["error"]["code"] == recorded.rejected.code
