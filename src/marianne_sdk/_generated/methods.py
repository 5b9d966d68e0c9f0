# Generated from schema/marianne.openrpc.json (sha256 4d3daf933b86120e) by `python -m codegen generate`.
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

        Returns at once with a JobResponse; it does not wait for the job to finish. Rejections
        are normal results with status "rejected" and a message, not JSON-RPC errors: daemon
        shutting down, high resource pressure, config file not found, unparsable config with no
        workspace given, workspace parent missing or not writable, a job with the same id
        already queued or running, a fleet member that failed to submit. "pending" and "error"
        exist in the type but nothing produces them at this conductor version. The job id is the
        config file's stem (a fleet's name for a fleet config). dry_run is accepted but IGNORED:
        the job really runs. self_healing_auto_confirm is accepted but unused. Unknown keys are
        silently ignored; wrong types give -32602 (pydantic, lax coercion). Relative paths
        resolve against the daemon's current directory. NOT idempotent: a retry after a lost
        response gets "already queued/running" while the first submission did start, or starts a
        second run if the job had already finished.

        Calls ``job.submit``; not idempotent: never sent twice.

        Args:
            request: The params of ``job.submit``, as a ``JobRequest``. Params of job.submit
                (the conductor's pydantic JobRequest; unknown keys are ignored by the daemon).
                Only config_path is required.
                - ``config_path``: Path to the score (job config) YAML. Relative paths resolve
                    against the daemon's current directory, so send absolute paths. The file
                    stem becomes the job id.
                - ``workspace``: Overrides the workspace of the config; config parsing is then
                    best-effort (hooks may be lost if parsing fails). An empty string is NOT
                    unset: it becomes the daemon's current directory (Path(".")). null means use
                    the config's workspace. Defaults to ``None``.
                - ``fresh``: Start with clean state. The daemon sets it itself when the last run
                    of this job id completed and the score file changed afterwards. Defaults to
                    ``False``.
                - ``self_healing``: Enable escalation and self-healing in the run. Defaults to
                    ``False``.
                - ``self_healing_auto_confirm``: Accepted but not used by the daemon at this
                    conductor version. Defaults to ``False``.
                - ``start_sheet``: If greater than 1, sheets numbered below it are marked
                    skipped before dispatch. Defaults to ``None``.
                - ``dry_run``: Accepted but IGNORED by the daemon: the job really runs. Defaults
                    to ``False``.
                - ``chain_depth``: Concert-chain depth, stored in the job metadata. Defaults to
                    ``None``.
                - ``client_cwd``: Base directory for resolving a relative workspace taken from
                    the config file. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Reads daemon memory or the registry, never the workspace. The result is one of three
        shapes (JobState.shape): a CheckpointState (has job_name and sheets) when the job has
        live state, or a saved checkpoint and is not queued/running; the job-metadata dict (no
        job_name, no pid) when no checkpoint exists yet or while queued/running before the first
        state save; the registry-record dict (has pid, no job_name) for a job only in the
        registry with no saved checkpoint. A checkpoint's status is overridden by the
        registry's, so it can be any DaemonJobStatus value. workspace is ignored. Side effect: a
        job marked running with no live task is set to failed (in memory and in the registry)
        and returned as failed; otherwise read-only and safe to retry. An unknown job gives
        -32000 "Job '<id>' not found"; a missing job_id gives -32602. The result can be large
        (sheet stdout/stderr tails, config snapshot).

        Calls ``job.status``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobState: Result of job.status (and the state of job.errors / job.diagnose): one of
                three shapes held in one struct. A CheckpointState (has job_name and sheets);
                the job-metadata dict (JobMeta.to_dict: no job_name, no pid); or the
                registry-record dict (JobRecord.to_dict: pid and completed_at, no job_name).
                Only job_id and status are in every shape.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        On the baton engine it sends a pause event and sets the status to paused at once. A
        refusal is a result, not an error: {paused: false, error: message} for an unknown job
        ("Job '<id>' not found"), a job that is not running ("Job '<id>' is <status>, not
        running"), or a job with no running process (stale status after a daemon restart; this
        case also SETS THE JOB TO failed). workspace is ignored by the daemon even though the
        reference client sends it. Repeating the call is harmless but returns paused:false "is
        paused, not running".

        Calls ``job.pause``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            PauseResult: Result of job.pause: {paused: true}, or {paused: false, error: message}
                when the job cannot be paused.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        For a paused_at_chain job with a held chain it submits the held chained job instead
        ("Chain resumed — chained job <id> submitted"). Refusals are results with status
        "rejected" (job_id is the param, or ""): score not found, a status that cannot be
        resumed, paused_at_chain without a held chain hook, chain submission failed. Cancels and
        awaits any old task (this can take a while), sets the status to queued and starts a new
        task. NOT idempotent: a second call gets rejected "is queued…".

        Calls ``job.resume``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Overrides the workspace used by the resume task; "" and null both mean
                not given. Defaults to ``None``.
            config_path: If set, replaces the job's config path before resuming. Relative paths
                resolve against the daemon's current directory. Defaults to ``None``.
            no_reload: Skip reloading the config from disk and use the cached snapshot (only
                truthiness is checked). Defaults to ``False``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        If the job is running: sends a pause and, once paused (about 0.5 s later), resumes it
        with the new config; the result is accepted "Pause signal sent. Will resume with <config
        file name> when paused.". If it is already paused, failed or cancelled: resumes it now
        and returns job.resume's result. Refusals are results with status "rejected":
        "config_path required" (missing or empty config_path; checked first), job not found,
        "Job '<id>' is <status>, cannot modify" (completed, queued, paused_at_chain, …), pause
        errors such as the stale process message. The daemon treats a missing config_path as a
        rejection rather than an error; the SDK requires it. NOT idempotent.

        Calls ``job.modify``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            config_path: Path to the new score YAML. Required in practice: without it (or with
                an empty string) the daemon answers with a rejected result, 'config_path
                required', not an error. Defaults to ``None``.
            workspace: Overrides the workspace used when the job is resumed; "" and null both
                mean not given. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Returns {cancelled: false}, not an error, when the daemon has no task for the id: an
        unknown job, a finished job, or a paused job restored after a daemon restart. Otherwise
        the status becomes cancelled and cleanup runs in the background. workspace is ignored by
        the daemon even though the reference client sends it. Repeating is harmless in effect.

        Calls ``job.cancel``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            CancelResult: Result of job.cancel.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Returns an array: first every in-memory job (job-metadata dicts, with
        progress_completed/progress_total when live state exists; jobs restored at start-up come
        first, newest submission first, then jobs submitted since, in submission order), then
        registry records (newest first) from the 50 most recent registry entries, skipping ids
        already listed. Params are ignored. Fails with -32602 when the registry holds a status
        this conductor version does not know (a record written by a newer conductor).

        Calls ``job.list``; idempotent: retried once on a fresh connection if the connection is
        lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            list[JobListEntry]: One item of job.list: an in-memory job's metadata dict, or a
                registry record dict.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        statuses defaults to ["completed", "failed", "cancelled"] (null or an empty list also
        means the default); queued, running and pending are never cleared from memory, queued
        and running never from the registry; paused and paused_at_chain ARE cleared if listed. A
        bare string is treated as a set of characters (a daemon quirk): send a list.
        older_than_seconds keeps only jobs submitted more than that many seconds ago; job_ids
        restricts to those ids (an empty list deletes nothing). deleted counts registry rows
        only, not in-memory removals. Idempotent in effect (a second call returns 0), but it
        deletes, so it is not retried automatically. statuses holding only active values (e.g.
        ["running"]) deletes EVERY terminal job from the registry (in-memory entries stay): to
        clear nothing, send job_ids=[].

        Calls ``job.clear``; not idempotent: never sent twice.

        Args:
            statuses: Statuses to clear; null (or []) means ["completed", "failed",
                "cancelled"]. Defaults to ``None``.
            older_than_seconds: Only jobs submitted more than this many seconds ago; null means
                any age. Defaults to ``None``.
            job_ids: Only these job ids; null means all ids, [] deletes nothing. Defaults to
                ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ClearResult: Result of job.clear.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        state is the same JobState union as job.status, with the same stale-running → failed
        correction. workspace is ignored by the daemon. An unknown job gives -32000 "Job '<id>'
        not found".

        Calls ``job.errors``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobErrorsResult: Result of job.errors.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        state is the same JobState union as job.status. workspace is the param if given, else
        the in-memory metadata's, else the registry record's; the param changes only that
        returned string. An unknown job gives -32000 "Job '<id>' not found".

        Calls ``job.diagnose``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Only changes the returned workspace string; "" and null both mean not
                given. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobDiagnoseResult: Result of job.diagnose.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Reads <workspace>/.marianne-state.db. Records are newest first; has_history is true
        whenever the DB file exists, even with no records. limit is an SQL LIMIT: a negative
        value means unlimited, and null is NOT accepted (the daemon fails with -32603 "datatype
        mismatch"). An unknown job gives -32000. A job the conductor ran itself has no records
        (has_history false or no rows): the engine never writes the workspace state DB.

        Calls ``job.history``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Chooses which workspace's state DB is read; null (or "") means the job's
                own workspace. Defaults to ``None``.
            sheet_num: Only this sheet's attempts; null means all sheets. Defaults to ``None``.
            limit: Maximum number of records; negative means unlimited. Must not be null.
                Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            HistoryResult: Result of job.history.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        The daemon recovers nothing: sheet_num and dry_run are only echoed back in the result.
        The state comes from the workspace's SQLite state DB, not the registry. -32000 for an
        unknown job or "No state found for job '<id>'"; -32603 if the workspace DB cannot be
        opened or the daemon has not finished starting. Minor side effects: opening the state
        backend creates the workspace directory and an empty DB if missing, and a zombie running
        state is changed to paused and saved. Safe to retry. For a job the conductor ran itself
        the answer is -32000 "No state found": the engine never writes the workspace state DB,
        so only jobs run outside the conductor can be recovered.

        Calls ``job.recover``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: The workspace whose state DB is read; null (or "") means the job's own
                workspace. Defaults to ``None``.
            sheet_num: Echoed back only; the daemon does not use it. Defaults to ``None``.
            dry_run: Echoed back only; the daemon does not use it. Defaults to ``False``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            RecoverResult: Result of job.recover.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        pid, uptime, running job count, memory use and conductor version. Read-only. Params are
        ignored.

        Calls ``daemon.status``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonStatus: Result of daemon.status: a short summary of the daemon.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return await self._call_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), timeout)

    async def shutdown(
        self,
        graceful: bool = True,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ShutdownResult:
        """Start daemon shutdown in the background and reply at once.

        Always returns {shutting_down: true}. A graceful shutdown waits up to
        shutdown_timeout_seconds (default 300 s) for running jobs, then cancels them; a non-
        graceful one cancels them immediately. Only the truthiness of graceful is checked (the
        string "false" counts as graceful). NOT idempotent: each call starts another concurrent
        shutdown sequence. While shutting down, job.submit returns rejected "Daemon is shutting
        down" and, near the end, registry-backed methods fail with -32603; -32003 is never
        emitted. The server's stop waits for every client connection (idle pooled connections,
        monitor streams) to close, so close them promptly.

        Calls ``daemon.shutdown``; not idempotent: never sent twice.

        Args:
            graceful: Wait for running jobs (up to shutdown_timeout_seconds) before cancelling
                them. Defaults to ``True``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ShutdownResult: Result of daemon.shutdown.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        After a SIGHUP reload it reflects the newly read file, including settings that cannot be
        reloaded (e.g. socket.path, socket.backlog) and so are not actually in effect. Holds key
        file paths only, never key values. Read-only.

        Calls ``daemon.config``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonConfig: Result of daemon.config: the daemon's live configuration
                (DaemonConfig.model_dump(mode="json")). Paths are strings; ~ is not expanded.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return await self._call_typed(registry.DAEMON_CONFIG, params.DaemonConfigParams(), timeout)

    async def health(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HealthResult:
        """Liveness probe: report that the daemon process is alive.

        No I/O; status is always "ok". shutting_down turns true once a shutdown has started,
        which lets a monitor stream consumer know it should disconnect. Read-only.

        Calls ``daemon.health``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            HealthResult: Result of daemon.health (liveness probe).

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return await self._call_typed(registry.DAEMON_HEALTH, params.DaemonHealthParams(), timeout)

    async def readiness(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ReadinessResult:
        """Readiness probe: report whether the daemon is accepting new work.

        Ready (accepting_work true, status "ready") means: memory and process use below 80 % of
        resource_limits and the monitor not degraded; not shutting down; not more than 3 job
        failures in the last 60 s; notifications not degraded. A failed probe reports 0 for
        memory and processes and makes the daemon not ready. Read-only (reads /proc).

        Calls ``daemon.ready``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ReadinessResult: Result of daemon.ready (readiness probe).

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return await self._call_typed(registry.DAEMON_READY, params.DaemonReadyParams(), timeout)

    async def top(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonTopResult:
        """Return the latest profiler system snapshot.

        Either a SystemSnapshot, or {error: "profiler not enabled"} (profiler disabled, e.g. by
        the minimal profile, or the first moments after the socket opens), or {error: "no
        snapshot available yet"}. The error forms are success results, not JSON-RPC errors
        (DaemonTopResult.shape). Read-only.

        Calls ``daemon.top``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonTopResult: Result of daemon.top: a profiler SystemSnapshot, or {error:
                message}.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return await self._call_typed(registry.DAEMON_TOP, params.DaemonTopParams(), timeout)

    async def top_jsonl_path(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.TopStreamResult:
        """Return the path of the profiler's JSONL snapshot file, for the client to tail.

        Despite its name this is NOT a stream: it answers once. Each line of the file is a
        SystemSnapshot; the path is on the daemon's filesystem (~ expanded). With the profiler
        disabled the result is {error: "profiler not enabled"} (TopStreamResult.shape). Read-
        only.

        Calls ``daemon.top.stream``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            TopStreamResult: Result of daemon.top.stream: the profiler's JSONL path, or {error:
                message}.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Events are oldest first; at most 200 are retained. limit takes the last N events: 0
        returns all buffered events, a negative value skips the oldest N, and null gives -32602.
        With the profiler disabled the result is {events: [], error: "profiler not enabled"}.
        Read-only. On conductor 0.1.0 the list is always empty: the profiler records only
        process events the engine never publishes.

        Calls ``daemon.events``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            limit: Number of most recent events; 0 means all, negative skips the oldest N. Must
                not be null. Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ProcessEventsResult: Result of daemon.events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        STREAMING: the daemon never answers the request, neither with an acknowledgement nor
        with a final result; the handler loops forever. Each event arrives as a notification
        {"jsonrpc": "2.0", "method": "monitor.event", "params": ObserverEvent} without an id
        (written with json.dumps, so parse, never compare bytes). Each stream has its own
        100-event buffer; when it is full, new events are dropped silently. The daemon notices a
        disconnect only at the next event write. An event that cannot be JSON-encoded ends the
        stream with a -32602 error response carrying the request's id. Nothing else sent on the
        connection is ever read, the stream holds one of the daemon's (default 5) connection
        slots, and it keeps the daemon's shutdown from completing while connected: use a
        dedicated connection, never a pooled one, and an exit path of your own (e.g. poll
        daemon.health's shutting_down). No replay and no sequence numbers: events between
        reconnects are lost. Params are ignored.

        Streams ``monitor.event`` notifications of ``daemon.monitor.stream`` on a connection of
        its own, closed when the block is left.

        Args:
            idle_timeout: Raise ``DaemonTimeoutError`` when no event arrives for that many
                seconds; ``None`` waits as long as the stream is open.

        Returns:
            EventStream[ObserverEvent]: The params of each ``monitor.event`` notification, as
                they arrive. An event of the daemon's event bus: the params of a monitor.event
                notification, and the items of daemon.observer_events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        From in-memory ring buffers (200 per job). Only observer.* events are recorded
        (sheet_num is always 0) and file events under excluded paths are left out. {events: []}
        when the observer is disabled or the job is not registered with it. limit: with a
        job_id, 0 returns all (up to 200) and null gives -32602; in all-jobs mode (job_id null)
        0 returns [] and null returns all, so the SDK never sends null. Read-only.

        Calls ``daemon.observer_events``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            job_id: Only this job's events; null means all jobs. Defaults to ``None``.
            limit: Maximum number of events. Must not be null. Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ObserverEventsResult: Result of daemon.observer_events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Only coordinator limits are shown; per-instrument limits held by the execution engine
        (the baton) are not included. recent_events_count counts rate-limit events in the last
        hour. Read-only.

        Calls ``daemon.rate_limits``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            RateLimitsResult: Result of daemon.rate_limits.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Clears limits in the rate-limit coordinator and in the execution engine, which restarts
        waiting sheets. cleared is the number of coordinator entries removed plus the number of
        engine instruments cleared; with instrument null the coordinator count includes entries
        that had already expired. Idempotent in effect (a second call returns 0), but it has
        side effects, so it is not retried automatically.

        Calls ``daemon.clear_rate_limits``; not idempotent: never sent twice.

        Args:
            instrument: Only this instrument's (or backend's) limits; null means all. Defaults
                to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ClearRateLimitsResult: Result of daemon.clear_rate_limits.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Only active (not soft-deleted) patterns with priority_score ≥ 0.0, sorted by
        priority_score descending. {patterns: []} if the learning hub is not running. limit is
        an SQL LIMIT: a negative value means unlimited, and null is NOT accepted (the daemon
        fails with -32603). Read-only.

        Calls ``daemon.learning.patterns``; idempotent: retried once on a fresh connection if
        the connection is lost.

        Args:
            limit: Maximum number of patterns; negative means unlimited. Must not be null.
                Defaults to ``20``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            LearningPatternsResult: Result of daemon.learning.patterns.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Returns at once with a JobResponse; it does not wait for the job to finish. Rejections
        are normal results with status "rejected" and a message, not JSON-RPC errors: daemon
        shutting down, high resource pressure, config file not found, unparsable config with no
        workspace given, workspace parent missing or not writable, a job with the same id
        already queued or running, a fleet member that failed to submit. "pending" and "error"
        exist in the type but nothing produces them at this conductor version. The job id is the
        config file's stem (a fleet's name for a fleet config). dry_run is accepted but IGNORED:
        the job really runs. self_healing_auto_confirm is accepted but unused. Unknown keys are
        silently ignored; wrong types give -32602 (pydantic, lax coercion). Relative paths
        resolve against the daemon's current directory. NOT idempotent: a retry after a lost
        response gets "already queued/running" while the first submission did start, or starts a
        second run if the job had already finished.

        Calls ``job.submit``; not idempotent: never sent twice.

        Args:
            request: The params of ``job.submit``, as a ``JobRequest``. Params of job.submit
                (the conductor's pydantic JobRequest; unknown keys are ignored by the daemon).
                Only config_path is required.
                - ``config_path``: Path to the score (job config) YAML. Relative paths resolve
                    against the daemon's current directory, so send absolute paths. The file
                    stem becomes the job id.
                - ``workspace``: Overrides the workspace of the config; config parsing is then
                    best-effort (hooks may be lost if parsing fails). An empty string is NOT
                    unset: it becomes the daemon's current directory (Path(".")). null means use
                    the config's workspace. Defaults to ``None``.
                - ``fresh``: Start with clean state. The daemon sets it itself when the last run
                    of this job id completed and the score file changed afterwards. Defaults to
                    ``False``.
                - ``self_healing``: Enable escalation and self-healing in the run. Defaults to
                    ``False``.
                - ``self_healing_auto_confirm``: Accepted but not used by the daemon at this
                    conductor version. Defaults to ``False``.
                - ``start_sheet``: If greater than 1, sheets numbered below it are marked
                    skipped before dispatch. Defaults to ``None``.
                - ``dry_run``: Accepted but IGNORED by the daemon: the job really runs. Defaults
                    to ``False``.
                - ``chain_depth``: Concert-chain depth, stored in the job metadata. Defaults to
                    ``None``.
                - ``client_cwd``: Base directory for resolving a relative workspace taken from
                    the config file. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Reads daemon memory or the registry, never the workspace. The result is one of three
        shapes (JobState.shape): a CheckpointState (has job_name and sheets) when the job has
        live state, or a saved checkpoint and is not queued/running; the job-metadata dict (no
        job_name, no pid) when no checkpoint exists yet or while queued/running before the first
        state save; the registry-record dict (has pid, no job_name) for a job only in the
        registry with no saved checkpoint. A checkpoint's status is overridden by the
        registry's, so it can be any DaemonJobStatus value. workspace is ignored. Side effect: a
        job marked running with no live task is set to failed (in memory and in the registry)
        and returned as failed; otherwise read-only and safe to retry. An unknown job gives
        -32000 "Job '<id>' not found"; a missing job_id gives -32602. The result can be large
        (sheet stdout/stderr tails, config snapshot).

        Calls ``job.status``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobState: Result of job.status (and the state of job.errors / job.diagnose): one of
                three shapes held in one struct. A CheckpointState (has job_name and sheets);
                the job-metadata dict (JobMeta.to_dict: no job_name, no pid); or the
                registry-record dict (JobRecord.to_dict: pid and completed_at, no job_name).
                Only job_id and status are in every shape.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        On the baton engine it sends a pause event and sets the status to paused at once. A
        refusal is a result, not an error: {paused: false, error: message} for an unknown job
        ("Job '<id>' not found"), a job that is not running ("Job '<id>' is <status>, not
        running"), or a job with no running process (stale status after a daemon restart; this
        case also SETS THE JOB TO failed). workspace is ignored by the daemon even though the
        reference client sends it. Repeating the call is harmless but returns paused:false "is
        paused, not running".

        Calls ``job.pause``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            PauseResult: Result of job.pause: {paused: true}, or {paused: false, error: message}
                when the job cannot be paused.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        For a paused_at_chain job with a held chain it submits the held chained job instead
        ("Chain resumed — chained job <id> submitted"). Refusals are results with status
        "rejected" (job_id is the param, or ""): score not found, a status that cannot be
        resumed, paused_at_chain without a held chain hook, chain submission failed. Cancels and
        awaits any old task (this can take a while), sets the status to queued and starts a new
        task. NOT idempotent: a second call gets rejected "is queued…".

        Calls ``job.resume``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Overrides the workspace used by the resume task; "" and null both mean
                not given. Defaults to ``None``.
            config_path: If set, replaces the job's config path before resuming. Relative paths
                resolve against the daemon's current directory. Defaults to ``None``.
            no_reload: Skip reloading the config from disk and use the cached snapshot (only
                truthiness is checked). Defaults to ``False``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        If the job is running: sends a pause and, once paused (about 0.5 s later), resumes it
        with the new config; the result is accepted "Pause signal sent. Will resume with <config
        file name> when paused.". If it is already paused, failed or cancelled: resumes it now
        and returns job.resume's result. Refusals are results with status "rejected":
        "config_path required" (missing or empty config_path; checked first), job not found,
        "Job '<id>' is <status>, cannot modify" (completed, queued, paused_at_chain, …), pause
        errors such as the stale process message. The daemon treats a missing config_path as a
        rejection rather than an error; the SDK requires it. NOT idempotent.

        Calls ``job.modify``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            config_path: Path to the new score YAML. Required in practice: without it (or with
                an empty string) the daemon answers with a rejected result, 'config_path
                required', not an error. Defaults to ``None``.
            workspace: Overrides the workspace used when the job is resumed; "" and null both
                mean not given. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobResponse: Result of job.submit, job.resume and job.modify. A rejection is a
                normal result with status "rejected" and a message, not a JSON-RPC error.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Returns {cancelled: false}, not an error, when the daemon has no task for the id: an
        unknown job, a finished job, or a paused job restored after a daemon restart. Otherwise
        the status becomes cancelled and cleanup runs in the background. workspace is ignored by
        the daemon even though the reference client sends it. Repeating is harmless in effect.

        Calls ``job.cancel``; not idempotent: never sent twice.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            CancelResult: Result of job.cancel.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Returns an array: first every in-memory job (job-metadata dicts, with
        progress_completed/progress_total when live state exists; jobs restored at start-up come
        first, newest submission first, then jobs submitted since, in submission order), then
        registry records (newest first) from the 50 most recent registry entries, skipping ids
        already listed. Params are ignored. Fails with -32602 when the registry holds a status
        this conductor version does not know (a record written by a newer conductor).

        Calls ``job.list``; idempotent: retried once on a fresh connection if the connection is
        lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            list[JobListEntry]: One item of job.list: an in-memory job's metadata dict, or a
                registry record dict.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        statuses defaults to ["completed", "failed", "cancelled"] (null or an empty list also
        means the default); queued, running and pending are never cleared from memory, queued
        and running never from the registry; paused and paused_at_chain ARE cleared if listed. A
        bare string is treated as a set of characters (a daemon quirk): send a list.
        older_than_seconds keeps only jobs submitted more than that many seconds ago; job_ids
        restricts to those ids (an empty list deletes nothing). deleted counts registry rows
        only, not in-memory removals. Idempotent in effect (a second call returns 0), but it
        deletes, so it is not retried automatically. statuses holding only active values (e.g.
        ["running"]) deletes EVERY terminal job from the registry (in-memory entries stay): to
        clear nothing, send job_ids=[].

        Calls ``job.clear``; not idempotent: never sent twice.

        Args:
            statuses: Statuses to clear; null (or []) means ["completed", "failed",
                "cancelled"]. Defaults to ``None``.
            older_than_seconds: Only jobs submitted more than this many seconds ago; null means
                any age. Defaults to ``None``.
            job_ids: Only these job ids; null means all ids, [] deletes nothing. Defaults to
                ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ClearResult: Result of job.clear.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        state is the same JobState union as job.status, with the same stale-running → failed
        correction. workspace is ignored by the daemon. An unknown job gives -32000 "Job '<id>'
        not found".

        Calls ``job.errors``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Ignored by the daemon (the registry is the source of truth); accepted for
                compatibility. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobErrorsResult: Result of job.errors.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        state is the same JobState union as job.status. workspace is the param if given, else
        the in-memory metadata's, else the registry record's; the param changes only that
        returned string. An unknown job gives -32000 "Job '<id>' not found".

        Calls ``job.diagnose``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Only changes the returned workspace string; "" and null both mean not
                given. Defaults to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            JobDiagnoseResult: Result of job.diagnose.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Reads <workspace>/.marianne-state.db. Records are newest first; has_history is true
        whenever the DB file exists, even with no records. limit is an SQL LIMIT: a negative
        value means unlimited, and null is NOT accepted (the daemon fails with -32603 "datatype
        mismatch"). An unknown job gives -32000. A job the conductor ran itself has no records
        (has_history false or no rows): the engine never writes the workspace state DB.

        Calls ``job.history``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: Chooses which workspace's state DB is read; null (or "") means the job's
                own workspace. Defaults to ``None``.
            sheet_num: Only this sheet's attempts; null means all sheets. Defaults to ``None``.
            limit: Maximum number of records; negative means unlimited. Must not be null.
                Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            HistoryResult: Result of job.history.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        The daemon recovers nothing: sheet_num and dry_run are only echoed back in the result.
        The state comes from the workspace's SQLite state DB, not the registry. -32000 for an
        unknown job or "No state found for job '<id>'"; -32603 if the workspace DB cannot be
        opened or the daemon has not finished starting. Minor side effects: opening the state
        backend creates the workspace directory and an empty DB if missing, and a zombie running
        state is changed to paused and saved. Safe to retry. For a job the conductor ran itself
        the answer is -32000 "No state found": the engine never writes the workspace state DB,
        so only jobs run outside the conductor can be recovered.

        Calls ``job.recover``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            job_id: The job id (the config file's stem, or a fleet's name).
            workspace: The workspace whose state DB is read; null (or "") means the job's own
                workspace. Defaults to ``None``.
            sheet_num: Echoed back only; the daemon does not use it. Defaults to ``None``.
            dry_run: Echoed back only; the daemon does not use it. Defaults to ``False``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            RecoverResult: Result of job.recover.

        Raises:
            JobSubmissionError: Code -32000 (JOB_NOT_FOUND). Job operation rejected: any
                JobSubmissionError (job not found, no state found, …), despite the name.
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        pid, uptime, running job count, memory use and conductor version. Read-only. Params are
        ignored.

        Calls ``daemon.status``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonStatus: Result of daemon.status: a short summary of the daemon.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), timeout)

    def shutdown(
        self,
        graceful: bool = True,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ShutdownResult:
        """Start daemon shutdown in the background and reply at once.

        Always returns {shutting_down: true}. A graceful shutdown waits up to
        shutdown_timeout_seconds (default 300 s) for running jobs, then cancels them; a non-
        graceful one cancels them immediately. Only the truthiness of graceful is checked (the
        string "false" counts as graceful). NOT idempotent: each call starts another concurrent
        shutdown sequence. While shutting down, job.submit returns rejected "Daemon is shutting
        down" and, near the end, registry-backed methods fail with -32603; -32003 is never
        emitted. The server's stop waits for every client connection (idle pooled connections,
        monitor streams) to close, so close them promptly.

        Calls ``daemon.shutdown``; not idempotent: never sent twice.

        Args:
            graceful: Wait for running jobs (up to shutdown_timeout_seconds) before cancelling
                them. Defaults to ``True``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ShutdownResult: Result of daemon.shutdown.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        After a SIGHUP reload it reflects the newly read file, including settings that cannot be
        reloaded (e.g. socket.path, socket.backlog) and so are not actually in effect. Holds key
        file paths only, never key values. Read-only.

        Calls ``daemon.config``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonConfig: Result of daemon.config: the daemon's live configuration
                (DaemonConfig.model_dump(mode="json")). Paths are strings; ~ is not expanded.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_CONFIG, params.DaemonConfigParams(), timeout)

    def health(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.HealthResult:
        """Liveness probe: report that the daemon process is alive.

        No I/O; status is always "ok". shutting_down turns true once a shutdown has started,
        which lets a monitor stream consumer know it should disconnect. Read-only.

        Calls ``daemon.health``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            HealthResult: Result of daemon.health (liveness probe).

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_HEALTH, params.DaemonHealthParams(), timeout)

    def readiness(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ReadinessResult:
        """Readiness probe: report whether the daemon is accepting new work.

        Ready (accepting_work true, status "ready") means: memory and process use below 80 % of
        resource_limits and the monitor not degraded; not shutting down; not more than 3 job
        failures in the last 60 s; notifications not degraded. A failed probe reports 0 for
        memory and processes and makes the daemon not ready. Read-only (reads /proc).

        Calls ``daemon.ready``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ReadinessResult: Result of daemon.ready (readiness probe).

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_READY, params.DaemonReadyParams(), timeout)

    def top(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.DaemonTopResult:
        """Return the latest profiler system snapshot.

        Either a SystemSnapshot, or {error: "profiler not enabled"} (profiler disabled, e.g. by
        the minimal profile, or the first moments after the socket opens), or {error: "no
        snapshot available yet"}. The error forms are success results, not JSON-RPC errors
        (DaemonTopResult.shape). Read-only.

        Calls ``daemon.top``; idempotent: retried once on a fresh connection if the connection
        is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            DaemonTopResult: Result of daemon.top: a profiler SystemSnapshot, or {error:
                message}.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_TOP, params.DaemonTopParams(), timeout)

    def top_jsonl_path(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.TopStreamResult:
        """Return the path of the profiler's JSONL snapshot file, for the client to tail.

        Despite its name this is NOT a stream: it answers once. Each line of the file is a
        SystemSnapshot; the path is on the daemon's filesystem (~ expanded). With the profiler
        disabled the result is {error: "profiler not enabled"} (TopStreamResult.shape). Read-
        only.

        Calls ``daemon.top.stream``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            TopStreamResult: Result of daemon.top.stream: the profiler's JSONL path, or {error:
                message}.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(registry.DAEMON_TOP_STREAM, params.DaemonTopStreamParams(), timeout)

    def process_events(
        self,
        limit: int = 50,
        *,
        timeout: Timeout = NOT_GIVEN,
    ) -> models.ProcessEventsResult:
        """Return recent process lifecycle events from the profiler.

        Events are oldest first; at most 200 are retained. limit takes the last N events: 0
        returns all buffered events, a negative value skips the oldest N, and null gives -32602.
        With the profiler disabled the result is {events: [], error: "profiler not enabled"}.
        Read-only. On conductor 0.1.0 the list is always empty: the profiler records only
        process events the engine never publishes.

        Calls ``daemon.events``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            limit: Number of most recent events; 0 means all, negative skips the oldest N. Must
                not be null. Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ProcessEventsResult: Result of daemon.events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        STREAMING: the daemon never answers the request, neither with an acknowledgement nor
        with a final result; the handler loops forever. Each event arrives as a notification
        {"jsonrpc": "2.0", "method": "monitor.event", "params": ObserverEvent} without an id
        (written with json.dumps, so parse, never compare bytes). Each stream has its own
        100-event buffer; when it is full, new events are dropped silently. The daemon notices a
        disconnect only at the next event write. An event that cannot be JSON-encoded ends the
        stream with a -32602 error response carrying the request's id. Nothing else sent on the
        connection is ever read, the stream holds one of the daemon's (default 5) connection
        slots, and it keeps the daemon's shutdown from completing while connected: use a
        dedicated connection, never a pooled one, and an exit path of your own (e.g. poll
        daemon.health's shutting_down). No replay and no sequence numbers: events between
        reconnects are lost. Params are ignored.

        Streams ``monitor.event`` notifications of ``daemon.monitor.stream`` on a connection of
        its own, closed when the block is left.

        Args:
            idle_timeout: Raise ``DaemonTimeoutError`` when no event arrives for that many
                seconds; ``None`` waits as long as the stream is open.

        Returns:
            SyncEventStream[ObserverEvent]: The params of each ``monitor.event`` notification,
                as they arrive. An event of the daemon's event bus: the params of a
                monitor.event notification, and the items of daemon.observer_events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        From in-memory ring buffers (200 per job). Only observer.* events are recorded
        (sheet_num is always 0) and file events under excluded paths are left out. {events: []}
        when the observer is disabled or the job is not registered with it. limit: with a
        job_id, 0 returns all (up to 200) and null gives -32602; in all-jobs mode (job_id null)
        0 returns [] and null returns all, so the SDK never sends null. Read-only.

        Calls ``daemon.observer_events``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            job_id: Only this job's events; null means all jobs. Defaults to ``None``.
            limit: Maximum number of events. Must not be null. Defaults to ``50``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ObserverEventsResult: Result of daemon.observer_events.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Only coordinator limits are shown; per-instrument limits held by the execution engine
        (the baton) are not included. recent_events_count counts rate-limit events in the last
        hour. Read-only.

        Calls ``daemon.rate_limits``; idempotent: retried once on a fresh connection if the
        connection is lost.

        Args:
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            RateLimitsResult: Result of daemon.rate_limits.

        Raises:
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Clears limits in the rate-limit coordinator and in the execution engine, which restarts
        waiting sheets. cleared is the number of coordinator entries removed plus the number of
        engine instruments cleared; with instrument null the coordinator count includes entries
        that had already expired. Idempotent in effect (a second call returns 0), but it has
        side effects, so it is not retried automatically.

        Calls ``daemon.clear_rate_limits``; not idempotent: never sent twice.

        Args:
            instrument: Only this instrument's (or backend's) limits; null means all. Defaults
                to ``None``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            ClearRateLimitsResult: Result of daemon.clear_rate_limits.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
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

        Only active (not soft-deleted) patterns with priority_score ≥ 0.0, sorted by
        priority_score descending. {patterns: []} if the learning hub is not running. limit is
        an SQL LIMIT: a negative value means unlimited, and null is NOT accepted (the daemon
        fails with -32603). Read-only.

        Calls ``daemon.learning.patterns``; idempotent: retried once on a fresh connection if
        the connection is lost.

        Args:
            limit: Maximum number of patterns; negative means unlimited. Must not be null.
                Defaults to ``20``.
            timeout: Seconds the whole call may take, after which ``DaemonTimeoutError`` is
                raised; left out, the client's ``timeout``; ``None``, no deadline.

        Returns:
            LearningPatternsResult: Result of daemon.learning.patterns.

        Raises:
            InvalidParamsError: Code -32602 (INVALID_PARAMS). Invalid params: the handler raised
                TypeError, ValueError or KeyError (a missing required param, a wrong type, a
                JSON encoding failure in the monitor stream).
            DaemonInternalError: Code -32603 (INTERNAL_ERROR). Internal error: any other handler
                failure (sqlite, registry closed during shutdown, RuntimeError), or a
                DaemonError class outside the code map.
        """
        return self._call_typed(
            registry.DAEMON_LEARNING_PATTERNS,
            params.DaemonLearningPatternsParams(limit=limit),
            timeout,
        )
