"""Requests, responses and streams: the asynchronous :class:`DaemonClient`.

This layer owns request ids, deadlines, the retry rule and the meaning of the
lines the conductor sends back; the pool below it owns connections.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar

import anyio
import msgspec
from anyio.abc import TaskGroup
from msgspec import UNSET, UnsetType

from . import _waiting
from ._background import start_in_task_group
from ._compat import is_supported
from ._discovery import resolve_socket_path
from ._errors import ConnectionLostError, DaemonError, InvalidParamsError, ProtocolError
from ._eventloop import current_time
from ._generated import models
from ._generated.methods import AsyncMethods
from ._generated.registry import CONDUCTOR_VERSIONS, DAEMON_STATUS, ERROR_CLASS_BY_CODE, METHODS
from ._invoke import EventStream
from ._method import MethodInfo
from ._peercred import DEFAULT_TRUSTED_UIDS
from ._pool import Pool
from ._transport import (
    NO_DEADLINE,
    Connection,
    DeadlinePassed,
    Disconnected,
    by_deadline,
    frame,
)

_HEALTH_TIMEOUT = 2.0

_log = logging.getLogger("marianne_sdk")

T = TypeVar("T")
P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R")


class _Error(msgspec.Struct):
    code: int
    message: str
    data: Any = None


class _Response(msgspec.Struct, Generic[T]):
    id: int | str | None
    jsonrpc: Literal["2.0"]
    result: T | UnsetType = UNSET
    error: _Error | UnsetType = UNSET


class _Message(msgspec.Struct, Generic[T]):
    """A line of a stream: a notification carrying ``T`` params, or the final response."""

    jsonrpc: Literal["2.0"]
    method: str | UnsetType = UNSET
    params: T | UnsetType = UNSET
    id: int | str | UnsetType | None = UNSET
    result: Any | UnsetType = UNSET
    error: _Error | UnsetType = UNSET


_encoder = msgspec.json.Encoder()
_any_response = msgspec.json.Decoder(_Response[Any])
_any_message = msgspec.json.Decoder(_Message[Any])


class _Codec:
    """The decoders of one method, and its requests' start, built once per method.

    A typed decoder is costly to create, and a request of a typed call is its
    start, its params and its id: no dict to build and encode per call.
    """

    __slots__ = ("message", "params", "request_start", "response")

    def __init__(self, info: MethodInfo[Any, Any]) -> None:
        self.request_start = b'{"jsonrpc":"2.0","method":%b,"params":' % _encoder.encode(info.name)
        self.params = msgspec.json.Decoder(info.params_type)
        self.response = msgspec.json.Decoder(_Response[info.result_type])  # type: ignore[name-defined]
        self.message = msgspec.json.Decoder(_Message[info.notification_type])  # type: ignore[name-defined]


_codecs: dict[MethodInfo[Any, Any], _Codec] = {}


def _codec(info: MethodInfo[Any, Any]) -> _Codec:
    codec = _codecs.get(info)
    if codec is None:
        codec = _codecs[info] = _Codec(info)
    return codec


def _request_line(method: str, params: Any, request_id: int | None) -> bytes:
    """The framed request; ``request_id`` None makes it a notification."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    if request_id is not None:
        message["id"] = request_id
    try:
        payload = _encoder.encode(message)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise InvalidParamsError(
            f"params of {method} cannot be encoded as JSON (not sent): {exc}", method=method
        ) from exc
    return frame(payload)


Params = Mapping[str, Any] | msgspec.Struct | None
"""Params of an untyped call: by name, as a mapping or a Struct (the conductor takes no arrays)."""


def _checked(method: str, params: Params) -> tuple[MethodInfo[Any, Any] | None, Any]:
    """``method``'s registry entry and ``params`` as builtins, validated if the method is known."""
    if isinstance(params, msgspec.Struct):
        params = msgspec.to_builtins(params)
    elif params is not None:
        if not isinstance(params, Mapping):
            raise InvalidParamsError(
                f"params of {method} must be a mapping (the conductor takes params by name); "
                "the request was not sent",
                method=method,
            )
        if not isinstance(params, dict):
            params = dict(params)
    info = METHODS.get(method)
    if info is not None:
        try:
            msgspec.convert(params or {}, info.params_type)
        except msgspec.ValidationError as exc:
            raise InvalidParamsError(
                f"invalid params for {method} (not sent): {exc}", method=method
            ) from exc
    return info, params


