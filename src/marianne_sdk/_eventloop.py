"""What differs between event loops, where anyio's portable way costs too much per call.

anyio's generic calls look the running backend up each time, and its Event
wraps an ``asyncio.Event``: microseconds that add up on a pooled call that
costs about twenty in all. On asyncio these use the loop directly; on trio
(and anything else) they are anyio's own.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import anyio

if TYPE_CHECKING:
    import asyncio


def running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio event loop this task runs on; None under trio.

    Found without importing asyncio, which would add 6 MB and 17 ms to
    importing the SDK: no asyncio loop runs unless asyncio is imported.
    """
    asyncio_module = sys.modules.get("asyncio")
    if asyncio_module is None:
        return None
    return cast("asyncio.AbstractEventLoop | None", asyncio_module.events._get_running_loop())


def current_time() -> float:
    """``anyio.current_time()``: the loop's clock, on which deadlines are set."""
    loop = running_asyncio_loop()
    return loop.time() if loop is not None else anyio.current_time()


class Wakeup:
    """A one-shot signal that one task waits for (a bare future on asyncio)."""

    __slots__ = ("_event", "_future")

    def __init__(self) -> None:
        loop = running_asyncio_loop()
        self._future: asyncio.Future[None] | None = None
        self._event: anyio.Event | None = None
        if loop is None:
            self._event = anyio.Event()
        else:
            self._future = loop.create_future()

    def set(self) -> None:
        """Wake the waiting task (a no-op if it was cancelled meanwhile)."""
        if self._future is not None:
            if not self._future.done():
                self._future.set_result(None)
        else:
            assert self._event is not None
            self._event.set()

    async def wait(self) -> None:
        """Return once :meth:`set` has been called."""
        if self._future is not None:
            await self._future
        else:
            assert self._event is not None
            await self._event.wait()
