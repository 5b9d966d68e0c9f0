"""The pool: reuse, expiry, the housekeeper, stale connections, and serving above the conductor's cap."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import anyio
import pytest
from tests.support import LogWatch, echo, open_client

from marianne_sdk import (
    ConductorBusyError,
    DaemonClient,
    DaemonNotRunningError,
    UntrustedDaemonError,
)
from marianne_sdk import _pool as pool_module
from marianne_sdk._backends import NO_DEADLINE
from marianne_sdk._failures import PoolClosed
from marianne_sdk._pool import Pool
from marianne_sdk._transport import UnixConnector
from marianne_sdk.testing import FakeDaemon, Fault

pytestmark = pytest.mark.anyio


def make_pool(path: str | Path, *, size: int = 4, max_idle: float = 10.0) -> Pool:
    return Pool(
        UnixConnector(str(path), None, connect_timeout=5.0), size=size, max_idle_seconds=max_idle
    )


async def test_sequential_calls_share_one_connection(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    for _ in range(20):
        await client.call("daemon.health")
    assert fake.accepted_connections == 1
    assert fake.count("daemon.health") == 20


async def test_idle_connections_are_reused_last_in_first_out(fake: FakeDaemon) -> None:
    pool = make_pool(fake.socket_path)
    first = await pool.acquire()
    second = await pool.acquire()
    pool.release(first, reusable=True)
    pool.release(second, reusable=True)
    assert await pool.acquire() is second
    assert await pool.acquire() is first
    assert fake.accepted_connections == 2
    pool.release(first, reusable=True)
    pool.release(second, reusable=True)
    pool.close()
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)


async def test_an_unusable_connection_is_closed_not_pooled(fake: FakeDaemon) -> None:
    pool = make_pool(fake.socket_path)
    connection = await pool.acquire()
    pool.release(connection, reusable=False)
    assert pool.live_connections == 0
    assert pool._capacity.limit - pool.in_use == 4
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)
    assert await pool.acquire() is not connection


async def test_expired_connections_are_replaced_at_checkout_without_a_housekeeper(
    fake: FakeDaemon,
) -> None:
    pool = make_pool(fake.socket_path, max_idle=0.05)
    connection = await pool.acquire()
    pool.release(connection, reusable=True)
    await anyio.sleep(0.1)  # the idle time under test, not a synchronisation
    replacement = await pool.acquire()
    assert replacement is not connection
    assert fake.accepted_connections == 2
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 1)
    pool.release(replacement, reusable=True)
    pool.close()


async def test_an_idle_client_holds_no_connection_entered_or_not(
    fake: FakeDaemon, managed: bool
) -> None:
    options = {"pool_size": 4, "max_idle_seconds": 0.1}
    async with open_client(fake.socket_path, managed=managed, **options) as client:
        async with anyio.create_task_group() as task_group:
            for _ in range(3):
                task_group.start_soon(client.call, "daemon.health")
        assert fake.open_connections == 3
        with anyio.fail_after(5):
            await fake.wait_for(lambda: fake.open_connections == 0)
        assert client._pool.live_connections == 0
        assert await client.call("daemon.status")
        assert fake.accepted_connections == 4


async def test_a_restarted_daemon_is_reached_without_writing_on_the_stale_connection(
    socket_path: Path,
) -> None:
    async with DaemonClient(socket_path) as client:
        async with FakeDaemon(socket_path) as first:
            await client.call("job.submit", {"config_path": "/scores/one.yaml"})
        async with FakeDaemon(socket_path) as second:
            # job.submit is never sent twice: had anything been written on the
            # dead connection, this would raise ConnectionLostError.
            result = await client.call("job.submit", {"config_path": "/scores/two.yaml"})
            assert result["status"] == "accepted"
            assert second.count("job.submit") == 1
        assert first.count("job.submit") == 1


async def test_64_calls_complete_promptly_on_a_daemon_serving_two_connections(
    socket_path: Path,
) -> None:
    async with (
        FakeDaemon(socket_path, max_served_connections=2) as fake,
        DaemonClient(socket_path, timeout=30.0, pool_size=4) as client,
    ):
        results: list[object] = []

        async def one_call() -> None:
            results.append(await client.call("daemon.health"))

        started = time.monotonic()
        async with anyio.create_task_group() as task_group:
            for _ in range(64):
                task_group.start_soon(one_call)
        elapsed = time.monotonic() - started
        assert len(results) == 64
        assert elapsed < 5.0, f"took {elapsed:.2f} s: some call waited for a timeout"
        assert fake.count("daemon.health") == 64
        assert client._pool._capacity.limit == 2, "the pool learnt the conductor serves two"
        assert client._pool.live_connections == 2


async def test_full_capacity_returns_once_the_pool_has_no_live_connection(
    socket_path: Path, sdk_log: LogWatch
) -> None:
    async with FakeDaemon(socket_path, max_served_connections=1) as fake:
        pool = make_pool(socket_path, size=3)
        served = await pool.acquire()
        waiter_got: list[object] = []

        async def second_caller() -> None:
            waiter_got.append(await pool.acquire())

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(second_caller)
            with anyio.fail_after(5):
                await sdk_log.wait_for("pool capacity 1")
            assert pool._capacity.limit == 1
            assert waiter_got == [], "the second caller waits for the served connection"
            pool.release(served, reusable=True)
        assert waiter_got == [served]
        pool.release(served, reusable=False)
        assert pool.live_connections == 0
        assert pool._capacity.limit == 3
        assert pool._capacity.limit - pool.in_use == 3
        assert "no live connections: pool capacity back to 3" in sdk_log.messages
        pool.close()
        with anyio.fail_after(5):
            await fake.wait_for(lambda: fake.open_connections == 0)


async def test_a_conductor_whose_slots_are_all_held_is_busy_not_absent(socket_path: Path) -> None:
    async with (
        FakeDaemon(socket_path, max_served_connections=1),
        DaemonClient(socket_path, max_idle_seconds=60) as holder,
        DaemonClient(socket_path, connect_timeout=0.1, timeout=1.0) as blocked,
    ):
        await holder.call("daemon.health")  # its idle connection takes the only slot
        started = time.monotonic()
        with pytest.raises(ConductorBusyError, match="held by other programs") as caught:
            await blocked.call("daemon.health")
        assert isinstance(caught.value, TimeoutError)
        # connect_timeout bounds connecting, not waiting to be served: the call's timeout does.
        assert 0.9 < time.monotonic() - started < 5.0
        assert blocked._pool.in_use == 0
        await holder.close()
        assert (await blocked.health()).status == "ok"


async def test_a_call_waits_for_a_slot_other_programs_free_within_its_deadline(
    socket_path: Path,
) -> None:
    async with (
        FakeDaemon(socket_path, max_served_connections=1) as fake,
        DaemonClient(socket_path, max_idle_seconds=60) as holder,
        DaemonClient(socket_path, timeout=30.0) as waiting,
    ):
        await holder.call("daemon.health")
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(waiting.call, "daemon.status")
            await fake.wait_for(lambda: fake.open_connections == 2)
            assert fake.count("daemon.status") == 0
            await holder.close()
        assert fake.count("daemon.status") == 1


async def test_waiting_for_a_slot_is_bounded_and_leaks_nothing(fake: FakeDaemon) -> None:
    fake.inject(Fault.DELAY, "job.list", delay=0.5)
    async with DaemonClient(fake.socket_path, pool_size=1) as client:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(client.call, "job.list")
            await fake.wait_for(lambda: fake.count("job.list") == 1)
            with pytest.raises(TimeoutError):
                await client.call("daemon.health", timeout=0.05)
        assert client._pool._capacity.limit - client._pool.in_use == 1
        assert await client.call("daemon.health")
    assert fake.count("daemon.health") == 1


async def test_a_closed_pool_refuses_calls(fake: FakeDaemon) -> None:
    pool = make_pool(fake.socket_path)
    pool.close()
    with pytest.raises(PoolClosed):
        await pool.acquire()
    with pytest.raises(PoolClosed):
        await pool.open_dedicated(NO_DEADLINE)


async def test_callers_in_line_are_served_in_arrival_order(fake: FakeDaemon) -> None:
    pool = make_pool(fake.socket_path, size=1)
    held = await pool.acquire()
    served: list[int] = []

    async def wait_in_line(number: int) -> None:
        connection = await pool.acquire()
        served.append(number)
        pool.release(connection, reusable=True)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as task_group:
            for number in range(5):
                task_group.start_soon(wait_in_line, number)
                await anyio.wait_all_tasks_blocked()  # each one in line before the next comes
            pool.release(held, reusable=True)
    assert served == [0, 1, 2, 3, 4]
    assert fake.accepted_connections == 1, "the one connection was handed from caller to caller"
    assert pool._capacity.limit - pool.in_use == 1
    pool.close()


async def test_a_caller_cancelled_after_its_turn_came_passes_the_connection_on(
    fake: FakeDaemon, anyio_backend_name: str
) -> None:
    # Only asyncio's own cancellation (Task.cancel, asyncio.timeout) can interrupt
    # a wait whose turn was already handed over; anyio and trio let such a task
    # run on to its next checkpoint, with the connection in hand.
    pool = make_pool(fake.socket_path, size=1)
    held = await pool.acquire()
    got: dict[str, object] = {}
    first_task: list[asyncio.Task[None]] = []

    async def first_in_line(scope: anyio.CancelScope) -> None:
        if anyio_backend_name == "asyncio":
            first_task.append(asyncio.current_task())  # type: ignore[arg-type]
        with scope:
            try:
                connection = await pool.acquire()
            except asyncio.CancelledError:
                got["first"] = "cancelled in line"
                return
            got["first"] = "served"
            pool.release(connection, reusable=True)

    async def second_in_line() -> None:
        connection = await pool.acquire()
        got["second"] = connection
        pool.release(connection, reusable=True)

    scope = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(first_in_line, scope)
            await anyio.wait_all_tasks_blocked()
            task_group.start_soon(second_in_line)
            await anyio.wait_all_tasks_blocked()
            pool.release(held, reusable=True)  # handed to the first in line...
            if first_task:  # ...which is cancelled before it runs
                first_task[0].cancel()
            else:
                scope.cancel()
    assert got["first"] == ("cancelled in line" if anyio_backend_name == "asyncio" else "served")
    assert got["second"] is held, "the connection reached the next caller"
    assert pool._capacity.limit - pool.in_use == 1
    assert pool.live_connections == 1
    assert fake.accepted_connections == 1
    pool.close()


async def test_a_pool_under_load_probes_again_for_capacity_it_lost(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeDaemon(socket_path, max_served_connections=2) as fake:
        fake.register("test.echo", echo)
        async with DaemonClient(socket_path, pool_size=3) as client:
            holder = DaemonClient(socket_path)
            await holder.call("daemon.health")  # its idle connection takes a conductor slot
            async with anyio.create_task_group() as task_group:
                for token in ("a", "b"):
                    task_group.start_soon(client.call, "test.echo", {"token": token, "delay": 0.3})
            assert client._pool._capacity.limit == 1, (
                "the conductor served this client one connection"
            )

            await holder.close()  # the conductor could now serve this client two
            monkeypatch.setattr(pool_module, "RETRY_CAPACITY_AFTER", 0.0)
            finished: list[str] = []

            async def call(token: str, delay: float) -> None:
                await client.call("test.echo", {"token": token, "delay": delay})
                finished.append(token)

            async with anyio.create_task_group() as task_group:
                task_group.start_soon(call, "long", 1.0)
                await fake.wait_for(lambda: fake.count("test.echo") == 3)
                # The pool is never quiet (the long call holds its only connection),
                # yet the next caller probes for more instead of waiting in line.
                task_group.start_soon(call, "short", 0.0)
            assert finished == ["short", "long"]
            assert client._pool._capacity.limit == 2


async def test_a_connection_closed_by_its_deadline_is_not_reused(fake: FakeDaemon) -> None:
    # On asyncio the answer can be read in full just before the deadline closes
    # the connection, so its caller may still call it reusable.
    pool = make_pool(fake.socket_path)
    connection = await pool.acquire()
    connection.expire()
    pool.release(connection, reusable=True)
    assert pool.live_connections == 0
    assert pool._capacity.limit - pool.in_use == 4
    replacement = await pool.acquire()
    assert replacement is not connection
    assert fake.accepted_connections == 2
    pool.release(replacement, reusable=True)
    pool.close()


async def test_a_full_accept_queue_is_not_running_not_untrusted(socket_path: Path) -> None:
    """Nothing accepts: a connect either never completes or is refused at once (trio)."""
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(socket_path))
        listener.listen(0)
        queued: list[socket.socket] = []
        try:
            while True:  # fill the queue of connections waiting to be accepted
                waiting = socket.socket(socket.AF_UNIX)
                waiting.setblocking(False)
                queued.append(waiting)
                waiting.connect(str(socket_path))
        except BlockingIOError:
            pass
        try:
            async with DaemonClient(socket_path, connect_timeout=0.3, timeout=10) as client:
                with pytest.raises(DaemonNotRunningError, match="accepted no connection") as caught:
                    await client.health()
            assert not isinstance(caught.value, UntrustedDaemonError)
        finally:
            for waiting in queued:
                waiting.close()
