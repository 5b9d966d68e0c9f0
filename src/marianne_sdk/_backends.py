"""The event loop under the SDK: one small object per loop, chosen once.

The pool needs timers (deadlines, idle expiry), one-shot wake-ups and tasks
that run beside the user's code without enclosing it: a client or a fake may
be entered in one task and left in another, or never entered at all, so
nothing it runs in the background may belong to the user's task tree. Each
event loop provides these natively — asyncio's ``loop.call_at`` and tasks,
trio's system tasks — and :func:`current_backend` picks the implementation
once per event loop by asking sniffio which library runs the current task
(trio answers "trio" in guest mode on an asyncio loop too), as httpcore
picks its network backend.

anyio's portable calls look the backend up on every call and cost
microseconds each on a pooled call that costs about twenty in all; these do
not.
"""

from __future__ import annotations

import abc
import heapq
import itertools
import logging
import math
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import sniffio
from anyio.abc import TaskStatus

if TYPE_CHECKING:
    import asyncio

    import trio

NEVER = math.inf
"""A moment that never comes."""


class Deadline:
    """When a call (or a wait) must be over, on the loop's clock, and the seconds it was given."""

    __slots__ = ("at", "seconds")

    def __init__(self, at: float, seconds: float | None) -> None:
        self.at = at
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Deadline(at={self.at}, seconds={self.seconds})"


NO_DEADLINE = Deadline(NEVER, None)
"""The deadline of a call given no timeout."""

_log = logging.getLogger("marianne_sdk")


class Timer(Protocol):
    """A callback scheduled by :meth:`Backend.call_at`."""

    def cancel(self) -> None:
        """Forget the callback if it has not run yet. Idempotent."""


class Wakeup(abc.ABC):
    """A one-shot signal that one task waits for."""

    @abc.abstractmethod
    def set(self) -> None:
        """Wake the waiting task (a no-op if it was cancelled meanwhile)."""

    @abc.abstractmethod
    async def wait(self) -> None:
        """Return once :meth:`set` has been called."""


class Backend(abc.ABC):
    """What the SDK needs from one running event loop."""

    asyncio_loop: asyncio.AbstractEventLoop | None = None
    """The asyncio loop, whose reader callbacks connections use; None on trio."""

    @abc.abstractmethod
    def is_current(self) -> bool:
        """Whether the running task belongs to this backend's event loop."""

    @abc.abstractmethod
    def time(self) -> float:
        """The loop's clock, on which deadlines are set."""

    @abc.abstractmethod
    def wakeup(self) -> Wakeup:
        """A new :class:`Wakeup`."""

    @abc.abstractmethod
    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        """Run ``callback(*args)`` (which must not await) at ``when`` on the loop's clock."""

    async def checkpoint(self) -> None:
        """Let other tasks run where an SDK await did not have to wait, if the loop expects it.

        trio's rule is that every await of its API may switch tasks and be
        cancelled, so a loop of calls that never wait still shares the CPU;
        asyncio makes no such promise, and a switch there costs a loop
        iteration per call, so only trio's backend does anything.
        """
        return

    def deadline_after(self, seconds: float | None) -> Deadline:
        """The deadline ``seconds`` from now (None: never); the one place seconds become one."""
        return NO_DEADLINE if seconds is None else Deadline(self.time() + seconds, seconds)

    @abc.abstractmethod
    def spawn(self, function: Callable[[], Awaitable[None]]) -> None:
        """Run ``function`` in a task of its own, outside every caller's task tree.

        The loop ends such a task when it ends itself. ``function`` must catch
        its own errors: an error escaping it is logged, never raised.
        """


class _Unbound(Backend):
    """The backend of a pool that has not run on any loop yet: never current."""

    def is_current(self) -> bool:
        return False

    def time(self) -> float:
        raise RuntimeError("not bound to an event loop")

    def wakeup(self) -> Wakeup:
        raise RuntimeError("not bound to an event loop")

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        raise RuntimeError("not bound to an event loop")

    def spawn(self, function: Callable[[], Awaitable[None]]) -> None:
        raise RuntimeError("not bound to an event loop")


