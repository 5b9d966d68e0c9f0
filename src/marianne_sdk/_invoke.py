"""The contract between the generated method wrappers and the clients.

The generated mixins (``_generated/methods.py``) turn each schema method into a
typed Python method that builds its params Struct and hands it, with the
method's registry entry, to one of the two entry points declared here. The
async and sync clients implement them; the fleets implement the fan-out
counterparts, which the generated fleet wrappers call.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar

import msgspec

from ._method import MethodInfo

if TYPE_CHECKING:
    from ._fleet_result import FleetResult

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R")
E = TypeVar("E")


class NotGiven(enum.Enum):
    """The type of :data:`NOT_GIVEN`."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN
"""The default of a per-call ``timeout``: the client's timeout applies.

``timeout=None`` means no deadline for that call; a number of seconds is that
call's own deadline.
"""

Timeout: TypeAlias = float | NotGiven | None
"""A per-call timeout: seconds, None for no deadline, or :data:`NOT_GIVEN` for the client's."""


def positive_seconds(name: str, value: float | None) -> float | None:
    """``value``, refused with ``ValueError`` unless it is None or a positive number of seconds."""
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, got {value!r}")
    return value


class EventStream(AbstractAsyncContextManager["EventStream[E]"], AsyncIterator[E]):
    """Typed notifications of a streaming method, on a connection of its own.

    Use as ``async with client.monitor() as events: async for event in events``.
    Each block has a buffer of its own; the client keeps the conductor
    subscription open for the next block until the client closes.
    """

    @property
    @abc.abstractmethod
    def missed(self) -> int:
        """Events dropped for this block because its buffer was full when they came."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Leave the stream: iteration ends. Idempotent."""


class SyncEventStream(AbstractContextManager["SyncEventStream[E]"], Iterator[E]):
    """Blocking counterpart of :class:`EventStream`."""

    @property
    @abc.abstractmethod
    def missed(self) -> int:
        """Events dropped for this block because its buffer was full when they came."""

    @abc.abstractmethod
    def close(self) -> None:
        """Leave the stream: iteration ends. Idempotent."""


class AsyncInvoker(abc.ABC):
    """What the generated async wrappers call."""

    @abc.abstractmethod
    async def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> R:
        """Send one request and decode its result as ``info.result_type``."""

    @abc.abstractmethod
    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> EventStream[Any]:
        """Open ``info``'s stream; its items are ``info.notification_type``."""


class SyncInvoker(abc.ABC):
    """What the generated blocking wrappers call."""

    @abc.abstractmethod
    def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> R:
        """Send one request and decode its result as ``info.result_type``."""

    @abc.abstractmethod
    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> SyncEventStream[Any]:
        """Open ``info``'s stream; its items are ``info.notification_type``."""


class AsyncFleetInvoker(abc.ABC):
    """What the generated async fleet wrappers call."""

    @abc.abstractmethod
    async def _fan_out_typed(
        self, info: MethodInfo[P, R], params: P, timeout: Timeout
    ) -> FleetResult[R]:
        """Send one request to every target; each result decoded as ``info.result_type``."""


class SyncFleetInvoker(abc.ABC):
    """What the generated blocking fleet wrappers call."""

    @abc.abstractmethod
    def _fan_out_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> FleetResult[R]:
        """Send one request to every target; each result decoded as ``info.result_type``."""
