"""The conductor 0.1.0 job status enumeration, with a value a newer release might add."""

from __future__ import annotations

from enum import StrEnum


class DaemonJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PAUSED = "paused"
    PAUSED_AT_CHAIN = "paused_at_chain"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PENDING = "pending"
    ARCHIVED = "archived"
