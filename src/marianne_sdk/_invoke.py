"""The contract between the generated method wrappers and the clients.

The generated mixins (``_generated/methods.py``) turn each schema method into a
typed Python method that builds its params Struct and hands it, with the
method's registry entry, to one of the two entry points declared here. The
async and sync clients implement them; nothing else does.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

import msgspec

from ._method import MethodInfo

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R")
E = TypeVar("E")


class EventStream(AbstractAsyncContextManager["EventStream[E]"], AsyncIterator[E]):
    """Typed notifications of a streaming method, on a connection of its own.

    Use as ``async with client.monitor() as events: async for event in events``.
    Leaving the block closes the connection.
    """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the stream's connection. Idempotent."""


class SyncEventStream(AbstractContextManager["SyncEventStream[E]"], Iterator[E]):
    """Blocking counterpart of :class:`EventStream`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the stream's connection. Idempotent."""


class AsyncInvoker(abc.ABC):
    """What the generated async wrappers call."""

    @abc.abstractmethod
    async def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: float | None) -> R:
        """Send one request and decode its result as ``info.result_type``."""

    @abc.abstractmethod
    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> EventStream[Any]:
        """Open ``info``'s stream; its items are ``info.notification_type``."""


class SyncInvoker(abc.ABC):
    """What the generated blocking wrappers call."""

    @abc.abstractmethod
    def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: float | None) -> R:
        """Send one request and decode its result as ``info.result_type``."""

    @abc.abstractmethod
    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> SyncEventStream[Any]:
        """Open ``info``'s stream; its items are ``info.notification_type``."""
