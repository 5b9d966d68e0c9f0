"""``marianne-sdk record``: a proxy that forwards every byte and records every line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from anyio.abc import SocketStream
from tests.test_cli import COMMAND, ENV, cli, next_line

from marianne_sdk import DaemonClient, DaemonError, JobRequest
from marianne_sdk._recorder import RAW_KEPT_BYTES, Recorder
from marianne_sdk._recording import REDACTED, Direction, Exchange, read_recording
from marianne_sdk._transport import MAX_LINE_BYTES
from marianne_sdk.cli import EXIT_ERROR, EXIT_USAGE
from marianne_sdk.sync import DaemonClient as BlockingClient
from marianne_sdk.testing import FakeDaemon, SocketInUseError

pytestmark = pytest.mark.anyio

SECRETS = ("s3cret-param", "s3cret-result", "s3cret-nested", "s3cret-raw")


@pytest.fixture
def proxy_path(socket_path: Path) -> Path:
    return socket_path.with_name("proxy.sock")


@pytest.fixture
def out(socket_path: Path) -> Path:
    return socket_path.with_name("session.ndjson")


@asynccontextmanager
async def recording(
    upstream: Path | str, listen: Path, out: Path, **options: Any
) -> AsyncIterator[Recorder]:
    """An in-process recording proxy, serving until the block ends."""
    recorder = Recorder(upstream, listen, out, **options)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as task_group:
            await task_group.start(recorder.serve)
            yield recorder
            task_group.cancel_scope.cancel()


def messages(exchanges: list[Exchange], direction: Direction) -> list[dict[str, Any]]:
    return [
        exchange.message
        for exchange in exchanges
        if exchange.direction is direction and isinstance(exchange.message, dict)
    ]


def requests_of(exchanges: list[Exchange], method: str) -> list[Exchange]:
    return [
        exchange
        for exchange in exchanges
        if isinstance(exchange.message, dict) and exchange.message.get("method") == method
    ]


def answer_to(exchanges: list[Exchange], request: Exchange) -> Exchange:
    """The response on ``request``'s connection with its id."""
    return next(
        exchange
        for exchange in exchanges
        if exchange.connection == request.connection
        and exchange.direction is Direction.FROM_CONDUCTOR
        and isinstance(exchange.message, dict)
        and "method" not in exchange.message
        and exchange.message.get("id") == request.message["id"]
    )


