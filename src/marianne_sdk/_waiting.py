"""Waiting for a job to end: the logic behind ``wait_for_job`` and ``submit_and_wait``.

The conductor says a job ended in two ways, neither enough alone. Its monitor
stream publishes ``job.completed`` and ``job.failed``, but not a cancellation,
it drops events for a subscriber that lags, and it says nothing of a job that
ended before the subscription. ``job.status`` answers whenever asked. So: first
subscribe, then ask the status (a job that already ended returns at once, and
one that ends later is seen on the stream); ask again when the stream says
this job ended or that events were missed, and every ``poll_interval`` seconds
whatever the stream says.

The subscription reconnects: a conductor that restarts during the wait
leaves a gap in the stream, after which the status is asked again, and the
wait ends with the job's state as the restarted conductor reports it (a
:class:`JobSubmissionError` if it does not know the job). While the
conductor is away, a failed check of the status only waits for the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._errors import (
    ConnectionLostError,
    DaemonNotRunningError,
    DaemonShuttingDownError,
    DaemonTimeoutError,
    JobSubmissionError,
)
from ._generated import models
from ._generated.enums import KnownDaemonJobStatus, KnownJobResponseStatus
from ._invoke import EventStream, positive_seconds
from ._streams import StreamGap

if TYPE_CHECKING:
    from ._client import DaemonClient

TERMINAL_STATUSES = frozenset(
    {KnownDaemonJobStatus.COMPLETED, KnownDaemonJobStatus.FAILED, KnownDaemonJobStatus.CANCELLED}
)
"""Job statuses after which a job runs no more (unless resumed)."""

_ENDING_EVENTS = frozenset({"job.completed", "job.failed"})
_WAITING_SUBMISSIONS = frozenset({KnownJobResponseStatus.ACCEPTED, KnownJobResponseStatus.PENDING})
DEFAULT_POLL_INTERVAL = 5.0

_CONDUCTOR_AWAY = (DaemonNotRunningError, DaemonShuttingDownError, ConnectionLostError)
"""What a status check raises while the conductor restarts: the stream says when it is back."""


async def wait_for_job(
    client: DaemonClient,
    job_id: str,
    *,
    timeout: float | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> models.JobState:
    """The state of the job ``job_id`` once its status is terminal (see the module docstring)."""
    return await _wait(client, job_id, None, timeout, poll_interval)


async def submit_and_wait(
    client: DaemonClient,
    request: models.JobRequest,
    *,
    timeout: float | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> models.JobState:
    """Submit ``request``, then wait for its job; :class:`JobSubmissionError` if rejected."""
    return await _wait(client, None, request, timeout, poll_interval)


async def _wait(
    client: DaemonClient,
    job_id: str | None,
    request: models.JobRequest | None,
    timeout: float | None,
    poll_interval: float,
) -> models.JobState:
    """Subscribe, submit ``request`` if given, then follow the job until it ends."""
    positive_seconds("timeout", timeout)
    positive_seconds("poll_interval", poll_interval)
    with anyio.move_on_after(timeout):
        async with client.monitor(reconnect=True) as events:
            if request is not None:
                response = await client.submit_job(request)
                if response.status not in _WAITING_SUBMISSIONS:
                    raise JobSubmissionError(
                        f"job.submit {response.status}: {response.message or 'no reason given'}",
                        method="job.submit",
                        data=response,
                    )
                job_id = response.job_id
            assert job_id is not None
            return await _follow(client, events, job_id, poll_interval)
    what = job_id or (request and request.config_path)
    raise DaemonTimeoutError(f"job {what!r} did not end within {timeout} s")


async def _follow(
    client: DaemonClient,
    events: EventStream[models.ObserverEvent | StreamGap],
    job_id: str,
    poll_interval: float,
) -> models.JobState:
    missed = events.missed
    restarted = False
    while True:
        try:
            state = await client.get_job_status(job_id)
        except _CONDUCTOR_AWAY:
            state = None
        except JobSubmissionError as error:
            if not restarted:
                raise
            raise JobSubmissionError(
                f"job {job_id!r} is unknown to the conductor since it restarted: {error}",
                code=error.code,
                method=error.method,
                request_id=error.request_id,
            ) from error
        if state is not None and state.status in TERMINAL_STATUSES:
            return state
        with anyio.move_on_after(poll_interval):
            missed, gap = await _next_sign_of_an_end(events, job_id, missed)
            restarted = restarted or gap


async def _next_sign_of_an_end(
    events: EventStream[models.ObserverEvent | StreamGap], job_id: str, missed: int
) -> tuple[int, bool]:
    """Return when an event says ``job_id`` ended, events were missed or the stream broke.

    Returns how many events were missed in all, and whether the stream broke.
    """
    async for event in events:
        if isinstance(event, StreamGap):
            return events.missed, True
        now_missed = events.missed
        if now_missed != missed or (event.job_id == job_id and event.event in _ENDING_EVENTS):
            return now_missed, False
    await anyio.sleep_forever()  # the stream ended: only the periodic check is left
    return missed, False
