"""Answers taken from a recording (``marianne-sdk record``), for ``FakeDaemon(recording=...)``.

A request is matched by its method and its canonical params (key order and
whitespace do not matter), never by its id; the Nth identical request gets
the Nth recorded answer to that method and those params, so concurrent
callers do not depend on the order in which their requests arrive. The
monitor events recorded after an answer, up to the next answer (or the next
subscription), are pushed to the open subscriptions once that answer has
been sent again.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from .._recording import Direction, Exchange, read_recording

MONITOR = "daemon.monitor.stream"
_MONITOR_EVENT = "monitor.event"


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


@dataclass(slots=True)
class Replayable:
    """A recorded call, with the monitor events that followed its answer."""

    call: RecordedCall
    events: list[Any] = field(default_factory=list)
    replayed: bool = False


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


def canonical(params: Any) -> str:
    """``params`` as one text whatever its key order and whitespace."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key(method: str, params: dict[str, Any]) -> tuple[str, str]:
    return method, canonical(params)


def _calls(exchanges: list[Exchange]) -> list[Replayable]:
    """The recorded requests, each paired with its answer and the events after that answer.

    An answer is paired by connection and id, as the conductor answers. A line
    recorded as raw text and a response to nothing recorded (the reply to the
    client's blank handshake line) take no part.
    """
    calls: list[Replayable] = []
    awaiting: dict[tuple[int, str], Replayable] = {}
    latest: Replayable | None = None  # whose answer (or subscription) came last
    early_events: list[Any] = []  # events before any answer: pushed with the first
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
        elif "id" not in message:
            if message.get("method") == _MONITOR_EVENT:
                (latest.events if latest is not None else early_events).append(
                    message.get("params")
                )
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