async def receive_line(stream: SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        data += await stream.receive()
    return data


async def send_and_receive(stream: SocketStream, data: bytes) -> bytes:
    await stream.send(data)
    return await stream.receive()


async def test_a_session_is_recorded_message_by_message(
    fake: FakeDaemon, proxy_path: Path, out: Path
) -> None:
    fake.plan_job("recorded", sheets=2)
    async with (
        recording(fake.socket_path, proxy_path, out) as recorder,
        DaemonClient(proxy_path, timeout=30) as client,
    ):
        status = await client.status()
        async with client.monitor(idle_timeout=30) as events:
            submitted = await client.submit_job(JobRequest(config_path="/scores/recorded.yaml"))
            seen = []
            async for event in events:
                if event.job_id == "recorded":
                    seen.append(event.event)
                    if event.event == "job.completed":
                        break
        state = await client.get_job_status("recorded")
        listed = await client.list_jobs()
        with pytest.raises(DaemonError) as rejected:
            await client.get_job_status("missing")
        connections = recorder.connections

    header, exchanges = read_recording(out)
    assert header.upstream == fake.socket_path
    assert header.redacted == []
    assert {exchange.connection for exchange in exchanges} == set(range(1, connections + 1))
    times = [exchange.time for exchange in exchanges]
    assert times == sorted(times)
    assert fake.count("daemon.status") == len(requests_of(exchanges, "daemon.status"))

    [status_request] = requests_of(exchanges, "daemon.status")
    assert answer_to(exchanges, status_request).message["result"]["pid"] == status.pid
    [submit] = requests_of(exchanges, "job.submit")
    assert submit.message["params"]["config_path"] == "/scores/recorded.yaml"
    assert answer_to(exchanges, submit).message["result"]["job_id"] == submitted.job_id
    state_request, missing_request = requests_of(exchanges, "job.status")
    assert answer_to(exchanges, state_request).message["result"]["status"] == state.status
    [list_request] = requests_of(exchanges, "job.list")
    assert len(answer_to(exchanges, list_request).message["result"]) == len(listed)
    error = answer_to(exchanges, missing_request).message["error"]
    assert error["code"] == rejected.value.code

    # The job's events, on the monitor's connection, in the order they arrived.
    [monitor_request] = requests_of(exchanges, "daemon.monitor.stream")
    recorded_events = [
        exchange.message["params"]["event"]
        for exchange in exchanges
        if exchange.connection == monitor_request.connection
        and exchange.direction is Direction.FROM_CONDUCTOR
        and exchange.message.get("method") == "monitor.event"
        and exchange.message["params"]["job_id"] == "recorded"
    ]
    assert recorded_events[: len(seen)] == seen
    assert seen[0] == "job.started"
    assert submit.connection != monitor_request.connection


async def test_bytes_are_forwarded_unchanged_in_both_directions(
    socket_path: Path, proxy_path: Path, out: Path
) -> None:
    """Against an echo server: what the client sends is what the server gets, byte for byte."""
    received: list[bytes] = []
    sent = (
        b'{ "id" : 1,"method":"a.b" ,\t"params":{"z":1,"a":2}}\n'
        b"\xff\xfe not utf-8, not JSON\n"
        b'\n{"jsonrpc":"2.0","method":"unterminated"'
    )

    async def echo(stream: SocketStream) -> None:
        async with stream:
            data = b""
            while True:
                try:
                    data += await stream.receive()
                except anyio.EndOfStream:
                    break
            received.append(data)
            await stream.send(data)

    listener = await anyio.create_unix_listener(socket_path)
    async with listener, anyio.create_task_group() as servers:
        servers.start_soon(listener.serve, echo)
        async with (
            recording(socket_path, proxy_path, out),
            await anyio.connect_unix(proxy_path) as stream,
        ):
            await stream.send(sent)
            await stream.send_eof()  # the server echoes once it has it all
            echoed = b""
            while True:
                try:
                    echoed += await stream.receive()
                except anyio.EndOfStream:
                    break
        servers.cancel_scope.cancel()
    assert received == [sent]
    assert echoed == sent
    _, exchanges = read_recording(out)
    for direction in Direction:
        recorded = [exchange for exchange in exchanges if exchange.direction is direction]
        assert [exchange.message for exchange in recorded[:1]] == [
            {"id": 1, "method": "a.b", "params": {"z": 1, "a": 2}}
        ]
        assert [exchange.raw for exchange in recorded[1:]] == [
            "\ufffd\ufffd not utf-8, not JSON",
            "",
            '{"jsonrpc":"2.0","method":"unterminated"',
        ]


async def test_bad_lines_reach_the_conductor_and_other_connections_go_on(
    fake: FakeDaemon, proxy_path: Path, out: Path
) -> None:
    async with (
        recording(fake.socket_path, proxy_path, out),
        DaemonClient(proxy_path, timeout=30) as client,
    ):
        await client.status()
        async with await anyio.connect_unix(proxy_path) as bad:
            await bad.send(b"this is not JSON\n")
            assert json.loads(await receive_line(bad))["error"]["code"] == -32700
            # Exactly the limit: the conductor reads it, refuses it and keeps the connection.
            await bad.send(b"x" * MAX_LINE_BYTES + b"\n")
            assert json.loads(await receive_line(bad))["error"]["code"] == -32700
            await client.status()
            await bad.send(b'{"jsonrpc":"2.0","method":"daemon.health","id":9}\n')
            assert json.loads(await receive_line(bad))["id"] == 9
            # Over it: the conductor drops the connection, and so does the proxy.
            with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                await send_and_receive(bad, b"y" * (MAX_LINE_BYTES + 10) + b"\n")
        assert (await client.status()).pid == os.getpid()
    assert fake.count("daemon.health") == 1
    assert fake.count("daemon.status") == 3

    _, exchanges = read_recording(out)
    raw = [
        exchange.raw
        for exchange in exchanges
        if exchange.raw and exchange.direction is Direction.TO_CONDUCTOR
    ]
    assert raw[0] == "this is not JSON"
    for kept, letter in zip(raw[1:], "xy", strict=True):
        assert kept.startswith(letter * RAW_KEPT_BYTES + "... [an oversize line of ")
    # The conductor takes all of the one it refuses; it may stop reading the other early.
    assert f"oversize line of {MAX_LINE_BYTES} bytes" in raw[1]
    assert len(raw) == 3


async def test_redacted_values_never_reach_the_file(
    fake: FakeDaemon, proxy_path: Path, out: Path
) -> None:
    def login(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "s3cret-result",
            "user": params["user"],
            "sessions": [{"token": {"value": "s3cret-nested"}, "id": 1}],
        }

    fake.register("auth.login", login)
    async with (
        recording(fake.socket_path, proxy_path, out, redact=["token"]),
        DaemonClient(proxy_path, timeout=30) as client,
    ):
        result = await client.call("auth.login", {"user": "ana", "token": "s3cret-param"})
        async with await anyio.connect_unix(proxy_path) as bad:
            await bad.send(b'{"token": "s3cret-raw", \n')
            assert json.loads(await receive_line(bad))["error"]["code"] == -32700
    # Forwarded unchanged: the conductor and the client got the real values.
    assert fake.requests[-1].params["token"] == "s3cret-param"
    assert result["sessions"][0]["token"]["value"] == "s3cret-nested"

    text = await anyio.Path(out).read_text()
    assert not [secret for secret in SECRETS if secret in text]
    header, exchanges = read_recording(out)
    assert header.redacted == ["token"]
    [request] = requests_of(exchanges, "auth.login")
    assert request.message["params"] == {"user": "ana", "token": REDACTED}
    assert answer_to(exchanges, request).message["result"] == {
        "token": REDACTED,
        "user": "ana",
        "sessions": [{"token": REDACTED, "id": 1}],
    }


async def test_refuses_to_listen_where_a_server_listens(fake: FakeDaemon, out: Path) -> None:
    recorder = Recorder(fake.socket_path, fake.socket_path, out)
    with pytest.raises(SocketInUseError):
        await recorder.serve()
    assert (await anyio.Path(fake.socket_path).is_socket()) is True


@contextmanager
def record_command(upstream: str, proxy_path: Path, out: Path) -> Iterator[subprocess.Popen[str]]:
    proxy = subprocess.Popen(
        [*COMMAND, "record", "--socket", upstream, "--listen", str(proxy_path), "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    with proxy:
        try:
            assert next_line(proxy, timeout=30).startswith(f"recording {upstream} on {proxy_path}")
            yield proxy
        finally:
            proxy.kill()
            proxy.wait(timeout=30)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_a_stopped_proxy_leaves_a_complete_file(
    fake: FakeDaemon, proxy_path: Path, out: Path, stop: signal.Signals
) -> None:
    with record_command(fake.socket_path, proxy_path, out) as proxy:
        async with (
            DaemonClient(proxy_path, timeout=30, pool_size=4) as client,
            client.monitor(idle_timeout=30),
        ):
            for _ in range(3):
                await client.status()
            async with anyio.create_task_group() as calls:
                for _ in range(4):
                    calls.start_soon(client.list_jobs)
            proxy.send_signal(stop)
            await anyio.to_thread.run_sync(lambda: proxy.wait(timeout=30))
        assert proxy.returncode == 0
    assert not await anyio.Path(proxy_path).exists()

    data = await anyio.Path(out).read_bytes()
    assert data.endswith(b"\n")
    lines = data.splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "marianne-sdk-recording"
    decoded = [msgspec.json.decode(line, type=Exchange) for line in lines[1:]]
    assert len(requests_of(decoded, "daemon.status")) == 3
    assert len(requests_of(decoded, "job.list")) == 4
    assert len(requests_of(decoded, "daemon.monitor.stream")) == 1


def test_record_needs_listen_and_out(socket_path: Path) -> None:
    result = cli("record", "--socket", str(socket_path), "--out", "x.ndjson")
    assert result.returncode == EXIT_USAGE
    assert "--listen" in result.stderr


def test_record_refuses_a_served_listen_socket(socket_path: Path, out: Path) -> None:
    with FakeDaemon.in_thread(socket_path) as fake:
        result = cli("record", "--listen", fake.socket_path, "--out", str(out))
        with BlockingClient(fake.socket_path) as client:
            assert client.health()  # the fake's socket is its own still
    assert result.returncode == EXIT_ERROR
    assert "SocketInUseError" in result.stderr
    assert not out.exists()
