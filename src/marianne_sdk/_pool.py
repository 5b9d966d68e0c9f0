"""Connections: a small pool of proven conductor connections that expire when idle.

The pool is a state machine in the manner of httpcore's connection pool: a
queue of callers and a set of connections, and one function, :meth:`Pool._assign`,
that hands idle connections, or slots to open new ones, to the callers at the
front of the queue. Every change of who owns a connection or a slot happens
synchronously, with no ``await`` between taking a thing and recording it, so
cancellation at any await point leaks nothing. A connection goes back to the
pool only after a complete request/response cycle (its caller says so);
anything else closes it.

The pool owns its callers' deadlines. One timer per call, on the event loop's
own clock (:mod:`._backends`), covers waiting in the queue and holding the
connection: a caller whose deadline passes in line leaves it with
:class:`DeadlinePassed`; one whose deadline passes while it holds a connection
has the connection closed under it (:meth:`Connection.expire`), which is also
what a timeout must do to a connection whose response may still come. Opening
a connection, which is rare, is bounded by a cancel scope. Idle connections
close on another timer after ``max_idle_seconds``, whether or not the client
was entered with ``async with``: idle, a client holds no conductor slot.

The conductor serves a fixed number of connections at once, across all
programs, and leaves further ones unread until one closes (protocol §1.7). A
new connection therefore proves it is served (see :data:`HANDSHAKE`) before it
carries requests, and :class:`_Capacity` learns how many this pool may have.
"""

from __future__ import annotations

import enum
import logging
import os
import weakref
from collections import deque
from collections.abc import Callable

import anyio

from ._backends import (
    NEVER,
    NO_DEADLINE,
    UNBOUND,
    Backend,
    Deadline,
    Timer,
    Wakeup,
    current_backend,
)
from ._failures import DeadlinePassed, NoSlot, PoolClosed
from ._transport import HANDSHAKE, Connection, Connector, Opened, connection_type

PROBE_WINDOW = 0.2
"""Seconds a new connection may take to prove it is served while others already are."""

RETRY_CAPACITY_AFTER = 10.0
"""Seconds after the pool's capacity was last lowered before it probes for more.

A probe the conductor does not serve costs its caller :data:`PROBE_WINDOW`."""

_log = logging.getLogger("marianne_sdk")


class _NotServed(Exception):
    """A probing connection was given up: the conductor serves no more connections."""


