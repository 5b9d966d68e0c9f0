# Generated from schema/marianne.openrpc.json (sha256 4d3daf933b86120e) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
"""Params types, one per method: the wire params, validated before sending."""

from __future__ import annotations

from marianne_sdk._struct import ParamsStruct

from . import models


class JobStatusParams(ParamsStruct, kw_only=True):
    """Params of ``job.status``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Ignored by the daemon (the registry is the source of truth); accepted for compatibility."""


class JobPauseParams(ParamsStruct, kw_only=True):
    """Params of ``job.pause``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Ignored by the daemon (the registry is the source of truth); accepted for compatibility."""


class JobResumeParams(ParamsStruct, kw_only=True):
    """Params of ``job.resume``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Overrides the workspace used by the resume task; "" and null both mean not given."""

    config_path: str | None = None
    """If set, replaces the job's config path before resuming. Relative paths resolve against the daemon's current directory."""

    no_reload: bool = False
    """Skip reloading the config from disk and use the cached snapshot (only truthiness is checked)."""


class JobModifyParams(ParamsStruct, kw_only=True):
    """Params of ``job.modify``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    config_path: str | None = None
    """Path to the new score YAML. Required in practice: without it (or with an empty string) the daemon answers with a rejected result, 'config_path required', not an error."""

    workspace: str | None = None
    """Overrides the workspace used when the job is resumed; "" and null both mean not given."""


class JobCancelParams(ParamsStruct, kw_only=True):
    """Params of ``job.cancel``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Ignored by the daemon (the registry is the source of truth); accepted for compatibility."""


class JobListParams(ParamsStruct, kw_only=True):
    """Params of ``job.list``."""


class JobClearParams(ParamsStruct, kw_only=True):
    """Params of ``job.clear``."""

    statuses: list[models.DaemonJobStatus] | None = None
    """Statuses to clear; null (or []) means ["completed", "failed", "cancelled"]."""

    older_than_seconds: float | None = None
    """Only jobs submitted more than this many seconds ago; null means any age."""

    job_ids: list[str] | None = None
    """Only these job ids; null means all ids, [] deletes nothing."""


class JobErrorsParams(ParamsStruct, kw_only=True):
    """Params of ``job.errors``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Ignored by the daemon (the registry is the source of truth); accepted for compatibility."""


class JobDiagnoseParams(ParamsStruct, kw_only=True):
    """Params of ``job.diagnose``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Only changes the returned workspace string; "" and null both mean not given."""


class JobHistoryParams(ParamsStruct, kw_only=True):
    """Params of ``job.history``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """Chooses which workspace's state DB is read; null (or "") means the job's own workspace."""

    sheet_num: int | None = None
    """Only this sheet's attempts; null means all sheets."""

    limit: int = 50
    """Maximum number of records; negative means unlimited. Must not be null."""


class JobRecoverParams(ParamsStruct, kw_only=True):
    """Params of ``job.recover``."""

    job_id: str
    """The job id (the config file's stem, or a fleet's name)."""

    workspace: str | None = None
    """The workspace whose state DB is read; null (or "") means the job's own workspace."""

    sheet_num: int | None = None
    """Echoed back only; the daemon does not use it."""

    dry_run: bool = False
    """Echoed back only; the daemon does not use it."""


class DaemonStatusParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.status``."""


class DaemonShutdownParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.shutdown``."""

    graceful: bool = True
    """Wait for running jobs (up to shutdown_timeout_seconds) before cancelling them."""


class DaemonConfigParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.config``."""


class DaemonHealthParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.health``."""


class DaemonReadyParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.ready``."""


class DaemonTopParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.top``."""


class DaemonTopStreamParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.top.stream``."""


class DaemonEventsParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.events``."""

    limit: int = 50
    """Number of most recent events; 0 means all, negative skips the oldest N. Must not be null."""


class DaemonMonitorStreamParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.monitor.stream``."""


class DaemonObserverEventsParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.observer_events``."""

    job_id: str | None = None
    """Only this job's events; null means all jobs."""

    limit: int = 50
    """Maximum number of events. Must not be null."""


class DaemonRateLimitsParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.rate_limits``."""


class DaemonClearRateLimitsParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.clear_rate_limits``."""

    instrument: str | None = None
    """Only this instrument's (or backend's) limits; null means all."""


class DaemonLearningPatternsParams(ParamsStruct, kw_only=True):
    """Params of ``daemon.learning.patterns``."""

    limit: int = 20
    """Maximum number of patterns; negative means unlimited. Must not be null."""
