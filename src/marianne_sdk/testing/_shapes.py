"""What the conductor's job results look like, field for field: new checkpoints and sheets.

The shapes of conductor 0.1.0's ``CheckpointState`` and ``SheetState`` as
they serialise (protocol §5.4-5.5), at their defaults.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso_now() -> str:
    """The current time as the conductor serialises datetimes: ISO-8601 with ``Z``."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_sheet(sheet_num: int) -> dict[str, Any]:
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


def new_checkpoint(job_id: str, config_path: str, total_sheets: int, status: str) -> dict[str, Any]:
    """A new ``CheckpointState``: all 40 fields."""
    now = iso_now()
    return {
        "job_id": job_id,
        "job_name": job_id,
        "config_hash": None,
        "config_snapshot": None,
        "config_path": config_path,
        "created_at": now,
        "updated_at": now,
        "started_at": None,
        "completed_at": None,
        "total_sheets": total_sheets,
        "last_completed_sheet": 0,
        "current_sheet": None,
        "status": status,
        "sheets": {str(n): new_sheet(n) for n in range(1, total_sheets + 1)},
        "instruments_used": ["cli"],
        "total_movements": total_sheets,
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
