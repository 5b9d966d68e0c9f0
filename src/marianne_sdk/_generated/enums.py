# Generated from schema/marianne.openrpc.json (sha256 4d3daf933b86120e) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
"""Known values of the conductor's open enumerations.

Fields typed with these enumerations' aliases accept any string, so a newer
conductor's new value still decodes; compare against these members, which are
plain strings (``StrEnum``).
"""

from __future__ import annotations

from enum import StrEnum


class KnownJobResponseStatus(StrEnum):
    """Known values of :data:`JobResponseStatus`. Outcome of job.submit / job.resume / job.modify. Open set: any string decodes. "pending" and "error" are declared by the conductor but no code path produces them at this version."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PENDING = "pending"
    ERROR = "error"


class KnownDaemonJobStatus(StrEnum):
    """Known values of :data:`DaemonJobStatus`. Status of a job in the daemon's job metadata and registry (also a checkpoint's status when the registry overrides it). Open set."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PAUSED = "paused"
    PAUSED_AT_CHAIN = "paused_at_chain"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PENDING = "pending"


class KnownJobStatus(StrEnum):
    """Known values of :data:`JobStatus`. Status of a job run as stored in its CheckpointState. Open set."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    PAUSED_AT_CHAIN = "paused_at_chain"
    CANCELLED = "cancelled"


class KnownSheetStatus(StrEnum):
    """Known values of :data:`SheetStatus`. Scheduling status of one sheet. completed, failed, skipped and cancelled are terminal. Open set."""

    PENDING = "pending"
    READY = "ready"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RETRY_SCHEDULED = "retry_scheduled"
    FERMATA = "fermata"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class KnownErrorCategory(StrEnum):
    """Known values of :data:`ErrorCategory`. Classification of a sheet's last error. Open set."""

    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    VALIDATION = "validation"
    AUTH = "auth"
    NETWORK = "network"
    TIMEOUT = "timeout"
    SIGNAL = "signal"
    FATAL = "fatal"
    CONFIGURATION = "configuration"
    PREFLIGHT = "preflight"
    ESCALATION = "escalation"


class KnownOutcomeCategory(StrEnum):
    """Known values of :data:`OutcomeCategory`. Classification of a sheet's execution outcome. Open set."""

    SUCCESS_FIRST_TRY = "success_first_try"
    SUCCESS_RETRY = "success_retry"
    SUCCESS_COMPLETION = "success_completion"
    FAILED_EXHAUSTED = "failed_exhausted"
    FAILED_FATAL = "failed_fatal"
    SKIPPED_BY_ESCALATION = "skipped_by_escalation"


class KnownQuarantineStatus(StrEnum):
    """Known values of :data:`QuarantineStatus`. Quarantine state of a learned pattern. Open set."""

    PENDING = "pending"
    QUARANTINED = "quarantined"
    VALIDATED = "validated"
    RETIRED = "retired"


class KnownPressureLevel(StrEnum):
    """Known values of :data:`PressureLevel`. System backpressure level reported by the profiler. Open set."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class KnownProcessEventType(StrEnum):
    """Known values of :data:`ProcessEventType`. Kind of process lifecycle event. Open set."""

    SPAWN = "spawn"
    EXIT = "exit"
    SIGNAL = "signal"
    KILL = "kill"
    OOM = "oom"


class KnownErrorRecordType(StrEnum):
    """Known values of :data:`ErrorRecordType`. Retry classification of a recorded sheet error. Open set."""

    TRANSIENT = "transient"
    RATE_LIMIT = "rate_limit"
    PERMANENT = "permanent"


class KnownExitReason(StrEnum):
    """Known values of :data:`ExitReason`. Why a sheet's execution ended. Open set."""

    COMPLETED = "completed"
    TIMEOUT = "timeout"
    KILLED = "killed"
    ERROR = "error"


class KnownExecutionMode(StrEnum):
    """Known values of :data:`ExecutionMode`. A sheet's last execution mode. Open set."""

    NORMAL = "normal"
    COMPLETION = "completion"
    RETRY = "retry"


class KnownIsolationMode(StrEnum):
    """Known values of :data:`IsolationMode`. Workspace isolation used by a job run. Open set."""

    WORKTREE = "worktree"
    NONE = "none"


class KnownSynthesisStrategy(StrEnum):
    """Known values of :data:`SynthesisStrategy`. How a parallel batch's sheet outputs are synthesised. Open set."""

    MERGE = "merge"
    SUMMARIZE = "summarize"
    PASS_THROUGH = "pass_through"


