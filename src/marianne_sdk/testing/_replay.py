"""Answers taken from a recording (``marianne-sdk record``), for ``FakeDaemon(recording=...)``.

A request is matched by its method and its canonical params (key order and
whitespace do not matter), never by its id; the Nth identical request gets
the Nth recorded answer to that method and those params, so concurrent
callers do not depend on the order in which their requests arrive.

A recorded monitor event belongs to the subscription it was recorded on,
and becomes due once the answer it followed (up to the next answer or
subscription) has been sent again. It then goes to the replayed
subscription that took that recorded one (the Nth identical subscription
takes the Nth recorded), and to no other. A subscription that arrives after
its events became due gets them then: clients send a subscription and the
request whose answer its events follow on different connections, so their
order at the fake is a race the replay must not depend on. Each
subscription gets its events in their recorded order, an event held until
those recorded before it are due too.

``daemon.health``, the client's liveness probe of a quiet stream (its own
traffic, not the program's), takes a recorded answer while one is left, and
is answered by the fake's handler when none is: see :func:`answers_itself`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._recording import Direction, Exchange, read_recording

MONITOR = "daemon.monitor.stream"
LIVENESS_PROBE = "daemon.health"
_MONITOR_EVENT = "monitor.event"

Monitor = Callable[[Callable[[], None]], AsyncGenerator[Any, None]]
"""``monitor(on_subscribed)``: a subscription to the fake's own events (``emit``, jobs)."""


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request of a recording and the answer the conductor gave it.

    ``answer`` is the recorded response (with a ``result`` or an ``error``),
    None when none was recorded: a notification, a ``daemon.monitor.stream``
    subscription (the conductor never answers one), or a request the
    conductor had not answered when the recording ended.
    """

    method: str
    params: dict[str, Any]
    connection: int
    """The recorded connection it was sent on."""
    time: float
    """When it was sent, in seconds since the recording started."""
    answer: dict[str, Any] | None


@dataclass(slots=True, eq=False)
class Notification:
    """A recorded monitor event, and the recorded subscription it was delivered to."""

    event: Any
    subscription: Replayable | None = field(repr=False)
    """None when no subscription was recorded on its connection: it goes to every one."""
    due: bool = False
    """Whether the answer it followed has been sent again (or its subscription opened)."""


@dataclass(slots=True, eq=False)
class Replayable:
    """A recorded call, with the monitor events that followed its answer."""

    call: RecordedCall
    events: list[Notification] = field(default_factory=list)
    """Due once this call is replayed: the events recorded after its answer."""
    replayed: bool = False
    received: list[Notification] = field(default_factory=list, repr=False)
    """A subscription's: the events recorded on it, in order."""
    sent: int = 0
    """A subscription's: how many of ``received`` the replayed one was given."""
    sink: MemoryObjectSendStream[Any] | None = field(default=None, repr=False)
    """A subscription's, while replayed: where its events go."""


