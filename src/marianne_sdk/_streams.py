"""Streams: one conductor subscription per request, shared by every block that reads it.

The conductor notices that a client closed a ``daemon.monitor.stream``
connection only when it next writes an event to it, so a subscription opened
and closed per block would hold one of its few connection slots after every
block until the next event (protocol §4.21, §9). So a client opens each
subscription once, on first use, and keeps it until the client closes:
:class:`Feed` owns that connection and reads it in a background task, and
each ``async with`` block is a :class:`Subscription` with a bounded buffer of
its own.

A stream that stays quiet cannot tell a quiet conductor from one that is
shutting down, and the conductor's shutdown waits for every open
connection (protocol §1.8): each would wait for the other forever. So a
feed that has received nothing for ``heartbeat`` seconds has the client
probe the conductor (:data:`Probe`) and ends with what the probe saw.

A feed opened with ``reconnect`` does not end when the conductor goes away
(its connection breaks, or the probe finds it gone, stopping or silent): it
subscribes again, with capped and jittered backoff, and hands its blocks a
:class:`StreamGap` in order, so that they know what they may have missed. A slow consumer never slows the reader (the conductor drops events
for a subscriber whose queue is full): events that do not fit its buffer are
dropped and counted in :attr:`Subscription.missed`.
"""

from __future__ import annotations

import logging
import random
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import anyio
import anyio.lowlevel
import msgspec

from ._backends import NO_DEADLINE, Backend, Deadline, Timer, Wakeup, current_backend
from ._errors import DaemonError, DaemonTimeoutError
from ._failures import ConductorSilent, ConductorStopping, DeadlinePassed
from ._invoke import EventStream
from ._messages import (
    SKIP,
    TRANSPORT_FAILURES,
    Message,
    StreamEnd,
    parse_stream_line,
    translate,
)
from ._observing import StreamObservation
from ._pool import Pool
from ._transport import Connection

T = TypeVar("T")

_YIELD_EVERY = 64
"""Lines the reader takes in a row, at most, before the blocks' consumers get a turn.

A quarter of a block's buffer if that is fewer: trio may run the reader twice
before a consumer it woke, and a consumer that keeps up must lose nothing.
"""

_RESUME_FIRST_WAIT = 0.1
_RESUME_LONGEST_WAIT = 5.0
"""Seconds between attempts to subscribe again: doubling from the first to the longest, ±20%."""

_log = logging.getLogger("marianne_sdk")


class StreamGap(msgspec.Struct, frozen=True, kw_only=True):
    """In a ``monitor(reconnect=True)`` block: the stream broke here and resumed.

    Events the conductor published in between are lost: resynchronise (e.g.
    with ``list_jobs()``). Times are ``time.time()`` seconds.
    """

    broken_at: float
    resumed_at: float
    reason: str
    """What ended the connection: the conductor closed it, stopped or stopped answering."""


Probe = Callable[[float], Awaitable[None]]
"""Asks the conductor, within the given seconds, whether it still serves.

Returns if it does; raises :class:`ConductorStopping` if it is shutting
down, or the :class:`DaemonError` of the call that failed.
"""


class Liveness:
    """How a feed checks on the conductor: ``probe``, when quiet for ``heartbeat`` seconds
    (None: never), and before it subscribes again after a break."""

    __slots__ = ("heartbeat", "probe", "probe_timeout")

    def __init__(self, heartbeat: float | None, probe: Probe, probe_timeout: float) -> None:
        self.heartbeat = heartbeat
        self.probe = probe
        self.probe_timeout = probe_timeout


class _Finished:
    """How a feed ended: with a result, an error, or because the client closed."""

    __slots__ = ("error", "result")

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error


