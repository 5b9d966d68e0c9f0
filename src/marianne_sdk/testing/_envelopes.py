"""JSON-RPC envelopes as the conductor reads and writes them (protocol §1.4-1.5, §2).

How a request line is parsed or refused, and how a handler's outcome becomes
a response: the one mapping of handler failures to error codes, for plain
and streaming handlers alike.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._wire import MAX_LINE_BYTES

RequestId = int | str | None

Handler = Callable[[dict[str, Any]], Any]
"""Takes the request's params (``{}`` when none) and returns the result.

May be a plain or an ``async`` function. Returning None answers ``null`` (a
conductor handler returning None would not answer at all). An async generator
function makes a streaming method: each item it yields is pushed as a
notification, and the request is answered (``null`` result) when it ends.
Raise :class:`FakeRpcError` to answer with an error; ``TypeError``,
``ValueError`` and ``KeyError`` answer -32602 and any other exception -32603,
as on the conductor, whether the handler streams or not.
"""


class FakeRpcError(Exception):
    """Raise from a handler to answer with a JSON-RPC error of ``code``.

    The response carries ``message`` and ``data`` exactly as given.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as the fake read it (``id`` None for a notification).

    ``connection`` numbers the connection it came on, from 1 in the order the
    fake accepted them; it takes no part in comparisons, so a test may write
    ``ReceivedRequest("daemon.health", {}, 1)`` whatever connection it used.
    """

    method: str
    params: Any
    id: RequestId
    connection: int = field(default=0, compare=False)


class Invalid(Exception):
    """A request envelope the conductor refuses with an error: ``(code, message, id)``."""


class Unanswerable(Exception):
    """A request the conductor drops the connection for (an unusable id, invalid UTF-8)."""


def parse_request(line: bytes) -> tuple[RequestId, str, dict[str, Any]]:
    """``(id, method, params)`` of a request line, or why the conductor refuses it."""
    if len(line) >= MAX_LINE_BYTES or not line.strip():
        raise Invalid(-32700, "Parse error: malformed JSON", None)
    try:
        message = json.loads(line)
    except UnicodeDecodeError:
        raise Unanswerable from None
    except ValueError:
        raise Invalid(-32700, "Parse error: malformed JSON", None) from None
    if not isinstance(message, dict) or "method" not in message:
        request_id = _request_id(message.get("id")) if isinstance(message, dict) else None
        raise Invalid(-32600, "Invalid request: missing 'method' field", request_id)
    request_id = _request_id(message.get("id"))
    method, params = message["method"], message.get("params")
    if message.get("jsonrpc", "2.0") != "2.0":
        raise Invalid(-32600, "Invalid request: jsonrpc must be '2.0'", request_id)
    if not isinstance(method, str):
        raise Invalid(-32600, "Invalid request: method must be a string", request_id)
    if params is not None and not isinstance(params, dict):
        raise Invalid(-32600, "Invalid request: params must be an object", request_id)
    return request_id, method, params or {}


def _request_id(value: Any) -> RequestId:
    """The id as the conductor echoes it (pydantic's lax coercion), or :class:`Unanswerable`."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Unanswerable


async def answer(handler: Handler, params: dict[str, Any], request_id: RequestId) -> dict[str, Any]:
    """The response to a request answered by a plain (not streaming) handler."""
    try:
        result = handler(params)
        if inspect.isawaitable(result):
            result = await result
    except Exception as failure:
        return failure_response(failure, request_id)
    return result_response(result, request_id)


def failure_response(failure: Exception, request_id: RequestId) -> dict[str, Any]:
    """The error response to a handler's exception, as the conductor maps them."""
    if isinstance(failure, FakeRpcError):
        return error_response(failure.code, failure.message, request_id, failure.data)
    if isinstance(failure, TypeError | ValueError | KeyError):
        return error_response(-32602, f"Invalid params: {failure}", request_id)
    return error_response(-32603, f"Internal error: {failure}", request_id)


def result_response(result: Any, request_id: RequestId) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def error_response(
    code: int, message: str, request_id: RequestId, data: Any = None
) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": code, "message": message, "data": data},
        "id": request_id,
    }
