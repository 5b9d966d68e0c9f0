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

from ._errors import (
    ConnectionLostError,
    DaemonError,
    DaemonTimeoutError,
    InvalidParamsError,
    ProtocolError,
)
from ._generated.registry import ERROR_CLASS_BY_CODE, METHODS
from ._method import MethodInfo
from ._transport import BadLine, DeadlinePassed, Disconnected, frame

T = TypeVar("T")

TRANSPORT_FAILURES = (Disconnected, BadLine, DeadlinePassed)
"""What the transport and the pool raise for a broken exchange; :func:`translate` names it."""


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
        response = decoder.decode(line)
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
        message: Message[Any] = decoder.decode(line)
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


def _untyped(
    decoder: msgspec.json.Decoder[T],
    line: bytes | bytearray,
    method: str,
    request_id: int | str | None,
) -> T:
    """``line`` decoded untyped, or :class:`ProtocolError` if it is no JSON-RPC message."""
    try:
        return decoder.decode(line)
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
    failure: Exception, method: str, request_id: int | None, *, sent: bool, limit: float | None
) -> DaemonError:
    """The error a call raises when the transport or the pool failed under it.

    ``failure`` is one of :data:`TRANSPORT_FAILURES`; ``sent`` says whether
    any of the request may have been written (so it may have run), and
    ``limit`` is the timeout that ran out.
    """
    if isinstance(failure, DeadlinePassed):
        return DaemonTimeoutError(
            f"{method} (id {request_id}): no response within {limit} s",
            method=method,
            request_id=request_id,
        )
    if isinstance(failure, BadLine):
        return _protocol_error(method, request_id, str(failure))
    return lost(method, request_id, possibly_executed=sent)


def lost(method: str, request_id: int | None, *, possibly_executed: bool) -> ConnectionLostError:
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
