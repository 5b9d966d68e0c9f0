"""Many conductors from one program: the asynchronous :class:`Fleet`.

A fleet is one :class:`DaemonClient` per target, and nothing below them: a
call fans out to the clients in a task group of its own, each target bounded
by the call's deadline through its client's own per-call timeout, and each
target's :class:`DaemonError` kept as that target's outcome. ``monitor()``
merges the clients' event streams.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from types import MappingProxyType, TracebackType
from typing import Any, Generic, Literal, NoReturn, Self, TypeVar, overload

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._backends import BackgroundTask
from ._client import DaemonClient
from ._errors import DaemonError, DaemonTimeoutError
from ._fleet_result import FleetResult
from ._generated import models
from ._generated.fleet_methods import AsyncFleetMethods
from ._invoke import NOT_GIVEN, EventStream, P, R, Timeout, positive_seconds
from ._messages import Params
from ._method import MethodInfo
from ._streams import StreamGap

E = TypeVar("E")

DEFAULT_MAX_CONCURRENT = 16
"""Targets a fleet call talks to at once, unless the fleet is given its own bound."""

_CLIENT_TIMEOUT: float | None = inspect.signature(DaemonClient).parameters["timeout"].default
_MONITOR = "daemon.monitor.stream"


def _fleet_closed() -> DaemonError:
    return DaemonError("the fleet is closed: make a new one")


def _refused_before_sending(error: DaemonError) -> bool:
    """Whether ``error`` refused the request itself (bad params, too large), not a target.

    Such a request would be refused for every target alike: the fleet call
    raises it, as a client's call does.
    """
    return isinstance(error, ValueError) and error.request_id is None


class Fleet(AsyncFleetMethods):
    """Several conductors at once: every call goes to each target, concurrently.

    Each target is what :class:`DaemonClient` takes as its socket (a socket
    path, or a remote conductor's URL), and gets a client of its own, built
    with ``client_options``. Every typed method, and :meth:`call`, returns a
    :class:`FleetResult`: the targets that answered in ``ok`` and the others,
    with the :class:`DaemonError` each raised, in ``failed``, both in the order
    the targets were given. Any other exception propagates. Use it as
    ``async with Fleet(targets) as fleet:``, or build it and ``await
    fleet.close()`` when done.

    A call's deadline (its ``timeout``, else the clients' ``timeout``) bounds
    the whole call: a slow or dead target fails with
    :class:`DaemonTimeoutError` when it passes, without delaying the others.

    Args:
        targets: The conductors, each named once.
        max_concurrent: Targets one call talks to at once; the others wait
            for a turn, within the same deadline.
        client_options: Keyword arguments of :class:`DaemonClient` (``timeout``,
            ``pool_size``, ``connect_timeout``, ...), the same for every target.

    Raises:
        ValueError: A target named twice, ``max_concurrent`` below 1, or an
            option :class:`DaemonClient` refuses.
    """

    def __init__(
        self,
        targets: Iterable[str | os.PathLike[str]],
        /,
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        **client_options: Any,
    ) -> None:
        if isinstance(targets, str | os.PathLike):
            raise TypeError("targets must be a collection of targets, not a single one")
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self._clients: dict[str, DaemonClient] = {}
        for target in (os.fspath(given) for given in targets):
            if target in self._clients:
                raise ValueError(f"target {target!r} is given twice")
            self._clients[target] = DaemonClient(target, **client_options)
        self._timeout: float | None = client_options.get("timeout", _CLIENT_TIMEOUT)
        self._max_concurrent = max_concurrent
        self._closed = False

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets, in the order they were given."""
        return tuple(self._clients)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Fleet of {len(self._clients)} target(s), {state}: {list(self._clients)}>"

    async def __aenter__(self) -> Self:
        if self._closed:
            raise _fleet_closed()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> NoReturn:
        raise TypeError(
            "Fleet is asynchronous: use `async with Fleet(targets)`, or "
            "marianne_sdk.sync.Fleet in blocking code"
        )

    def __exit__(self, *exc_info: object) -> None:
        """Never called: :meth:`__enter__` refuses, but ``with`` needs both to reach it."""

    async def close(self) -> None:
        """Close every target's client; later calls raise :class:`DaemonError`. Idempotent."""
        self._closed = True
        for client in self._clients.values():
            await client.close()

    async def call(
        self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN
    ) -> FleetResult[Any]:
        """Call ``method`` on every target; each result as decoded JSON.

        See :meth:`DaemonClient.call`. Params refused before sending raise
        :class:`InvalidParamsError` here, as they would be for every target.
        """

        def on(client: DaemonClient, seconds: float | None) -> Awaitable[Any]:
            return client.call(method, params, timeout=seconds)

        return await self._fan_out(method, on, timeout)

    async def _fan_out_typed(
        self, info: MethodInfo[P, R], params: P, timeout: Timeout
    ) -> FleetResult[R]:
        def on(client: DaemonClient, seconds: float | None) -> Awaitable[R]:
            return client._call_typed(info, params, seconds)

        return await self._fan_out(info.name, on, timeout)

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[False] = False
    ) -> FleetEventStream[models.ObserverEvent]: ...

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[True]
    ) -> FleetEventStream[models.ObserverEvent | StreamGap]: ...

    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: bool = False
    ) -> (
        FleetEventStream[models.ObserverEvent] | FleetEventStream[models.ObserverEvent | StreamGap]
    ):
        """Every target's events, merged: ``(target, event)`` pairs as they arrive.

        Use as ``async with fleet.monitor() as events: async for target, event
        in events``. Entering the block opens every target's stream (see
        :meth:`DaemonClient.monitor`); a target whose stream cannot be opened,
        or is lost, ends only its own part, and its error is in
        ``events.failed``. Iteration ends when every part has ended. With
        ``reconnect=True`` a target that goes away once its stream is open is
        subscribed to again, and its part yields a :class:`StreamGap` where
        it broke and resumed. ``idle_timeout`` raises
        :class:`DaemonTimeoutError` when no target sends an event for that long.
        """
        positive_seconds("idle_timeout", idle_timeout)
        if self._closed:
            raise _fleet_closed()
        streams: dict[str, Callable[[], EventStream[Any]]] = {
            target: partial(client.monitor, reconnect=reconnect)
            for target, client in self._clients.items()
        }
        return FleetEventStream(streams, _MONITOR, idle_timeout)

    async def _fan_out(
        self,
        method: str,
        on: Callable[[DaemonClient, float | None], Awaitable[R]],
        timeout: Timeout,
    ) -> FleetResult[R]:
        """``on(client, seconds left)`` for every target, by ``max_concurrent`` workers."""
        if self._closed:
            raise _fleet_closed()
        seconds = self._timeout if timeout is NOT_GIVEN else positive_seconds("timeout", timeout)
        deadline = math.inf if seconds is None else anyio.current_time() + seconds
        outcomes: dict[str, R | DaemonError] = {}
        escaped: list[Exception] = []
        # One iterator shared by the workers: each takes the next target in
        # the order given, so the first ``max_concurrent`` go first.
        turns = iter(self._clients.items())

        async def worker() -> None:
            for target, client in turns:
                left = None if seconds is None else deadline - anyio.current_time()
                if left is not None and left <= 0:
                    outcomes[target] = DaemonTimeoutError(
                        f"{method}: not sent to {target}: the other targets' calls held all "
                        f"{self._max_concurrent} turns for the whole {seconds} s",
                        method=method,
                    )
                    continue
                try:
                    outcomes[target] = await on(client, left)
                except DaemonError as error:
                    if not _refused_before_sending(error):
                        outcomes[target] = error
                        continue
                    escaped.append(error)
                    calls.cancel_scope.cancel()
                    return
                except Exception as error:
                    # Raised as itself, not in an exception group; the other targets' calls end.
                    escaped.append(error)
                    calls.cancel_scope.cancel()
                    return

        async with anyio.create_task_group() as calls:
            for _ in range(min(self._max_concurrent, len(self._clients))):
                calls.start_soon(worker)
        if escaped:
            raise escaped[0]
        ok: dict[str, R] = {}
        failed: dict[str, DaemonError] = {}
        for target in self._clients:
            outcome = outcomes[target]
            if isinstance(outcome, DaemonError):
                failed[target] = outcome
            else:
                ok[target] = outcome
        return FleetResult(ok, failed)


