"""Streams: typed and untyped notifications, how a stream ends, and that its connection is closed."""

from __future__ import annotations

import gc
import socket
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support import raw_server, send_all

from marianne_sdk import (
    ConnectionLostError,
    DaemonClient,
    JobRequest,
    JobSubmissionError,
    ObserverEvent,
    ProtocolError,
)
from marianne_sdk._transport import receive_some
from marianne_sdk.testing import FakeDaemon, FakeRpcError

pytestmark = pytest.mark.anyio

HANDSHAKE_REPLY = (
    b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":null},"id":null}\n'
)


async def subscribed(fake: FakeDaemon, count: int = 1) -> None:
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.monitor_subscribers == count)


async def test_monitor_yields_typed_events_of_a_job(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("two", sheets=2)
    seen: list[tuple[str, int]] = []
    with anyio.fail_after(10):
        async with client.monitor() as events:
            await subscribed(fake)
            await client.submit_job(JobRequest(config_path="/scores/two.yaml"))
            async for event in events:
                assert isinstance(event, ObserverEvent)
                if not event.event.startswith("observer."):
                    seen.append((event.event, event.sheet_num))
                if event.event == "job.completed":
                    assert event.data == {"all_success": True}
                    break
    assert seen == [
        ("job.started", 0),
        ("sheet.started", 1),
        ("sheet.completed", 1),
        ("sheet.started", 2),
        ("sheet.completed", 2),
        ("job.completed", 0),
    ]


async def test_a_failing_job_reports_its_failure(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("bad", sheets=3, fail_at_sheet=2)
    with anyio.fail_after(10):
        async with client.monitor() as events:
            await subscribed(fake)
            await client.submit_job(JobRequest(config_path="/scores/bad.yaml"))
            names = [event.event async for event in _until(events, "job.failed")]
    assert "sheet.failed" in names
    assert "sheet.started" in names
    assert fake.job_status("bad") == "failed"


async def _until(events: Any, last: str) -> Any:
    async for event in events:
        yield event
        if event.event == last:
            return


async def test_untyped_stream_yields_notification_params(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async with client.stream("daemon.monitor.stream") as events:
        await subscribed(fake)
        fake.emit("custom.thing", job_id="j", data={"a": 1})
        with anyio.fail_after(5):
            item = await events.__anext__()
    assert isinstance(item, dict)
    assert item["event"] == "custom.thing"
    assert (item["job_id"], item["sheet_num"], item["data"]) == ("j", 0, {"a": 1})


async def test_typed_and_untyped_blocks_of_one_request_share_its_subscription(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async with client.monitor() as typed, client.stream("daemon.monitor.stream", {}) as untyped:
        await subscribed(fake)
        fake.emit("custom.thing", job_id="j", data={"a": 1})
        with anyio.fail_after(5):
            event = await typed.__anext__()
            item = await untyped.__anext__()
    assert fake.count("daemon.monitor.stream") == 1, "one subscription for both blocks"
    assert isinstance(event, ObserverEvent)
    assert (event.event, event.job_id, event.data) == ("custom.thing", "j", {"a": 1})
    assert isinstance(item, dict)
    assert (item["event"], item["job_id"], item["data"]) == ("custom.thing", "j", {"a": 1})


async def test_leaving_the_block_keeps_the_subscription_until_the_client_closes(
    fake: FakeDaemon, socket_path: Path
) -> None:
    async with DaemonClient(socket_path) as client:
        for block in range(3):
            async with client.monitor() as events:
                await subscribed(fake)
                fake.emit(f"event.{block}")
                assert (await events.__anext__()).event == f"event.{block}"
        assert fake.count("daemon.monitor.stream") == 1, "one subscription for every block"
        assert fake.monitor_subscribers == 1
        assert client._pool.live_connections == 0, "a stream's connection is never pooled"
    # As on the conductor, the fake notices the closed subscription at its next event.
    assert fake.monitor_subscribers == 1
    fake.emit("after.close")
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0 and fake.monitor_subscribers == 0)


async def test_breaking_out_of_an_unmanaged_stream_detaches_it(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async def emit_when_subscribed() -> None:
        await subscribed(fake)
        fake.emit("only")

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(emit_when_subscribed)
        async for event in client.monitor():
            assert event.event == "only"
            break
    gc.collect()  # CPython frees the stream at the break already; other interpreters may not
    (feed,) = client._feeds.values()
    assert len(feed._subscriptions) == 0, "nothing is buffered for a stream nobody holds"
    async with client.monitor() as events:
        fake.emit("next")
        with anyio.fail_after(5):
            assert (await events.__anext__()).event == "next"
    assert fake.count("daemon.monitor.stream") == 1


async def test_a_daemon_that_goes_away_ends_the_stream_with_an_error(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async with client.monitor() as events:
        await subscribed(fake)
        await fake.stop()
        with anyio.fail_after(5), pytest.raises(ConnectionLostError, match="monitor"):
            await events.__anext__()
        with pytest.raises(StopAsyncIteration):
            await events.__anext__()


async def test_the_idle_timeout_fires_and_leaves_the_stream_usable(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async with client.monitor(idle_timeout=0.1) as events:
        await subscribed(fake)
        with anyio.fail_after(5), pytest.raises(TimeoutError, match=r"no message within 0\.1 s"):
            await events.__anext__()
        fake.emit("after.the.timeout")
        assert (await events.__anext__()).event == "after.the.timeout"


async def test_the_final_response_ends_the_stream(fake: FakeDaemon, client: DaemonClient) -> None:
    async def count(params: dict[str, Any]) -> Any:
        for number in range(params["upto"]):
            yield {"n": number}

    fake.register("test.count", count, notification="test.tick")
    with anyio.fail_after(5):
        async with client.stream("test.count", {"upto": 3}) as numbers:
            assert [item async for item in numbers] == [{"n": 0}, {"n": 1}, {"n": 2}]
            assert numbers.result is None  # type: ignore[attr-defined]
        await fake.wait_for(lambda: fake.open_connections == 0)


async def test_an_error_response_ends_the_stream_with_its_error(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async def fail_after_one(params: dict[str, Any]) -> Any:
        yield {"n": 0}
        raise FakeRpcError(-32000, "Job 'x' not found")

    fake.register("test.fail", fail_after_one)
    items: list[Any] = []

    async def consume() -> None:
        async for item in client.stream("test.fail"):
            items.append(item)

    with anyio.fail_after(5), pytest.raises(JobSubmissionError, match="not found") as caught:
        await consume()
    assert items == [{"n": 0}]
    assert (caught.value.code, caught.value.method) == (-32000, "test.fail")
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)


async def test_closing_from_another_task_ends_the_iteration(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    events = client.monitor()
    received: list[str] = []

    async def consume() -> None:
        async for event in events:
            received.append(event.event)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consume)
        await subscribed(fake)
        fake.emit("first")
        with anyio.fail_after(5):
            while not received:
                await anyio.wait_all_tasks_blocked()
        await events.aclose()
    assert received == ["first"]


def scripted_stream(*lines: bytes) -> Any:
    """A server that answers the handshake, then sends ``lines`` after reading the request."""

    async def script(sock: socket.socket) -> None:
        await send_all(sock, HANDSHAKE_REPLY)
        while b"\n" not in (await receive_some(sock)).lstrip(b"\n"):
            pass
        await send_all(sock, b"".join(lines))
        await anyio.sleep_forever()

    return script


async def test_a_response_to_another_id_is_a_protocol_error(socket_path: Path) -> None:
    script = scripted_stream(b'{"jsonrpc":"2.0","result":null,"id":999}\n')
    async with raw_server(socket_path, script), DaemonClient(socket_path) as client:
        with anyio.fail_after(5), pytest.raises(ProtocolError, match="id 999"):
            await client.stream("any.stream").__anext__()


async def test_typed_streams_skip_other_notifications_and_refuse_malformed_ones(
    socket_path: Path,
) -> None:
    event = b'{"job_id":"","sheet_num":0,"event":"e","data":null,"timestamp":1.5}'
    script = scripted_stream(
        b'{"jsonrpc":"2.0","method":"other.note","params":{"x":1}}\n',
        b'{"jsonrpc":"2.0","method":"monitor.event","params":' + event + b"}\n",
        b'{"jsonrpc":"2.0","method":"monitor.event","params":{"job_id":7}}\n',
    )
    async with raw_server(socket_path, script), DaemonClient(socket_path) as client:
        with anyio.fail_after(5):
            async with client.monitor() as events:
                first = await events.__anext__()
                assert first == ObserverEvent(
                    job_id="", sheet_num=0, event="e", data=None, timestamp=1.5
                )
                with pytest.raises(ProtocolError, match="does not match its declared type"):
                    await events.__anext__()
                with pytest.raises(StopAsyncIteration):
                    await events.__anext__()


async def test_a_subscriber_that_vanishes_mid_burst_leaves_the_fake_serving(
    fake: FakeDaemon, client: DaemonClient, socket_path: Path
) -> None:
    subscriber = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    subscriber.connect(str(socket_path))
    subscriber.sendall(b'{"jsonrpc":"2.0","method":"daemon.monitor.stream","id":1}\n')
    await subscribed(fake)
    # Reset rather than close: the fake's next write fails at once instead of
    # being buffered, as when a consumer dies while events are flowing.
    subscriber.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    subscriber.close()
    for number in range(50):
        fake.emit(f"burst.{number}")
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.monitor_subscribers == 0)
        assert (await client.health()).status == "ok"


async def test_a_consumer_that_keeps_up_misses_nothing_of_a_burst_larger_than_its_buffer(
    socket_path: Path,
) -> None:
    event = b'{"job_id":"","sheet_num":%d,"event":"e","data":null,"timestamp":1.5}'
    burst = [
        b'{"jsonrpc":"2.0","method":"monitor.event","params":%b}\n' % (event % n)
        for n in range(2000)
    ]
    async with (
        raw_server(socket_path, scripted_stream(*burst)),
        DaemonClient(socket_path, stream_buffer_size=100) as client,
        client.monitor() as events,
    ):
        with anyio.fail_after(10):
            received = [(await events.__anext__()).sheet_num for _ in range(2000)]
        assert received == list(range(2000))
        assert events.missed == 0


async def test_a_block_cancelled_while_opening_the_subscription_leaves_it_to_the_next(
    socket_path: Path,
) -> None:
    async with (
        FakeDaemon(socket_path, max_served_connections=1) as fake,
        DaemonClient(socket_path, max_idle_seconds=60) as holder,
        DaemonClient(socket_path, timeout=30) as client,
    ):
        await holder.health()  # the only slot: the subscription waits to be served
        received: list[str] = []
        opener = anyio.CancelScope()

        async def open_then_give_up() -> None:
            with opener:
                async with client.monitor():
                    await anyio.sleep_forever()

        async def watch() -> None:
            async with client.monitor() as events:
                received.append((await events.__anext__()).event)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(open_then_give_up)
                await fake.wait_for(lambda: fake.accepted_connections == 2)
                task_group.start_soon(watch)
                await anyio.wait_all_tasks_blocked()  # waiting for the first block's opening
                opener.cancel()
                await fake.wait_for(lambda: fake.accepted_connections == 3)  # its own try
                await holder.close()
                await fake.wait_for(lambda: fake.monitor_subscribers == 1)
                fake.emit("served.at.last")
        assert received == ["served.at.last"]
