"""Requests, responses and streams: the asynchronous :class:`DaemonClient`.

This layer owns request ids, timeouts, the retry rule and the streams a
client shares between its blocks; the pool below it owns connections and
deadlines, and :mod:`._messages` says what each line means.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NoReturn, Self, TypeVar, overload

import anyio
import msgspec

from . import _waiting
from ._backends import Deadline
from ._compat import is_supported
from ._discovery import DEFAULT_SOCKET_PATH, resolve_target
from ._errors import ConnectionLostError
from ._failures import ConductorStopping
from ._generated import models
from ._generated.methods import AsyncMethods
from ._generated.params import DaemonMonitorStreamParams
from ._generated.registry import CONDUCTOR_VERSIONS, DAEMON_MONITOR_STREAM, DAEMON_STATUS
from ._invoke import NOT_GIVEN, EventStream, NotGiven, Timeout, positive_seconds
from ._messages import (
    ANY_MESSAGE,
    ANY_RESPONSE,
    TRANSPORT_FAILURES,
    Message,
    Params,
    Response,
    checked,
    client_closed,
    codec,
    connection_lost,
    parse,
    request_line,
    translate,
    typed_line,
)
from ._method import MethodInfo
from ._observing import Call, Observer, for_client
from ._peercred import DEFAULT_TRUSTED_UIDS
from ._pool import Pool
from ._ssh import SSHConnector, SSHTarget
from ._streams import Feed, Liveness, StreamGap, Subscription
from ._transport import Connector, UnixConnector

_HEALTH_TIMEOUT = 2.0

LOCAL_MAX_IDLE_SECONDS = 1.0
"""How long an unused connection to a local socket stays open (README, "Sharing the conductor")."""

REMOTE_MAX_IDLE_SECONDS = 10.0
"""How long an unused connection to an ``ssh://`` target stays open.

Opening one starts an ssh session: about 0.35-0.4 s against 0.3 ms for a
local socket (``make bench``). Kept 10 s, a program that pauses longer pays at most
4% of its time reopening, and holds one of the remote conductor's slots for
10 s after its last call (README, "Remote conductors").
"""

DEFAULT_HEARTBEAT = 5.0
"""Seconds a stream may stay quiet before the client asks the conductor whether it serves.