UNBOUND: Backend = _Unbound()
"""Stands for the event loop until a first use binds one (see :meth:`Backend.is_current`)."""

_local = threading.local()


def current_backend() -> Backend:
    """The backend of the event loop running the current task.

    Raises ``RuntimeError`` outside an asyncio or trio task.
    """
    backend: Backend | None = getattr(_local, "backend", None)
    if backend is None or not backend.is_current():
        backend = _local.backend = _detect()
    return backend


def _detect() -> Backend:
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        raise RuntimeError(
            "marianne_sdk's async API must be used from an asyncio or trio task"
        ) from None
    if library == "trio":
        return _TrioBackend()
    if library == "asyncio":
        import asyncio

        return _AsyncioBackend(asyncio.get_running_loop())
    raise RuntimeError(f"marianne_sdk runs on asyncio or trio, not on {library}")


async def _logged(function: Callable[[], Awaitable[None]]) -> None:
    try:
        await function()
    except Exception:
        _log.exception("background task of marianne_sdk failed")


# ---- timers -------------------------------------------------------------------------

_TimerEntry = list[Any]
"""``[when, sequence number, callback or None once cancelled, args]``: a list, so the heap
compares in C."""

_COMPACT_AFTER = 64
"""Cancelled timers tolerated in the heap before it is rebuilt without them."""


class _QueuedTimer:
    __slots__ = ("_entry", "_queue")

    def __init__(self, queue: _TimerQueue, entry: _TimerEntry) -> None:
        self._queue = queue
        self._entry = entry

    def cancel(self) -> None:
        if self._entry[2] is not None:
            self._entry[2] = None
            self._queue.forget_one()


class _TimerQueue:
    """A loop's timers on one heap, behind one alarm of the loop's own.

    Every call has a timer for its deadline, and nearly every one is
    cancelled: a heap entry costs a fraction of a loop timer
    (``loop.call_at`` and its cancellation), and leaves the loop's own heap
    alone. ``set_alarm(when)`` asks the loop to call :meth:`run_due` at
    ``when``; it is asked again only when an earlier timer comes.
    """

    def __init__(self, set_alarm: Callable[[float], None]) -> None:
        self._set_alarm = set_alarm
        self._heap: list[_TimerEntry] = []
        self._cancelled = 0
        self._numbers = itertools.count()
        self.alarm_at = NEVER

    def call_at(self, when: float, callback: Callable[..., None], args: tuple[Any, ...]) -> Timer:
        entry: _TimerEntry = [when, next(self._numbers), callback, args]
        heapq.heappush(self._heap, entry)
        if when < self.alarm_at:
            self.alarm_at = when
            self._set_alarm(when)
        return _QueuedTimer(self, entry)

    def forget_one(self) -> None:
        self._cancelled += 1
        if self._cancelled > _COMPACT_AFTER and 2 * self._cancelled > len(self._heap):
            self._heap = [entry for entry in self._heap if entry[2] is not None]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def run_due(self, now: float) -> None:
        """Run the callbacks due by ``now``, then set the alarm for the next one."""
        while (heap := self._heap) and heap[0][0] <= now:
            _, _, callback, args = heapq.heappop(heap)
            if callback is None:
                self._cancelled -= 1
                continue
            try:
                callback(*args)
            except Exception:
                _log.exception("timer callback of marianne_sdk failed")
        self.alarm_at = self._heap[0][0] if self._heap else NEVER
        if self.alarm_at != NEVER:
            self._set_alarm(self.alarm_at)


# ---- asyncio -----------------------------------------------------------------------


class _FutureWakeup(Wakeup):
    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


