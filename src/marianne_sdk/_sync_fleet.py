"""The blocking :class:`Fleet`: the async fleet, run on a loop thread of its own.

Exactly as the blocking client runs the async client (see :mod:`.sync`):
the fan-out, deadlines and merging are the async fleet's, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Literal, TypeVar, overload

from ._blocking import BlockingForm, PortalEventStream, takes_arguments_of
from ._errors import DaemonError
from ._fleet import Fleet as AsyncFleet
from ._fleet import FleetEventStream
from ._fleet_result import FleetResult
from ._generated import models
from ._generated.fleet_methods import SyncFleetMethods
from ._invoke import NOT_GIVEN, P, R, Timeout
from ._messages import Params
from ._method import MethodInfo
from ._streams import StreamGap

E = TypeVar("E")


class Fleet(SyncFleetMethods, BlockingForm[AsyncFleet]):
    """Blocking form of :class:`marianne_sdk.Fleet`: the same arguments and methods, without ``await``.

    Use it as ``with Fleet(targets) as fleet:``, or close it: it owns a
    thread. A fleet left unclosed is closed when it is collected or the
    interpreter exits, with a ``ResourceWarning``.
    """

    @takes_arguments_of(AsyncFleet.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(partial(AsyncFleet, *args, **kwargs))

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets, in the order they were given."""
        return self._client.targets

    def call(
        self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN
    ) -> FleetResult[Any]:
        """Call ``method`` on every target; see :meth:`marianne_sdk.Fleet.call`."""
        return self._run(partial(self._client.call, method, params, timeout=timeout))

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[False] = False
    ) -> SyncFleetEventStream[models.ObserverEvent]: ...

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[True]
    ) -> SyncFleetEventStream[models.ObserverEvent | StreamGap]: ...

    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: bool = False
    ) -> (
        SyncFleetEventStream[models.ObserverEvent]
        | SyncFleetEventStream[models.ObserverEvent | StreamGap]
    ):
        """Every target's events, merged; see :meth:`marianne_sdk.Fleet.monitor`.

        Use as ``with fleet.monitor() as events: for target, event in events``.
        """
        if reconnect:
            return SyncFleetEventStream(
                self, self._client.monitor(idle_timeout=idle_timeout, reconnect=True)
            )
        return SyncFleetEventStream(self, self._client.monitor(idle_timeout=idle_timeout))

    def _fan_out_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> FleetResult[R]:
        return self._run(partial(self._client._fan_out_typed, info, params, timeout))


class SyncFleetEventStream(PortalEventStream[tuple[str, E]]):
    """Blocking counterpart of :class:`marianne_sdk.FleetEventStream`: ``(target, event)`` pairs."""

    def __init__(self, fleet: Fleet, stream: FleetEventStream[E]) -> None:
        super().__init__(fleet, stream)
        self._fleet_stream = stream

    @property
    def failed(self) -> Mapping[str, DaemonError]:
        """The targets whose part ended with an error, and that error, in the targets' order."""
        return self._fleet_stream.failed
