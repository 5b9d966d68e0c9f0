"""The simulated job lifecycle behind :class:`marianne_sdk.testing.FakeDaemon`.

Jobs move as the conductor's do: queued, then running with their sheets
completing one by one every ``step_seconds``, then completed (or failed at a
planned sheet). Every result has the conductor's shape, field for field
(protocol §4, §5 and the recorded session), and handlers fail the way the
conductor's do: a missing ``job_id`` raises ``KeyError`` (-32602), a job
operation the conductor rejects raises :class:`FakeRpcError` with -32000.
"""

from __future__ import annotations

import copy
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import anyio

JOB_NOT_FOUND = -32000
MAX_CONCURRENT_JOBS = 15
_RECENT_EVENTS = 200
_TERMINAL = frozenset({"completed", "failed", "cancelled"})
_RESUMABLE = frozenset({"paused", "paused_at_chain", "failed", "cancelled"})
_HAS_TASK = frozenset({"queued", "running", "paused"})

Emit = Callable[[str, str, int, "dict[str, Any] | None"], None]
"""``emit(event, job_id, sheet_num, data)``: publish an event on the daemon's event bus."""

Spawn = Callable[..., None]
"""``spawn(async_function, *args)``: run a task in the daemon's task group."""


class FakeRpcError(Exception):
    """Raise from a handler to answer with a JSON-RPC error of ``code``.

    The response carries ``message`` and ``data`` exactly as given.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def iso_now() -> str:
    """The current time as the conductor serialises datetimes: ISO-8601 with ``Z``."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _new_sheet(sheet_num: int) -> dict[str, Any]:
    """A pending ``SheetState``: all 61 serialised fields, at their defaults."""
    return {
        "sheet_num": sheet_num,
        "status": "pending",
        "started_at": None,
        "completed_at": None,
        "attempt_count": 0,
        "exit_code": None,
        "error_message": None,
        "error_category": None,
        "error_code": None,
        "validation_passed": None,
        "validation_details": None,
        "instrument_name": "cli",
        "instrument_model": None,
        "movement": None,
        "voice": None,
        "exit_signal": None,
        "exit_reason": None,
        "execution_duration_seconds": None,
        "completion_attempts": 0,
        "passed_validations": [],
        "failed_validations": [],
        "last_pass_percentage": None,
        "execution_mode": None,
        "outcome_data": None,
        "confidence_score": None,
        "learned_patterns": [],
        "similar_outcomes_count": 0,
        "success_without_retry": False,
        "outcome_category": None,
        "stdout_tail": None,
        "stderr_tail": None,
        "output_truncated": False,
        "prompt_metrics": None,
        "preflight_warnings": [],
        "progress_snapshots": [],
        "last_activity_at": None,
        "error_history": [],
        "instrument_fallback_history": [],
        "fire_at": None,
        "rate_limit_expires_at": None,
        "healing_attempts": 0,
        "normal_attempts": 0,
        "max_retries": 3,
        "max_completion": 5,
        "total_cost_usd": 0.0,
        "total_duration_seconds": 0.0,
        "model": None,
        "fallback_chain": [],
        "current_instrument_index": 0,
        "fallback_attempts": {},
        "sheet_timeout_seconds": 1800.0,
        "display_status": None,
        "applied_patterns": [],
        "grounding_passed": None,
        "grounding_confidence": None,
        "grounding_guidance": None,
        "input_tokens": None,
        "output_tokens": None,
        "estimated_cost": None,
        "cost_confidence": 1.0,
        "agent_feedback": None,
    }


