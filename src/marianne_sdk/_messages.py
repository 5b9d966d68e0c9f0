"""What the lines mean: requests built and checked, responses and notifications read, failures named.

Everything here is synchronous and stateless. The client (:mod:`._client`)
and its streams (:mod:`._streams`) send and read the lines; this module says
what goes into them, what came back, and which :class:`DaemonError` a failure
of the layers below becomes (:func:`translate`, the one place where that is
decided).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from ._backends import Deadline
from ._errors import (
    ConductorBusyError,
    ConnectionLostError,
    DaemonError,
    DaemonNotRunningError,
    DaemonShuttingDownError,
    DaemonTimeoutError,
    InvalidParamsError,
    ProtocolError,
    RequestTooLargeError,
    SSHConnectError,
    UntrustedDaemonError,
)
from ._failures import (
    CONNECTION_FAILURES,
    BadLine,
    ConductorSilent,
    ConductorStopping,
    DeadlinePassed,
    NoSlot,
    NotSent,
    PoolClosed,
    SSHFailed,
    Unreachable,
    Untrusted,
)
from ._generated.registry import ERROR_CLASS_BY_CODE, METHODS
from ._method import MethodInfo
from ._transport import MAX_CONTENT

T = TypeVar("T")

TRANSPORT_FAILURES = CONNECTION_FAILURES
"""What the transport, the connectors and the pool raise; :func:`translate` names it."""


class _Error(msgspec.Struct):
    code: int
    message: str
    data: Any = None


class Response(msgspec.Struct, Generic[T]):
    id: int | str | None
    jsonrpc: Literal["2.0"]
    result: T | UnsetType = UNSET
    error: _Error | UnsetType = UNSET


class Message(msgspec.Struct, Generic[T]):
    """A line of a stream: a notification carrying ``T`` params, or the final response."""

    jsonrpc: Literal["2.0"]
    method: str | UnsetType = UNSET
    params: T | UnsetType = UNSET
    id: int | str | UnsetType | None = UNSET
    result: Any | UnsetType = UNSET
    error: _Error | UnsetType = UNSET


_encoder = msgspec.json.Encoder()
ANY_RESPONSE = msgspec.json.Decoder(Response[Any])
ANY_MESSAGE = msgspec.json.Decoder(Message[Any])


class Codec:
    """The decoders of one method, and its requests' start, built once per method.

    A typed decoder is costly to create, and a request of a typed call is its
    start, its params and its id: no dict to build and encode per call.
    """

    __slots__ = ("message", "method", "params", "request_start", "response")

    def __init__(self, info: MethodInfo[Any, Any]) -> None:
        self.method = info.name
        self.request_start = b'{"jsonrpc":"2.0","method":%b,"params":' % _encoder.encode(info.name)
        self.params = msgspec.json.Decoder(info.params_type)
        self.response = msgspec.json.Decoder(Response[info.result_type])  # type: ignore[name-defined]
        self.message = msgspec.json.Decoder(Message[info.notification_type])  # type: ignore[name-defined]


_codecs: dict[MethodInfo[Any, Any], Codec] = {}


def codec(info: MethodInfo[Any, Any]) -> Codec:
    found = _codecs.get(info)
    if found is None:
        found = _codecs[info] = Codec(info)
    return found


# ---- requests ---------------------------------------------------------------------------

Params = Mapping[str, Any] | msgspec.Struct | None
"""Params of an untyped call: by name, as a mapping or a Struct (the conductor takes no arrays)."""


def checked(method: str, params: Params) -> tuple[MethodInfo[Any, Any] | None, Any]:
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


def frame(payload: bytes) -> bytes:
    """``payload`` as a line, or :class:`RequestTooLargeError` if the conductor would drop it."""
    if len(payload) > MAX_CONTENT:
        raise RequestTooLargeError(
            f"request of {len(payload)} bytes exceeds the conductor's line limit "
            f"of {MAX_CONTENT} bytes; it was not sent"
        )
    return payload + b"\n"


def request_line(method: str, params: Any, request_id: int | None) -> bytes:
    """The framed request of an untyped call; ``request_id`` None makes it a notification."""
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


def typed_line(method_codec: Codec, params: Any, request_id: int) -> bytes:
    """The framed request of a typed call, after validating ``params`` against its type."""
    method = method_codec.method
    try:
        encoded = _encoder.encode(params)
        # Struct construction checks nothing; decoding what would be sent does.
        method_codec.params.decode(encoded)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise InvalidParamsError(
            f"invalid params for {method} (not sent): {exc}", method=method
        ) from exc
    return frame(b'%b%b,"id":%d}' % (method_codec.request_start, encoded, request_id))


# ---- responses and notifications ---------------------------------------------------------


def error_of(error: _Error, method: str, request_id: int | str | None) -> DaemonError:
    """The exception of an error response."""
    return ERROR_CLASS_BY_CODE.get(error.code, DaemonError)(
        error.message, code=error.code, data=error.data, method=method, request_id=request_id
    )


def parse(
    line: bytes | bytearray,
    decoder: msgspec.json.Decoder[Response[Any]],
    method: str,
    request_id: int | None,
) -> tuple[Any, DaemonError | None]:
    """The result of a response that completes the cycle, or the error to raise for it.

    Raises :class:`ProtocolError` when the line is not this call's response: the
    connection is then out of step and must be closed.
    """
    mismatch: msgspec.DecodeError | None = None
    try:
        response = _decode(decoder, line, method, request_id)
    except msgspec.DecodeError as exc:
        # Only a well-formed response with the right id and a result of the
        # wrong type leaves the connection usable: find out which this is.
        mismatch = exc
        response = _untyped(ANY_RESPONSE, line, method, request_id)
    if (response.result is UNSET) == (response.error is UNSET):
        raise _protocol_error(
            method, request_id, "a response needs exactly one of result and error"
        )
    if response.id != request_id:
        raise _protocol_error(method, request_id, f"received the response to id {response.id!r}")
    if response.error is not UNSET:
        return None, error_of(response.error, method, request_id)
    if mismatch is not None:
        return None, _protocol_error(
            method, request_id, f"the result does not match the method's type: {mismatch}"
        )
    return response.result, None


class StreamEnd(Exception):
    """The final response of a stream: ``result`` is its result."""

    def __init__(self, result: Any) -> None:
        super().__init__(result)
        self.result = result


class Skip:
    """Marks a stream line that carries nothing for the consumer."""


SKIP = Skip()


def parse_stream_line(
    line: bytes | bytearray,
    decoder: msgspec.json.Decoder[Message[T]],
    method: str,
    request_id: int,
    notification: str | None,
) -> T | Skip:
    """The params of a notification, :data:`SKIP`, or the end of the stream.

    Raises :class:`StreamEnd` at the stream's result, the :class:`DaemonError`
    of its error response, and :class:`ProtocolError` for anything else.
    """
    mismatch: msgspec.DecodeError | None = None
    try:
        message: Message[Any] = _decode(decoder, line, method, request_id)
    except msgspec.DecodeError as exc:
        mismatch = exc
        message = _untyped(ANY_MESSAGE, line, method, request_id)
    if message.method is not UNSET and (message.id is UNSET or message.id is None):
        if notification is not None and message.method != notification:
            return SKIP
        if mismatch is not None or message.params is UNSET:
            raise _protocol_error(
                method,
                request_id,
                f"a {message.method} notification does not match its declared type: "
                f"{mismatch or 'no params'}",
            )
        item: T = message.params
        return item
    if (message.result is UNSET) == (message.error is UNSET) or message.method is not UNSET:
        raise _protocol_error(
            method, request_id, f"neither a notification nor a response: {bytes(line[:200])!r}"
        )
    if message.error is not UNSET and message.id in (request_id, None):
        raise error_of(message.error, method, request_id)
    if message.id != request_id:
        raise _protocol_error(method, request_id, f"received the response to id {message.id!r}")
    raise StreamEnd(message.result)


def _decode(
    decoder: msgspec.json.Decoder[T],
    line: bytes | bytearray,
    method: str,
    request_id: int | str | None,
) -> T:
    """``line`` decoded; :class:`msgspec.DecodeError` if it does not match, ProtocolError if worse.

    Hostile input fails in other ways than a DecodeError (nesting deep enough
    to exhaust the stack, a size that exhausts memory, a model's own checks):
    whatever it is, it is this call's ProtocolError, never the caller's
    RecursionError.
    """
    try:
        return decoder.decode(line)
    except msgspec.DecodeError:
        raise
    except Exception as exc:
        raise _protocol_error(
            method,
            request_id,
            f"undecodable line ({type(exc).__name__}: {exc}): {bytes(line[:200])!r}",
        ) from exc


def _untyped(
    decoder: msgspec.json.Decoder[T],
    line: bytes | bytearray,
    method: str,
    request_id: int | str | None,
) -> T:
    """``line`` decoded untyped, or :class:`ProtocolError` if it is no JSON-RPC message."""
    try:
        return _decode(decoder, line, method, request_id)
    except msgspec.DecodeError:
        raise _protocol_error(
            method, request_id, f"not a JSON-RPC message: {bytes(line[:200])!r}"
        ) from None


def _protocol_error(method: str, request_id: int | str | None, what: str) -> ProtocolError:
    return ProtocolError(
        f"{method} (id {request_id}): {what}", method=method, request_id=request_id
    )


# ---- failures ---------------------------------------------------------------------------


def translate(
    failure: Exception,
    method: str,
    request_id: int | None,
    *,
    sent: bool,
    deadline: Deadline,
    stream: bool = False,
) -> DaemonError:
    """The error a call or a stream raises when a layer below failed under it.

    ``failure`` is one of :data:`TRANSPORT_FAILURES`; ``sent`` says whether
    any of the request may have been written (so it may have run), and
    ``deadline`` is the one that passed, if one did.
    """
    what = f"{method} (id {request_id})" if request_id is not None else method
    if isinstance(failure, DeadlinePassed):
        awaited = "message" if stream else "response"
        return DaemonTimeoutError(
            f"{what}: no {awaited} within {deadline.seconds} s",
            method=method,
            request_id=request_id,
        )
    if isinstance(failure, BadLine):
        return _protocol_error(method, request_id, str(failure))
    if isinstance(failure, Untrusted):
        return UntrustedDaemonError(
            str(failure), uid=failure.uid, pid=failure.pid, path=failure.path
        )
    if isinstance(failure, SSHFailed):
        return SSHConnectError(str(failure), target=failure.target, stderr=failure.stderr)
    if isinstance(failure, Unreachable):
        return DaemonNotRunningError(str(failure), method=method)
    if isinstance(failure, NoSlot):
        return ConductorBusyError(str(failure), method=method, request_id=request_id)
    if isinstance(failure, PoolClosed):
        return client_closed()
    if isinstance(failure, ConductorStopping):
        return DaemonShuttingDownError(
            f"{method}: the conductor is shutting down (daemon.health says so): "
            "the stream is closed so that it can exit",
            method=method,
        )
    if isinstance(failure, ConductorSilent):
        return DaemonTimeoutError(
            f"{method}: the conductor stopped answering: nothing came on the stream, and "
            f"daemon.health got no answer within {deadline.seconds} s",
            method=method,
        )
    if stream:
        return ConnectionLostError(
            f"{method}: the conductor closed the stream (it stopped or restarted)",
            possibly_executed=False,
            method=method,
        )
    return connection_lost(
        method, request_id, possibly_executed=sent and not isinstance(failure, NotSent)
    )


def client_closed() -> DaemonError:
    """The error of a call on a closed client."""
    return DaemonError("the client is closed: make a new one")


def connection_lost(
    method: str, request_id: int | None, *, possibly_executed: bool
) -> ConnectionLostError:
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
