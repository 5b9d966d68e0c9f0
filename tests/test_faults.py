"""Faults on the wire: what each does to the call, whether it is retried, and that the next call works."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support import raw_server, send_all

from marianne_sdk import (
    ConnectionLostError,
    DaemonClient,
    DaemonNotRunningError,
    JobRequest,
    ProtocolError,
    RequestTooLargeError,
)
from marianne_sdk._transport import MAX_LINE_BYTES
from marianne_sdk.testing import FakeDaemon, Fault

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("fault", "complaint"),
    [
        (Fault.GARBAGE, "not a JSON-RPC message"),
        (Fault.WRONG_ID, "received the response to id 1000001"),
        (Fault.OVERSIZE, "longer than the limit"),
        (Fault.TRUNCATED, "middle of a line"),
    ],
)
async def test_a_bad_response_fails_that_call_only(
    fake: FakeDaemon, client: DaemonClient, fault: Fault, complaint: str
) -> None:
    fake.inject(fault, "job.list")
    with pytest.raises(ProtocolError, match=complaint) as caught:
        await client.call("job.list")
    assert (caught.value.method, caught.value.request_id) == ("job.list", 1)
    assert fake.count("job.list") == 1, "a protocol error is never retried"
    assert await client.call("job.list") == []
    assert fake.accepted_connections == 2, "the connection that misbehaved was not reused"
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 1)


async def test_a_notification_is_never_taken_for_the_response(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async def ticks(params: dict[str, Any]) -> Any:
        yield {"tick": 1}

    fake.register("test.ticks", ticks)
    with pytest.raises(ProtocolError):
        await client.call("test.ticks")
    assert await client.call("daemon.health")


async def test_a_result_of_the_wrong_type_is_refused_but_the_connection_kept(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.register("daemon.status", lambda params: {"pid": "not a number"})
    with pytest.raises(ProtocolError, match="does not match the method's type") as caught:
        await client.status()
    assert caught.value.request_id == 1
    assert (await client.health()).status == "ok"
    assert fake.accepted_connections == 1


async def test_an_oversize_request_is_refused_before_sending(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    with pytest.raises(RequestTooLargeError, match="not sent"):
        await client.call("job.submit", {"config_path": "x" * MAX_LINE_BYTES})
    assert fake.requests == []
    assert fake.accepted_connections == 0


async def test_the_longest_request_the_conductor_takes_is_sent(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.register("test.echo", lambda params: len(params["pad"]))
    overhead = len(b'{"jsonrpc":"2.0","method":"test.echo","params":{"pad":""},"id":1}')
    pad = "p" * (MAX_LINE_BYTES - 1 - overhead)
    assert await client.call("test.echo", {"pad": pad}) == len(pad)
    with pytest.raises(RequestTooLargeError):
        await client.call("test.echo", {"pad": pad + "p"})


async def test_a_timed_out_submit_is_sent_once_and_waits_one_timeout(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.inject(Fault.SILENCE, "job.submit")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"job\.submit \(id 1\)"):
        await client.submit_job(JobRequest(config_path="/scores/slow.yaml"), timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.55, f"{elapsed:.2f} s: one timeout, not two"
    assert fake.count("job.submit") == 1
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)
    assert fake.count("job.submit") == 1, "the timed-out request was not sent again"
    assert (await client.submit_job(JobRequest(config_path="/scores/next.yaml"))).status == (
        "accepted"
    )


async def test_a_lost_submit_may_have_run_and_is_not_sent_again(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.inject(Fault.CLOSE_AFTER_READ, "job.submit")
    with pytest.raises(ConnectionLostError, match="may have run") as caught:
        await client.submit_job(JobRequest(config_path="/scores/lost.yaml"))
    assert caught.value.possibly_executed is True
    assert (caught.value.method, caught.value.request_id) == ("job.submit", 1)
    assert fake.count("job.submit") == 1


async def test_a_lost_idempotent_call_is_sent_again_transparently(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.inject(Fault.CLOSE_AFTER_READ, "daemon.status")
    assert (await client.status()).version == "0.1.0"
    assert fake.count("daemon.status") == 2
    assert [request.id for request in fake.requests] == [1, 1]


async def test_an_idempotent_call_is_sent_again_only_once(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.inject(Fault.CLOSE_AFTER_HANDLE, "daemon.status", times=2)
    with pytest.raises(ConnectionLostError) as caught:
        await client.status()
    assert caught.value.possibly_executed is True
    assert fake.count("daemon.status") == 2


async def test_a_close_before_reading_still_counts_as_possibly_executed(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.inject(Fault.CLOSE_BEFORE_READ, "job.cancel")
    with pytest.raises(ConnectionLostError) as caught:
        await client.cancel_job("any")
    assert caught.value.possibly_executed is True
    assert fake.count("job.cancel") == 0


async def test_a_connection_closed_during_the_handshake_is_retried_then_reported_unsent(
    socket_path: Path,
) -> None:
    async def hang_up(sock: socket.socket) -> None:
        pass

    async with raw_server(socket_path, hang_up), DaemonClient(socket_path) as client:
        with pytest.raises(ConnectionLostError, match="before the request was sent") as caught:
            await client.call("job.submit", {"config_path": "/scores/x.yaml"})
    assert caught.value.possibly_executed is False


async def test_a_daemon_that_answers_the_handshake_wrongly_is_a_protocol_error(
    socket_path: Path,
) -> None:
    async def confused(sock: socket.socket) -> None:
        await send_all(sock, b'{"jsonrpc":"2.0","result":"hello","id":1}\n')
        await anyio.sleep_forever()

    async with raw_server(socket_path, confused), DaemonClient(socket_path) as client:
        with pytest.raises(ProtocolError, match="handshake"):
            await client.call("daemon.health")
        assert client._pool.in_use == 0


async def test_a_daemon_stopped_mid_call_loses_the_call(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as fake, DaemonClient(socket_path) as client:
        fake.inject(Fault.SILENCE, "job.pause")
        async with anyio.create_task_group() as task_group:

            async def stop_when_received() -> None:
                await fake.wait_for(lambda: fake.count("job.pause") == 1)
                await fake.stop()

            task_group.start_soon(stop_when_received)
            with pytest.raises(ConnectionLostError) as caught:
                await client.pause_job("any")
        assert caught.value.possibly_executed is True
        with pytest.raises(DaemonNotRunningError):
            await client.status()
