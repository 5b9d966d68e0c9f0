"""The blocking client, for scripts and code without an event loop.

It runs the async :class:`marianne_sdk.DaemonClient` on an asyncio event loop
in a thread of its own (an anyio blocking portal) and hands every call to it,
so pooling, retries, timeouts, the peer check and error mapping are the async
client's, unchanged. A thread hop costs some tens of microseconds per call
(a few thousand calls per second): plenty for scripts. One client may be used
from several threads at once; their calls share the pool.

    from marianne_sdk.sync import DaemonClient

    with DaemonClient() as client:
        print(client.status().running_jobs)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from . import _waiting
from ._blocking import BlockingForm, PortalEventStream, takes_arguments_of
from ._client import DaemonClient as AsyncDaemonClient
from ._generated import models
from ._generated.methods import SyncMethods
from ._invoke import NOT_GIVEN, EventStream, P, R, SyncEventStream, Timeout
from ._messages import Params
from ._method import MethodInfo
from ._streams import StreamGap
from ._sync_fleet import Fleet

__all__ = ["DaemonClient", "Fleet"]

E = TypeVar("E")


class DaemonClient(SyncMethods, BlockingForm[AsyncDaemonClient]):
    """Blocking client of the Marianne conductor, with every method typed.

    Takes the same arguments, raises the same errors and has the same typed
    methods as :class:`marianne_sdk.DaemonClient`, without ``await``. Close it,
    or use it as a context manager: it owns a thread. A client left unclosed
    is closed when it is collected or the interpreter exits, with a
    ``ResourceWarning``; its thread never keeps a script alive.

    In a process forked from the one that made it, the client starts afresh
    on first use: a loop thread of its own, and connections of its own.
    """

    @takes_arguments_of(AsyncDaemonClient.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(partial(AsyncDaemonClient, *args, **kwargs))

    @property
    def socket_path(self) -> Path:
        """The conductor socket this client talks to; for an ``ssh://`` target, on its host."""
        return self._client.socket_path

    @property
    def target(self) -> str:
        """The conductor, as messages name it: its socket path, or its ``ssh://`` URL."""
        return self._client.target

    def call(self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN) -> Any:
        """Call ``method`` and return its result as decoded JSON (dicts, lists, ...).

        See :meth:`marianne_sdk.DaemonClient.call`.
        """
        return self._run(partial(self._client.call, method, params, timeout=timeout))

    def notify(self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN) -> None:
        """Send ``method`` as a notification: the conductor runs it and answers nothing."""
        self._run(partial(self._client.notify, method, params, timeout=timeout))

    def stream(
        self, method: str, params: Params = None, *, idle_timeout: float | None = None
    ) -> SyncEventStream[Any]:
        """The params of the notifications ``method`` pushes, on a connection of its own.

        Use as ``with client.stream(m) as events: for params in events``. See
        :meth:`marianne_sdk.DaemonClient.stream`.
        """
        return self._blocking_stream(self._client.stream(method, params, idle_timeout=idle_timeout))

    def check_conductor_version(self, *, timeout: Timeout = NOT_GIVEN) -> bool | None:
        """Whether the conductor's version is one the schema was written for.

        See :meth:`marianne_sdk.DaemonClient.check_conductor_version`.
        """
        return self._run(partial(self._client.check_conductor_version, timeout=timeout))

    def is_daemon_running(self) -> bool:
        """Whether the conductor answers ``daemon.health`` within 2 s. Never raises."""
        return self._run(self._client.is_daemon_running)

    def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> R:
        return self._run(partial(self._client._call_typed, info, params, timeout))

    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> SyncEventStream[Any]:
        return self._blocking_stream(self._client._stream_typed(info, params, idle_timeout))

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[False] = False
    ) -> SyncEventStream[models.ObserverEvent]: ...

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[True]
    ) -> SyncEventStream[models.ObserverEvent | StreamGap]: ...

    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: bool = False
    ) -> SyncEventStream[models.ObserverEvent] | SyncEventStream[models.ObserverEvent | StreamGap]:
        """The conductor's events: ``with client.monitor() as events``.

        See :meth:`marianne_sdk.DaemonClient.monitor`, ``reconnect`` included.
        """
        if reconnect:
            return self._blocking_stream(
                self._client.monitor(idle_timeout=idle_timeout, reconnect=True)
            )
        return self._blocking_stream(self._client.monitor(idle_timeout=idle_timeout))

    def _blocking_stream(self, stream: EventStream[E]) -> SyncEventStream[E]:
        """``stream`` driven through the client's loop."""
        return PortalEventStream(self, stream)

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
    ) -> models.JobState:
        """Wait until the job ``job_id`` is completed, failed or cancelled; return its state.

        See :meth:`marianne_sdk.DaemonClient.wait_for_job`.
        """
        return self._run(
            partial(self._client.wait_for_job, job_id, timeout=timeout, poll_interval=poll_interval)
        )

    def submit_and_wait(
        self,
        request: models.JobRequest,
        *,
        timeout: float | None = None,
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
    ) -> models.JobState:
        """Submit ``request`` and wait for its job to end; :class:`JobSubmissionError` if rejected.

        See :meth:`marianne_sdk.DaemonClient.submit_and_wait`.
        """
        return self._run(
            partial(
                self._client.submit_and_wait, request, timeout=timeout, poll_interval=poll_interval
            )
        )
