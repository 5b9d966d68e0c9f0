"""Observers: told of every call and stream, globally or per client, never breaking a call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support import LogWatch

from marianne_sdk import ConnectionLostError, DaemonClient, DaemonError, StreamGap
from marianne_sdk import sync as blocking
from marianne_sdk.observe import Call, Observer, Stream, add_observer, remove_observer
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

BOUND = 30.0


class Log(Observer):
    """Everything it is told, as (hook, method, id, detail) tuples, and when."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int | None, Any]] = []
        self.calls: list[Call] = []
        self.ended_at: dict[int | None, float] = {}

    def call_started(self, call: Call) -> None:
        self.calls.append(call)
        self.seen.append(("started", call.method, call.request_id, call.target))

    def call_ended(self, call: Call) -> None:
        self.ended_at[call.request_id] = time.perf_counter()
        self.seen.append(("ended", call.method, call.request_id, None))

    def call_failed(self, call: Call, error: BaseException) -> None:
        self.seen.append(("failed", call.method, call.request_id, error))

    def stream_opened(self, stream: Stream) -> None:
        self.seen.append(("opened", stream.method, stream.request_id, stream.target))

    def stream_gap(self, stream: Stream, gap: StreamGap) -> None:
        self.seen.append(("gap", stream.method, stream.request_id, gap))

    def stream_ended(self, stream: Stream, error: BaseException | None) -> None:
        self.seen.append(("ended", stream.method, stream.request_id, error))

    def hooks(self) -> list[str]:
        return [hook for hook, *_ in self.seen]


