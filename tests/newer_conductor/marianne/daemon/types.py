"""The conductor 0.1.0 models of the same names, with the changes a newer release might make.

* ``DaemonStatus``: ``build`` added, ``total_jobs_active`` removed, ``uptime_seconds``
  retyped from float to int;
* ``JobResponse``: the status value ``"deferred"`` added;
* ``ObserverEvent``: unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from typing_extensions import TypedDict


class DaemonStatus(TypedDict):
    pid: int
    uptime_seconds: int
    running_jobs: int
    memory_usage_mb: float
    version: str
    build: str


class JobResponse(BaseModel):
    job_id: str
    status: Literal["accepted", "rejected", "pending", "error", "deferred"]
    message: str | None = None


class ObserverEvent(TypedDict):
    job_id: str
    sheet_num: int
    event: str
    data: dict[str, Any] | None
    timestamp: float
