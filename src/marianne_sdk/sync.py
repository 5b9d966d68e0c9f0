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
import inspect
import os
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

import anyio
from anyio.from_thread import BlockingPortal

from . import _waiting
from ._client import DaemonClient as AsyncDaemonClient
from ._generated import models
from ._generated.methods import SyncMethods
from ._invoke import NOT_GIVEN, EventStream, P, R, SyncEventStream, Timeout
from ._messages import Params, client_closed
from ._method import MethodInfo
from ._streams import StreamGap

__all__ = ["DaemonClient"]

T = TypeVar("T")
E = TypeVar("E")
Arguments = ParamSpec("Arguments")


def _takes_arguments_of(
    source: Callable[Concatenate[Any, Arguments], None],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, Arguments], None]]:
    """Give the decorated ``__init__`` the signature of ``source``: one list of options."""

    def apply(init: Callable[..., None]) -> Callable[Concatenate[Any, Arguments], None]:
        init.__signature__ = inspect.signature(source)  # type: ignore[attr-defined]
        init.__doc__ = init.__doc__ or source.__doc__
        return init

    return apply


class _LoopThread:
    """An asyncio event loop in a daemon thread, reached through a blocking portal.

    A daemon thread, unlike anyio's ``start_blocking_portal`` (whose worker the
    interpreter joins at exit), never keeps a script alive.
    """

    def __init__(self) -> None:
        started: Future[BlockingPortal] = Future()
        self._thread = threading.Thread(
            target=anyio.run, args=(self._serve, started), name="marianne-sdk", daemon=True
        )
        self._thread.start()
        self.portal = started.result()

    @staticmethod
    async def _serve(started: Future[BlockingPortal]) -> None:
        async with BlockingPortal() as portal:
            started.set_result(portal)
            await portal.sleep_until_stopped()

    def stop(self) -> None:
        """End the loop (what still runs there is cancelled) and wait for the thread."""
        if self._thread is threading.current_thread():
            raise RuntimeError("a blocking DaemonClient cannot be closed from its own loop")
        self.portal.call(self.portal.stop, True)
        self._thread.join()


def _close_unclosed(
    loop_thread: _LoopThread, client: AsyncDaemonClient, name: str, pid: int
) -> None:
    """The finalizer of a client nobody closed: at collection or at interpreter exit.

    In a forked child the loop thread is the parent's, which the child does
    not have: nothing there to close or wait for.
    """
    if os.getpid() != pid:
        return
    warnings.warn(
        f"unclosed {name}: close it, or use it in a with block", ResourceWarning, stacklevel=1
    )
    try:
        loop_thread.portal.call(client.close)
    finally:
        loop_thread.stop()


class DaemonClient(SyncMethods):
    """Blocking client of the Marianne conductor, with every method typed.

    Takes the same arguments, raises the same errors and has the same typed
    methods as :class:`marianne_sdk.DaemonClient`, without ``await``. Close it,
    or use it as a context manager: it owns a thread. A client left unclosed
    is closed when it is collected or the interpreter exits, with a
    ``ResourceWarning``; its thread never keeps a script alive.

    In a process forked from the one that made it, the client starts afresh
    on first use: a loop thread of its own, and connections of its own.
    """

    @_takes_arguments_of(AsyncDaemonClient.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._closed = False
        self._start_loop_thread()
        try:
            self._client = self._loop_thread.portal.call(
                partial(AsyncDaemonClient, *args, **kwargs)
            )
        except BaseException:
            self._loop_thread.stop()
            raise
        self._watch_for_collection()

    def _start_loop_thread(self) -> None:
        self._loop_thread = _LoopThread()
        self._pid = os.getpid()

    def _watch_for_collection(self) -> None:
        self._finalizer = weakref.finalize(
            self, _close_unclosed, self._loop_thread, self._client, repr(self), self._pid
        )

    def _in_this_process(self) -> bool:
        """Whether the client was made, or has started again, in this process."""
        return self._pid == os.getpid()

    def _restart_after_fork(self) -> None:
        """In a forked child: a loop thread of this process's (the pool forgot the parent's)."""
        self._finalizer.detach()
        self._start_loop_thread()
        self._watch_for_collection()

    def __repr__(self) -> str:
        client = getattr(self, "_client", None)
        return f"<sync {client!r}>" if client is not None else "<sync DaemonClient>"

    @property
    def socket_path(self) -> Path:
        """The conductor socket this client talks to."""
        return self._client.socket_path

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
        return self._track(self._client.stream(method, params, idle_timeout=idle_timeout))

    def check_conductor_version(self, *, timeout: Timeout = NOT_GIVEN) -> bool | None:
        """Whether the conductor's version is one the schema was written for.

        See :meth:`marianne_sdk.DaemonClient.check_conductor_version`.
        """
        return self._run(partial(self._client.check_conductor_version, timeout=timeout))

    def is_daemon_running(self) -> bool:
        """Whether the conductor answers ``daemon.health`` within 2 s. Never raises."""
        return self._run(self._client.is_daemon_running)

    def close(self) -> None:
        """Close the connections and streams, and stop the client's thread.

        Idempotent. Later calls raise :class:`DaemonError`.
        """
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        if not self._in_this_process():
            return  # the inherited connections were dropped at the fork
        try:
            self._loop_thread.portal.call(self._client.close)
        finally:
            self._loop_thread.stop()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> R:
        return self._run(partial(self._client._call_typed, info, params, timeout))

    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> SyncEventStream[Any]:
        return self._track(self._client._stream_typed(info, params, idle_timeout))

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
            return self._track(self._client.monitor(idle_timeout=idle_timeout, reconnect=True))
        return self._track(self._client.monitor(idle_timeout=idle_timeout))

    def _track(self, stream: EventStream[E]) -> SyncEventStream[E]:
        """``stream`` driven through the client's loop."""
        return _PortalEventStream(self, stream)

    def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` on the client's loop and wait for it.

        If the wait is interrupted (Ctrl-C), the call is cancelled rather than
        left running, so the async client cleans up its connection.
        """
        if self._closed:
            raise client_closed()
        if not self._in_this_process():
            self._restart_after_fork()
        future = self._loop_thread.portal.start_task_soon(call)
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

    @property
    def missed(self) -> int:
        return self._stream.missed

    def __repr__(self) -> str:
        return f"<sync {self._stream!r}>"

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
        # Once the client is closed its loop is gone, and it ended this stream first.
        if not self._client._closed:
            self._client._run(self._stream.aclose)
