"""The conductor the fake simulates: its state and the handlers of every method of 0.1.0.

Each result has the conductor's shape (protocol §4-5); the ``job.*`` methods
are the simulated jobs' (:mod:`._jobs`), the ``daemon.*`` ones are here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import AsyncGenerator, Callable
from importlib import resources
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ._envelopes import Handler
from ._jobs import JobBook, most_recent

VERSION = "0.1.0"
_MONITOR_BUFFER = 100  # events a slow monitor stream may lag behind before new ones are dropped

Spawn = Callable[..., None]
"""``spawn(async_function, *args)``: run a task beside the fake's connections."""


class Conductor:
    """What a conductor knows and answers, apart from any socket.

    ``notify`` is called at each change others may wait for (a subscription,
    an event); ``spawn`` runs the simulated jobs.
    """

    def __init__(
        self,
        spawn: Spawn,
        notify: Callable[[], None],
        *,
        step_seconds: float,
        check_config_files: bool,
    ) -> None:
        self.shutting_down = False
        """Set by ``daemon.shutdown`` or a stop like the conductor's: reported, new jobs rejected."""
        self.started_at = time.monotonic()
        self.dropping_events = False
        """While set, published events reach no subscriber (a conductor that stopped writing)."""
        self.socket_path = ""
        self.backlog = 5
        self._notify = notify
        self._subscribers: set[MemoryObjectSendStream[dict[str, Any]]] = set()
        self._rate_limits: dict[str, float] = {}
        self._rate_limit_events: list[float] = []
        self.jobs = JobBook(
            spawn,
            self.publish,
            step_seconds=step_seconds,
            check_config_files=check_config_files,
            is_shutting_down=lambda: self.shutting_down,
        )
        jobs = self.jobs
        self.handlers: dict[str, tuple[Handler, str | None]] = {
            "job.submit": (jobs.submit, None),
            "job.status": (jobs.status, None),
            "job.pause": (jobs.pause, None),
            "job.resume": (jobs.resume, None),
            "job.modify": (jobs.modify, None),
            "job.cancel": (jobs.cancel, None),
            "job.list": (jobs.list_jobs, None),
            "job.clear": (jobs.clear, None),
            "job.errors": (jobs.errors, None),
            "job.diagnose": (jobs.diagnose, None),
            "job.history": (jobs.history, None),
            "job.recover": (jobs.recover, None),
            "daemon.status": (self._status, None),
            "daemon.shutdown": (self._shutdown, None),
            "daemon.config": (self._config, None),
            "daemon.health": (self._health, None),
            "daemon.ready": (self._ready, None),
            "daemon.top": (self._top, None),
            "daemon.top.stream": (self._top_stream, None),
            "daemon.events": (self._events, None),
            "daemon.monitor.stream": (self._monitor, "monitor.event"),
            "daemon.observer_events": (self._observer_events, None),
            "daemon.rate_limits": (self._rate_limits_result, None),
            "daemon.clear_rate_limits": (self._clear_rate_limits, None),
            "daemon.learning.patterns": (self._learning_patterns, None),
        }
        """The built-in handlers, by method, with the notification of a streaming one."""

    # ---- events ---------------------------------------------------------------------

    @property
    def monitor_subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: str, job_id: str, sheet_num: int, data: dict[str, Any] | None) -> None:
        """Push an ``ObserverEvent`` to every monitor subscriber."""
        self.broadcast(
            {
                "job_id": job_id,
                "sheet_num": sheet_num,
                "event": event,
                "data": data,
                "timestamp": time.time(),
            }
        )

    def broadcast(self, event: dict[str, Any]) -> None:
        """Push ``event`` as it is to every monitor subscriber whose buffer has room."""
        if self.dropping_events:
            return
        for subscriber in self._subscribers:
            with contextlib.suppress(anyio.WouldBlock):
                subscriber.send_nowait(event)
        self._notify()

    async def monitor(
        self, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """One ``daemon.monitor.stream`` subscription; ``on_subscribed`` runs once it receives."""
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](_MONITOR_BUFFER)
        self._subscribers.add(send)
        self._notify()
        if on_subscribed is not None:
            on_subscribed()
        try:
            with receive:
                async for event in receive:
                    yield event
        finally:
            self._subscribers.discard(send)
            send.close()
            self._notify()

    def _monitor(self, params: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        return self.monitor()

    # ---- rate limits ----------------------------------------------------------------

    def set_rate_limit(self, backend: str, seconds: float) -> None:
        self._rate_limits[backend] = time.monotonic() + seconds
        self._rate_limit_events.append(time.monotonic())

    def _rate_limits_result(self, params: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        active = {name: until - now for name, until in self._rate_limits.items() if until > now}
        return {
            "backends": {
                name: {"seconds_remaining": round(left, 1)} for name, left in active.items()
            },
            "active_limits": len(active),
            "recent_events_count": sum(now - at < 3600 for at in self._rate_limit_events),
        }

    def _clear_rate_limits(self, params: dict[str, Any]) -> dict[str, Any]:
        instrument = params.get("instrument")
        cleared = [name for name in self._rate_limits if instrument in (None, name)]
        for name in cleared:
            del self._rate_limits[name]
        return {"cleared": len(cleared), "instrument": instrument}

    # ---- daemon.* methods -------------------------------------------------------------

    def _uptime(self) -> float:
        return round(time.monotonic() - self.started_at, 1)

    def _status(self, params: dict[str, Any]) -> dict[str, Any]:
        running = self.jobs.running_jobs()
        return {
            "pid": os.getpid(),
            "uptime_seconds": self._uptime(),
            "running_jobs": running,
            "total_jobs_active": running,
            "memory_usage_mb": 64.0,
            "version": VERSION,
        }

    def _shutdown(self, params: dict[str, Any]) -> dict[str, Any]:
        self.shutting_down = True
        return {"shutting_down": True}

    def _health(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": "ok",  # always, shutting down or not (protocol §4.16)
            "pid": os.getpid(),
            "uptime_seconds": self._uptime(),
            "shutting_down": self.shutting_down,
        }

    def _ready(self, params: dict[str, Any]) -> dict[str, Any]:
        ready = not self.shutting_down
        return {
            "status": "ready" if ready else "not_ready",
            "running_jobs": self.jobs.running_jobs(),
            "memory_mb": 64.0,
            "child_processes": self.jobs.active_sheets(),
            "accepting_work": ready,
            "shutting_down": self.shutting_down,
            "failure_rate_elevated": False,
            "notifications_degraded": False,
            "uptime_seconds": self._uptime(),
        }

    def _config(self, params: dict[str, Any]) -> dict[str, Any]:
        """``daemon.config``: the conductor's defaults (protocol §5.10), with this socket."""
        socket = {"path": self.socket_path, "permissions": 432, "backlog": self.backlog}
        return {"socket": socket, **json.loads(_default_config())}

    def _top(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "timestamp": time.time(),
            "daemon_pid": os.getpid(),
            "system_memory_total_mb": 16384.0,
            "system_memory_available_mb": 12288.0,
            "system_memory_used_mb": 4096.0,
            "daemon_rss_mb": 64.0,
            "load_avg_1": 0.5,
            "load_avg_5": 0.4,
            "load_avg_15": 0.3,
            "processes": [],
            "gpus": [],
            "pressure_level": "none",
            "running_jobs": self.jobs.running_jobs(),
            "active_sheets": self.jobs.active_sheets(),
            "zombie_count": 0,
            "zombie_pids": [],
            "job_progress": self.jobs.progress(),
            "conductor_uptime_seconds": time.monotonic() - self.started_at,
        }

    def _top_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonl_path": os.path.expanduser("~/.marianne/monitor.jsonl")}

    def _events(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"events": most_recent(list(self.jobs.process_events), params.get("limit", 50))}

    def _observer_events(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"events": self.jobs.observer_events(params.get("job_id"), params.get("limit", 50))}

    def _learning_patterns(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"patterns": []}


@functools.cache
def _default_config() -> str:
    """The conductor's configuration defaults but the socket's, as the package ships them."""
    return (
        resources.files("marianne_sdk.testing").joinpath("conductor_config.json").read_text("utf-8")
    )