@dataclass
class _Job:
    job_id: str
    config_path: str
    workspace: str
    total_sheets: int
    fail_sheet: int | None
    chain_depth: int | None
    status: str = "queued"
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    error_message: str = ""
    # Set at the first state save, as the conductor's checkpoint is.
    checkpoint: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    observer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_RECENT_EVENTS))
    runner: anyio.CancelScope | None = None

    def metadata(self) -> dict[str, Any]:
        """``JobMeta.to_dict``: optional keys only when set."""
        meta: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "config_path": self.config_path,
            "workspace": self.workspace,
            "submitted_at": self.submitted_at,
            "started_at": self.started_at,
        }
        if self.error_message:
            meta["error_message"] = self.error_message
        if self.chain_depth is not None:
            meta["chain_depth"] = self.chain_depth
        return meta

    def state(self) -> dict[str, Any]:
        """What ``job.status`` answers: the checkpoint once saved, the metadata before."""
        if self.checkpoint is None:
            return self.metadata()
        state = copy.deepcopy(self.checkpoint)
        state["status"] = self.status
        return state

    def sheets(self) -> dict[str, dict[str, Any]]:
        assert self.checkpoint is not None
        sheets: dict[str, dict[str, Any]] = self.checkpoint["sheets"]
        return sheets

    def save(self, **changes: Any) -> None:
        assert self.checkpoint is not None
        self.checkpoint.update(changes, status=self.status, updated_at=iso_now())


def _checkpoint(job: _Job) -> dict[str, Any]:
    """A new ``CheckpointState``: all 40 fields."""
    now = iso_now()
    return {
        "job_id": job.job_id,
        "job_name": job.job_id,
        "config_hash": None,
        "config_snapshot": None,
        "config_path": job.config_path,
        "created_at": now,
        "updated_at": now,
        "started_at": None,
        "completed_at": None,
        "total_sheets": job.total_sheets,
        "last_completed_sheet": 0,
        "current_sheet": None,
        "status": job.status,
        "sheets": {str(n): _new_sheet(n) for n in range(1, job.total_sheets + 1)},
        "instruments_used": ["cli"],
        "total_movements": job.total_sheets,
        "pid": None,
        "error_message": None,
        "total_retry_count": 0,
        "rate_limit_waits": 0,
        "quota_waits": 0,
        "resume_at": None,
        "total_input_tokens": 0,
        "total_output_tokens": 0,
        "total_estimated_cost": 0.0,
        "cost_limit_reached": False,
        "worktree_path": None,
        "worktree_branch": None,
        "worktree_locked": False,
        "worktree_base_commit": None,
        "isolation_mode": None,
        "isolation_fallback_used": False,
        "parallel_enabled": False,
        "parallel_max_concurrent": 1,
        "parallel_batches_executed": 0,
        "sheets_in_progress": [],
        "synthesis_results": {},
        "hook_results": [],
        "spec_corpus_hash": "",
        "circuit_breaker_history": [],
    }


def most_recent(items: list[Any], limit: Any) -> list[Any]:
    """``items[-limit:]``, as the conductor slices: 0 keeps all, negative drops the oldest."""
    if limit is None or isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError("slice indices must be integers")
    return items[-limit:]


