"""Whatever a conductor sends back, a call returns its typed result or raises ProtocolError.

Generated malformed and hostile response lines go to the client over a real
socket; after each, the next call must succeed: the bad line failed only its
own call, and the pool dropped that connection.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import raw_server, send_all

from marianne_sdk import DaemonClient, DaemonError, HealthResult, ProtocolError

HANDSHAKE_REPLY = b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}\n'
HEALTH = {"pid": 1, "shutting_down": False, "status": "ok", "uptime_seconds": 1.0}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
"""Values msgspec will have to reject or accept, of every JSON type."""

responses = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.sampled_from([1, 2, None, "1"]) | json_values,
        "result": st.just(HEALTH) | json_values,
        "error": st.fixed_dictionaries({"code": json_values, "message": json_values}) | json_values,
        "method": json_values,
    },
).map(lambda message: json.dumps(message).encode())
"""JSON-RPC-shaped objects with every field possibly wrong, missing or of another type."""

hostile_lines = st.one_of(
    responses,
    st.binary(max_size=300).map(lambda raw: raw.replace(b"\n", b" ")),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=100_000).map(
        lambda depth: b'{"jsonrpc":"2.0","id":1,"result":' + b'{"a":' * depth + b"1" + b"}" * depth
    ),
    st.sampled_from(
        [
            b'{"jsonrpc":"2.0","id":1,"result":{"pid":1e999999,"status":"ok"}}',
            b'{"jsonrpc":"2.0","id":1,"result":{"pid":' + b"9" * 5000 + b"}}",
            b'{"jsonrpc":"2.0","id":1,"result":"\xff\xfe"}',
            b'{"jsonrpc":"2.0","id":1,"result":"\\ud800"}',
            b'{"jsonrpc":"2.0","id":1,"result":1}{"jsonrpc":"2.0","id":2,"result":2}',
            b'{"jsonrpc":"2.0","id":1,"result":1,"result":2}',
        ]
    ),
)


def serve_once(hostile: bytes) -> Any:
    """A connection script: the handshake, then ``hostile`` to the first request, then health."""
    answered = {"hostile": False}

    async def script(sock: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\n" not in buffer:
                await anyio.wait_readable(sock)
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            line, _, buffer = buffer.partition(b"\n")
            if not line.strip():
                await send_all(sock, HANDSHAKE_REPLY)
            elif not answered["hostile"]:
                answered["hostile"] = True
                await send_all(sock, hostile + b"\n")
            else:
                request_id = json.loads(line)["id"]
                reply = {"jsonrpc": "2.0", "result": HEALTH, "id": request_id}
                await send_all(sock, json.dumps(reply).encode() + b"\n")

    return script


async def _outcome(client: DaemonClient, typed: bool) -> object:
    """The call's result, or the DaemonError it raised (anything else propagates)."""
    try:
        if typed:
            return await client.health()
        await client.call("daemon.health")
    except DaemonError as error:
        return error
    return HealthResult(**HEALTH)  # an untyped result: any JSON is one


async def exchange(socket_path: Path, hostile: bytes, typed: bool) -> None:
    async with (
        raw_server(socket_path, serve_once(hostile)),
        DaemonClient(socket_path, trusted_uids=None, timeout=30) as client,
    ):
        with anyio.fail_after(60):
            outcome = await _outcome(client, typed)
            assert isinstance(outcome, ProtocolError | HealthResult) or (
                isinstance(outcome, DaemonError) and outcome.code is not None
            ), f"neither a result, an error response nor a ProtocolError: {outcome!r}"
            after = await client.health()
        assert after == HealthResult(**HEALTH), "the next call is served as if nothing happened"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=hostile_lines, typed=st.booleans())
def test_any_response_is_a_result_or_a_protocol_error(
    tmp_path_factory: pytest.TempPathFactory, backend: str, hostile: bytes, typed: bool
) -> None:
    socket_path = Path(tmp_path_factory.mktemp("hostile", numbered=True)) / "c.sock"
    anyio.run(exchange, socket_path, hostile, typed, backend=backend)


@pytest.mark.anyio
@pytest.mark.parametrize("typed", [True, False], ids=["typed", "untyped"])
async def test_a_response_nested_a_million_deep_is_a_protocol_error(
    socket_path: Path, typed: bool
) -> None:
    nested = b'{"jsonrpc":"2.0","id":1,"result":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    async with (
        raw_server(socket_path, serve_once(nested)),
        DaemonClient(socket_path, trusted_uids=None, timeout=30) as client,
    ):
        with anyio.fail_after(60):
            with pytest.raises(ProtocolError):
                await (client.health() if typed else client.call("daemon.health"))
            assert await client.health() == HealthResult(**HEALTH)
