"""A FakeDaemon on an event loop of its own thread.

For code under test that blocks (the sync client, CLI and example
subprocesses): the test thread stays free to wait on it, and reaches the fake
through :meth:`ThreadedFake.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from marianne_sdk.testing import FakeDaemon

T = TypeVar("T")


class ThreadedFake:
    def __init__(self, portal: BlockingPortal, fake: FakeDaemon) -> None:
        self._portal = portal
        self.fake = fake
        self.socket_path = fake.socket_path

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``function`` (e.g. ``fake.inject``) on the fake's loop."""
        return self._portal.call(partial(function, *args, **kwargs))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Return once ``predicate()`` holds; TimeoutError after ``timeout`` seconds."""

        async def wait() -> None:
            with anyio.fail_after(timeout):
                await self.fake.wait_for(predicate)

        self._portal.call(wait)


@contextmanager
def threaded_fake(socket_path: Path, **options: Any) -> Iterator[ThreadedFake]:
    with start_blocking_portal("asyncio") as portal:
        fake = FakeDaemon(socket_path, **options)
        with portal.wrap_async_context_manager(fake):
            yield ThreadedFake(portal, fake)