class _AsyncioBackend(Backend):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        import asyncio

        self.asyncio_loop = self._loop = loop
        self._current_task = asyncio.current_task
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self._timers = _TimerQueue(self._set_alarm)
        self._alarm: asyncio.TimerHandle | None = None

    def is_current(self) -> bool:
        # No asyncio task of this loop runs when trio runs as a guest on it.
        return self._current_task(self._loop) is not None

    def time(self) -> float:
        return self._loop.time()

    def wakeup(self) -> Wakeup:
        return _FutureWakeup(self._loop)

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        return self._timers.call_at(when, callback, args)

    def _set_alarm(self, when: float) -> None:
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm = self._loop.call_at(when, self._on_alarm, when)

    def _on_alarm(self, when: float) -> None:
        # asyncio runs a timer up to its clock's resolution early: what was
        # due at ``when`` is due now.
        self._alarm = None
        self._timers.run_due(max(when, self._loop.time()))

    def spawn(self, function: Callable[[], Awaitable[None]]) -> None:
        task = self._loop.create_task(_logged(function))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# ---- trio ---------------------------------------------------------------------------


class _EventWakeup(Wakeup):
    __slots__ = ("_event",)

    def __init__(self, event: trio.Event) -> None:
        self._event = event

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


class _TrioBackend(Backend):
    """Timers run by one system task per trio run, sleeping until the earliest is due."""

    def __init__(self) -> None:
        import trio

        self._trio = trio
        self._token = trio.lowlevel.current_trio_token()
        self._timers = _TimerQueue(self._set_alarm)
        self._alarm: trio.CancelScope | None = None  # the timer task's sleep

    def is_current(self) -> bool:
        try:
            return self._trio.lowlevel.current_trio_token() is self._token
        except RuntimeError:
            return False

    async def checkpoint(self) -> None:
        await self._trio.lowlevel.checkpoint()

    def time(self) -> float:
        return self._trio.current_time()

    def wakeup(self) -> Wakeup:
        return _EventWakeup(self._trio.Event())

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        return self._timers.call_at(when, callback, args)

    def spawn(self, function: Callable[[], Awaitable[None]]) -> None:
        self._trio.lowlevel.spawn_system_task(_logged, function)

    def _set_alarm(self, when: float) -> None:
        if self._alarm is None:
            self._alarm = self._trio.CancelScope(deadline=when)
            self.spawn(self._run_timers)
        else:
            self._alarm.deadline = when

    async def _run_timers(self) -> None:
        while True:
            assert self._alarm is not None
            with self._alarm:
                await self._trio.sleep_forever()
            # A fresh scope before the callbacks run: timers they add move its deadline.
            self._alarm = self._trio.CancelScope()
            self._timers.run_due(self._trio.current_time())


class _Started(TaskStatus[None]):
    """The ``task_status`` of a :class:`BackgroundTask`'s function (anyio's ``TaskStatus``)."""

    def __init__(self, event: anyio.Event) -> None:
        self._event = event

    def started(self, value: object = None) -> None:
        self._event.set()


class BackgroundTask:
    """A function run beside the caller's code, outside its task tree, until stopped.

    :meth:`start` returns once the function reports it has started
    (``task_status.started()``, as with ``TaskGroup.start``), or raises what
    it raised before that. An error after that is logged: nobody awaits it.
    """

    def __init__(self) -> None:
        self._scope = anyio.CancelScope()
        self._started = anyio.Event()
        self._done = anyio.Event()
        self._error: Exception | None = None

    @classmethod
    async def start(cls, function: Callable[..., Awaitable[None]]) -> BackgroundTask:
        """Run ``function(task_status=...)`` and return once it has reported it started."""
        task = cls()
        current_backend().spawn(partial(task._run, function))
        try:
            await task._started.wait()
        except BaseException:
            # Cancelled while it starts: nobody would be left to stop it.
            with anyio.CancelScope(shield=True):
                await task.stop()
            raise
        if task._error is not None:
            raise task._error
        return task

    async def stop(self) -> None:
        """Cancel the function and wait until it has returned."""
        self._scope.cancel()
        await self._done.wait()

    async def _run(self, function: Callable[..., Awaitable[None]]) -> None:
        try:
            with self._scope:
                await function(task_status=_Started(self._started))
        except Exception as exc:
            if self._started.is_set():
                raise  # logged by the backend
            self._error = exc
        finally:
            self._started.set()
            self._done.set()
