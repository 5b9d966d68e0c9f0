"""Connections: a bounded LIFO pool of proven, idle-expiring conductor connections.

Ownership rules (what keeps the pool sound under cancellation): every change of
who owns a connection or a permit happens synchronously, with no ``await``
between taking a thing and recording it; a connection returns to the pool only
after a complete request/response cycle (the caller says so); anything else
closes it. Closing comes last, after the books are updated.

The conductor serves a fixed number of connections at once (5 by default) and
silently leaves the others unread until one closes. So a new connection first
proves it is served (see :data:`._transport.HANDSHAKE`) and only then carries
requests. When a new connection is not served within :data:`PROBE_WINDOW`
while this pool already has proven connections, the conductor is at its cap:
the connection is dropped and its permit is withheld, lowering the pool's
capacity to the connections the conductor does serve; the caller then waits
for one of those. Withheld permits come back when the pool has no live
connection left (after the reaper or errors closed them all), so capacity is
re-measured from scratch once the pool has gone quiet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

import anyio

from ._errors import DaemonError, DaemonNotRunningError
from ._transport import HANDSHAKE, NO_DEADLINE, Connection, DeadlinePassed, by_deadline

PROBE_WINDOW = 0.2
"""Seconds a new connection may take to prove it is served while others already are."""

_log = logging.getLogger("marianne_sdk")


class _NotServed(Exception):
    """A probing connection was given up: the conductor serves no more connections."""


class Pool:
    """Connections to one socket for request/response cycles.

    ``acquire`` hands out a proven connection and a permit; every ``acquire``
    must be followed by exactly one ``release``.
    """

    def __init__(
        self,
        path: str,
        *,
        size: int,
        max_idle_seconds: float,
        connect_timeout: float,
        trusted_uids: Collection[int] | None,
    ) -> None:
        self._path = path
        self._trusted_uids = trusted_uids
        self._size = size
        self._max_idle = max_idle_seconds
        self._connect_timeout = connect_timeout
        self._permits = anyio.Semaphore(size, fast_acquire=True)
        self._idle: list[tuple[Connection, float]] = []  # oldest first; reuse from the end
        self._live = 0  # proven connections, idle or leased
        self._withheld = 0
        self._closed = False
        self._reaper_wake: anyio.Event | None = None

    @property
    def free_permits(self) -> int:
        """Permits not held by a caller nor withheld (all of them when the pool is quiet)."""
        return self._permits.value

    @property
    def capacity(self) -> int:
        """How many connections the pool currently allows at once."""
        return self._size - self._withheld

    @property
    def live_connections(self) -> int:
        """Open proven connections, idle or leased."""
        return self._live

    def has_idle_connection(self) -> bool:
        """Whether :meth:`acquire` would most likely not have to wait now."""
        return bool(self._idle) and self._permits.value > 0

    async def acquire(self, deadline: float = NO_DEADLINE) -> Connection:
        """A proven connection for one request/response cycle, by ``deadline``.

        Raises :class:`DaemonNotRunningError` when no connection can be made,
        :class:`._transport.Disconnected` when one was closed before it was
        proven (nothing was sent on it), or :class:`._transport.DeadlinePassed`.
        """
        while True:
            self._check_open()
            try:
                self._permits.acquire_nowait()
            except anyio.WouldBlock:
                await by_deadline(deadline, self._permits.acquire())
            try:
                self._check_open()
                return await self._checkout(deadline)
            except _NotServed:
                self._withheld += 1  # keep the permit: one connection fewer at a time
                _log.debug("conductor serves no more connections: pool capacity %d", self.capacity)
            except BaseException:
                self._permits.release()
                raise

    async def release(self, connection: Connection, *, reusable: bool) -> None:
        """Give back an acquired connection, to be reused only if ``reusable``."""
        self._permits.release()
        if reusable and not self._closed:
            self._idle.append((connection, time.monotonic()))
            wake = self._reaper_wake
            if wake is not None:
                self._reaper_wake = None
                wake.set()
            return
        self._forget()
        _log.debug("connection discarded")
        await connection.aclose()

    async def open_dedicated(self) -> Connection:
        """A proven connection outside the pool (for a stream); the caller closes it."""
        self._check_open()
        return await self._open(probing=False)

    async def run_reaper(self) -> None:
        """Close idle connections as they expire, so an idle client holds no conductor slot."""
        while True:
            if not self._idle:
                self._reaper_wake = wake = anyio.Event()
                await wake.wait()
                continue
            delay = self._idle[0][1] + self._max_idle - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            else:
                await self._close_all(self._take_expired())

    async def aclose(self) -> None:
        """Close idle connections and refuse new acquisitions; leased ones close on release."""
        self._closed = True
        idle = [connection for connection, _ in self._idle]
        self._idle.clear()
        for _ in idle:
            self._forget()
        await self._close_all(idle)

    async def _checkout(self, deadline: float) -> Connection:
        # The newest idle connection is the least likely to have expired; if
        # it has, so have all the others, and the loop closes them all.
        while self._idle:
            connection, idle_since = self._idle.pop()
            if time.monotonic() - idle_since < self._max_idle and connection.is_reusable():
                return connection
            self._forget()
            _log.debug("idle connection expired, closed or unclean: discarded before use")
            await connection.aclose()
        connection = await self._open(probing=True, deadline=deadline)
        self._live += 1
        return connection

    async def _open(self, *, probing: bool, deadline: float = NO_DEADLINE) -> Connection:
        """A new connection, proven served within ``connect_timeout`` and by ``deadline``."""
        give_up = anyio.current_time() + self._connect_timeout
        try:
            return await by_deadline(min(deadline, give_up), self._connect(probing=probing))
        except DeadlinePassed:
            if deadline <= give_up:
                raise
        raise DaemonNotRunningError(
            f"the conductor at {self._path} did not serve a new connection within "
            f"{self._connect_timeout} s (all its connection slots busy?)"
        )

    async def _connect(self, *, probing: bool) -> Connection:
        """Connect and prove the connection is served.

        With ``probing``, give up (:class:`_NotServed`) once the proof has taken
        longer than :data:`PROBE_WINDOW` while other proven connections exist.
        """
        connection = await Connection.open(self._path, self._trusted_uids)
        try:
            served = await self._prove(connection, probing=probing)
        except BaseException:
            await connection.aclose()
            raise
        if served:
            return connection
        await connection.aclose()
        raise _NotServed

    async def _prove(self, connection: Connection, *, probing: bool) -> bool:
        """Whether the conductor answers the handshake (False: given up while probing)."""
        await connection.send_line(HANDSHAKE)
        while True:
            with anyio.move_on_after(PROBE_WINDOW):
                await connection.handshake_reply()
                return True
            if probing and self._live:
                return False

    def _take_expired(self) -> list[Connection]:
        cutoff = time.monotonic() - self._max_idle
        count = 0
        for _, idle_since in self._idle:
            if idle_since > cutoff:
                break
            count += 1
        expired = [connection for connection, _ in self._idle[:count]]
        del self._idle[:count]
        for _ in expired:
            self._forget()
        if expired:
            _log.debug("closing %d expired idle connection(s)", len(expired))
        return expired

    def _forget(self) -> None:
        self._live -= 1
        if self._live == 0 and self._withheld:
            _log.debug("no live connections: pool capacity back to %d", self._size)
            for _ in range(self._withheld):
                self._permits.release()
            self._withheld = 0

    def _check_open(self) -> None:
        if self._closed:
            raise DaemonError("the DaemonClient is closed")

    @staticmethod
    async def _close_all(connections: list[Connection]) -> None:
        for connection in connections:
            await connection.aclose()