def _typed_line(info: MethodInfo[P, Any], codec: _Codec, params: P, request_id: int) -> bytes:
    """The framed request of a typed call, after validating ``params`` against its type."""
    try:
        encoded = _encoder.encode(params)
        # Struct construction checks nothing; decoding what would be sent does.
        codec.params.decode(encoded)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise InvalidParamsError(
            f"invalid params for {info.name} (not sent): {exc}", method=info.name
        ) from exc
    return frame(b'%b%b,"id":%d}' % (codec.request_start, encoded, request_id))


def _error(error: _Error, method: str, request_id: int | str | None) -> DaemonError:
    return ERROR_CLASS_BY_CODE.get(error.code, DaemonError)(
        error.message, code=error.code, data=error.data, method=method, request_id=request_id
    )


def _parse(
    line: bytes | bytearray,
    decoder: msgspec.json.Decoder[_Response[Any]],
    method: str,
    request_id: int | None,
) -> tuple[Any, DaemonError | None]:
    """The result of a response that completes the cycle, or the error to raise for it.

    Raises :class:`ProtocolError` when the line is not this call's response: the
    connection is then out of step and must be closed.
    """
    mismatch: msgspec.DecodeError | None = None
    try:
        response = decoder.decode(line)
    except msgspec.DecodeError as exc:
        # Only a well-formed response with the right id and a result of the
        # wrong type leaves the connection usable: find out which this is.
        mismatch = exc
        response = _decode(_any_response, line, method, request_id)
    if (response.result is UNSET) == (response.error is UNSET):
        raise ProtocolError(
            f"{method} (id {request_id}): a response needs exactly one of result and error",
            method=method,
            request_id=request_id,
        )
    if response.id != request_id:
        raise ProtocolError(
            f"{method} (id {request_id}): received the response to id {response.id!r}",
            method=method,
            request_id=request_id,
        )
    if response.error is not UNSET:
        return None, _error(response.error, method, request_id)
    if mismatch is not None:
        return None, ProtocolError(
            f"{method} (id {request_id}): the result does not match the method's type: {mismatch}",
            method=method,
            request_id=request_id,
        )
    return response.result, None


def _decode(
    decoder: msgspec.json.Decoder[T],
    line: bytes | bytearray,
    method: str,
    request_id: int | str | None,
) -> T:
    """``line`` decoded untyped, or :class:`ProtocolError` if it is no JSON-RPC message."""
    try:
        return decoder.decode(line)
    except msgspec.DecodeError:
        raise ProtocolError(
            f"{method} (id {request_id}): not a JSON-RPC message: {line[:200]!r}",
            method=method,
            request_id=request_id,
        ) from None


def _located(error: ProtocolError, method: str, request_id: int | None) -> ProtocolError:
    """A transport's ``error`` said of the call it broke (the transport knows no calls)."""
    return ProtocolError(
        f"{method} (id {request_id}): {error}", method=method, request_id=request_id
    )


def _warn_if_unsupported(version: str) -> None:
    if is_supported(version, CONDUCTOR_VERSIONS) is False:
        _log.warning(
            "conductor version %s is outside the versions this SDK's schema describes (%s): "
            "regenerate the SDK from the conductor's protocol if calls misbehave",
            version,
            CONDUCTOR_VERSIONS,
        )


def _lost(method: str, request_id: int | None, *, possibly_executed: bool) -> ConnectionLostError:
    if possibly_executed:
        what = "after the request was sent: it may have run"
    else:
        what = "before the request was sent"
    return ConnectionLostError(
        f"{method} (id {request_id}): connection to the conductor lost {what}",
        possibly_executed=possibly_executed,
        method=method,
        request_id=request_id,
    )