class JobBook:
    """Every job the fake daemon knows, and the handlers of the ``job.*`` methods."""

    def __init__(
        self,
        spawn: Spawn,
        emit: Emit,
        *,
        step_seconds: float,
        check_config_files: bool,
        is_shutting_down: Callable[[], bool],
    ) -> None:
        self._spawn = spawn
        self._emit = emit
        self._step = step_seconds
        self._check_config_files = check_config_files
        self._is_shutting_down = is_shutting_down
        self._jobs: dict[str, _Job] = {}
        self._plans: dict[str, tuple[int, int | None]] = {}
        self._pids = itertools.count(40_000)
        self._history_ids = itertools.count(1)
        self.process_events: deque[dict[str, Any]] = deque(maxlen=_RECENT_EVENTS)

    def forget(self) -> None:
        """Know no job any more: a conductor restarted without its registry."""
        self._jobs.clear()

    def plan(self, job_id: str, sheets: int, fail_at_sheet: int | None) -> None:
        if sheets < 1:
            raise ValueError("a job has at least one sheet")
        self._plans[job_id] = (sheets, fail_at_sheet)

    # ---- job.* handlers ---------------------------------------------------------

    def submit(self, params: dict[str, Any]) -> dict[str, Any]:
        config_path = params.get("config_path")
        if not isinstance(config_path, str):
            raise TypeError(
                "1 validation error for JobRequest\nconfig_path\n  Field required or not a string"
            )
        job_id = PurePath(config_path).stem
        if self._is_shutting_down():
            return _response("", "rejected", "Daemon is shutting down")
        if self._check_config_files and not os.path.exists(config_path):
            return _response(job_id, "rejected", f"Config file not found: {config_path}")
        existing = self._jobs.get(job_id)
        if existing is not None and existing.status in ("queued", "running"):
            return _response(
                job_id, "rejected", f"Job '{job_id}' is already {existing.status}. Cancel it first."
            )
        sheets, fail_sheet = self._plans.get(job_id, (3, None))
        workspace = params.get("workspace") or str(PurePath(config_path).parent / "ws" / job_id)
        job = _Job(
            job_id=job_id,
            config_path=config_path,
            workspace=workspace,
            total_sheets=sheets,
            fail_sheet=fail_sheet,
            chain_depth=params.get("chain_depth"),
        )
        self._jobs.pop(job_id, None)  # a new run replaces a finished one, at the end
        self._jobs[job_id] = job
        self._start(job, resuming=False)
        return _response(
            job_id, "accepted", f"Job queued (concurrency limit: {MAX_CONCURRENT_JOBS})"
        )

    def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._job(params["job_id"]).state()

    def pause(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = params["job_id"]
        job = self._jobs.get(job_id)
        if job is None:
            return {"paused": False, "error": f"Job '{job_id}' not found"}
        if job.status != "running":
            return {"paused": False, "error": f"Job '{job_id}' is {job.status}, not running"}
        self._set_status(job, "paused")
        return {"paused": True}

    def resume(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = params["job_id"]
        job = self._jobs.get(job_id)
        if job is None:
            return _response(job_id, "rejected", f"Score '{job_id}' not found")
        if job.status not in _RESUMABLE:
            return _response(
                job_id,
                "rejected",
                f"Score '{job_id}' is {job.status}, only PAUSED, PAUSED_AT_CHAIN, FAILED, "
                "or CANCELLED scores can be resumed",
            )
        if params.get("config_path"):
            job.config_path = params["config_path"]
        if params.get("workspace"):
            job.workspace = params["workspace"]
        self._stop_runner(job)
        self._set_status(job, "queued")
        self._start(job, resuming=True)
        return _response(job_id, "accepted", "Job resume queued")

    def modify(self, params: dict[str, Any]) -> dict[str, Any]:
        config_path = params.get("config_path")
        if not config_path:
            return _response(params.get("job_id", ""), "rejected", "config_path required")
        job_id = params["job_id"]
        job = self._jobs.get(job_id)
        if job is None:
            return _response(job_id, "rejected", f"Job '{job_id}' not found")
        if job.status in _RESUMABLE - {"paused_at_chain"}:
            return self.resume({"job_id": job_id, "config_path": config_path})
        if job.status != "running":
            return _response(job_id, "rejected", f"Job '{job_id}' is {job.status}, cannot modify")
        self._set_status(job, "paused")
        self._spawn(self._resume_later, job, config_path)
        return _response(
            job_id,
            "accepted",
            f"Pause signal sent. Will resume with {PurePath(config_path).name} when paused.",
        )

    def cancel(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self._jobs.get(params["job_id"])
        if job is None or job.status not in _HAS_TASK:
            return {"cancelled": False}
        self._stop_runner(job)
        if job.checkpoint is not None:
            for sheet in job.sheets().values():
                if sheet["status"] == "in_progress":
                    sheet["status"] = "cancelled"
        self._set_status(job, "cancelled")
        return {"cancelled": True}

    def list_jobs(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        entries = []
        for job in self._jobs.values():
            entry = job.metadata()
            if job.checkpoint is not None:
                sheets = job.sheets().values()
                entry["progress_completed"] = sum(s["status"] == "completed" for s in sheets)
                entry["progress_total"] = len(sheets)
            entries.append(entry)
        return entries

    def clear(self, params: dict[str, Any]) -> dict[str, Any]:
        statuses = set(params.get("statuses") or _TERMINAL) - {"queued", "running", "pending"}
        older_than = params.get("older_than_seconds")
        job_ids = params.get("job_ids")
        now = time.time()
        doomed = [
            job.job_id
            for job in self._jobs.values()
            if job.status in statuses
            and (older_than is None or now - job.submitted_at > older_than)
            and (job_ids is None or job.job_id in job_ids)
        ]
        for job_id in doomed:
            del self._jobs[job_id]
        return {"deleted": len(doomed)}

    def errors(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"state": self._job(params["job_id"]).state()}

    def diagnose(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self._job(params["job_id"])
        return {"state": job.state(), "workspace": params.get("workspace") or job.workspace}

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self._job(params["job_id"])
        limit = params.get("limit", 50)
        if not isinstance(limit, int):
            raise FakeRpcError(-32603, "Internal error: datatype mismatch")
        records = [
            record
            for record in reversed(job.history)
            if params.get("sheet_num") is None or record["sheet_num"] == params["sheet_num"]
        ]
        return {
            "job_id": job.job_id,
            "records": records if limit < 0 else records[:limit],
            "has_history": bool(job.history),
        }

    def recover(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self._job(params["job_id"])
        if job.checkpoint is None:
            raise FakeRpcError(JOB_NOT_FOUND, f"No state found for job '{job.job_id}'")
        state = job.state()
        return {
            "state": state,
            "workspace": params.get("workspace") or job.workspace,
            "dry_run": params.get("dry_run", False),
            "sheet_num": params.get("sheet_num"),
        }

    # ---- what daemon.* methods report about jobs ----------------------------------

    def status_of(self, job_id: str) -> str | None:
        job = self._jobs.get(job_id)
        return None if job is None else job.status

    def running_jobs(self) -> int:
        return sum(job.status == "running" for job in self._jobs.values())

    def active_sheets(self) -> int:
        return sum(
            sheet["status"] == "in_progress"
            for job in self._jobs.values()
            if job.checkpoint is not None
            for sheet in job.sheets().values()
        )

    def progress(self) -> list[dict[str, Any]]:
        """``JobProgress`` of every job with a saved state, for ``daemon.top``."""
        return [
            {
                "job_id": job.job_id,
                "total_sheets": job.total_sheets,
                "last_completed_sheet": job.checkpoint["last_completed_sheet"],
                "current_sheet": job.checkpoint["current_sheet"],
                "status": job.status,
            }
            for job in self._jobs.values()
            if job.checkpoint is not None
        ]

    def observer_events(self, job_id: Any, limit: Any) -> list[dict[str, Any]]:
        """Recorded ``observer.*`` events, newest first, with the conductor's ``limit`` quirks."""
        if job_id is None:
            merged = sorted(
                (event for job in self._jobs.values() for event in job.observer),
                key=lambda event: event["timestamp"],
                reverse=True,
            )
            return merged if limit is None else merged[:limit]
        job = self._jobs.get(job_id)
        if job is None:
            return []
        return list(reversed(most_recent(list(job.observer), limit)))

    # ---- the simulation ---------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise FakeRpcError(JOB_NOT_FOUND, f"Job '{job_id}' not found")
        return job

    def _set_status(self, job: _Job, status: str) -> None:
        job.status = status
        if job.checkpoint is not None:
            job.save()

    def _start(self, job: _Job, *, resuming: bool) -> None:
        scope = job.runner = anyio.CancelScope()
        self._spawn(self._run, job, scope, resuming)

    def _stop_runner(self, job: _Job) -> None:
        if job.runner is not None:
            job.runner.cancel()
            job.runner = None

    async def _resume_later(self, job: _Job, config_path: str) -> None:
        await anyio.sleep(self._step)
        if job.status == "paused":
            self.resume({"job_id": job.job_id, "config_path": config_path})

    async def _run(self, job: _Job, scope: anyio.CancelScope, resuming: bool) -> None:
        with scope:
            await anyio.sleep(self._step)
            job.status = "running"
            job.started_at = time.time()
            if job.checkpoint is None:
                job.checkpoint = _checkpoint(job)
            job.save(started_at=iso_now(), completed_at=None, error_message=None)
            job.error_message = ""
            event, data = (
                ("job.resuming", {"sheet_count": job.total_sheets})
                if resuming
                else ("job.started", {"sheet_count": job.total_sheets, "instrument": "cli"})
            )
            self._emit(event, job.job_id, 0, data)
            for sheet in self._unfinished(job.sheets().values()):
                if job.status != "running":  # paused: a resume starts a new runner
                    return
                if not await self._run_sheet(job, sheet):
                    self._finish(job, "failed")
                    return
            self._finish(job, "completed")

    @staticmethod
    def _unfinished(sheets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [sheet for sheet in sheets if sheet["status"] != "completed"]

    async def _run_sheet(self, job: _Job, sheet: dict[str, Any]) -> bool:
        """Run one sheet for ``step_seconds``; whether it succeeded."""
        number: int = sheet["sheet_num"]
        pid = next(self._pids)
        started = time.time()
        sheet.update(
            status="in_progress",
            started_at=iso_now(),
            completed_at=None,
            attempt_count=sheet["attempt_count"] + 1,
            normal_attempts=sheet["normal_attempts"] + 1,
            execution_mode="normal",
            last_activity_at=iso_now(),
        )
        job.save(current_sheet=number, sheets_in_progress=[number])
        self._emit("sheet.started", job.job_id, number, None)
        self._process_event(job, number, pid, "spawn", None)
        self._observe(job, "observer.process_spawned", {"pid": pid, "name": "sh"})
        try:
            await anyio.sleep(self._step)
        except anyio.get_cancelled_exc_class():
            if sheet["status"] == "in_progress":
                sheet["status"] = "pending"
            raise
        duration = time.time() - started
        ok = number != job.fail_sheet
        sheet.update(
            status="completed" if ok else "failed",
            completed_at=iso_now(),
            exit_code=0 if ok else 1,
            exit_reason="completed" if ok else "error",
            execution_duration_seconds=duration,
            total_duration_seconds=duration,
            success_without_retry=ok,
            outcome_category="success_first_try" if ok else "failed_fatal",
            error_message=None if ok else f"Sheet {number} exited with code 1",
            error_category=None if ok else "fatal",
            error_code=None if ok else "E001",
            stdout_tail=f"sheet {number} of {job.job_id}\n",
            stderr_tail="" if ok else "simulated failure\n",
            validation_passed=ok,
        )
        changes: dict[str, Any] = {"current_sheet": None, "sheets_in_progress": []}
        if ok:
            changes["last_completed_sheet"] = number
        job.save(**changes)
        job.history.append(
            {
                "id": next(self._history_ids),
                "job_id": job.job_id,
                "sheet_num": number,
                "attempt_num": sheet["attempt_count"],
                "prompt": f"Run sheet {number} of {job.job_id}",
                "output": sheet["stdout_tail"],
                "exit_code": sheet["exit_code"],
                "duration_seconds": duration,
                "executed_at": datetime.now(UTC).isoformat(),
            }
        )
        self._process_event(job, number, pid, "exit", sheet["exit_code"])
        self._observe(job, "observer.process_exited", {"pid": pid, "role": "main"})
        self._emit("sheet.completed" if ok else "sheet.failed", job.job_id, number, None)
        return ok

    def _finish(self, job: _Job, status: str) -> None:
        job.status = status
        job.runner = None
        if status == "failed":
            job.error_message = f"Sheet {job.fail_sheet} failed"
        job.save(completed_at=iso_now(), error_message=job.error_message or None)
        self._emit(f"job.{status}", job.job_id, 0, {"all_success": status == "completed"})

    def _process_event(
        self, job: _Job, sheet_num: int, pid: int, kind: str, exit_code: int | None
    ) -> None:
        self.process_events.append(
            {
                "timestamp": time.time(),
                "pid": pid,
                "event_type": kind,
                "exit_code": exit_code,
                "signal_num": None,
                "job_id": job.job_id,
                "sheet_num": sheet_num,
                "details": f"sheet {sheet_num} of {job.job_id}",
            }
        )

    def _observe(self, job: _Job, event: str, data: dict[str, Any]) -> None:
        job.observer.append(
            {
                "job_id": job.job_id,
                "sheet_num": 0,
                "event": event,
                "data": data,
                "timestamp": time.time(),
            }
        )
        self._emit(event, job.job_id, 0, data)


def _response(job_id: str, status: str, message: str) -> dict[str, Any]:
    return {"job_id": job_id, "status": status, "message": message}
