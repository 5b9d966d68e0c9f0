"""Cancellation at any point never leaks a slot or a connection, nor hands out another call's result."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support import echo, open_client

from marianne_sdk import DaemonClient
from marianne_sdk.testing import FakeDaemon, Fault

pytestmark = pytest.mark.anyio

POOL_SIZE = 4


@pytest.mark.parametrize("served", [None, 2], ids=["all-served", "two-served"])
async def test_random_cancellation_never_mixes_up_results_nor_leaks(
    socket_path: Path, managed: bool, served: int | None
) -> None:
    """With every connection served, and with a conductor serving fewer than the pool's size."""
    rng = random.Random(20261127)
    outcomes: Counter[str] = Counter()
    wrong: list[tuple[str, Any]] = []
    concurrency = anyio.Semaphore(12)

    async def one_call(client: DaemonClient, number: int) -> None:
        token = f"token-{number}"
        params = {"token": token, "delay": rng.uniform(0, 0.002)}
        how = rng.choice(["deadline", "cancel", "deadline", "none"])
        async with concurrency, anyio.create_task_group() as task_group:
            with anyio.CancelScope() as scope:
                if how == "cancel":
                    task_group.start_soon(cancel_later, scope, rng.uniform(0, 0.003))
                try:
                    timeout = rng.uniform(0, 0.004) if how == "deadline" else None
                    result = await client.call("test.echo", params, timeout=timeout)
                except TimeoutError:
                    outcomes["timed out"] += 1
                    return
                outcomes["answered"] += 1
                if result != token:
                    wrong.append((token, result))
            if scope.cancelled_caught:
                outcomes["cancelled"] += 1
            task_group.cancel_scope.cancel()

    async def cancel_later(scope: anyio.CancelScope, delay: float) -> None:
        await anyio.sleep(delay)
        scope.cancel()

    async with (
        FakeDaemon(socket_path, max_served_connections=served) as fake,
        open_client(socket_path, managed=managed, pool_size=POOL_SIZE, timeout=30.0) as client,
    ):
        fake.register("test.echo", echo)
        with anyio.fail_after(60):
            async with anyio.create_task_group() as task_group:
                for number in range(1000):
                    task_group.start_soon(one_call, client, number)

        assert wrong == [], "a caller received another call's result"
        assert sum(outcomes.values()) == 1000
        assert outcomes["answered"] > 50, outcomes
        assert outcomes["timed out"] + outcomes["cancelled"] > 50, outcomes

        pool = client._pool
        assert pool.in_use == 0, "every slot was given back"
        assert pool.live_connections <= (served or POOL_SIZE)
        with anyio.fail_after(5):
            await fake.wait_for(lambda: fake.open_connections <= POOL_SIZE)
        if served is not None:
            return

        answers: list[Any] = []

        async def answered_at_once(number: int) -> None:
            answers.append(await client.call("test.echo", {"token": number, "delay": 0.1}))

        with anyio.fail_after(1.0):  # four at once: 0.1 s; queued behind one another: 0.4 s
            async with anyio.create_task_group() as task_group:
                for number in range(POOL_SIZE):
                    task_group.start_soon(answered_at_once, number)
        assert sorted(answers) == list(range(POOL_SIZE))


async def test_a_late_response_never_reaches_the_next_call(fake: FakeDaemon, managed: bool) -> None:
    fake.register("test.echo", echo)
    async with open_client(fake.socket_path, managed=managed, pool_size=1) as client:
        with pytest.raises(TimeoutError):
            await client.call("test.echo", {"token": "first", "delay": 0.2}, timeout=0.05)
        assert await client.call("test.echo", {"token": "second", "delay": 0}) == "second"
        assert fake.accepted_connections == 2, "the timed-out call's connection was closed"


async def test_cancelling_while_a_request_is_written_closes_the_connection(
    fake: FakeDaemon,
) -> None:
    fake.inject(Fault.SILENCE, "test.sink")
    async with DaemonClient(fake.socket_path, pool_size=1) as client:
        with anyio.move_on_after(0.1) as scope:
            # Bigger than the socket buffers: the write blocks until cancelled.
            await client.call("test.sink", {"blob": "b" * 8_000_000})
        assert scope.cancelled_caught
        assert client._pool._capacity.limit - client._pool.in_use == 1
        assert client._pool.live_connections == 0
        assert await client.call("daemon.health")


async def test_cancelling_while_waiting_to_be_served_releases_everything(
    socket_path: Path,
) -> None:
    async with (
        FakeDaemon(socket_path, max_served_connections=1) as fake,
        DaemonClient(socket_path) as holder,
        DaemonClient(socket_path, pool_size=1) as waiting,
    ):
        await holder.call("daemon.health")
        with anyio.move_on_after(0.1) as scope:
            await waiting.call("daemon.health")
        assert scope.cancelled_caught
        assert waiting._pool._capacity.limit - waiting._pool.in_use == 1
        assert waiting._pool.live_connections == 0
        await holder.close()
        assert await waiting.call("daemon.health")
        assert fake.count("daemon.health") == 2