class DaemonClient(AsyncMethods):
    """Asynchronous client of the Marianne conductor, on asyncio or trio.

    ``socket_path`` defaults to the socket of the clone conductor ``clone`` when
    given (``True`` or ``""``: the default clone), then ``$MARIANNE_SOCKET``, then
    ``/tmp/marianne.sock``.
    A socket served by a user outside ``trusted_uids`` (by default this
    process's user and root) is refused; None trusts anyone.
    ``timeout`` bounds each call as a whole (waiting for a connection, connecting,
    sending, reading and any retry); None waits forever. ``pool_size`` bounds the
    connections used at once (the conductor serves 5 by default); connections
    idle for ``max_idle_seconds`` are closed, and ``connect_timeout`` bounds
    opening one.

    Use ``async with DaemonClient() as client:``: a background task then closes
    idle connections as they expire (otherwise they are closed when next
    needed, and by :meth:`close`) and enforces every call's deadline with one
    timer, which costs less than a cancel scope per call. Leaving the block
    closes the client: calls other tasks still have in flight end, with
    :class:`ConnectionLostError`, or :class:`DaemonError` if they were still
    waiting for a connection.

    A request is sent twice only if it provably never reached the conductor, or
    its method is idempotent; a timeout never causes a second send.

    The conductor serves a limited number of connections at once and leaves
    others unread. A new connection carries requests only once the conductor
    has answered a blank-line handshake on it, and the pool shrinks to the
    connections the conductor does serve, so calls beyond its cap wait for a
    served connection instead of hanging.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        clone: str | bool | None = None,
        timeout: float | None = 30.0,
        pool_size: int = 4,
        connect_timeout: float = 5.0,
        max_idle_seconds: float = 10.0,
        trusted_uids: Collection[int] | None = DEFAULT_TRUSTED_UIDS,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        for name, value in (
            ("timeout", timeout),
            ("connect_timeout", connect_timeout),
            ("max_idle_seconds", max_idle_seconds),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self._path = resolve_socket_path(socket_path, clone=clone)
        self._timeout = timeout
        self._pool = Pool(
            str(self._path),
            size=pool_size,
            max_idle_seconds=max_idle_seconds,
            connect_timeout=connect_timeout,
            trusted_uids=trusted_uids,
        )
        self._ids = itertools.count(1)
        self._task_group: TaskGroup | None = None
        self._version_seen = False

    @property
    def socket_path(self) -> Path:
        """The conductor socket this client talks to."""
        return self._path

    async def __aenter__(self) -> Self:
        if self._task_group is not None:
            raise RuntimeError("this DaemonClient is already in use as a context manager")
        # Started, not just scheduled: the first call's deadline is the pool's to enforce.
        self._task_group = await start_in_task_group(self._pool.run_housekeeping)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        await self.close()
        if task_group is None:
            return None
        task_group.cancel_scope.cancel()
        return await task_group.__aexit__(exc_type, exc, traceback)

    async def close(self) -> None:
        """Close every idle connection; later calls raise :class:`DaemonError`. Idempotent.

        Calls in flight finish and then close their connection. Open streams are
        left to their consumers.
        """
        self._pool.close()

    async def call(
        self, method: str, params: Params = None, *, timeout: float | None = None
    ) -> Any:
        """Call ``method`` and return its result as decoded JSON (dicts, lists, ...).

        Params of a method in :data:`METHODS` are validated before sending
        (:class:`InvalidParamsError`). An error response raises the
        :class:`DaemonError` subclass of its code. ``timeout`` None means the
        client's timeout; when it passes, :class:`TimeoutError` is raised.
        """
        info, params = _checked(method, params)
        if info is not None and info.streaming:
            raise ValueError(f"{method} is a streaming method: use stream()")
        request_id = next(self._ids)
        line = _request_line(method, params, request_id)
        idempotent = info is not None and info.idempotent
        return await self._request(method, request_id, line, _any_response, idempotent, timeout)

    async def notify(self, method: str, params: Params = None) -> None:
        """Send ``method`` as a notification: the conductor runs it and answers nothing.

        Returns once the request is written; nothing tells whether it succeeded.
        """
        info, params = _checked(method, params)
        if info is not None and info.streaming:
            raise ValueError(f"{method} is a streaming method: use stream()")
        line = _request_line(method, params, None)
        idempotent = info is not None and info.idempotent
        await self._request(method, None, line, None, idempotent, None)

    def stream(
        self,
        method: str,
        params: Params = None,
        *,
        idle_timeout: float | None = None,
    ) -> EventStream[Any]:
        """The params of the notifications ``method`` pushes, on a connection of its own.

        Use as ``async with client.stream(m) as events: async for params in events``.
        Iteration ends at the response to this request (an error response raises
        its error); ``daemon.monitor.stream`` never sends one. ``idle_timeout``
        raises :class:`TimeoutError` when no message arrives for that long.
        """
        _, params = _checked(method, params)
        request_id = next(self._ids)
        line = _request_line(method, params, request_id)
        return _Stream(self._pool, method, request_id, line, _any_message, None, idle_timeout)

    async def is_daemon_running(self) -> bool:
        """Whether the conductor answers ``daemon.health`` within 2 s. Never raises."""
        if not await anyio.Path(self._path).exists():
            return False
        try:
            await self.call("daemon.health", timeout=_HEALTH_TIMEOUT)
        except Exception:
            return False
        return True

    async def check_conductor_version(self, *, timeout: float | None = None) -> bool | None:
        """Whether the conductor's version is one the schema was written for.

        Asks ``daemon.status``; None when the version cannot be compared. A
        mismatch is also logged as a warning, once per client, as it is
        whenever :meth:`status` first reports the version.
        """
        status = await self.status(timeout=timeout)
        return is_supported(status.version, CONDUCTOR_VERSIONS)

    async def _call_typed(self, info: MethodInfo[P, R], params: P, timeout: float | None) -> R:
        request_id = next(self._ids)
        codec = _codec(info)
        line = _typed_line(info, codec, params, request_id)
        decoder = codec.response
        result: R = await self._request(
            info.name, request_id, line, decoder, info.idempotent, timeout
        )
        if info is DAEMON_STATUS and not self._version_seen:
            self._version_seen = True
            _warn_if_unsupported(getattr(result, "version", ""))
        return result

    def _stream_typed(
        self, info: MethodInfo[P, Any], params: P, idle_timeout: float | None
    ) -> EventStream[Any]:
        request_id = next(self._ids)
        codec = _codec(info)
        line = _typed_line(info, codec, params, request_id)
        decoder = codec.message
        return _Stream(
            self._pool, info.name, request_id, line, decoder, info.notification, idle_timeout
        )

    async def _request(
        self,
        method: str,
        request_id: int | None,
        line: bytes,
        decoder: msgspec.json.Decoder[_Response[Any]] | None,
        idempotent: bool,
        timeout: float | None,
    ) -> Any:
        """Send ``line`` (and read its response unless ``decoder`` is None) by one deadline.

        The deadline covers waiting for a connection, connecting, sending,
        reading and a retry.
        """
        limit = self._timeout if timeout is None else timeout
        deadline = NO_DEADLINE if limit is None else current_time() + limit
        started = time.perf_counter()
        possibly_executed = False
        attempts = 0
        while True:
            attempts += 1
            attempt = self._attempt(method, request_id, line, decoder, deadline)
            if deadline != NO_DEADLINE and not self._pool.enforces_deadlines:
                attempt = by_deadline(deadline, attempt)
            try:
                result = await attempt
            except DeadlinePassed:
                raise TimeoutError(
                    f"{method} (id {request_id}): no response within {limit} s"
                ) from None
            except ConnectionLostError as exc:
                # Sent again only if it provably never left, or running it twice is harmless.
                possibly_executed = possibly_executed or exc.possibly_executed
                if attempts == 2 or (possibly_executed and not idempotent):
                    if possibly_executed and not exc.possibly_executed:
                        raise _lost(method, request_id, possibly_executed=True) from exc
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
        decoder: msgspec.json.Decoder[_Response[Any]] | None,
        deadline: float,
    ) -> Any:
        """One request/response cycle on a pooled connection.

        ``deadline`` goes to the pool, which enforces it over the whole cycle
        (or the caller does, see :meth:`_request`).
        """
        pool = self._pool
        try:
            connection = await pool.acquire(deadline)
        except Disconnected as exc:
            raise _lost(method, request_id, possibly_executed=False) from exc
        except ProtocolError as exc:
            raise _located(exc, method, request_id) from exc
        reusable = False
        try:
            try:
                await connection.send_line(line)
                if decoder is None:
                    reusable = True
                    return None
                # A lone call's answer is usually there at once; with others in
                # flight, reading at once would make the conductor answer one by one.
                reply = await connection.receive_line(eager=pool.in_use == 1)
            except Disconnected as exc:
                raise _lost(method, request_id, possibly_executed=True) from exc
            except ProtocolError as exc:
                raise _located(exc, method, request_id) from exc
            result, error = _parse(reply, decoder, method, request_id)
            reusable = True
        finally:
            pool.release(connection, reusable=reusable)
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


class _Skip:
    """Marks a stream line that carries nothing for the consumer."""


_SKIP = _Skip()


class _Stream(EventStream[T]):
    """Notifications of one streaming request, on a dedicated connection.

    The connection opens on entering the block (or on the first iteration) and
    closes when the block is left, when iteration ends or fails, or when the
    stream is garbage-collected. An idle timeout or a cancellation leaves it
    open: waiting again is allowed. The final response's result, if one came,
    is in :attr:`result`.
    """

    def __init__(
        self,
        pool: Pool,
        method: str,
        request_id: int,
        line: bytes,
        decoder: msgspec.json.Decoder[_Message[T]],
        notification: str | None,
        idle_timeout: float | None,
    ) -> None:
        self._pool = pool
        self._method = method
        self._request_id = request_id
        self._line = line
        self._decoder = decoder
        self._notification = notification
        self._idle_timeout = idle_timeout
        self._connection: Connection | None = None
        self._finished = False
        self.result: Any = None

    async def __aenter__(self) -> Self:
        if self._connection is None and not self._finished:
            await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> T:
        if self._finished:
            raise StopAsyncIteration
        connection = self._connection or await self._open()
        while True:
            line = await self._receive(connection)
            try:
                item = self._item(line)
            except BaseException:
                await self.aclose()
                raise
            if not isinstance(item, _Skip):
                return item

    async def aclose(self) -> None:
        self._finished = True
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __del__(self) -> None:
        if self._connection is not None:
            self._connection.close_unused()

    async def _open(self) -> Connection:
        connection = await self._pool.open_dedicated()
        try:
            await connection.send_line(self._line)
        except BaseException as exc:
            connection.close()
            if isinstance(exc, Disconnected):
                raise _lost(self._method, self._request_id, possibly_executed=True) from exc
            raise
        self._connection = connection
        return connection

    async def _receive(self, connection: Connection) -> bytes | bytearray:
        if self._idle_timeout is None:
            deadline = NO_DEADLINE
        else:
            deadline = current_time() + self._idle_timeout
        try:
            return await connection.receive_line(deadline)
        except DeadlinePassed:
            raise TimeoutError(
                f"{self._method} stream (id {self._request_id}): "
                f"no message within {self._idle_timeout} s"
            ) from None
        except (Disconnected, ProtocolError) as exc:
            if self._finished:  # closed by aclose() from another task
                raise StopAsyncIteration from None
            await self.aclose()
            if isinstance(exc, Disconnected):
                raise _lost(self._method, self._request_id, possibly_executed=True) from exc
            raise _located(exc, self._method, self._request_id) from exc

    def _item(self, line: bytes | bytearray) -> T | _Skip:
        """The params of a notification; the end of the stream at its response."""
        method, request_id = self._method, self._request_id
        mismatch: msgspec.DecodeError | None = None
        try:
            message: _Message[Any] = self._decoder.decode(line)
        except msgspec.DecodeError as exc:
            mismatch = exc
            message = _decode(_any_message, line, method, request_id)
        if message.method is not UNSET and (message.id is UNSET or message.id is None):
            if self._notification is not None and message.method != self._notification:
                _log.debug("%s stream: skipped a %s notification", method, message.method)
                return _SKIP
            if mismatch is not None or message.params is UNSET:
                raise ProtocolError(
                    f"{method} stream: a {message.method} notification does not match "
                    f"its declared type: {mismatch or 'no params'}",
                    method=method,
                    request_id=request_id,
                )
            item: T = message.params
            return item
        if (message.result is UNSET) == (message.error is UNSET) or message.method is not UNSET:
            raise ProtocolError(
                f"{method} stream (id {request_id}): neither a notification nor a response: "
                f"{line[:200]!r}",
                method=method,
                request_id=request_id,
            )
        if message.error is not UNSET and message.id in (request_id, None):
            raise _error(message.error, method, request_id)
        if message.id != request_id:
            raise ProtocolError(
                f"{method} stream (id {request_id}): received the response to id {message.id!r}",
                method=method,
                request_id=request_id,
            )
        self.result = message.result
        raise StopAsyncIteration