class KnownSynthesisStatus(StrEnum):
    """Known values of :data:`SynthesisStatus`. Progress of a parallel batch's synthesis. Open set."""

    PENDING = "pending"
    READY = "ready"
    DONE = "done"
    FAILED = "failed"


class KnownReadinessStatus(StrEnum):
    """Known values of :data:`ReadinessStatus`. Overall readiness reported by daemon.ready. Open set."""

    READY = "ready"
    NOT_READY = "not_ready"


class KnownHealthStatus(StrEnum):
    """Known values of :data:`HealthStatus`. Liveness status reported by daemon.health; always "ok" at this conductor version. Open set."""

    OK = "ok"


class KnownLogLevel(StrEnum):
    """Known values of :data:`LogLevel`. Minimum log level of the daemon. Open set."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class KnownAnomalyType(StrEnum):
    """Known values of :data:`AnomalyType`. Kind of resource anomaly detected by the profiler (data of monitor.anomaly events). Open set."""

    MEMORY_SPIKE = "memory_spike"
    RUNAWAY_PROCESS = "runaway_process"
    ZOMBIE = "zombie"
    FD_EXHAUSTION = "fd_exhaustion"


class KnownAnomalySeverity(StrEnum):
    """Known values of :data:`AnomalySeverity`. Severity of a detected resource anomaly. Open set."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class KnownObserverEventName(StrEnum):
    """Known values of :data:`ObserverEventName`. The `event` name of an ObserverEvent. Open set: the conductor publishes more over time."""

    JOB_STARTED = "job.started"
    JOB_RESUMING = "job.resuming"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    SHEET_STARTED = "sheet.started"
    SHEET_COMPLETED = "sheet.completed"
    SHEET_FAILED = "sheet.failed"
    SHEET_RETRYING = "sheet.retrying"
    SHEET_VALIDATION_PASSED = "sheet.validation_passed"
    SHEET_VALIDATION_FAILED = "sheet.validation_failed"
    JOB_COST_UPDATE = "job.cost_update"
    JOB_ITERATION = "job.iteration"
    BATON_SHEET_ATTEMPT_RESULT = "baton.sheet.attempt_result"
    BATON_SHEET_SKIPPED = "baton.sheet.skipped"
    BATON_INSTRUMENT_FALLBACK = "baton.instrument.fallback"
    BATON_SHEET_RETRY_SCHEDULED = "baton.sheet.retry_scheduled"
    BATON_SHEET_STALE_CHECK = "baton.sheet.stale_check"
    BATON_RATE_LIMIT_ACTIVE = "baton.rate_limit.active"
    BATON_RATE_LIMIT_CLEARED = "baton.rate_limit.cleared"
    BATON_CRON_FIRED = "baton.cron.fired"
    BATON_JOB_TIMEOUT = "baton.job.timeout"
    BATON_PACING_COMPLETE = "baton.pacing.complete"
    BATON_FERMATA = "baton.fermata"
    BATON_FERMATA_RESOLVED = "baton.fermata.resolved"
    OBSERVER_FILE_CREATED = "observer.file_created"
    OBSERVER_FILE_MODIFIED = "observer.file_modified"
    OBSERVER_FILE_DELETED = "observer.file_deleted"
    OBSERVER_FILE_CHANGED = "observer.file_changed"
    OBSERVER_PROCESS_SPAWNED = "observer.process_spawned"
    OBSERVER_PROCESS_EXITED = "observer.process_exited"
    MONITOR_ANOMALY = "monitor.anomaly"


__all__ = [
    "KnownJobResponseStatus",
    "KnownDaemonJobStatus",
    "KnownJobStatus",
    "KnownSheetStatus",
    "KnownErrorCategory",
    "KnownOutcomeCategory",
    "KnownQuarantineStatus",
    "KnownPressureLevel",
    "KnownProcessEventType",
    "KnownErrorRecordType",
    "KnownExitReason",
    "KnownExecutionMode",
    "KnownIsolationMode",
    "KnownSynthesisStrategy",
    "KnownSynthesisStatus",
    "KnownReadinessStatus",
    "KnownHealthStatus",
    "KnownLogLevel",
    "KnownAnomalyType",
    "KnownAnomalySeverity",
    "KnownObserverEventName",
]
