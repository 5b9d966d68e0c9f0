"""How a blocking form runs an async client: on an event loop in a thread of its own.

The blocking client and the blocking fleet are each an async object (a
:class:`DaemonClient`, a :class:`Fleet`) made on that loop and reached
through an anyio blocking portal; what they share lives here.
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
from types import TracebackType
from typing import Any, Concatenate, Generic, Literal, ParamSpec, Protocol, Self, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._invoke import EventStream, SyncEventStream
from ._messages import client_closed

T = TypeVar("T")
E = TypeVar("E")
Arguments = ParamSpec("Arguments")


def takes_arguments_of(
    source: Callable[Concatenate[Any, Arguments], None],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, Arguments], None]]:
    """Give the decorated ``__init__`` the signature of ``source``: one list of options."""

    def apply(init: Callable[..., None]) -> Callable[Concatenate[Any, Arguments], None]:
        init.__signature__ = inspect.signature(source)  # type: ignore[attr-defined]
        init.__doc__ = init.__doc__ or source.__doc__
        return init

    return apply


class LoopThread:
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


class _Closable(Protocol):
    async def close(self) -> None: ...


Async = TypeVar("Async", bound=_Closable)
"""The async object a blocking form drives."""


def _close_unclosed(loop_thread: LoopThread, client: _Closable, name: str, pid: int) -> None:
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


class BlockingForm(Generic[Async]):
    """An async client (a DaemonClient or a Fleet) driven on a loop thread of its own.

    ``make`` builds ``_client`` on that loop; :meth:`_run` runs its coroutines
    there. Closing closes it and stops the thread; a form left unclosed is
    closed when collected or at exit. In a forked child it starts a loop
    thread of that process's on first use.
    """

    def __init__(self, make: Callable[[], Async]) -> None:
        self._closed = False
        self._start_loop_thread()
        try:
            self._client: Async = self._loop_thread.portal.call(make)
        except BaseException:
            self._loop_thread.stop()
            raise
        self._watch_for_collection()

    def _start_loop_thread(self) -> None:
        self._loop_thread = LoopThread()
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
        return f"<sync {client!r}>" if client is not None else f"<sync {type(self).__name__}>"

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

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


class _End(enum.Enum):
    END = enum.auto()


async def _next_or_end(stream: EventStream[E]) -> E | Literal[_End.END]:
    # The end of the stream is a value here: StopAsyncIteration is not meant
    # to travel through the portal as an exception.
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return _End.END


class PortalEventStream(SyncEventStream[E]):
    """An async :class:`EventStream` driven through the client's event loop."""

    def __init__(self, client: BlockingForm[Any], stream: EventStream[E]) -> None:
        self._client = client
        self._stream = stream

    @property
    def missed(self) -> int:
        return self._stream.missed

    def __repr__(self) -> str:
        return f"<sync {self._stream!r}>"

    def __enter__(self) -> PortalEventStream[E]:
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
