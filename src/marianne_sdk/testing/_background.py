"""A function run beside the caller's code, outside its task tree: how a fake serves.

A fake may be entered in one task and left in another (pytest-asyncio sets a
fixture up and tears it down in different tasks), so what it runs may not
belong to the task that entered it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import anyio
from anyio.abc import TaskStatus

from .._backends import current_backend


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
        await task._started.wait()
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