class _Capacity:
    """How many connections the conductor serves this pool at once.

    At most the pool's size. When a new connection is not served within
    :data:`PROBE_WINDOW` while the pool already has served ones, the
    conductor is at its cap: that slot is withheld, and callers wait for the
    connections the conductor does serve. Withheld slots all come back once
    the pool has no live connection (capacity is then measured afresh); a
    pool that never goes quiet lends one back for a new probe every
    :data:`RETRY_CAPACITY_AFTER` seconds, since other programs may have left.
    """

    __slots__ = ("_lowered_at", "_withheld", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._withheld = 0
        self._lowered_at = 0.0

    @property
    def limit(self) -> int:
        return self.size - self._withheld

    def lower(self, now: float) -> None:
        self._withheld += 1
        self._lowered_at = now
        _log.debug("conductor serves no more connections: pool capacity %d", self.limit)

    def lend_probe(self, now: float) -> bool:
        """Whether a withheld slot is lent for one more probe now."""
        if not self._withheld or now - self._lowered_at < RETRY_CAPACITY_AFTER:
            return False
        self._withheld -= 1
        _log.debug("probing whether the conductor serves more: pool capacity %d", self.limit)
        return True

    def restore(self) -> None:
        if self._withheld:
            _log.debug("no live connections: pool capacity back to %d", self.size)
            self._withheld = 0


class _State(enum.Enum):
    WAITING = enum.auto()  # in the queue
    OPENING = enum.auto()  # granted a slot: opens a connection
    LEASED = enum.auto()  # holds a connection
    EXPIRED = enum.auto()  # its deadline passed in line
    REFUSED = enum.auto()  # the pool closed while it waited


class _Caller:
    """One :meth:`Pool.acquire`, from the queue to the release of its connection."""

    __slots__ = ("connection", "state", "timer", "wakeup")

    def __init__(self) -> None:
        self.state = _State.WAITING
        self.connection: Connection | None = None
        self.timer: Timer | None = None
        self.wakeup: Wakeup | None = None  # made only if the caller has to wait

    def move_to(self, state: _State, connection: Connection | None = None) -> None:
        self.state = state
        self.connection = connection
        if self.wakeup is not None:
            self.wakeup.set()


class Pool:
    """Connections to one socket for request/response cycles.

    ``acquire`` hands out a proven connection holding one of the pool's slots;
    every ``acquire`` must be followed by exactly one ``release``.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        size: int,
        max_idle_seconds: float,
    ) -> None:
        self._connector = connector
        self._max_idle = max_idle_seconds
        self._capacity = _Capacity(size)
        self._queue: deque[_Caller] = deque()
        self._idle: list[tuple[Connection, float]] = []  # with when it went idle; oldest first
        self._leases: dict[Connection, _Caller] = {}
        self._opening = 0
        self._idle_timer: Timer | None = None
        # Stream connections, which the pool opens but does not hold: known
        # only so that a forked child can forget them.
        self._dedicated: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._backend: Backend = UNBOUND
        self._make_connection: Callable[[Opened], Connection] = Connection
        self._closed = False
        self._pid = os.getpid()
        _pools.add(self)

    # ---- what the pool holds (derived, never counted by hand) ----

    @property
    def in_use(self) -> int:
        """Slots held by callers: connections leased or being opened."""
        return len(self._leases) + self._opening

    @property
    def idle_connections(self) -> int:
        """Open connections waiting for a caller."""
        return len(self._idle)

    @property
    def live_connections(self) -> int:
        """Open proven connections, idle or leased."""
        return len(self._idle) + len(self._leases)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    # ---- the callers' side ----

    async def acquire(self, deadline: Deadline = NO_DEADLINE) -> Connection:
        """A proven connection for one request/response cycle, held until ``deadline``.

        Raises :class:`Unreachable` when no connection can be made,
        :class:`NoSlot` when the conductor served none before the deadline,
        :class:`Disconnected` when one was closed before it was proven
        (nothing was sent on it), :class:`DeadlinePassed`, or
        :class:`PoolClosed`.
        Once acquired, the connection is closed under its holder when
        ``deadline`` passes.
        """
        backend = self._bind()
        caller = _Caller()
        if deadline.at != NEVER:
            caller.timer = backend.call_at(deadline.at, self._deadline_passed, caller)
        try:
            return await self._serve(caller, deadline)
        except BaseException:
            if caller.timer is not None:
                caller.timer.cancel()
            raise

    def release(self, connection: Connection, *, reusable: bool) -> None:
        """Give back an acquired connection, to be reused only if ``reusable``.

        A connection closed meanwhile is not reused whatever the caller says:
        its deadline may have closed it after its answer had already arrived.
        """
        caller = self._leases.pop(connection, None)
        if caller is None:  # forgotten in a forked child
            return
        if caller.timer is not None:
            caller.timer.cancel()
        if not reusable or self._closed or connection.closed:
            _log.debug("connection discarded")
            self._discard(connection)
            self._assign()
        elif self._queue:
            # Straight to the first caller in the queue: it has just completed a
            # cycle, so it needs none of an idle connection's checks.
            self._lease(self._queue.popleft(), connection)
        else:
            self._idle.append((connection, self._time()))
            self._arm_idle_timer()

    async def open_dedicated(self, deadline: Deadline) -> Connection:
        """A proven connection outside the pool's slots (for a stream); the caller closes it."""
        self.check_open()
        self._bind()
        connection = await self._open(deadline, probing=False)
        self._dedicated.add(connection)
        return connection

    def close(self) -> None:
        """Close idle connections and refuse new callers; leased ones close on release.

        Callers still in the queue leave it with :class:`PoolClosed`.
        """
        self._closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()
        queue, self._queue = self._queue, deque()
        for caller in queue:
            if caller.timer is not None:
                caller.timer.cancel()
            caller.move_to(_State.REFUSED)

    # ---- the state machine ----

    async def _serve(self, caller: _Caller, deadline: Deadline) -> Connection:
        while True:
            self.check_open()
            self._queue.append(caller)
            self._assign()
            if caller.state is _State.WAITING:
                caller.wakeup = self._backend.wakeup()
                try:
                    await caller.wakeup.wait()
                except BaseException:
                    self._leave_queue(caller)
                    raise
            if caller.state is _State.LEASED:
                assert caller.connection is not None
                return caller.connection
            if caller.state is _State.EXPIRED:
                raise DeadlinePassed
            if caller.state is _State.REFUSED:
                self.check_open()
            try:
                connection = await self._open(deadline, probing=True)
            except _NotServed:
                self._opening -= 1
                self._capacity.lower(self._time())
                caller.state = _State.WAITING
                self._rearm(caller, deadline)
                continue
            except BaseException:
                self._opening -= 1
                self._restore_capacity_if_quiet()
                self._assign()
                raise
            self._opening -= 1
            self._lease(caller, connection)
            self._rearm(caller, deadline)
            return connection

    def _assign(self) -> None:
        """Hand idle connections, then free slots, to the callers at the front of the queue."""
        queue = self._queue
        while queue:
            connection = self._take_idle()
            if connection is not None:
                self._lease(queue.popleft(), connection)
            elif self.in_use < self._capacity.limit or self._capacity.lend_probe(self._time()):
                self._opening += 1
                queue.popleft().move_to(_State.OPENING)
            else:
                return

    def _lease(self, caller: _Caller, connection: Connection) -> None:
        self._leases[connection] = caller
        caller.move_to(_State.LEASED, connection)

    def _leave_queue(self, caller: _Caller) -> None:
        """A cancelled waiter: what was handed to it goes to the next in the queue."""
        if caller.state is _State.WAITING:
            self._queue.remove(caller)
        elif caller.state is _State.LEASED:
            assert caller.connection is not None
            self.release(caller.connection, reusable=True)
        elif caller.state is _State.OPENING:
            self._opening -= 1
            self._assign()

    def _deadline_passed(self, caller: _Caller) -> None:
        """The timer of ``caller``'s deadline."""
        if caller.state is _State.OPENING:
            # Opening is bounded by its own cancel scope; should the caller
            # go on to hold a connection or wait again, :meth:`_rearm` applies
            # the deadline there.
            caller.timer = None
        elif caller.state is _State.WAITING:
            self._queue.remove(caller)
            caller.move_to(_State.EXPIRED)
        elif caller.state is _State.LEASED:
            assert caller.connection is not None
            _log.debug("deadline passed: closing the connection under its caller")
            caller.connection.expire()

    def _rearm(self, caller: _Caller, deadline: Deadline) -> None:
        if caller.timer is None and deadline.at != NEVER:
            timer = self._backend.call_at(deadline.at, self._deadline_passed, caller)
            caller.timer = timer

    def _take_idle(self) -> Connection | None:
        # The newest idle connection is the least likely to have expired; if
        # it has, so have all the others, and the loop closes them all.
        while self._idle:
            connection, idle_since = self._idle.pop()
            if self._time() - idle_since < self._max_idle and connection.is_reusable():
                return connection
            _log.debug("idle connection expired, closed or unclean: discarded before use")
            self._discard(connection)
        return None

    def _discard(self, connection: Connection) -> None:
        connection.close()
        self._restore_capacity_if_quiet()

    def _restore_capacity_if_quiet(self) -> None:
        if not self.live_connections:
            self._capacity.restore()

    # ---- idle expiry ----

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is None and self._idle:
            expires = self._idle[0][1] + self._max_idle
            self._idle_timer = self._backend.call_at(expires, self._close_expired_idle)

    def _close_expired_idle(self) -> None:
        self._idle_timer = None
        cutoff = self._time() - self._max_idle
        expired = 0
        while expired < len(self._idle) and self._idle[expired][1] <= cutoff:
            expired += 1
        if expired:
            _log.debug("closing %d expired idle connection(s)", expired)
            for connection, _ in self._idle[:expired]:
                connection.close()
            del self._idle[:expired]
            self._restore_capacity_if_quiet()
        self._arm_idle_timer()

    # ---- opening connections ----

    async def _open(self, deadline: Deadline, *, probing: bool) -> Connection:
        """A new connection, proven served by ``deadline``.

        With ``probing``, give up (:class:`_NotServed`) once the proof has
        taken longer than :data:`PROBE_WINDOW` while this pool has served
        connections: the conductor serves it no more.
        """
        connection = await self._connect(deadline)
        try:
            await self._prove(connection, deadline, probing=probing)
        except BaseException:
            connection.close()
            raise
        return connection

    async def _prove(self, connection: Connection, deadline: Deadline, *, probing: bool) -> None:
        """Wait for the conductor to answer the handshake: to serve the connection."""
        await connection.send_line(HANDSHAKE)
        while True:
            with anyio.CancelScope(deadline=min(deadline.at, self._time() + PROBE_WINDOW)):
                await connection.handshake_reply()
                return
            if probing and self.live_connections:
                raise _NotServed
            if self._time() >= deadline.at:
                raise NoSlot(
                    f"the conductor at {self._connector.target} is up but serves no more "
                    "connections: its connection slots are held by other programs (or by "
                    "this program's streams), and none came free in time"
                )

    async def _connect(self, deadline: Deadline) -> Connection:
        """A new connection by ``deadline``; the connector bounds its own wait too."""
        with anyio.CancelScope(deadline=deadline.at):
            return self._make_connection(await self._connector.connect())
        raise DeadlinePassed

    # ---- the event loop and the process ----

    async def checkpoint(self) -> None:
        """Let other tasks run, where the loop expects every await to (``Backend.checkpoint``)."""
        await self._backend.checkpoint()

    def deadline_after(self, seconds: float | None) -> Deadline:
        """The deadline ``seconds`` from now on the running loop's clock (None: never)."""
        return self._bind().deadline_after(seconds)

    def _bind(self) -> Backend:
        """The running loop's backend; a pool serves one loop after another, not two at once."""
        if self._pid != os.getpid():
            # A fork that os.register_at_fork did not see (a raw fork system call).
            self.forget_inherited()
        if self._backend.is_current():
            return self._backend
        backend = current_backend()
        if self._leases or self._queue or self._opening:
            raise RuntimeError("this client is in use on another event loop")
        # Idle connections of a finished loop are registered with it, not this one.
        for connection, _ in self._idle:
            connection.close_unused()
        self._idle.clear()
        self._idle_timer = None
        self._backend = backend
        self._make_connection = connection_type(backend)
        return backend

    def _time(self) -> float:
        return self._backend.time()

    def check_open(self) -> None:
        """Raise :class:`PoolClosed` if :meth:`close` has been called."""
        if self._closed:
            raise PoolClosed

    def forget_inherited(self) -> None:
        """In a forked child: drop everything the parent's pool held, with no I/O and no wait.

        The parent's connections stay the parent's (only this process's
        descriptors close); callers in the queue belong to the parent's loop; the
        next call binds this process's loop and opens its own connections.
        """
        connections = [connection for connection, _ in self._idle]
        connections += [*self._leases, *self._dedicated]
        for connection in connections:
            connection.forget()
        self._idle = []
        self._leases = {}
        self._dedicated = weakref.WeakSet()
        self._queue = deque()
        self._opening = 0
        self._idle_timer = None
        self._backend = UNBOUND
        self._capacity.restore()
        self._pid = os.getpid()


_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def _forget_inherited_pools() -> None:
    for pool in list(_pools):
        pool.forget_inherited()


os.register_at_fork(after_in_child=_forget_inherited_pools)
