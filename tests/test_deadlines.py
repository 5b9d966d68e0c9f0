"""Deadlines hold for a client used as ``async with`` and for one only built.

The pool enforces each call's deadline with one timer on the event loop's own
clock, over the wait in line and the answer.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from tests.support import echo, open_client

from marianne_sdk import DaemonClient, DaemonError
from marianne_sdk._backends import _COMPACT_AFTER, current_backend
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio


async def test_an_unanswered_call_times_out_and_its_connection_is_closed(
    fake: FakeDaemon, managed: bool
) -> None:
    fake.register("test.echo", echo)
    async with open_client(fake.socket_path, managed=managed, pool_size=2) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"test\.echo \(id 1\).*0\.1 s"):
            await client.call("test.echo", {"token": "late", "delay": 30}, timeout=0.1)
        assert time.monotonic() - started < 5
        assert client._pool.live_connections == 0
        assert client._pool.in_use == 0
        assert await client.call("test.echo", {"token": "next", "delay": 0}) == "next"
        assert fake.accepted_connections == 2


async def test_a_caller_in_line_times_out_and_leaves_no_trace(
    fake: FakeDaemon, managed: bool
) -> None:
    fake.register("test.echo", echo)
    async with open_client(fake.socket_path, managed=managed, pool_size=1) as client:
        results: list[Any] = []
        async with anyio.create_task_group() as task_group:

            async def hold_the_connection() -> None:
                results.append(await client.call("test.echo", {"token": "held", "delay": 0.6}))

            task_group.start_soon(hold_the_connection)
            await fake.wait_for(lambda: fake.count("test.echo") == 1)
            for _ in range(3):
                with pytest.raises(TimeoutError):
                    await client.call("test.echo", {"token": "queued", "delay": 0}, timeout=0.05)
            assert not client._pool._queue, "callers that gave up are out of the queue"
        assert results == ["held"]
        assert client._pool.in_use == 0
        assert await client.call("test.echo", {"token": "after", "delay": 0}) == "after"
        assert fake.accepted_connections == 1, "the connection went back to the pool"
        assert fake.count("test.echo") == 2, "the timed-out caller sent nothing"


async def test_a_deadline_spans_the_wait_in_line_and_the_answer(
    fake: FakeDaemon, managed: bool
) -> None:
    fake.register("test.echo", echo)
    async with open_client(fake.socket_path, managed=managed, pool_size=1) as client:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(client.call, "test.echo", {"token": "first", "delay": 0.2})
            await fake.wait_for(lambda: fake.count("test.echo") == 1)
            started = time.monotonic()
            # 0.2 s in line, then an answer that takes 0.2 s more: past the 0.3 s.
            with pytest.raises(TimeoutError):
                await client.call("test.echo", {"token": "second", "delay": 0.2}, timeout=0.3)
            assert time.monotonic() - started < 2
        assert fake.count("test.echo") == 2, "the second call was sent once it had a connection"


async def test_closing_the_client_lets_calls_in_flight_finish_and_refuses_callers_in_line(
    fake: FakeDaemon,
) -> None:
    fake.register("test.echo", echo)
    outcomes: dict[str, Any] = {}

    async def record(name: str, client: DaemonClient, delay: float) -> None:
        try:
            outcomes[name] = await client.call("test.echo", {"token": name, "delay": delay})
        except Exception as exc:
            outcomes[name] = exc

    with anyio.fail_after(10):
        async with (
            anyio.create_task_group() as callers,
            DaemonClient(fake.socket_path, pool_size=1) as client,
        ):
            callers.start_soon(record, "holding", client, 0.3)
            await fake.wait_for(lambda: fake.count("test.echo") == 1)
            callers.start_soon(record, "in line", client, 0)
            await anyio.wait_all_tasks_blocked()
    assert outcomes["holding"] == "holding"
    assert isinstance(outcomes["in line"], DaemonError)
    assert "closed" in str(outcomes["in line"])
    assert fake.count("test.echo") == 1, "the caller in line sent nothing"
    assert client._pool.live_connections == 0, "the finished call's connection was closed"
    await fake.wait_for(lambda: fake.open_connections == 0)


async def test_cancelled_timers_do_not_pile_up(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path, pool_size=2, timeout=30) as client:
        for _ in range(5 * _COMPACT_AFTER):
            await client.call("daemon.health")
        # Each call's 30 s timer outlives the call; cancelled ones are dropped.
        backend: Any = current_backend()
        assert len(backend._timers._heap) <= 2 * _COMPACT_AFTER + 2
