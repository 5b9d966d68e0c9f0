"""Waiting for a job to end: wait_for_job and submit_and_wait, async and blocking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import (
    DaemonClient,
    JobRequest,
    JobResponse,
    JobState,
    JobSubmissionError,
    ObserverEvent,
    _waiting,
)
from marianne_sdk import sync as blocking
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon

pytestmark = pytest.mark.anyio


def request(job_id: str) -> JobRequest:
    return JobRequest(config_path=f"/scores/{job_id}.yaml")


async def test_a_job_that_already_ended_returns_at_once(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    await client.submit_job(request("done"))
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("done") == "completed")
        state = await client.wait_for_job("done", poll_interval=60)
    assert isinstance(state, JobState)
    assert (state.job_id, state.status, state.last_completed_sheet) == ("done", "completed", 3)
    assert fake.count("job.status") == 1


async def test_a_failing_job(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("breaks", sheets=3, fail_at_sheet=2)
    with anyio.fail_after(10):
        state = await client.submit_and_wait(request("breaks"), poll_interval=60)
    assert (state.status, state.last_completed_sheet, state.error_message) == (
        "failed",
        1,
        "Sheet 2 failed",
    )
    assert fake.monitor_subscribers == 1, "the client keeps its one subscription for later waits"
    await client.close()
    fake.emit("after.close")  # the conductor notices a closed subscription at its next event
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.monitor_subscribers == 0)


async def test_a_rejected_submission_raises(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("twice", sheets=1000)
    await client.submit_job(request("twice"))
    with pytest.raises(JobSubmissionError, match="already queued") as caught:
        await client.submit_and_wait(request("twice"))
    assert caught.value.method == "job.submit"
    assert isinstance(caught.value.data, JobResponse)
    assert caught.value.data.status == "rejected"
    assert fake.count("job.status") == 0


async def test_other_jobs_events_are_not_this_jobs_end(socket_path: Path) -> None:
    # Slow enough that the unrelated events all arrive while the job runs.
    async with (
        FakeDaemon(socket_path, step_seconds=0.2) as fake,
        DaemonClient(socket_path) as client,
    ):
        fake.plan_job("other", sheets=1)
        fake.plan_job("mine", sheets=2)
        result: list[JobState] = []

        async def wait() -> None:
            result.append(await client.submit_and_wait(request("mine"), poll_interval=60))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(wait)
                await fake.wait_for(
                    lambda: fake.count("job.submit") == 1 and fake.monitor_subscribers == 1
                )
                await client.submit_job(request("other"))  # ends first, its events interleaved
                for event in ("job.completed", "job.failed", "sheet.completed", "job.started"):
                    for job_id in ("other", "", "mine-too", "min"):
                        fake.emit(event, job_id=job_id)
        [state] = result
        assert (state.job_id, state.status) == ("mine", "completed")
        assert fake.job_status("other") == "completed"
        # Asked once at the start and once at its own job.completed, never for the others.
        assert fake.count("job.status") == 2


async def test_an_end_without_an_event_is_found_by_polling(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.plan_job("stopped", sheets=1000)
    result: list[JobState] = []

    async def wait() -> None:
        result.append(await client.wait_for_job("stopped", poll_interval=0.05))

    await client.submit_job(request("stopped"))
    with anyio.fail_after(20):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(wait)
            await fake.wait_for(lambda: fake.count("job.status") >= 2)  # polled while running
            # The conductor publishes no event for a cancelled job.
            assert (await client.cancel_job("stopped")).cancelled
    assert result[0].status == "cancelled"


class Lossy:
    """The monitor's events with those of ``job_id`` dropped and counted, as a lagging
    subscriber's are: the next event it does get comes with the count."""

    def __init__(self, events: AsyncIterator[ObserverEvent], job_id: str) -> None:
        self._events = events
        self._job_id = job_id
        self.missed = 0

    def __aiter__(self) -> Lossy:
        return self

    async def __anext__(self) -> ObserverEvent:
        while (event := await anext(self._events)).job_id == self._job_id:
            self.missed += 1
        return event


async def test_missed_events_make_it_ask_again(socket_path: Path) -> None:
    async with (
        FakeDaemon(socket_path, step_seconds=0.1) as fake,
        DaemonClient(socket_path) as client,
    ):
        result: list[JobState] = []
        async with client.monitor() as events:
            await client.submit_job(request("lossy"))

            async def follow() -> None:
                lossy = Lossy(events, "lossy")
                result.append(await _waiting._follow(client, lossy, "lossy", poll_interval=60))

            with anyio.fail_after(20):
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(follow)
                    await fake.wait_for(lambda: fake.job_status("lossy") == "completed")
                    fake.emit("observer.file_modified", job_id="unrelated")
        assert result[0].status == "completed"
        assert fake.count("job.status") == 2


async def test_the_timeout_bounds_the_whole_wait(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("endless", sheets=1000)
    fake.plan_job("other-endless", sheets=1000)
    await client.submit_job(request("endless"))
    with pytest.raises(TimeoutError, match=r"'endless' did not end within 0\.2 s"):
        await client.wait_for_job("endless", timeout=0.2)
    assert fake.job_status("endless") in ("queued", "running"), "the job goes on"
    with pytest.raises(TimeoutError, match="did not end"):
        await client.submit_and_wait(request("other-endless"), timeout=0.2)


@pytest.mark.parametrize("option", [{"timeout": 0}, {"poll_interval": -1}])
async def test_nonpositive_durations_are_refused(
    fake: FakeDaemon, client: DaemonClient, option: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        await client.wait_for_job("any", **option)
    assert fake.requests == []


async def test_an_unknown_job_raises_the_conductors_error(client: DaemonClient) -> None:
    with pytest.raises(JobSubmissionError, match="Job 'ghost' not found"):
        await client.wait_for_job("ghost")


# ---- the blocking client ------------------------------------------------------------


@pytest.fixture
def threaded(socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as fake:
        yield fake


def test_blocking_wait_and_submit(threaded: ThreadedFakeDaemon) -> None:
    threaded.plan_job("sync-fails", sheets=2, fail_at_sheet=1)
    with blocking.DaemonClient(threaded.socket_path, timeout=10) as client:
        done = client.submit_and_wait(request("sync-done"), timeout=30)
        assert (done.job_id, done.status) == ("sync-done", "completed")
        again = client.wait_for_job("sync-done", timeout=30)
        assert again.status == "completed"
        assert client.submit_and_wait(request("sync-fails"), timeout=30).status == "failed"
        threaded.plan_job("sync-long", sheets=1000)
        client.submit_job(request("sync-long"))
        with pytest.raises(JobSubmissionError, match="already"):
            client.submit_and_wait(request("sync-long"), timeout=30)
