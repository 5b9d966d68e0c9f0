"""Connections: a bounded LIFO pool of proven, idle-expiring conductor connections.

Ownership rules (what keeps the pool sound under cancellation): every change of
who owns a connection or a slot happens synchronously, with no ``await``
between taking a thing and recording it; a connection returns to the pool only
after a complete request/response cycle (the caller says so); anything else
closes it.

Callers beyond the pool's capacity wait in line. A released connection goes
straight to the first caller in line, and a freed slot lets the first caller
open a new connection: nobody overtakes, and no slot is free while someone
waits. A waiter cancelled after something was handed to it passes it on.

While :meth:`Pool.run_housekeeping` runs, the pool enforces the deadlines its
callers give :meth:`Pool.acquire`, for the whole time they wait in line and
hold the connection: one timer for the whole pool, instead of a cancel scope
per call (which costs more than the rest of a pooled call's bookkeeping). A
waiter whose deadline passes leaves the line with :class:`DeadlinePassed`; a
connection whose holder's deadline passes is closed under it
(:meth:`._transport.Connection.expire`), which is also what a timeout must do
to a connection whose response may still come. The same task closes idle
connections as they expire.

The conductor serves a fixed number of connections at once (5 by default) and
silently leaves the others unread until one closes. So a new connection first
proves it is served (see :data:`._transport.HANDSHAKE`) and only then carries
requests. When a new connection is not served within :data:`PROBE_WINDOW`
while this pool already has proven connections, the conductor is at its cap:
the connection is dropped and its slot is withheld, lowering the pool's
capacity to the connections the conductor does serve; the caller then waits
for one of those. Withheld slots all come back when the pool has no live
connection left (after the housekeeper or errors closed them all), so
capacity is re-measured from scratch once the pool has gone quiet. A pool that
never goes quiet lends one back for a new probe every
:data:`RETRY_CAPACITY_AFTER` seconds, to a caller that would otherwise wait:
the conductor may serve more connections by then (other clients left).
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Collection
from enum import Enum, auto
from typing import Any

import anyio
from anyio.abc import TaskStatus

from ._errors import DaemonError, DaemonNotRunningError
from ._eventloop import Wakeup, current_time
from ._transport import (
    HANDSHAKE,
    NO_DEADLINE,
    Connection,
    DeadlinePassed,
    by_deadline,
)

PROBE_WINDOW = 0.2
"""Seconds a new connection may take to prove it is served while others already are."""

RETRY_CAPACITY_AFTER = 10.0
"""Seconds after the pool's capacity was last lowered before it probes for more.

