# Generated from schema/marianne.openrpc.json (sha256 b257ebbac3c711a1) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
"""Typed wrappers of every conductor method, as mixins of the clients.

``AsyncMethods`` is mixed into :class:`marianne_sdk.DaemonClient`, ``SyncMethods``
into the blocking client. Both only build the params and hand them to the
client's single typed entry point.
"""

from __future__ import annotations

from marianne_sdk._invoke import (
    NOT_GIVEN,
    AsyncInvoker,
    EventStream,
    SyncEventStream,
    SyncInvoker,
    Timeout,
)

from . import models, params, registry


class AsyncMethods(AsyncInvoker):
    """The conductor's methods, typed (generated from the schema)."""

    async def submit_job(
        self,
        request: models.JobRequest,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Check a score (job config) file and start it as a background job.

        Calls ``job.submit``; not idempotent: never sent twice.
        """
        return await self._call_typed(registry.JOB_SUBMIT, request, timeout)

    async def get_job_status(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobState:
        """Return the full current state of one job.

        Calls ``job.status``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.JOB_STATUS, params.JobStatusParams(job_id=job_id, workspace=workspace), timeout
        )

    async def pause_job(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.PauseResult:
        """Ask a running job to pause.

        Calls ``job.pause``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.JOB_PAUSE, params.JobPauseParams(job_id=job_id, workspace=workspace), timeout
        )

    async def resume_job(
        self,
        job_id: str,
        workspace: str | None = None,
        config_path: str | None = None,
        no_reload: bool = False,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Resume a paused, paused-at-chain, failed or cancelled job in a new task.

        Calls ``job.resume``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.JOB_RESUME,
            params.JobResumeParams(
                job_id=job_id, workspace=workspace, config_path=config_path, no_reload=no_reload
            ),
            timeout,
        )

    async def modify_job(
        self,
        job_id: str,
        config_path: str | None = None,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Switch a job to a new config, pausing and resuming it as needed.

        Calls ``job.modify``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.JOB_MODIFY,
            params.JobModifyParams(job_id=job_id, config_path=config_path, workspace=workspace),
            timeout,
        )

    async def cancel_job(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.CancelResult:
        """Cancel a job's execution task and mark it cancelled.

        Calls ``job.cancel``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.JOB_CANCEL, params.JobCancelParams(job_id=job_id, workspace=workspace), timeout
        )

    async def list_jobs(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> list[models.JobListEntry]:
        """List every job the daemon knows.

        Calls ``job.list``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.JOB_LIST, params.JobListParams(), timeout)

    async def clear_jobs(
        self,
        statuses: list[models.DaemonJobStatus] | None = None,
        older_than_seconds: float | None = None,
        job_ids: list[str] | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ClearResult:
        """Delete finished jobs from memory and from the registry.

        Calls ``job.clear``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.JOB_CLEAR,
            params.JobClearParams(
                statuses=statuses, older_than_seconds=older_than_seconds, job_ids=job_ids
            ),
            timeout,
        )

    async def get_errors(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobErrorsResult:
        """Return a job's state so the client can extract its error details.

        Calls ``job.errors``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.JOB_ERRORS, params.JobErrorsParams(job_id=job_id, workspace=workspace), timeout
        )

    async def diagnose(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobDiagnoseResult:
        """Return a job's state plus its workspace path, for diagnostics.

        Calls ``job.diagnose``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.JOB_DIAGNOSE,
            params.JobDiagnoseParams(job_id=job_id, workspace=workspace),
            timeout,
        )

    async def get_execution_history(
        self,
        job_id: str,
        workspace: str | None = None,
        sheet_num: int | None = None,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HistoryResult:
        """Return per-attempt execution history from the job's workspace state DB.

        Calls ``job.history``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.JOB_HISTORY,
            params.JobHistoryParams(
                job_id=job_id, workspace=workspace, sheet_num=sheet_num, limit=limit
            ),
            timeout,
        )

    async def recover_job(
        self,
        job_id: str,
        workspace: str | None = None,
        sheet_num: int | None = None,
        dry_run: bool = False,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.RecoverResult:
        """Return a job's state read from its workspace state DB, so validations can be run locally.

        Calls ``job.recover``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.JOB_RECOVER,
            params.JobRecoverParams(
                job_id=job_id, workspace=workspace, sheet_num=sheet_num, dry_run=dry_run
            ),
            timeout,
        )

    async def status(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonStatus:
        """Return a short summary of the daemon.

        Calls ``daemon.status``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), timeout)

    async def shutdown(
        self,
        graceful: bool = True,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ShutdownResult:
        """Start daemon shutdown in the background and reply at once.

        Calls ``daemon.shutdown``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.DAEMON_SHUTDOWN, params.DaemonShutdownParams(graceful=graceful), timeout
        )

    async def config(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonConfig:
        """Return the daemon's live configuration.

        Calls ``daemon.config``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.DAEMON_CONFIG, params.DaemonConfigParams(), timeout)

    async def health(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HealthResult:
        """Liveness probe: report that the daemon process is alive.

        Calls ``daemon.health``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.DAEMON_HEALTH, params.DaemonHealthParams(), timeout)

    async def readiness(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ReadinessResult:
        """Readiness probe: report whether the daemon is accepting new work.

        Calls ``daemon.ready``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.DAEMON_READY, params.DaemonReadyParams(), timeout)

    async def top(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonTopResult:
        """Return the latest profiler system snapshot.

        Calls ``daemon.top``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(registry.DAEMON_TOP, params.DaemonTopParams(), timeout)

    async def top_jsonl_path(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.TopStreamResult:
        """Return the path of the profiler's JSONL snapshot file, for the client to tail.

        Calls ``daemon.top.stream``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.DAEMON_TOP_STREAM, params.DaemonTopStreamParams(), timeout
        )

    async def process_events(
        self,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ProcessEventsResult:
        """Return recent process lifecycle events from the profiler.

        Calls ``daemon.events``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.DAEMON_EVENTS, params.DaemonEventsParams(limit=limit), timeout
        )

    def monitor(
        self,
        *,
        idle_timeout: float | None = None,
    ) -> EventStream[models.ObserverEvent]:
        """Subscribe to the daemon's event bus and receive every event as a monitor.event notification.

        Streams ``monitor.event`` notifications of ``daemon.monitor.stream`` on a
        connection of its own, closed when the block is left. ``idle_timeout``
        raises ``TimeoutError`` when no event arrives for that many seconds.
        """
        return self._stream_typed(
            registry.DAEMON_MONITOR_STREAM, params.DaemonMonitorStreamParams(), idle_timeout
        )

    async def observer_events(
        self,
        job_id: str | None = None,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ObserverEventsResult:
        """Return recent filesystem and process observer events, newest first.

        Calls ``daemon.observer_events``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.DAEMON_OBSERVER_EVENTS,
            params.DaemonObserverEventsParams(job_id=job_id, limit=limit),
            timeout,
        )

    async def rate_limits(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.RateLimitsResult:
        """Return the current rate-limit state of the rate-limit coordinator.

        Calls ``daemon.rate_limits``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.DAEMON_RATE_LIMITS, params.DaemonRateLimitsParams(), timeout
        )

    async def clear_rate_limits(
        self,
        instrument: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ClearRateLimitsResult:
        """Clear active rate limits and wake the dispatcher.

        Calls ``daemon.clear_rate_limits``; not idempotent: never sent twice.
        """
        return await self._call_typed(
            registry.DAEMON_CLEAR_RATE_LIMITS,
            params.DaemonClearRateLimitsParams(instrument=instrument),
            timeout,
        )

    async def learning_patterns(
        self,
        limit: int = 20,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.LearningPatternsResult:
        """Return learned patterns from the global learning store.

        Calls ``daemon.learning.patterns``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return await self._call_typed(
            registry.DAEMON_LEARNING_PATTERNS,
            params.DaemonLearningPatternsParams(limit=limit),
            timeout,
        )


class SyncMethods(SyncInvoker):
    """The conductor's methods, typed (generated from the schema)."""

    def submit_job(
        self,
        request: models.JobRequest,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Check a score (job config) file and start it as a background job.

        Calls ``job.submit``; not idempotent: never sent twice.
        """
        return self._call_typed(registry.JOB_SUBMIT, request, timeout)

    def get_job_status(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobState:
        """Return the full current state of one job.

        Calls ``job.status``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.JOB_STATUS, params.JobStatusParams(job_id=job_id, workspace=workspace), timeout
        )

    def pause_job(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.PauseResult:
        """Ask a running job to pause.

        Calls ``job.pause``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.JOB_PAUSE, params.JobPauseParams(job_id=job_id, workspace=workspace), timeout
        )

    def resume_job(
        self,
        job_id: str,
        workspace: str | None = None,
        config_path: str | None = None,
        no_reload: bool = False,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Resume a paused, paused-at-chain, failed or cancelled job in a new task.

        Calls ``job.resume``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.JOB_RESUME,
            params.JobResumeParams(
                job_id=job_id, workspace=workspace, config_path=config_path, no_reload=no_reload
            ),
            timeout,
        )

    def modify_job(
        self,
        job_id: str,
        config_path: str | None = None,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobResponse:
        """Switch a job to a new config, pausing and resuming it as needed.

        Calls ``job.modify``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.JOB_MODIFY,
            params.JobModifyParams(job_id=job_id, config_path=config_path, workspace=workspace),
            timeout,
        )

    def cancel_job(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.CancelResult:
        """Cancel a job's execution task and mark it cancelled.

        Calls ``job.cancel``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.JOB_CANCEL, params.JobCancelParams(job_id=job_id, workspace=workspace), timeout
        )

    def list_jobs(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> list[models.JobListEntry]:
        """List every job the daemon knows.

        Calls ``job.list``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.JOB_LIST, params.JobListParams(), timeout)

    def clear_jobs(
        self,
        statuses: list[models.DaemonJobStatus] | None = None,
        older_than_seconds: float | None = None,
        job_ids: list[str] | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ClearResult:
        """Delete finished jobs from memory and from the registry.

        Calls ``job.clear``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.JOB_CLEAR,
            params.JobClearParams(
                statuses=statuses, older_than_seconds=older_than_seconds, job_ids=job_ids
            ),
            timeout,
        )

    def get_errors(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobErrorsResult:
        """Return a job's state so the client can extract its error details.

        Calls ``job.errors``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.JOB_ERRORS, params.JobErrorsParams(job_id=job_id, workspace=workspace), timeout
        )

    def diagnose(
        self,
        job_id: str,
        workspace: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.JobDiagnoseResult:
        """Return a job's state plus its workspace path, for diagnostics.

        Calls ``job.diagnose``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.JOB_DIAGNOSE,
            params.JobDiagnoseParams(job_id=job_id, workspace=workspace),
            timeout,
        )

    def get_execution_history(
        self,
        job_id: str,
        workspace: str | None = None,
        sheet_num: int | None = None,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HistoryResult:
        """Return per-attempt execution history from the job's workspace state DB.

        Calls ``job.history``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.JOB_HISTORY,
            params.JobHistoryParams(
                job_id=job_id, workspace=workspace, sheet_num=sheet_num, limit=limit
            ),
            timeout,
        )

    def recover_job(
        self,
        job_id: str,
        workspace: str | None = None,
        sheet_num: int | None = None,
        dry_run: bool = False,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.RecoverResult:
        """Return a job's state read from its workspace state DB, so validations can be run locally.

        Calls ``job.recover``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.JOB_RECOVER,
            params.JobRecoverParams(
                job_id=job_id, workspace=workspace, sheet_num=sheet_num, dry_run=dry_run
            ),
            timeout,
        )

    def status(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonStatus:
        """Return a short summary of the daemon.

        Calls ``daemon.status``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), timeout)

    def shutdown(
        self,
        graceful: bool = True,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ShutdownResult:
        """Start daemon shutdown in the background and reply at once.

        Calls ``daemon.shutdown``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.DAEMON_SHUTDOWN, params.DaemonShutdownParams(graceful=graceful), timeout
        )

    def config(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonConfig:
        """Return the daemon's live configuration.

        Calls ``daemon.config``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_CONFIG, params.DaemonConfigParams(), timeout)

    def health(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HealthResult:
        """Liveness probe: report that the daemon process is alive.

        Calls ``daemon.health``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_HEALTH, params.DaemonHealthParams(), timeout)

    def readiness(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ReadinessResult:
        """Readiness probe: report whether the daemon is accepting new work.

        Calls ``daemon.ready``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_READY, params.DaemonReadyParams(), timeout)

    def top(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonTopResult:
        """Return the latest profiler system snapshot.

        Calls ``daemon.top``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_TOP, params.DaemonTopParams(), timeout)

    def top_jsonl_path(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.TopStreamResult:
        """Return the path of the profiler's JSONL snapshot file, for the client to tail.

        Calls ``daemon.top.stream``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(registry.DAEMON_TOP_STREAM, params.DaemonTopStreamParams(), timeout)

    def process_events(
        self,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ProcessEventsResult:
        """Return recent process lifecycle events from the profiler.

        Calls ``daemon.events``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.DAEMON_EVENTS, params.DaemonEventsParams(limit=limit), timeout
        )

    def monitor(
        self,
        *,
        idle_timeout: float | None = None,
    ) -> SyncEventStream[models.ObserverEvent]:
        """Subscribe to the daemon's event bus and receive every event as a monitor.event notification.

        Streams ``monitor.event`` notifications of ``daemon.monitor.stream`` on a
        connection of its own, closed when the block is left. ``idle_timeout``
        raises ``TimeoutError`` when no event arrives for that many seconds.
        """
        return self._stream_typed(
            registry.DAEMON_MONITOR_STREAM, params.DaemonMonitorStreamParams(), idle_timeout
        )

    def observer_events(
        self,
        job_id: str | None = None,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ObserverEventsResult:
        """Return recent filesystem and process observer events, newest first.

        Calls ``daemon.observer_events``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.DAEMON_OBSERVER_EVENTS,
            params.DaemonObserverEventsParams(job_id=job_id, limit=limit),
            timeout,
        )

    def rate_limits(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.RateLimitsResult:
        """Return the current rate-limit state of the rate-limit coordinator.

        Calls ``daemon.rate_limits``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.DAEMON_RATE_LIMITS, params.DaemonRateLimitsParams(), timeout
        )

    def clear_rate_limits(
        self,
        instrument: str | None = None,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ClearRateLimitsResult:
        """Clear active rate limits and wake the dispatcher.

        Calls ``daemon.clear_rate_limits``; not idempotent: never sent twice.
        """
        return self._call_typed(
            registry.DAEMON_CLEAR_RATE_LIMITS,
            params.DaemonClearRateLimitsParams(instrument=instrument),
            timeout,
        )

    def learning_patterns(
        self,
        limit: int = 20,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.LearningPatternsResult:
        """Return learned patterns from the global learning store.

        Calls ``daemon.learning.patterns``; idempotent: retried once on a fresh connection if the connection is lost.
        """
        return self._call_typed(
            registry.DAEMON_LEARNING_PATTERNS,
            params.DaemonLearningPatternsParams(limit=limit),
            timeout,
        )
