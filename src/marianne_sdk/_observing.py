"""The hook point of the client: observers of its calls and streams (public in :mod:`.observe`).

The client keeps one :class:`Observers` and tests its ``active`` attribute on
every call; only when it is set does a call pay for observing (a
:class:`Call`, a clock read or two, a loop over the observers). Global
observers reach every client, per-client ones (``DaemonClient(observers=...)``)
only theirs: a client's :class:`Observers` follows the global one's changes.
An observer's exception is logged and swallowed: observing never breaks a call.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._streams import StreamGap

T = TypeVar("T")

_log = logging.getLogger("marianne_sdk")


class Call:
    """One call (or notification) of a client, from its start to its end.

    The same object is passed to :meth:`"call_started"` and then to
    :meth:`"call_ended"` or :meth:`"call_failed"`: an observer
    may key its own state on it. A call sent twice (see the retry rule) is
    one call.
    """

    __slots__ = ("__weakref__", "connection_wait", "duration", "method", "request_id", "target")

    def __init__(self, method: str, request_id: int | None, target: str) -> None:
        self.method: str = method
        """The JSON-RPC method."""
        self.request_id: int | None = request_id
        """The request's id; None for a notification."""
        self.target: str = target
        """The conductor the client talks to (its socket path)."""
        self.duration: float = 0.0
        """Seconds the call took as a whole, once it has ended or failed."""
        self.connection_wait: float = 0.0
        """Seconds spent waiting for a connection (to be given one, opened or served)."""

    def __repr__(self) -> str:
        return f"<Call {self.method} id={self.request_id} at {self.target!r}>"

    async def waiting_for(self, connection: Awaitable[T]) -> T:
        """``connection``, awaited, the wait added to :attr:`connection_wait`."""
        started = time.perf_counter()
        try:
            return await connection
        finally:
            self.connection_wait += time.perf_counter() - started


class Stream:
    """One stream subscription of a client (one request, shared by its blocks).

    The same object is passed to every stream method of :class:`Observer`.
    """

    __slots__ = ("__weakref__", "gaps", "method", "request_id", "target")

    def __init__(self, method: str, request_id: int, target: str) -> None:
        self.method: str = method
        """The streaming JSON-RPC method."""
        self.request_id: int = request_id
        """The id of the subscribing request."""
        self.target: str = target
        """The conductor the client talks to (its socket path)."""
        self.gaps: int = 0
        """Times the stream broke and was resumed (``reconnect=True``)."""

    def __repr__(self) -> str:
        return f"<Stream {self.method} id={self.request_id} at {self.target!r}>"


class Observer:
    """Told what a client does; every method does nothing unless overridden.

    Methods run in the task that makes the call (a stream's gaps and end in
    the stream's reader), synchronously: keep them quick. An exception they
    raise is logged on the ``marianne_sdk`` logger and otherwise ignored.
    (Not to be confused with the conductor's own process observer and its
    ``observer.*`` events.)
    """

    def call_started(self, call: Call) -> None:
        """``call`` is about to wait for a connection and be sent."""

    def call_ended(self, call: Call) -> None:
        """``call`` got its result (a notification: was written)."""

    def call_failed(self, call: Call, error: BaseException) -> None:
        """``call`` raised ``error``: a :class:`DaemonError`, or a cancellation."""

    def stream_opened(self, stream: Stream) -> None:
        """``stream``'s request was sent on a connection of its own."""

    def stream_gap(self, stream: Stream, gap: StreamGap) -> None:
        """``stream`` broke and was resumed: the events in between are lost."""

    def stream_ended(self, stream: Stream, error: BaseException | None) -> None:
        """``stream`` ended: with ``error`` (it failed, or could not open), or None.

        None: the conductor ended it, or the client or its last block closed it.
        """


def _tell(observers: tuple[Observer, ...], hook: str, *args: Any) -> None:
    """Call the method ``hook`` of each observer, whatever it raises."""
    for observer in observers:
        try:
            getattr(observer, hook)(*args)
        except Exception:
            _log.exception("observer %r failed in %s", observer, hook)


class Observers:
    """The observers of one client (or, for the global one, of every client)."""

    __slots__ = ("__weakref__", "_clients", "_own", "_parent", "active", "all")

    def __init__(self, own: Iterable[Observer] = (), parent: Observers | None = None) -> None:
        self._own = tuple(own)
        self._parent = parent
        self._clients: weakref.WeakSet[Observers] = weakref.WeakSet()
        self.all: tuple[Observer, ...] = ()
        """The global observers, then this client's."""
        self.active = False
        """Whether there is any observer: the one attribute a call tests."""
        if parent is not None:
            parent._clients.add(self)
        self._refresh()

    def add(self, observer: Observer) -> None:
        """Tell ``observer`` too, from now on (once, if added twice)."""
        if observer not in self._own:
            self._own += (observer,)
            self._refresh()

    def remove(self, observer: Observer) -> None:
        """Stop telling ``observer``."""
        self._own = tuple(own for own in self._own if own is not observer)
        self._refresh()

    def _refresh(self) -> None:
        self.all = (self._parent.all if self._parent is not None else ()) + self._own
        self.active = bool(self.all)
        for client in self._clients:
            client._refresh()

    async def call(
        self,
        request: Callable[..., Awaitable[T]],
        target: str,
        method: str,
        request_id: int | None,
        *args: Any,
    ) -> T:
        """``await request(method, request_id, *args, call=...)``, observed."""
        observers = self.all  # as they were when it started, to its end
        call = Call(method, request_id, target)
        _tell(observers, "call_started", call)
        started = time.perf_counter()
        try:
            result = await request(method, request_id, *args, call=call)
        except BaseException as error:
            call.duration = time.perf_counter() - started
            _tell(observers, "call_failed", call, error)
            raise
        call.duration = time.perf_counter() - started
        _tell(observers, "call_ended", call)
        return result

    def stream(self, method: str, request_id: int, target: str) -> StreamObservation:
        """What a new stream tells its observers."""
        return StreamObservation(self.all, Stream(method, request_id, target))


class StreamObservation:
    """A stream's observers, as they were when the stream was made, and what it tells them."""

    __slots__ = ("_observers", "stream")

    def __init__(self, observers: tuple[Observer, ...], stream: Stream) -> None:
        self._observers = observers
        self.stream = stream

    def opened(self) -> None:
        _tell(self._observers, "stream_opened", self.stream)

    def gap(self, gap: StreamGap) -> None:
        self.stream.gaps += 1
        _tell(self._observers, "stream_gap", self.stream, gap)

    def ended(self, error: BaseException | None) -> None:
        _tell(self._observers, "stream_ended", self.stream, error)


EVERY_CLIENT = Observers()
"""The global observers, which every client has."""


def for_client(observers: Iterable[Observer]) -> Observers:
    """A client's observers: the global ones, then ``observers``."""
    own = tuple(observers)
    return Observers(own, parent=EVERY_CLIENT) if own else EVERY_CLIENT


def add_observer(observer: Observer) -> None:
    """Tell ``observer`` what every client does, from now on (once, if added twice)."""
    EVERY_CLIENT.add(observer)


def remove_observer(observer: Observer) -> None:
    """Stop telling ``observer`` what clients do (their calls under way still end for it)."""
    EVERY_CLIENT.remove(observer)
