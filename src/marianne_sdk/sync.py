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

import enum
import os
import weakref
from collections.abc import Awaitable, Callable, Collection
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from anyio.from_thread import start_blocking_portal

from . import _waiting
from ._client import DaemonClient as AsyncDaemonClient
from ._client import Params
from ._errors import DaemonError
from ._generated import models
from ._generated.methods import SyncMethods
from ._invoke import EventStream, P, R, SyncEventStream
from ._method import MethodInfo
from ._peercred import DEFAULT_TRUSTED_UIDS

__all__ = ["DaemonClient"]

T = TypeVar("T")
E = TypeVar("E")


class DaemonClient(SyncMethods):
    """Blocking client of the Marianne conductor, with every method typed.

    Takes the same arguments, raises the same errors and has the same typed
    methods as :class:`marianne_sdk.DaemonClient`, without ``await``. Close it
    (or use it as a context manager): it owns a thread.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        clone: str | bool | None = None,
        timeout: float | None = 30.0,
        pool_size: int = 4,
        connect_timeout: float = 5.0,
        max_idle_seconds: float = 10.0,
        trusted_uids: Collection[int] | None = DEFAULT_TRUSTED_UIDS,
    ) -> None:
        self._stack = ExitStack()
        self._closed = False
        self._streams: weakref.WeakSet[_PortalEventStream[Any]] = weakref.WeakSet()
        try:
            self._portal = self._stack.enter_context(start_blocking_portal(backend="asyncio"))
            # Built and entered on the portal's loop: the async client's
            # background task (idle expiry, deadlines) runs there for the life
            # of this client.
            client = self._portal.call(
                partial(
                    AsyncDaemonClient,
                    socket_path,
                    clone=clone,
                    timeout=timeout,
                    pool_size=pool_size,
                    connect_timeout=connect_timeout,
                    max_idle_seconds=max_idle_seconds,
                    trusted_uids=trusted_uids,
                )
            )
            self._client = self._stack.enter_context(
                self._portal.wrap_async_context_manager(client)
            )
        except BaseException:
            self._stack.close()
            raise

    @property
    def socket_path(self) -> Path:
        """The conductor socket this client talks to."""
        return self._client.socket_path

    def call(self, method: str, params: Params = None, *, timeout: float | None = None) -> Any:
        """Call ``method`` and return its result as decoded JSON (dicts, lists, ...).

        See :meth:`marianne_sdk.DaemonClient.call`.
        """
        return self._run(partial(self._client.call, method, params, timeout=timeout))

    def notify(self, method: str, params: Params = None) -> None:
        """Send ``method`` as a notification: the conductor runs it and answers nothing."""
        self._run(partial(self._client.notify, method, params))

    def stream(
        self, method: str, params: Params = None, *, idle_timeout: float | None = None
    ) -> SyncEventStream[Any]:
        """The params of the notifications ``method`` pushes, on a connection of its own.

        Use as ``with client.stream(m) as events: for params in events``. See
        :meth:`marianne_sdk.DaemonClient.stream`.
        """
        return self._track(self._client.stream(method, params, idle_timeout=idle_timeout))

    def check_conductor_version(self, *, timeout: float | None = None) -> bool | None:
        """Whether the conductor's version is one the schema was written for.

        See :meth:`marianne_sdk.DaemonClient.check_conductor_version`.
        """
        return self._run(partial(self._client.check_conductor_version, timeout=timeout))

    def is_daemon_running(self) -> bool:
        """Whether the conductor answers ``daemon.health`` within 2 s. Never raises."""
        return self._run(self._client.is_daemon_running)

    def close(self) -> None:
        """Close the connections, open streams' included, and stop the client's thread.

        Idempotent. Later calls raise :class:`DaemonError`.
        """
        if not self._closed:
            for stream in list(self._streams):
                stream.close()
        self._closed = True
        self._stack.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: float | None) -> R:
        return self._run(partial(self._client._call_typed, info, params, timeout))

    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> SyncEventStream[Any]:
        return self._track(self._client._stream_typed(info, params, idle_timeout))

    def _track(self, stream: EventStream[E]) -> SyncEventStream[E]:
        """``stream`` driven through the client's loop, and closed when the client closes."""
        sync_stream = _PortalEventStream(self, stream)
        self._streams.add(sync_stream)
        return sync_stream

    def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` on the client's loop and wait for it.

        If the wait is interrupted (Ctrl-C), the call is cancelled rather than
        left running, so the async client cleans up its connection.
        """
        if self._closed:
            raise DaemonError("the DaemonClient is closed")
        future = self._portal.start_task_soon(call)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

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
            partial(
                _waiting.wait_for_job,
                self._client,
                job_id,
                timeout=timeout,
                poll_interval=poll_interval,
            )
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
                _waiting.submit_and_wait,
                self._client,
                request,
                timeout=timeout,
                poll_interval=poll_interval,
            )
        )


class _End(enum.Enum):
    END = enum.auto()


async def _next_or_end(stream: EventStream[E]) -> E | Literal[_End.END]:
    # The end of the stream is a value here: StopAsyncIteration is not meant
    # to travel through the portal as an exception.
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return _End.END


class _PortalEventStream(SyncEventStream[E]):
    """An async :class:`EventStream` driven through the client's event loop."""

    def __init__(self, client: DaemonClient, stream: EventStream[E]) -> None:
        self._client = client
        self._stream = stream

    def __enter__(self) -> _PortalEventStream[E]:
        self._client._run(self._stream.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __next__(self) -> E:
        item = self._client._run(partial(_next_or_end, self._stream))
        if item is _End.END:
            raise StopIteration
        return item

    def close(self) -> None:
        # Once the client is closed its loop is gone, and it closed this stream first.
        if not self._client._closed:
            self._client._run(self._stream.aclose)