class Feed(Generic[T]):
    """One streaming request on a connection of its own, read by one background task.

    Built by the client for each distinct request (method and params); its
    connection opens with the first :class:`Subscription` and closes when the
    stream ends or :meth:`close` is called.
    """

    def __init__(
        self,
        pool: Pool,
        method: str,
        request_id: int,
        line: bytes,
        decoder: msgspec.json.Decoder[Message[T]],
        notification: str | None,
        open_timeout: float | None,
        buffer_size: int,
        on_finished: Callable[[Feed[T]], None],
        liveness: Liveness,
        reconnect: bool = False,
    ) -> None:
        self.method = method
        self._pool = pool
        self._request_id = request_id
        self._line = line
        self._decoder = decoder
        self._notification = notification
        self._open_timeout = open_timeout
        self.buffer_size = buffer_size
        """Events each subscription buffers; those that do not fit are its ``missed``."""
        self._yield_every = max(1, min(_YIELD_EVERY, buffer_size // 4))
        self._on_finished = on_finished
        self._liveness = liveness
        self._reconnect = reconnect
        self._broken_because: str | None = None
        self._lines_read = 0
        self._lines_at_last_beat = 0
        self._heartbeat_timer: Timer | None = None
        # Held weakly: a block nobody references any more (an ``async for``
        # left by ``break``, without ``async with``) stops receiving. A tuple,
        # rebuilt when blocks come and go, is iterated for every event.
        self._subscriptions: tuple[weakref.ref[Subscription[T]], ...] = ()
        self._connection: Connection | None = None
        self._opening: anyio.Event | None = None
        self._backend: Backend | None = None
        self.finished: _Finished | None = None
        self.observed: StreamObservation | None = None

    def serves_this_loop(self) -> bool:
        """Whether the feed can serve the running task: not opened yet, or opened on its loop.

        A client may serve one event loop after another (``asyncio.run`` twice);
        a feed's reader ends with the loop it ran on.
        """
        return self._backend is None or self._backend.is_current()

    def abandon(self) -> None:
        """Drop a feed whose event loop has gone, without that loop."""
        if self._connection is not None:
            self._connection.close_unused()
        self._subscriptions = ()  # nothing on that loop can be woken
        self._finish(_Finished())

    async def subscribe(self, subscription: Subscription[T]) -> None:
        """Deliver this feed's notifications to ``subscription`` from now on."""
        while self._connection is None and self.finished is None:
            if self._opening is not None:
                await self._opening.wait()
                continue
            opening = self._opening = anyio.Event()
            try:
                await self._open()
            except Exception as exc:
                self._finish(_Finished(error=exc))
                raise
            finally:
                # Cancelled, the opener leaves the feed unopened: one of the
                # blocks waiting for it opens it instead.
                self._opening = None
                opening.set()
        if self.finished is not None:
            if self.finished.error is not None:
                raise self.finished.error
            subscription.end(self.finished)
            return
        self._subscriptions += (weakref.ref(subscription, self._forget),)

    def unsubscribe(self, subscription: Subscription[T]) -> None:
        self._subscriptions = tuple(ref for ref in self._subscriptions if ref() is not subscription)

    def _forget(self, collected: weakref.ref[Subscription[T]]) -> None:
        self._subscriptions = tuple(ref for ref in self._subscriptions if ref is not collected)

    def close(self) -> None:
        """Close the connection; every subscription's iteration ends."""
        self._finish(_Finished())

    async def _open(self) -> None:
        backend = self._backend = current_backend()
        self._connection = await self._connect(backend)
        if self.observed is not None:
            self.observed.opened()
        backend.spawn(self._read)
        self._arm_heartbeat()

    async def _connect(self, backend: Backend) -> Connection:
        """A connection carrying this feed's request; the request's error if impossible."""
        deadline = backend.deadline_after(self._open_timeout)
        sent = False
        try:
            connection = await self._pool.open_dedicated(deadline)
            try:
                sent = True
                await connection.send_line(self._line)
            except BaseException:
                connection.close()
                raise
        except TRANSPORT_FAILURES as exc:
            raise translate(
                exc, self.method, self._request_id, sent=sent, deadline=deadline
            ) from exc
        return connection

    async def _read(self) -> None:
        connection: Connection | None = self._connection
        read = 0
        while self.finished is None:
            read += 1
            if read % self._yield_every == 0:
                # Lines already received are read without waiting: let the
                # blocks drain their buffers before a burst overflows them.
                await anyio.lowlevel.checkpoint()
            if connection is None:
                return  # closed while subscribing again
            try:
                line = await connection.receive_line()
                self._lines_read = read  # what the heartbeat looks at: one store per line
                item = parse_stream_line(
                    line, self._decoder, self.method, self._request_id, self._notification
                )
            except StreamEnd as end:
                self._finish(_Finished(result=end.result))
            except TRANSPORT_FAILURES as exc:
                if self.finished is None:  # not closed by close()
                    error = translate(
                        exc,
                        self.method,
                        self._request_id,
                        sent=True,
                        deadline=NO_DEADLINE,
                        stream=True,
                    )
                    if self._reconnect:
                        connection = await self._resume(self._broken_because or str(error))
                    else:
                        self._finish(_Finished(error=error))
            except DaemonError as exc:
                self._finish(_Finished(error=exc))
            else:
                if item is SKIP:
                    _log.debug("%s stream: skipped a notification of another kind", self.method)
                    continue
                self._deliver(item)  # type: ignore[arg-type]

    def _arm_heartbeat(self) -> None:
        heartbeat, backend = self._liveness.heartbeat, self._backend
        if heartbeat is not None and backend is not None and self.finished is None:
            when = backend.time() + heartbeat
            self._heartbeat_timer = backend.call_at(when, self._on_heartbeat)

    def _on_heartbeat(self) -> None:
        """A heartbeat's timer: quiet since the last one, the conductor is asked."""
        self._heartbeat_timer = None
        liveness, backend = self._liveness, self._backend
        if self.finished is not None or backend is None:
            return
        if self._lines_read != self._lines_at_last_beat:
            self._lines_at_last_beat = self._lines_read
            self._arm_heartbeat()
            return
        backend.spawn(partial(self._probe, liveness, backend))

    async def _probe(self, liveness: Liveness, backend: Backend) -> None:
        failure: Exception | None = None
        try:
            await liveness.probe(liveness.probe_timeout)
        except ConductorStopping as stopping:
            failure = stopping
        except DaemonTimeoutError as timeout:
            # Busy or silent, the conductor served no probe in time: from here
            # the two cannot be told apart.
            _log.debug("%s: liveness probe: %s", self.method, timeout)
            failure = ConductorSilent()
        except DaemonError as error:
            self._fail(error)
            return
        if failure is not None:
            deadline = Deadline(backend.time(), liveness.probe_timeout)
            self._fail(
                translate(failure, self.method, None, sent=True, deadline=deadline, stream=True)
            )
            return
        self._arm_heartbeat()

    def _fail(self, error: DaemonError) -> None:
        if self._reconnect and self._connection is not None:
            # The reader, woken by the closed connection, subscribes again.
            self._broken_because = str(error)
            self._connection.close()
        elif self.finished is None:
            _log.debug("%s stream ended by its liveness probe: %s", self.method, error)
            self._finish(_Finished(error=error))

    async def _resume(self, reason: str) -> Connection | None:
        """Subscribe again until it works or the feed is closed; tell every block of the gap."""
        broken_at = time.time()
        backend = self._backend
        assert backend is not None
        _log.info("%s stream broke (%s): subscribing again", self.method, reason)
        wait = _RESUME_FIRST_WAIT
        while self.finished is None:
            await anyio.sleep(wait * random.uniform(0.8, 1.2))
            wait = min(2 * wait, _RESUME_LONGEST_WAIT)
            if self.finished is not None:
                break
            try:
                await self._conductor_serves()
                connection = await self._connect(backend)
            except (DaemonError, ConductorStopping) as error:
                _log.debug("%s stream not resumed yet: %s", self.method, error)
                continue
            if self.finished is not None:
                connection.close()
                break
            self._connection, self._broken_because = connection, None
            gap = StreamGap(broken_at=broken_at, resumed_at=time.time(), reason=reason)
            if self.observed is not None:
                self.observed.gap(gap)
            for ref in self._subscriptions:
                subscription = ref()
                if subscription is not None:
                    subscription.deliver_gap(gap)
            self._arm_heartbeat()
            return connection
        return None

    async def _conductor_serves(self) -> None:
        """Return once the probe finds the conductor serving, not shutting down.

        Checked before subscribing again: the conductor notices a closed
        subscription only at its next event and publishes none while it shuts
        down (protocol §4.21), so every subscription made then and closed at
        the next heartbeat would hold one of its few connection slots until it
        exits, and soon it would serve nobody.
        """
        await self._liveness.probe(self._liveness.probe_timeout)

    def _deliver(self, item: T) -> None:
        # A method of its own, so that no frame that lives on keeps a subscription alive.
        for ref in self._subscriptions:
            subscription = ref()
            if subscription is not None:
                subscription.deliver(item)

    def _finish(self, finished: _Finished) -> None:
        if self.finished is not None:
            return
        self.finished = finished
        if self.observed is not None:
            self.observed.ended(finished.error)
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
            self._heartbeat_timer = None
        if self._connection is not None:
            self._connection.close()
        subscriptions, self._subscriptions = self._subscriptions, ()
        for ref in subscriptions:
            subscription = ref()
            if subscription is not None:
                subscription.end(finished)
        self._on_finished(self)


class Subscription(EventStream[T]):
    """One block's view of a :class:`Feed`: its own buffer, iterator and idle timeout.

    Use as ``async with``; iterating without the block subscribes on the first
    item. Leaving the block detaches it; the client keeps the feed.
    """

    def __init__(
        self,
        feed: Callable[[], Feed[Any]],
        idle_timeout: float | None,
        convert: Callable[[Any], T] | None = None,
    ) -> None:
        self._get_feed = feed
        self._convert = convert  # what this block makes of the feed's items
        self._feed: Feed[Any] | None = None
        self._buffer: deque[T] = deque()
        self._buffer_size = 0  # the feed's, once subscribed
        self._idle_timeout = idle_timeout
        self._ended: _Finished | None = None
        self._closed = False
        self._wakeup: Wakeup | None = None
        self._backend: Backend | None = None
        self._missed = 0
        self.result: Any = None
        """The stream's final result, if the conductor ended it with one."""

    @property
    def missed(self) -> int:
        """Events dropped for this block because its buffer was full when they came."""
        return self._missed

    def __repr__(self) -> str:
        method = self._feed.method if self._feed is not None else "?"
        state = "closed" if self._closed else "ended" if self._ended else "open"
        return (
            f"<Subscription {method} {state}, {len(self._buffer)} buffered, {self._missed} missed>"
        )

    async def __aenter__(self) -> Self:
        await self._subscribe()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> T:
        if self._feed is None and not self._closed:
            await self._subscribe()
        # An item already buffered is taken without a switch, even on trio: a
        # consumer that switched per item would let the reader, which takes
        # up to _YIELD_EVERY lines a turn, overrun its buffer in a burst. The
        # buffer bounds such a run; then the block waits.
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            if self._ended is not None:
                self._closed = True  # an error is raised once; then the iteration is over
                if self._ended.error is not None:
                    raise self._ended.error
                raise StopAsyncIteration
            await self._wait()
        return self._buffer.popleft()

    async def aclose(self) -> None:
        self._closed = True
        self._buffer.clear()
        if self._feed is not None:
            self._feed.unsubscribe(self)
        self._wake()

    def deliver(self, item: Any) -> None:
        """An item from the feed (in the feed's reader task)."""
        if len(self._buffer) >= self._buffer_size:
            self._missed += 1
            return
        self._buffer.append(item if self._convert is None else self._convert(item))
        self._wake()

    def deliver_gap(self, gap: StreamGap) -> None:
        """A gap in the feed's events: kept even when the buffer is full, never dropped."""
        self._buffer.append(gap)  # type: ignore[arg-type]  # a reconnecting feed's T includes it
        self._wake()

    def end(self, finished: _Finished) -> None:
        """The feed ended: the buffered items, then the end, reach the consumer."""
        self._ended = finished
        self.result = finished.result
        self._wake()

    async def _subscribe(self) -> None:
        self._backend = current_backend()
        self._feed = self._get_feed()
        self._buffer_size = self._feed.buffer_size
        await self._feed.subscribe(self)

    async def _wait(self) -> None:
        assert self._backend is not None
        self._wakeup = wakeup = self._backend.wakeup()
        try:
            if self._idle_timeout is None:
                await wakeup.wait()
                return
            with anyio.move_on_after(self._idle_timeout):
                await wakeup.wait()
                return
        finally:
            self._wakeup = None
        method = self._feed.method if self._feed is not None else "stream"
        raise translate(
            DeadlinePassed(),
            method,
            None,
            sent=True,
            deadline=self._backend.deadline_after(self._idle_timeout),
            stream=True,
        )

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