class Broken(Observer):
    """Raises from every hook."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith(("call_", "stream_")):
            raise RuntimeError(f"broken {name}")
        return super().__getattribute__(name)


@pytest.fixture
def everywhere() -> Iterator[Log]:
    log = Log()
    add_observer(log)
    yield log
    remove_observer(log)


async def until(condition: Any) -> None:
    with anyio.fail_after(BOUND):
        while not condition():  # noqa: ASYNC110 - the fake's counters have no event
            await anyio.sleep(0.01)


async def test_calls_are_told_from_start_to_end_with_the_ids_sent(
    fake: FakeDaemon, everywhere: Log
) -> None:
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        await client.status()
        with pytest.raises(DaemonError) as rejected:
            await client.get_job_status("missing")
        await client.notify("daemon.health")
        await until(lambda: fake.count("daemon.health") == 1)
    status_id, missing_id = (request.id for request in fake.requests[:2])
    target = fake.socket_path
    assert everywhere.seen == [
        ("started", "daemon.status", status_id, target),
        ("ended", "daemon.status", status_id, None),
        ("started", "job.status", missing_id, target),
        ("failed", "job.status", missing_id, rejected.value),
        ("started", "daemon.health", None, target),
        ("ended", "daemon.health", None, None),
    ]
    for call in everywhere.calls:
        assert 0 < call.connection_wait <= call.duration


async def test_the_wait_for_a_connection_is_told_apart(fake: FakeDaemon, everywhere: Log) -> None:
    release = anyio.Event()

    async def hold(params: dict[str, Any]) -> str:
        await release.wait()
        return "held"

    fake.register("test.hold", hold)
    async with DaemonClient(fake.socket_path, timeout=BOUND, pool_size=1) as client:
        await client.status()  # a connection in the pool: the holder takes it at once
        async with anyio.create_task_group() as calls:
            calls.start_soon(client.call, "test.hold")
            await until(lambda: fake.count("test.hold") == 1)
            calls.start_soon(client.call, "daemon.health")
            await anyio.wait_all_tasks_blocked()  # the second call waits for the connection
            second_waiting_since = time.perf_counter()
            release.set()
    holder, second = everywhere.calls[1:]
    assert second.method == "daemon.health"
    # It got the connection only once the holder was done with it.
    assert second.connection_wait >= everywhere.ended_at[holder.request_id] - second_waiting_since
    assert holder.connection_wait < holder.duration


async def test_per_client_observers_come_after_the_global_ones(
    fake: FakeDaemon, everywhere: Log
) -> None:
    own = Log()
    async with (
        DaemonClient(fake.socket_path, timeout=BOUND, observers=[own]) as observed,
        DaemonClient(fake.socket_path, timeout=BOUND) as other,
    ):
        await observed.health()
        await other.status()
        remove_observer(everywhere)
        await observed.list_jobs()
        await other.status()
        add_observer(everywhere)
        add_observer(everywhere)  # once only
        await other.health()
    assert [call.method for call in own.calls] == ["daemon.health", "job.list"]
    assert [call.method for call in everywhere.calls] == [
        "daemon.health",
        "daemon.status",
        "daemon.health",
    ]
    assert len(everywhere.seen) == 6


async def test_a_failing_observer_never_breaks_the_call(
    fake: FakeDaemon, sdk_log: LogWatch, everywhere: Log
) -> None:
    async with DaemonClient(fake.socket_path, timeout=BOUND, observers=[Broken()]) as client:
        assert (await client.status()).pid
        with pytest.raises(DaemonError):
            await client.get_job_status("missing")
        async with client.monitor() as events:
            await until(lambda: fake.monitor_subscribers == 1)
            fake.emit("test.event")
            with anyio.fail_after(BOUND):
                assert (await anext(events)).event == "test.event"
    # The observers after the broken one are still told.
    assert everywhere.hooks() == ["started", "ended", "started", "failed", "opened", "ended"]
    for hook in ("call_started", "call_ended", "call_failed", "stream_opened", "stream_ended"):
        assert any(f"failed in {hook}" in message for message in sdk_log.messages)


async def test_a_cancelled_call_is_told_as_failed(fake: FakeDaemon, everywhere: Log) -> None:
    async def hold(params: dict[str, Any]) -> None:
        await anyio.sleep_forever()

    fake.register("test.hold", hold)
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        with anyio.move_on_after(0.1):
            await client.call("test.hold")
    [(hook, method, _, error)] = everywhere.seen[1:]
    assert (hook, method) == ("failed", "test.hold")
    assert isinstance(error, anyio.get_cancelled_exc_class())


async def test_a_stream_is_told_open_each_gap_and_its_end(
    socket_path: Path, everywhere: Log
) -> None:
    async with DaemonClient(socket_path, heartbeat=None) as client:
        async with FakeDaemon(socket_path) as first:
            events = client.monitor(reconnect=True)
            await events.__aenter__()
            await until(lambda: first.monitor_subscribers == 1)
        async with FakeDaemon(socket_path) as second:
            with anyio.fail_after(BOUND):
                gap = await anext(events)
            await until(lambda: second.monitor_subscribers == 1)
            await events.aclose()
    # A resuming stream first asks daemon.health whether the conductor serves:
    # that probe is a call of its own, told as one.
    told = [seen for seen in everywhere.seen if seen[1] == "daemon.monitor.stream"]
    stream_id = told[0][2]
    assert told == [
        ("opened", "daemon.monitor.stream", stream_id, socket_path.as_posix()),
        ("gap", "daemon.monitor.stream", stream_id, gap),
        ("ended", "daemon.monitor.stream", stream_id, None),
    ]


async def test_a_lost_stream_ends_with_its_error(socket_path: Path, everywhere: Log) -> None:
    async with DaemonClient(socket_path, heartbeat=None) as client:
        async with FakeDaemon(socket_path) as fake:
            events = client.monitor()
            await events.__aenter__()
            await until(lambda: fake.monitor_subscribers == 1)
        with anyio.fail_after(BOUND), pytest.raises(ConnectionLostError) as lost:
            await anext(events)
    assert everywhere.hooks() == ["opened", "ended"]
    assert everywhere.seen[1][3] is lost.value


def test_the_blocking_client_takes_observers(socket_path: Path) -> None:
    own = Log()
    with (
        FakeDaemon.in_thread(socket_path) as fake,
        blocking.DaemonClient(fake.socket_path, observers=[own]) as client,
    ):
        client.status()
    assert own.hooks() == ["started", "ended"]


async def test_with_no_observer_a_client_is_not_observing(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path) as client:
        assert client._observers.active is False
        log = Log()
        add_observer(log)
        assert client._observers.active is True
        remove_observer(log)
        assert client._observers.active is False