class Replay:
    """The calls of one recording, handed out in order per method and params."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        _, exchanges = read_recording(os.fspath(path))
        self.path = os.fspath(path)
        self._calls = _calls(exchanges)
        self._queues: defaultdict[tuple[str, str], deque[Replayable]] = defaultdict(deque)
        for replayable in self._calls:
            self._queues[key(replayable.call.method, replayable.call.params)].append(replayable)

    def take(self, method: str, params: dict[str, Any]) -> Replayable | None:
        """The next unreplayed recorded call of ``method`` with these params, now replayed."""
        queue = self._queues.get(key(method, params))
        if not queue:
            return None
        replayable = queue.popleft()
        replayable.replayed = True
        return replayable

    def due(self, replayable: Replayable) -> list[Any]:
        """Make the events that followed ``replayable``'s answer due, once it is sent again.

        Each goes to the replayed subscription that corresponds to the recorded
        one it was delivered to, now or once that subscription arrives; the
        events recorded on no subscription are returned, for every open one.
        """
        everyone = []
        for notification in replayable.events:
            notification.due = True
            if notification.subscription is None:
                everyone.append(notification.event)
            else:
                _deliver(notification.subscription)
        return everyone

    @contextlib.asynccontextmanager
    async def subscribed(
        self, subscription: Replayable, monitor: Monitor
    ) -> AsyncIterator[AsyncGenerator[Any, None]]:
        """The events of the replayed ``subscription``, while the block runs.

        Its recorded events as they become due (those due already first), and
        the fake's own events through ``monitor``; the subscription counts
        among the fake's subscribers once the block is entered.
        """
        send, receive = anyio.create_memory_object_stream[Any](math.inf)
        async with send, receive, anyio.create_task_group() as forwarding:
            registered = anyio.Event()
            forwarding.start_soon(_forward, monitor(registered.set), send.clone())
            await registered.wait()
            subscription.sink = send
            try:
                _deliver(subscription)
                yield _receive(receive)
            finally:
                subscription.sink = None
                forwarding.cancel_scope.cancel()

    def miss_message(self, method: str, params: dict[str, Any]) -> str:
        """Why a request got no recorded answer, for its error response."""
        recorded = sum(
            key(r.call.method, r.call.params) == key(method, params) for r in self._calls
        )
        same_params = (
            f"its {recorded} recorded request(s) with these params were all replayed already"
            if recorded
            else "no recorded request has these params"
        )
        return (
            f"{method} with params {canonical(params)} is not in the recording {self.path} "
            f"({same_params}; FakeDaemon(..., fallback=True) answers it with the simulation)"
        )

    def unused(self) -> list[RecordedCall]:
        """The recorded calls never replayed, in recorded order."""
        return [replayable.call for replayable in self._calls if not replayable.replayed]


def answers_itself(method: str) -> bool:
    """Whether the fake answers ``method`` itself when the recording has no answer left.

    Only ``daemon.health``: a client asks it whenever a stream has been quiet
    for its heartbeat, which a replay cannot reproduce as recorded.
    """
    return method == LIVENESS_PROBE


def _deliver(subscription: Replayable) -> None:
    """Send the replayed ``subscription`` its due events, in recorded order, if it is open."""
    received = subscription.received
    while (sink := subscription.sink) is not None and subscription.sent < len(received):
        notification = received[subscription.sent]
        if not notification.due:
            return  # held until those recorded before it are due
        try:
            sink.send_nowait(notification.event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            subscription.sink = None
            return
        subscription.sent += 1


async def _forward(events: AsyncGenerator[Any, None], send: MemoryObjectSendStream[Any]) -> None:
    async with send, contextlib.aclosing(events):
        async for event in events:
            send.send_nowait(event)


async def _receive(receive: MemoryObjectReceiveStream[Any]) -> AsyncGenerator[Any, None]:
    async for event in receive:
        yield event


def canonical(params: Any) -> str:
    """``params`` as one text whatever its key order and whitespace."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key(method: str, params: dict[str, Any]) -> tuple[str, str]:
    return method, canonical(params)


def _calls(exchanges: list[Exchange]) -> list[Replayable]:
    """The recorded requests, each paired with its answer and the events after that answer.

    An answer is paired by connection and id, as the conductor answers; an
    event belongs to the latest subscription recorded on its connection. A
    line recorded as raw text and a response to nothing recorded (the reply
    to the client's blank handshake line) take no part.
    """
    calls: list[Replayable] = []
    awaiting: dict[tuple[int, str], Replayable] = {}
    subscriptions: dict[int, Replayable] = {}  # by connection
    latest: Replayable | None = None  # whose answer (or subscription) came last
    early_events: list[Notification] = []  # events before any answer: due with the first
    for exchange in exchanges:
        message = exchange.message
        if exchange.raw is not None or not isinstance(message, dict):
            continue
        if exchange.direction is Direction.TO_CONDUCTOR:
            replayable = _request(exchange, message)
            if replayable is None:
                continue
            calls.append(replayable)
            if message.get("id") is not None:
                awaiting[exchange.connection, canonical(message["id"])] = replayable
            if replayable.call.method != MONITOR:
                continue
            subscriptions[exchange.connection] = replayable
        elif "id" not in message:
            if message.get("method") == _MONITOR_EVENT:
                subscription = subscriptions.get(exchange.connection)
                notification = Notification(message.get("params"), subscription)
                if subscription is not None:
                    subscription.received.append(notification)
                (latest.events if latest is not None else early_events).append(notification)
            continue
        else:
            answered = awaiting.pop((exchange.connection, canonical(message["id"])), None)
            if answered is None:
                continue
            call = answered.call
            answered.call = RecordedCall(
                call.method, call.params, call.connection, call.time, message
            )
            replayable = answered
        if latest is None:
            replayable.events.extend(early_events)
        latest = replayable
    return calls


def _request(exchange: Exchange, message: dict[str, Any]) -> Replayable | None:
    method, params = message.get("method"), message.get("params") or {}
    if not isinstance(method, str) or not isinstance(params, dict):
        return None  # refused by the conductor's envelope rules: the fake refuses it too
    return Replayable(RecordedCall(method, params, exchange.connection, exchange.time, None))