class FleetEventStream(EventStream[tuple[str, E]], Generic[E]):
    """The targets' streams of one method, merged: ``(target, event)`` pairs.

    Built by :meth:`Fleet.monitor`. The targets' streams are read by a task
    of their own, outside the caller's: the block may be entered in one task
    and left in another. A slow consumer slows no conductor: each target's
    stream keeps its own buffer, and drops (and counts in ``missed``) what
    does not fit.
    """

    def __init__(
        self,
        streams: Mapping[str, Callable[[], EventStream[E]]],
        method: str,
        idle_timeout: float | None,
    ) -> None:
        self._open_streams = streams
        self._method = method
        self._idle_timeout = idle_timeout
        self._streams: dict[str, EventStream[E]] = {}
        self._failed: dict[str, DaemonError] = {}
        self._escaped: Exception | None = None
        self._readers: anyio.CancelScope | None = None
        self._reader: BackgroundTask | None = None
        self._events: MemoryObjectReceiveStream[tuple[str, E]] | None = None
        self._closed = False

    @property
    def failed(self) -> Mapping[str, DaemonError]:
        """The targets whose part ended with an error, and that error, in the targets' order."""
        failed = self._failed
        return MappingProxyType(
            {target: failed[target] for target in self._open_streams if target in failed}
        )

    @property
    def missed(self) -> int:
        """Events dropped, over every target, because a stream's buffer was full when they came."""
        return sum(stream.missed for stream in self._streams.values())

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._reader else "not entered"
        return (
            f"<FleetEventStream {self._method} {state}: {len(self._open_streams)} target(s), "
            f"{len(self._failed)} failed>"
        )

    async def __aenter__(self) -> Self:
        """Open every target's stream; return once each is open or has failed."""
        if self._reader is None and not self._closed:
            send, self._events = anyio.create_memory_object_stream[tuple[str, E]](0)
            self._reader = await BackgroundTask.start(partial(self._read_all, send))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> tuple[str, E]:
        if self._reader is None and not self._closed:
            await self.__aenter__()
        if self._events is None or self._closed:
            raise StopAsyncIteration
        try:
            with anyio.move_on_after(
                math.inf if self._idle_timeout is None else self._idle_timeout
            ):
                return await self._events.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self.aclose()
            escaped, self._escaped = self._escaped, None
            if escaped is not None:
                raise escaped from None
            raise StopAsyncIteration from None
        raise DaemonTimeoutError(
            f"{self._method}: no event from any target within {self._idle_timeout} s",
            method=self._method,
        )

    async def aclose(self) -> None:
        """Leave every target's stream: iteration ends. Idempotent."""
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.stop()
        if self._events is not None:
            self._events.close()

    async def _read_all(
        self,
        send: MemoryObjectSendStream[tuple[str, E]],
        *,
        task_status: TaskStatus[None],
    ) -> None:
        """Follow every target's stream; report started once each is open or has failed."""
        waiting = set(self._open_streams)
        all_open = anyio.Event()

        def opened(target: str) -> None:
            waiting.discard(target)
            if not waiting:
                all_open.set()

        async with send, anyio.create_task_group() as readers:
            self._readers = readers.cancel_scope
            for target, open_stream in self._open_streams.items():
                readers.start_soon(self._follow, target, open_stream, send.clone(), opened)
            if self._open_streams:
                await all_open.wait()
            task_status.started()

    async def _follow(
        self,
        target: str,
        open_stream: Callable[[], EventStream[E]],
        send: MemoryObjectSendStream[tuple[str, E]],
        opened: Callable[[str], None],
    ) -> None:
        async with send:
            try:
                stream = self._streams[target] = open_stream()
                async with stream:
                    opened(target)
                    async for event in stream:
                        await send.send((target, event))
            except DaemonError as error:
                self._failed[target] = error
            except Exception as error:
                # Not a target's failure: the merged iteration ends with it.
                self._escaped = self._escaped or error
                assert self._readers is not None
                self._readers.cancel()
            finally:
                opened(target)
