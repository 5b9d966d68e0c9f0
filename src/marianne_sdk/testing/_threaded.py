"""The fake served from a thread of its own, for blocking code: :class:`ThreadedFakeDaemon`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._envelopes import Handler, ReceivedRequest
from ._faults import Fault
from ._replay import RecordedCall

if TYPE_CHECKING:
    from ._server import FakeDaemon

T = TypeVar("T")


class ThreadedFakeDaemon:
    """A :class:`FakeDaemon` serving in a thread of its own: see :meth:`FakeDaemon.in_thread`.

    The same configuration and observations, called from the test's thread.
    Configuration runs on the fake's event loop (it waits for that); the
    observations read the fake's current state. Registered handlers run on
    the fake's loop, in its thread.
    """

    def __init__(self, portal: BlockingPortal, fake: FakeDaemon) -> None:
        self._portal = portal
        self._fake = fake

    @property
    def socket_path(self) -> str:
        """The socket the fake listens on."""
        return self._fake.socket_path

    def __repr__(self) -> str:
        return f"<in a thread: {self._fake!r}>"

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on the fake's event loop and return its result.

        ``function`` may be a coroutine function.
        """

        async def run() -> T:
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                awaited: T = await result
                return awaited
            return result

        return self._portal.call(run)

    def stop_like_conductor(self, *, grace: float | None = None) -> None:
        """See :meth:`FakeDaemon.stop_like_conductor`."""
        self._portal.call(partial(self._fake.stop_like_conductor, grace=grace))

    def restart(self, *, keep_jobs: bool = True) -> None:
        """See :meth:`FakeDaemon.restart`."""
        self._portal.call(partial(self._fake.restart, keep_jobs=keep_jobs))

    def go_silent(self) -> None:
        """See :meth:`FakeDaemon.go_silent`."""
        self.call(self._fake.go_silent)

    def resume_answering(self) -> None:
        """See :meth:`FakeDaemon.resume_answering`."""
        self.call(self._fake.resume_answering)

    # ---- configuration (see FakeDaemon) ---------------------------------------

    def register(self, method: str, handler: Handler, *, notification: str | None = None) -> None:
        """See :meth:`FakeDaemon.register`; the handler runs in the fake's thread."""
        self.call(self._fake.register, method, handler, notification=notification)

    def inject(
        self,
        fault: Fault | str,
        method: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> None:
        """See :meth:`FakeDaemon.inject`."""
        self.call(self._fake.inject, fault, method, times, delay)

    def plan_job(self, job_id: str, *, sheets: int = 3, fail_at_sheet: int | None = None) -> None:
        """See :meth:`FakeDaemon.plan_job`."""
        self.call(self._fake.plan_job, job_id, sheets=sheets, fail_at_sheet=fail_at_sheet)

    def set_rate_limit(self, backend: str, seconds: float) -> None:
        """See :meth:`FakeDaemon.set_rate_limit`."""
        self.call(self._fake.set_rate_limit, backend, seconds)

    def emit(
        self,
        event: str,
        *,
        job_id: str = "",
        sheet_num: int = 0,
        data: dict[str, Any] | None = None,
    ) -> None:
        """See :meth:`FakeDaemon.emit`."""
        self.call(self._fake.emit, event, job_id=job_id, sheet_num=sheet_num, data=data)

    # ---- observation (see FakeDaemon) ------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A copy of :attr:`FakeDaemon.requests`: every request read so far, in order."""
        return list(self._fake.requests)

    @property
    def open_connections(self) -> int:
        """See :attr:`FakeDaemon.open_connections`."""
        return self._fake.open_connections

    @property
    def served_connections(self) -> int:
        """See :attr:`FakeDaemon.served_connections`."""
        return self._fake.served_connections

    @property
    def accepted_connections(self) -> int:
        """See :attr:`FakeDaemon.accepted_connections`."""
        return self._fake.accepted_connections

    @property
    def shutting_down(self) -> bool:
        """See :attr:`FakeDaemon.shutting_down` (setting it runs on the fake's loop)."""
        return self._fake.shutting_down

    @shutting_down.setter
    def shutting_down(self, value: bool) -> None:
        self.call(setattr, self._fake, "shutting_down", value)

    @property
    def monitor_subscribers(self) -> int:
        """See :attr:`FakeDaemon.monitor_subscribers`."""
        return self._fake.monitor_subscribers

    @property
    def methods(self) -> frozenset[str]:
        """See :attr:`FakeDaemon.methods`."""
        return self._fake.methods

    def count(self, method: str, *, connection: int | None = None) -> int:
        """See :meth:`FakeDaemon.count`."""
        return self._fake.count(method, connection=connection)

    def unused(self) -> list[RecordedCall]:
        """See :meth:`FakeDaemon.unused`."""
        return self._fake.unused()

    def job_status(self, job_id: str) -> str | None:
        """See :meth:`FakeDaemon.job_status`."""
        return self._fake.job_status(job_id)

    def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 30.0) -> None:
        """Block until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` seconds.

        ``predicate`` runs on the fake's loop at each change of its state, as
        with :meth:`FakeDaemon.wait_for`; it may read this object's observations.
        """

        async def wait() -> None:
            with anyio.move_on_after(timeout) as scope:
                await self._fake.wait_for(predicate)
            if scope.cancelled_caught:
                raise TimeoutError(f"the FakeDaemon's state did not match within {timeout} s")

        self._portal.call(wait)
