# Generated from schema/marianne.openrpc.json (sha256 4d3daf933b86120e) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
"""The method registry and the error-code table."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from marianne_sdk._errors import (
    DaemonAlreadyRunningError,
    DaemonError,
    DaemonInternalError,
    DaemonParseError,
    DaemonShuttingDownError,
    InvalidParamsError,
    InvalidRequestError,
    JobSubmissionError,
    MethodNotFoundError,
    ResourceExhaustedError,
)
from marianne_sdk._method import MethodInfo

from . import models, params

CONDUCTOR_VERSIONS = ">=0.1.0,<0.2"
"""The conductor versions the schema describes (``info.x-conductor-versions``)."""

JOB_SUBMIT: MethodInfo[models.JobRequest, models.JobResponse] = MethodInfo(
    name="job.submit",
    python_name="submit_job",
    params_type=models.JobRequest,
    result_type=models.JobResponse,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Check a score (job config) file and start it as a background job.",
)

JOB_STATUS: MethodInfo[params.JobStatusParams, models.JobState] = MethodInfo(
    name="job.status",
    python_name="get_job_status",
    params_type=params.JobStatusParams,
    result_type=models.JobState,
    idempotent=True,
    streaming=False,
    errors=(
        -32000,
        -32602,
        -32603,
    ),
    summary="Return the full current state of one job.",
)

JOB_PAUSE: MethodInfo[params.JobPauseParams, models.PauseResult] = MethodInfo(
    name="job.pause",
    python_name="pause_job",
    params_type=params.JobPauseParams,
    result_type=models.PauseResult,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Ask a running job to pause.",
)

JOB_RESUME: MethodInfo[params.JobResumeParams, models.JobResponse] = MethodInfo(
    name="job.resume",
    python_name="resume_job",
    params_type=params.JobResumeParams,
    result_type=models.JobResponse,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Resume a paused, paused-at-chain, failed or cancelled job in a new task.",
)

JOB_MODIFY: MethodInfo[params.JobModifyParams, models.JobResponse] = MethodInfo(
    name="job.modify",
    python_name="modify_job",
    params_type=params.JobModifyParams,
    result_type=models.JobResponse,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Switch a job to a new config, pausing and resuming it as needed.",
)

JOB_CANCEL: MethodInfo[params.JobCancelParams, models.CancelResult] = MethodInfo(
    name="job.cancel",
    python_name="cancel_job",
    params_type=params.JobCancelParams,
    result_type=models.CancelResult,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Cancel a job's execution task and mark it cancelled.",
)

JOB_LIST: MethodInfo[params.JobListParams, list[models.JobListEntry]] = MethodInfo(
    name="job.list",
    python_name="list_jobs",
    params_type=params.JobListParams,
    result_type=list[models.JobListEntry],
    idempotent=True,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="List every job the daemon knows.",
)

JOB_CLEAR: MethodInfo[params.JobClearParams, models.ClearResult] = MethodInfo(
    name="job.clear",
    python_name="clear_jobs",
    params_type=params.JobClearParams,
    result_type=models.ClearResult,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Delete finished jobs from memory and from the registry.",
)

JOB_ERRORS: MethodInfo[params.JobErrorsParams, models.JobErrorsResult] = MethodInfo(
    name="job.errors",
    python_name="get_errors",
    params_type=params.JobErrorsParams,
    result_type=models.JobErrorsResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32000,
        -32602,
        -32603,
    ),
    summary="Return a job's state so the client can extract its error details.",
)

JOB_DIAGNOSE: MethodInfo[params.JobDiagnoseParams, models.JobDiagnoseResult] = MethodInfo(
    name="job.diagnose",
    python_name="diagnose",
    params_type=params.JobDiagnoseParams,
    result_type=models.JobDiagnoseResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32000,
        -32602,
        -32603,
    ),
    summary="Return a job's state plus its workspace path, for diagnostics.",
)

JOB_HISTORY: MethodInfo[params.JobHistoryParams, models.HistoryResult] = MethodInfo(
    name="job.history",
    python_name="get_execution_history",
    params_type=params.JobHistoryParams,
    result_type=models.HistoryResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32000,
        -32602,
        -32603,
    ),
    summary="Return per-attempt execution history from the job's workspace state DB.",
)

JOB_RECOVER: MethodInfo[params.JobRecoverParams, models.RecoverResult] = MethodInfo(
    name="job.recover",
    python_name="recover_job",
    params_type=params.JobRecoverParams,
    result_type=models.RecoverResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32000,
        -32602,
        -32603,
    ),
    summary="Return a job's state read from its workspace state DB, so validations can be run locally.",
)

DAEMON_STATUS: MethodInfo[params.DaemonStatusParams, models.DaemonStatus] = MethodInfo(
    name="daemon.status",
    python_name="status",
    params_type=params.DaemonStatusParams,
    result_type=models.DaemonStatus,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Return a short summary of the daemon.",
)

DAEMON_SHUTDOWN: MethodInfo[params.DaemonShutdownParams, models.ShutdownResult] = MethodInfo(
    name="daemon.shutdown",
    python_name="shutdown",
    params_type=params.DaemonShutdownParams,
    result_type=models.ShutdownResult,
    idempotent=False,
    streaming=False,
    errors=(-32603,),
    summary="Start daemon shutdown in the background and reply at once.",
)

DAEMON_CONFIG: MethodInfo[params.DaemonConfigParams, models.DaemonConfig] = MethodInfo(
    name="daemon.config",
    python_name="config",
    params_type=params.DaemonConfigParams,
    result_type=models.DaemonConfig,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Return the daemon's live configuration.",
)

DAEMON_HEALTH: MethodInfo[params.DaemonHealthParams, models.HealthResult] = MethodInfo(
    name="daemon.health",
    python_name="health",
    params_type=params.DaemonHealthParams,
    result_type=models.HealthResult,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Liveness probe: report that the daemon process is alive.",
)

DAEMON_READY: MethodInfo[params.DaemonReadyParams, models.ReadinessResult] = MethodInfo(
    name="daemon.ready",
    python_name="readiness",
    params_type=params.DaemonReadyParams,
    result_type=models.ReadinessResult,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Readiness probe: report whether the daemon is accepting new work.",
)

DAEMON_TOP: MethodInfo[params.DaemonTopParams, models.DaemonTopResult] = MethodInfo(
    name="daemon.top",
    python_name="top",
    params_type=params.DaemonTopParams,
    result_type=models.DaemonTopResult,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Return the latest profiler system snapshot.",
)

DAEMON_TOP_STREAM: MethodInfo[params.DaemonTopStreamParams, models.TopStreamResult] = MethodInfo(
    name="daemon.top.stream",
    python_name="top_jsonl_path",
    params_type=params.DaemonTopStreamParams,
    result_type=models.TopStreamResult,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Return the path of the profiler's JSONL snapshot file, for the client to tail.",
)

DAEMON_EVENTS: MethodInfo[params.DaemonEventsParams, models.ProcessEventsResult] = MethodInfo(
    name="daemon.events",
    python_name="process_events",
    params_type=params.DaemonEventsParams,
    result_type=models.ProcessEventsResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Return recent process lifecycle events from the profiler.",
)

DAEMON_MONITOR_STREAM: MethodInfo[params.DaemonMonitorStreamParams, None] = MethodInfo(
    name="daemon.monitor.stream",
    python_name="monitor",
    params_type=params.DaemonMonitorStreamParams,
    result_type=None,
    idempotent=False,
    streaming=True,
    errors=(
        -32602,
        -32603,
    ),
    summary="Subscribe to the daemon's event bus and receive every event as a monitor.event notification.",
    notification="monitor.event",
    notification_type=models.ObserverEvent,
)

DAEMON_OBSERVER_EVENTS: MethodInfo[
    params.DaemonObserverEventsParams, models.ObserverEventsResult
] = MethodInfo(
    name="daemon.observer_events",
    python_name="observer_events",
    params_type=params.DaemonObserverEventsParams,
    result_type=models.ObserverEventsResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Return recent filesystem and process observer events, newest first.",
)

DAEMON_RATE_LIMITS: MethodInfo[params.DaemonRateLimitsParams, models.RateLimitsResult] = MethodInfo(
    name="daemon.rate_limits",
    python_name="rate_limits",
    params_type=params.DaemonRateLimitsParams,
    result_type=models.RateLimitsResult,
    idempotent=True,
    streaming=False,
    errors=(-32603,),
    summary="Return the current rate-limit state of the rate-limit coordinator.",
)

DAEMON_CLEAR_RATE_LIMITS: MethodInfo[
    params.DaemonClearRateLimitsParams, models.ClearRateLimitsResult
] = MethodInfo(
    name="daemon.clear_rate_limits",
    python_name="clear_rate_limits",
    params_type=params.DaemonClearRateLimitsParams,
    result_type=models.ClearRateLimitsResult,
    idempotent=False,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Clear active rate limits and wake the dispatcher.",
)

DAEMON_LEARNING_PATTERNS: MethodInfo[
    params.DaemonLearningPatternsParams, models.LearningPatternsResult
] = MethodInfo(
    name="daemon.learning.patterns",
    python_name="learning_patterns",
    params_type=params.DaemonLearningPatternsParams,
    result_type=models.LearningPatternsResult,
    idempotent=True,
    streaming=False,
    errors=(
        -32602,
        -32603,
    ),
    summary="Return learned patterns from the global learning store.",
)

METHODS: Mapping[str, MethodInfo[Any, Any]] = MappingProxyType(
    {
        method.name: method
        for method in (
            JOB_SUBMIT,
            JOB_STATUS,
            JOB_PAUSE,
            JOB_RESUME,
            JOB_MODIFY,
            JOB_CANCEL,
            JOB_LIST,
            JOB_CLEAR,
            JOB_ERRORS,
            JOB_DIAGNOSE,
            JOB_HISTORY,
            JOB_RECOVER,
            DAEMON_STATUS,
            DAEMON_SHUTDOWN,
            DAEMON_CONFIG,
            DAEMON_HEALTH,
            DAEMON_READY,
            DAEMON_TOP,
            DAEMON_TOP_STREAM,
            DAEMON_EVENTS,
            DAEMON_MONITOR_STREAM,
            DAEMON_OBSERVER_EVENTS,
            DAEMON_RATE_LIMITS,
            DAEMON_CLEAR_RATE_LIMITS,
            DAEMON_LEARNING_PATTERNS,
        )
    }
)
"""Every method of the conductor, by wire name."""

ERROR_CLASS_BY_CODE: Mapping[int, type[DaemonError]] = MappingProxyType(
    {
        -32000: JobSubmissionError,
        -32001: ResourceExhaustedError,
        -32002: DaemonAlreadyRunningError,
        -32003: DaemonShuttingDownError,
        -32004: JobSubmissionError,
        -32005: JobSubmissionError,
        -32600: InvalidRequestError,
        -32601: MethodNotFoundError,
        -32602: InvalidParamsError,
        -32603: DaemonInternalError,
        -32700: DaemonParseError,
    }
)
"""The exception raised for each JSON-RPC error code; other codes raise ``DaemonError``."""