A probe the conductor does not serve costs its caller :data:`PROBE_WINDOW`."""

_COMPACT_AFTER = 64
"""Finished timers tolerated in the heap before it is rebuilt without them."""

_log = logging.getLogger("marianne_sdk")


class _NotServed(Exception):
    """A probing connection was given up: the conductor serves no more connections."""


class _Turn(Enum):
    WAITING = auto()
    HANDED = auto()  # a connection, leased to the waiter
    GRANTED = auto()  # a slot: the waiter opens a connection
    EXPIRED = auto()  # its deadline passed


class _Waiter:
    """A caller in line for a connection."""

    __slots__ = ("connection", "timer", "turn", "wakeup")

    def __init__(self) -> None:
        self.wakeup = Wakeup()
        self.turn = _Turn.WAITING
        self.connection: Connection | None = None
        self.timer: _Timer | None = None

    def end_wait(self, turn: _Turn, connection: Connection | None = None) -> None:
        self.turn = turn
        self.connection = connection
        self.wakeup.set()


_Timer = list[Any]
"""``[deadline, sequence number, target]``, a list so that the heap compares in C:
target is a :class:`_Waiter`, a leased :class:`Connection`, or None once
nothing is left to expire."""


class Pool:
    """Connections to one socket for request/response cycles.

    ``acquire`` hands out a proven connection holding one of the pool's slots;
    every ``acquire`` must be followed by exactly one ``release``.
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
        self._busy = 0  # slots held: leased connections and connections being opened
        self._withheld = 0
        self._capacity_lowered_at = 0.0
        self._idle: list[tuple[Connection, float]] = []  # oldest first; reuse from the end
        self._line: deque[_Waiter] = deque()
        self._closed = False
        self._timers: list[_Timer] = []  # a heap
        self._finished_timers = 0
        self._timer_numbers = itertools.count()
        self._leased: dict[Connection, _Timer | None] = {}  # with its deadline's timer
        self._alarm: anyio.CancelScope | None = None  # the housekeeper's sleep, while it runs

    @property
    def capacity(self) -> int:
        """How many connections the pool currently allows at once."""
        return self._size - self._withheld

    @property
    def free_slots(self) -> int:
        """Slots neither held by a caller nor withheld (all of them when the pool is quiet)."""
        return self.capacity - self._busy

    @property
    def in_use(self) -> int:
        """Connections leased or being opened for callers."""
        return self._busy

    @property
    def live_connections(self) -> int:
        """Open proven connections, idle or leased."""
        return len(self._idle) + len(self._leased)

    @property
    def enforces_deadlines(self) -> bool:
        """Whether :meth:`acquire`'s deadline is enforced (while :meth:`run_housekeeping` runs)."""
        return self._alarm is not None

    async def acquire(self, deadline: float = NO_DEADLINE) -> Connection:
        """A proven connection for one request/response cycle, by ``deadline``.

        Raises :class:`DaemonNotRunningError` when no connection can be made,
        :class:`._transport.Disconnected` when one was closed before it was
        proven (nothing was sent on it), or :class:`._transport.DeadlinePassed`.
        Waiting in line is bounded by ``deadline`` only if
        :attr:`enforces_deadlines`; otherwise the caller bounds it.
        """
        while True:
            self._check_open()
            if self._busy < self.capacity or self._lend_withheld_slot():
                self._busy += 1
                connection = self._take_idle()
                if connection is not None:
                    self._lease(connection, deadline)
                    return connection
            else:
                connection = await self._wait_in_line(deadline)
                if connection is not None:
                    return connection
            try:
                self._check_open()
                connection = await self._open(probing=True, deadline=deadline)
            except _NotServed:
                self._busy -= 1
                self._withheld += 1  # one connection fewer at a time
                self._capacity_lowered_at = current_time()
                _log.debug("conductor serves no more connections: pool capacity %d", self.capacity)
                continue
            except BaseException:
                self._free_slot()
                raise
            self._lease(connection, deadline)
            return connection

    def release(self, connection: Connection, *, reusable: bool) -> None:
        """Give back an acquired connection, to be reused only if ``reusable``.

        A connection closed meanwhile is not reused whatever the caller says:
        its deadline may have closed it after its answer had already arrived.
        """
        timer = self._leased.pop(connection)
        if timer is not None:
            self._finish(timer)
        if reusable and not self._closed and not connection.closed:
            self._pass_on(connection)
            return
        _log.debug("connection discarded")
        connection.close()
        self._regain_capacity_if_quiet()
        self._free_slot()

    async def open_dedicated(self) -> Connection:
        """A proven connection outside the pool (for a stream); the caller closes it."""
        self._check_open()
        return await self._open(probing=False)

    async def run_housekeeping(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Enforce deadlines and close idle connections as they expire, until cancelled.

        An idle client then holds no conductor slot. Deadlines are enforced
        from when the task has started (``task_status``). The pool's life ends
        with this task's: the pool closes, and calls still in flight end (their
        connection closes under them, or they leave the line with
        :class:`DaemonError`).
        """
        report_started: TaskStatus[None] | None = task_status
        try:
            while True:
                now = current_time()
                self._expire_timers(now)
                self._close_expired_idle(now)
                with anyio.CancelScope(deadline=self._next_alarm()) as self._alarm:
                    if report_started is not None:
                        report_started.started()
                        report_started = None
                    await anyio.sleep_forever()
        finally:
            self._alarm = None
            self.close()
            for connection in list(self._leased):
                connection.close()
            self._grant_waiting(all_waiters=True)

    def close(self) -> None:
        """Close idle connections and refuse new acquisitions; leased ones close on release."""
        self._closed = True
        idle = [connection for connection, _ in self._idle]
        self._idle.clear()
        for connection in idle:
            connection.close()
        self._regain_capacity_if_quiet()

    def _take_idle(self) -> Connection | None:
        # The newest idle connection is the least likely to have expired; if
        # it has, so have all the others, and the loop closes them all.
        while self._idle:
            connection, idle_since = self._idle.pop()
            if current_time() - idle_since < self._max_idle and connection.is_reusable():
                return connection
            _log.debug("idle connection expired, closed or unclean: discarded before use")
            connection.close()
            self._regain_capacity_if_quiet()
        return None

    async def _wait_in_line(self, deadline: float) -> Connection | None:
        """Wait for a connection (returned, leased) or a slot (None)."""
        waiter = _Waiter()
        self._line.append(waiter)
        if deadline != NO_DEADLINE and self._alarm is not None:
            waiter.timer = self._start_timer(deadline, waiter)
        try:
            await waiter.wakeup.wait()
        except BaseException:
            self._leave_line(waiter)
            raise
        if waiter.turn is _Turn.EXPIRED:
            raise DeadlinePassed
        return waiter.connection

    def _leave_line(self, waiter: _Waiter) -> None:
        """A cancelled waiter: what was handed to it goes to the next in line."""
        turn, connection = waiter.turn, waiter.connection
        if turn is _Turn.HANDED:
            assert connection is not None
            self.release(connection, reusable=True)
        elif turn is _Turn.GRANTED:
            self._free_slot()
        elif turn is _Turn.WAITING:
            self._line.remove(waiter)
            if waiter.timer is not None:
                self._finish(waiter.timer)

    def _next_in_line(self) -> _Waiter | None:
        """The first waiter, out of the line (which holds only waiting callers)."""
        return self._line.popleft() if self._line else None

    def _pass_on(self, connection: Connection) -> None:
        """A reusable connection, still holding its slot: to the next in line, or idle."""
        waiter = self._next_in_line()
        if waiter is None:
            self._busy -= 1
            idle_since = current_time()
            self._idle.append((connection, idle_since))
            self._wake_by(idle_since + self._max_idle)
            return
        timer = waiter.timer
        if timer is not None:
            timer[2] = connection
        self._leased[connection] = timer
        waiter.end_wait(_Turn.HANDED, connection)

    def _free_slot(self) -> None:
        self._busy -= 1
        self._grant_waiting()

    def _grant_waiting(self, *, all_waiters: bool = False) -> None:
        """Let waiters open connections while slots are free (or all of them, to fail)."""
        while all_waiters or self._busy < self.capacity:
            waiter = self._next_in_line()
            if waiter is None:
                return
            if waiter.timer is not None:
                self._finish(waiter.timer)
            self._busy += 1
            waiter.end_wait(_Turn.GRANTED)

    def _lease(self, connection: Connection, deadline: float) -> None:
        enforced = deadline != NO_DEADLINE and self._alarm is not None
        self._leased[connection] = self._start_timer(deadline, connection) if enforced else None

    def _start_timer(self, deadline: float, target: _Waiter | Connection) -> _Timer:
        timer: _Timer = [deadline, next(self._timer_numbers), target]
        heapq.heappush(self._timers, timer)
        self._wake_by(deadline)
        return timer

    def _finish(self, timer: _Timer) -> None:
        """Forget a timer that has nothing left to expire."""
        timer[2] = None
        self._finished_timers += 1
        if self._finished_timers > _COMPACT_AFTER and 2 * self._finished_timers > len(self._timers):
            self._timers = [live for live in self._timers if live[2] is not None]
            heapq.heapify(self._timers)
            self._finished_timers = 0

    def _expire_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            target = heapq.heappop(timers)[2]
            if target is None:
                self._finished_timers -= 1
            elif isinstance(target, _Waiter):
                self._line.remove(target)
                target.end_wait(_Turn.EXPIRED)
            else:
                assert isinstance(target, Connection)
                self._leased[target] = None
                _log.debug("deadline passed: closing the connection under its caller")
                target.expire()

    def _wake_by(self, when: float) -> None:
        alarm = self._alarm
        if alarm is not None and when < alarm.deadline:
            alarm.deadline = when

    def _next_alarm(self) -> float:
        timers = self._timers
        while timers and timers[0][2] is None:
            heapq.heappop(timers)
            self._finished_timers -= 1
        wake = timers[0][0] if timers else NO_DEADLINE
        if self._idle:
            wake = min(wake, self._idle[0][1] + self._max_idle)
        return wake

    def _close_expired_idle(self, now: float) -> None:
        cutoff = now - self._max_idle
        count = 0
        for _, idle_since in self._idle:
            if idle_since > cutoff:
                break
            count += 1
        if not count:
            return
        expired = [connection for connection, _ in self._idle[:count]]
        del self._idle[:count]
        _log.debug("closing %d expired idle connection(s)", len(expired))
        for connection in expired:
            connection.close()
        self._regain_capacity_if_quiet()

    async def _open(self, *, probing: bool, deadline: float = NO_DEADLINE) -> Connection:
        """A new connection, proven served within ``connect_timeout`` and by ``deadline``."""
        give_up = current_time() + self._connect_timeout
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
            connection.close()
            raise
        if served:
            return connection
        connection.close()
        raise _NotServed

    async def _prove(self, connection: Connection, *, probing: bool) -> bool:
        """Whether the conductor answers the handshake (False: given up while probing)."""
        await connection.send_line(HANDSHAKE)
        while True:
            with anyio.move_on_after(PROBE_WINDOW):
                await connection.handshake_reply()
                return True
            if probing and self.live_connections:
                return False

    def _lend_withheld_slot(self) -> bool:
        """Whether a withheld slot is given back for one more probe (see the module's doc)."""
        if not self._withheld or current_time() - self._capacity_lowered_at < RETRY_CAPACITY_AFTER:
            return False
        self._withheld -= 1
        _log.debug("probing whether the conductor serves more: pool capacity %d", self.capacity)
        return True

    def _regain_capacity_if_quiet(self) -> None:
        """After proven connections closed: with none left, every withheld slot comes back."""
        if self._withheld and not self.live_connections:
            _log.debug("no live connections: pool capacity back to %d", self._size)
            self._withheld = 0
            self._grant_waiting()

    def _check_open(self) -> None:
        if self._closed:
            raise DaemonError("the DaemonClient is closed")