Measured (README, "Streams and the conductor's lifetime"): a probe costs under
1 ms of CPU on each side and holds a pooled connection for
``max_idle_seconds``; a conductor stopping while a quiet stream is open waits
one to two heartbeats for it. Five seconds keeps that wait within the 10 s a
``docker stop`` grants before SIGKILL, for one probe per five quiet seconds.
"""

_PROBE_TIMEOUT = 5.0
"""Seconds a liveness probe may take before the conductor counts as no longer answering."""

_log = logging.getLogger("marianne_sdk")

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R")


def _unary_params(method: str, params: Params) -> tuple[Any, bool]:
    """Checked params of an untyped call or notification, and whether it may be sent twice."""
    info, params = checked(method, params)
    if info is not None and info.streaming:
        raise ValueError(f"{method} is a streaming method: use stream()")
    return params, info is not None and info.idempotent


def _warn_if_unsupported(version: str) -> None:
    if is_supported(version, CONDUCTOR_VERSIONS) is False:
        _log.warning(
            "conductor version %s is outside the versions this marianne-sdk release "
            "supports (%s): upgrade marianne-sdk, or use a release made for that conductor, "
            "if calls misbehave",
            version,
            CONDUCTOR_VERSIONS,
        )


class DaemonClient(AsyncMethods):
    """Asynchronous client of the Marianne conductor, on asyncio or trio.

    The conductor serves a few connections at once (5 by default) to every
    program on the machine, so a client is a guest: it uses at most
    ``pool_size`` connections for calls, closes each after ``max_idle_seconds``
    unused, and shares one subscription per stream request between all its
    ``monitor()`` blocks.

    Use it as ``async with DaemonClient() as client:``, or build it and
    ``await client.close()`` when done: it runs nothing around your code, so
    it may be entered in one task and left in another. Closing ends its
    streams; calls in flight finish, then their connections close.

    Args:
        socket_path: The conductor's socket, or ``ssh://[user@]host[:port][/path]``
            for a conductor on another host, reached through the ``ssh`` command
            (``$MARIANNE_SSH_COMMAND``, default ``ssh``). Defaults to the socket of
            the clone conductor ``clone`` when given, then ``$MARIANNE_SOCKET``,
            then ``/tmp/marianne.sock``.
        clone: A clone conductor's name (``True`` or ``""``: the default clone).
        timeout: Seconds each call may take as a whole (waiting for a
            connection and to be served, sending, reading and any retry);
            ``None`` waits forever. Each call may pass its own.
        pool_size: Connections used for calls at once.
        max_idle_seconds: Seconds after which an unused connection is closed; by
            default 1 for a local socket and 10 for an ``ssh://`` target, whose
            connections cost an ssh session to open.
        connect_timeout: Seconds connecting to the socket may take; waiting for
            the conductor to serve the connection counts against ``timeout``.
        stream_buffer_size: Events each stream block buffers; those that do not
            fit are dropped for that block and counted in its ``missed``.
        trusted_uids: Users whose socket is trusted (by default this process's
            user and root); ``None`` trusts anyone.
        heartbeat: Seconds a stream may receive nothing before the client asks
            the conductor (``daemon.health``, on a pooled connection) whether it
            still serves; when it is shutting down, gone, or does not answer
            within 5 s, the stream's blocks end with
            :class:`DaemonShuttingDownError`, :class:`DaemonNotRunningError` or
            :class:`DaemonTimeoutError`. ``None`` never asks.
        observers: :class:`marianne_sdk.observe.Observer` instances told of this
            client's calls and streams, after the global ones.

    Raises:
        ValueError: A size below 1, or a number of seconds that is not positive.

    A request is sent twice only if it provably never reached the conductor, or
    its method is idempotent; a timeout never causes a second send.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        clone: str | bool | None = None,
        timeout: float | None = 30.0,
        pool_size: int = 2,
        max_idle_seconds: float | NotGiven = NOT_GIVEN,
        connect_timeout: float = 5.0,
        stream_buffer_size: int = 1000,
        trusted_uids: Collection[int] | None = DEFAULT_TRUSTED_UIDS,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        observers: Iterable[Observer] = (),
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        if stream_buffer_size < 1:
            raise ValueError(f"stream_buffer_size must be at least 1, got {stream_buffer_size}")
        self._timeout = positive_seconds("timeout", timeout)
        positive_seconds("connect_timeout", connect_timeout)
        target = resolve_target(socket_path, clone=clone)
        connector: Connector
        if isinstance(target, SSHTarget):
            connector = SSHConnector(target, connect_timeout)
            self._path = Path(target.path or DEFAULT_SOCKET_PATH)
            idle_default = REMOTE_MAX_IDLE_SECONDS
        else:
            connector = UnixConnector(str(target), trusted_uids, connect_timeout)
            self._path = target
            idle_default = LOCAL_MAX_IDLE_SECONDS
        self._target = connector.target
        if max_idle_seconds is NOT_GIVEN:
            max_idle_seconds = idle_default
        positive_seconds("max_idle_seconds", max_idle_seconds)
        self._pool = Pool(
            connector,
            size=pool_size,
            max_idle_seconds=max_idle_seconds,
        )
        self._stream_buffer_size = stream_buffer_size
        positive_seconds("heartbeat", heartbeat)
        self._liveness = Liveness(heartbeat, self._serves, _PROBE_TIMEOUT)
        self._feeds: dict[bytes, Feed[Any]] = {}
        self._ids = itertools.count(1)
        self._version_seen = False
        self._observers = for_client(observers)

    @property
    def socket_path(self) -> Path:
        """The conductor socket this client talks to; for an ``ssh://`` target, on its host.

        An ``ssh://`` URL without a path shows ``/tmp/marianne.sock``, although
        the host's ``$MARIANNE_SOCKET`` decides there.
        """
        return self._path

    @property
    def target(self) -> str:
        """The conductor, as messages name it: its socket path, or its ``ssh://`` URL."""
        return self._target

    def __repr__(self) -> str:
        pool = self._pool
        if pool.closed:
            state = "closed"
        else:
            state = (
                f"{pool.in_use} connection(s) in use, {pool.idle_connections} idle, "
                f"{len(self._feeds)} stream(s)"
            )
        return f"<DaemonClient {self._target!r}: {state}>"

    async def __aenter__(self) -> Self:
        if self._pool.closed:
            raise client_closed()
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
            "DaemonClient is asynchronous: use `async with DaemonClient()`, or "
            "marianne_sdk.sync.DaemonClient in blocking code"
        )

    def __exit__(self, *exc_info: object) -> None:
        """Never called: :meth:`__enter__` refuses, but ``with`` needs both to reach it."""

    async def close(self) -> None:
        """Close idle connections and end every stream; later calls raise :class:`DaemonError`.

        Idempotent. Calls in flight finish, then their connections close.
        """
        self._pool.close()
        for feed in list(self._feeds.values()):
            feed.close()

    async def call(
        self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN
    ) -> Any:
        """Call ``method`` and return its result as decoded JSON (dicts, lists, ...).

        Params of a method in :data:`METHODS` are validated before sending
        (:class:`InvalidParamsError`). An error response raises the
        :class:`DaemonError` subclass of its code; a passed deadline raises
        :class:`DaemonTimeoutError`.
        """
        params, idempotent = _unary_params(method, params)
        seconds = self._timeout_seconds(timeout)
        request_id = next(self._ids)
        line = request_line(method, params, request_id)
        return await self._request(method, request_id, line, ANY_RESPONSE, idempotent, seconds)

    async def notify(
        self, method: str, params: Params = None, *, timeout: Timeout = NOT_GIVEN
    ) -> None:
        """Send ``method`` as a notification: the conductor runs it and answers nothing.

        Returns once the request is written; nothing tells whether it succeeded.
        """
        params, idempotent = _unary_params(method, params)
        seconds = self._timeout_seconds(timeout)
        line = request_line(method, params, None)
        await self._request(method, None, line, None, idempotent, seconds)
        # Written without waiting for an answer, usually without waiting at all.
        await self._pool.checkpoint()

    def stream(
        self, method: str, params: Params = None, *, idle_timeout: float | None = None
    ) -> EventStream[Any]:
        """The params of the notifications ``method`` pushes.

        Use as ``async with client.stream(m) as events: async for params in events``.
        Blocks that stream the same method and params share one connection.
        Iteration ends at the response to the request (an error response
        raises its error); ``daemon.monitor.stream`` never sends one.
        ``idle_timeout`` raises :class:`DaemonTimeoutError` when no message
        arrives for that long.
        """
        info, params = checked(method, params)
        if info is not None and info.streaming:
            # The typed stream's feed, each item as builtins: blocks of the same
            # request share one subscription however they were opened.
            typed = msgspec.convert(params or {}, info.params_type)
            return self._stream_typed(info, typed, idle_timeout, convert=msgspec.to_builtins)
        key = request_line(method, params, None)
        return self._subscription(
            key, method, partial(request_line, method, params), ANY_MESSAGE, None, idle_timeout
        )

    async def is_daemon_running(self) -> bool:
        """Whether the conductor answers ``daemon.health`` within 2 s. Never raises."""
        if self._target == str(self._path) and not await anyio.Path(self._path).exists():
            return False
        try:
            await self.call("daemon.health", timeout=_HEALTH_TIMEOUT)
        except Exception:
            return False
        return True

    async def check_conductor_version(self, *, timeout: Timeout = NOT_GIVEN) -> bool | None:
        """Whether the conductor's version is one this SDK release supports.

        Asks ``daemon.status``; None when the version cannot be compared. A
        mismatch is also logged as a warning, once per client, as it is
        whenever :meth:`status` first reports the version.
        """
        status = await self.status(timeout=timeout)
        return is_supported(status.version, CONDUCTOR_VERSIONS)

    async def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: Timeout) -> R:
        seconds = self._timeout_seconds(timeout)
        request_id = next(self._ids)
        method_codec = codec(info)
        line = typed_line(method_codec, params, request_id)
        decoder = method_codec.response
        result: R = await self._request(
            info.name, request_id, line, decoder, info.idempotent, seconds
        )
        if info is DAEMON_STATUS and not self._version_seen:
            self._version_seen = True
            _warn_if_unsupported(getattr(result, "version", ""))
        return result

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[False] = False
    ) -> EventStream[models.ObserverEvent]: ...

    @overload
    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: Literal[True]
    ) -> EventStream[models.ObserverEvent | StreamGap]: ...

    def monitor(
        self, *, idle_timeout: float | None = None, reconnect: bool = False
    ) -> EventStream[models.ObserverEvent] | EventStream[models.ObserverEvent | StreamGap]:
        """The conductor's events: ``async with client.monitor() as events``.

        Blocks share one subscription of the client (``daemon.monitor.stream``),
        each with a buffer of its own. Without ``reconnect``, a conductor that
        goes away ends the block with the error that says how. With
        ``reconnect=True`` the client subscribes again (capped, jittered
        backoff) until the conductor is back or the block ends, and the block
        receives a :class:`StreamGap` where the stream broke and resumed: the
        events in between are lost, so resynchronise (``list_jobs()``).
        ``idle_timeout`` raises :class:`DaemonTimeoutError` when no event comes
        for that long.
        """
        return self._stream_typed(
            DAEMON_MONITOR_STREAM, DaemonMonitorStreamParams(), idle_timeout, reconnect=reconnect
        )

    def _stream_typed(
        self,
        info: MethodInfo[P, Any],
        params: P,
        idle_timeout: float | None,
        *,
        reconnect: bool = False,
        convert: Callable[[Any], Any] | None = None,
    ) -> EventStream[Any]:
        method_codec = codec(info)
        key = typed_line(method_codec, params, 0)  # also checks the params now, before any block
        return self._subscription(
            key,
            info.name,
            partial(typed_line, method_codec, params),
            method_codec.message,
            info.notification,
            idle_timeout,
            reconnect,
            convert,
        )

    def _subscription(
        self,
        key: bytes,
        method: str,
        make_line: Callable[[int], bytes],
        decoder: msgspec.json.Decoder[Message[Any]],
        notification: str | None,
        idle_timeout: float | None,
        reconnect: bool = False,
        convert: Callable[[Any], Any] | None = None,
    ) -> EventStream[Any]:
        """A block reading the client's feed of ``key`` (the same request but for its id).

        Reconnecting blocks have a feed of their own: a plain block must end
        where a reconnecting one goes on.
        """
        if reconnect:
            key += b" reconnect"
        positive_seconds("idle_timeout", idle_timeout)

        def feed() -> Feed[Any]:
            found = self._feeds.get(key)
            if found is not None and not found.serves_this_loop():
                found.abandon()
                found = None
            if found is None:
                if self._pool.closed:
                    raise client_closed()
                request_id = next(self._ids)
                found = self._feeds[key] = Feed(
                    self._pool,
                    method,
                    request_id,
                    make_line(request_id),
                    decoder,
                    notification,
                    self._timeout,
                    self._stream_buffer_size,
                    partial(self._forget_feed, key),
                    self._liveness,
                    reconnect,
                )
                if self._observers.active:
                    found.observed = self._observers.stream(method, request_id, self._target)
            return found

        return Subscription(feed, idle_timeout, convert)

    async def _serves(self, timeout: float) -> None:
        """A stream's liveness probe: return if the conductor serves and is not shutting down."""
        if (await self.health(timeout=timeout)).shutting_down:
            raise ConductorStopping

    def _forget_feed(self, key: bytes, feed: Feed[Any]) -> None:
        if self._feeds.get(key) is feed:
            del self._feeds[key]

    def _timeout_seconds(self, timeout: Timeout) -> float | None:
        if timeout is NOT_GIVEN:
            return self._timeout
        return positive_seconds("timeout", timeout)

    async def _request(
        self,
        method: str,
        request_id: int | None,
        line: bytes,
        decoder: msgspec.json.Decoder[Response[Any]] | None,
        idempotent: bool,
        seconds: float | None,
        call: Call | None = None,
    ) -> Any:
        """Send ``line`` (and read its response unless ``decoder`` is None) within ``seconds``.

        The deadline covers waiting for a connection, connecting, sending,
        reading and a retry. Observed, the call is ``call``.
        """
        if call is None and self._observers.active:
            return await self._observers.call(
                self._request, self._target, method, request_id, line, decoder, idempotent, seconds
            )
        deadline = self._pool.deadline_after(seconds)
        started = time.perf_counter()
        possibly_executed = False
        attempts = 0
        while True:
            attempts += 1
            try:
                result = await self._attempt(method, request_id, line, decoder, deadline, call)
            except ConnectionLostError as exc:
                # Sent again only if it provably never left, or running it twice is harmless.
                possibly_executed = possibly_executed or exc.possibly_executed
                if attempts == 2 or (possibly_executed and not idempotent):
                    if possibly_executed and not exc.possibly_executed:
                        raise connection_lost(method, request_id, possibly_executed=True) from exc
                    raise
                _log.debug("%s (id %s): %s; sending again", method, request_id, exc)
                continue
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "%s (id %s): done in %.3f ms, %d attempt(s)",
                    method,
                    request_id,
                    (time.perf_counter() - started) * 1000,
                    attempts,
                )
            return result

    async def _attempt(
        self,
        method: str,
        request_id: int | None,
        line: bytes,
        decoder: msgspec.json.Decoder[Response[Any]] | None,
        deadline: Deadline,
        call: Call | None,
    ) -> Any:
        """One request/response cycle on a pooled connection, held until ``deadline``."""
        pool = self._pool
        sent = False
        try:
            acquiring = pool.acquire(deadline)
            connection = await (acquiring if call is None else call.waiting_for(acquiring))
            reusable = False
            try:
                sent = True
                await connection.send_line(line)
                if decoder is None:
                    reusable = True
                    return None
                # A lone call's answer is usually there at once; with others in
                # flight, reading at once would make the conductor answer one by one.
                reply = await connection.receive_line(eager=pool.in_use == 1)
                result, error = parse(reply, decoder, method, request_id)
                reusable = True
            finally:
                pool.release(connection, reusable=reusable)
        except TRANSPORT_FAILURES as exc:
            raise translate(exc, method, request_id, sent=sent, deadline=deadline) from exc
        if error is not None:
            raise error
        return result

    async def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
    ) -> models.JobState:
        """Wait until the job ``job_id`` is completed, failed or cancelled; return its state.

        A job that has already ended returns at once. The wait follows the
        conductor's monitor stream, ignoring other jobs' events, and asks
        ``job.status`` when this job's end is announced, when the stream says
        events were missed, and every ``poll_interval`` seconds (the
        conductor announces no cancellation, and drops events for a lagging
        subscriber). ``timeout`` bounds the whole wait (None: as long as the
        job runs) and raises :class:`TimeoutError`; the job goes on running.
        """
        return await _waiting.wait_for_job(
            self, job_id, timeout=timeout, poll_interval=poll_interval
        )

    async def submit_and_wait(
        self,
        request: models.JobRequest,
        *,
        timeout: float | None = None,
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
    ) -> models.JobState:
        """Submit ``request`` and wait for its job to end, as :meth:`wait_for_job`.

        Subscribes to the monitor before submitting, so that no end is missed.
        A submission the conductor rejects (``status`` ``"rejected"``) raises
        :class:`JobSubmissionError` with the conductor's reason, and the
        ``JobResponse`` as ``data``.
        """
        return await _waiting.submit_and_wait(
            self, request, timeout=timeout, poll_interval=poll_interval
        )
