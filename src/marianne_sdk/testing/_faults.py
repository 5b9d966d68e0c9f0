"""Failures a :class:`FakeDaemon` can be told to inflict on requests (:meth:`FakeDaemon.inject`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import msgspec

from ._wire import MAX_LINE_BYTES

_encoder = msgspec.json.Encoder()


class Fault(enum.StrEnum):
    """What :meth:`FakeDaemon.inject` does to a matching request.

    The request is recorded as received (except with ``CLOSE_BEFORE_READ``),
    then the injection's ``delay`` passes, then the fault acts. Faults never
    apply to blank lines (the SDK's connection handshake).
    """

    DELAY = "delay"
    """Answer normally, after the delay."""
    CLOSE_BEFORE_READ = "close_before_read"
    """Close the connection; the request is neither recorded nor run."""
    CLOSE_AFTER_READ = "close_after_read"
    """Record the request, then close the connection without running it."""
    CLOSE_AFTER_HANDLE = "close_after_handle"
    """Run the request, then close the connection without answering."""
    GARBAGE = "garbage"
    """Run the request and answer with a line that is not JSON."""
    WRONG_ID = "wrong_id"
    """Run the request and answer with another request's id."""
    OVERSIZE = "oversize"
    """Run the request and answer with a line longer than 16 MiB."""
    TRUNCATED = "truncated"
    """Run the request, send half its answer, then close the connection."""
    SILENCE = "silence"
    """Record the request and never answer, nor read that connection again."""


@dataclass(slots=True)
class Injection:
    fault: Fault
    method: str | None
    remaining: int | None
    delay: float


class Injections:
    """The faults still to inflict, matched in the order they were injected."""

    def __init__(self) -> None:
        self._pending: list[Injection] = []

    def add(self, fault: Fault, method: str | None, times: int | None, delay: float) -> None:
        self._pending.append(Injection(fault, method, times, delay))

    def take(self, method: str) -> Injection | None:
        """The injection that applies to this request of ``method``, used up by one."""
        for injection in self._pending:
            if injection.method in (None, method):
                if injection.remaining is not None:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._pending.remove(injection)
                return injection
        return None


def answer_line(response: dict[str, Any], fault: Fault | None) -> bytes:
    """The line that answers with ``response``, as ``fault`` (if any) spoils it."""
    if fault is Fault.GARBAGE:
        return b"this is not JSON\n"
    if fault is Fault.WRONG_ID:
        request_id = response["id"]
        other = request_id + 1_000_000 if isinstance(request_id, int) else "other"
        response = {**response, "id": other}
    if fault is Fault.OVERSIZE:
        return b'{"jsonrpc":"2.0","result":"%s","id":%s}\n' % (
            b"x" * MAX_LINE_BYTES,
            _encoder.encode(response["id"]),
        )
    line = _encoder.encode(response) + b"\n"
    if fault is Fault.TRUNCATED:
        return line[: len(line) // 2]
    return line
