"""Several programs share one conductor and its 5 connection slots: a client is a guest.

The fake serves 5 connections at once, as the conductor does; another program
runs as a separate process with the SDK's default settings.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from tests.support import echo

from marianne_sdk import ConductorBusyError, DaemonClient
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def other_program(fake: FakeDaemon, backend: str, mode: str) -> AsyncIterator[Process]:
    """``tests/programs/guest.py`` against ``fake``, once it is idle (or busy) in its blocks."""
    command = [sys.executable, "-m", "tests.programs.guest", fake.socket_path, backend, mode]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with await anyio.open_process(command, env=env, cwd=ROOT) as process:
        assert process.stdout is not None
        assert process.stdin is not None
        with anyio.fail_after(30):
            assert (await process.stdout.receive()).startswith(b"ready")
        try:
            yield process
        finally:
            await process.stdin.aclose()
            with anyio.fail_after(30):
                await process.wait()


def backend_name(anyio_backend: Any) -> str:
    return anyio_backend if isinstance(anyio_backend, str) else anyio_backend[0]


async def test_a_program_after_a_burst_leaves_room_for_another(
    fake: FakeDaemon, anyio_backend: Any
) -> None:
    async with other_program(fake, backend_name(anyio_backend), "burst"):
        assert fake.monitor_subscribers == 1
        assert fake.served_connections <= 3, "2 pooled connections and the subscription"
        async with DaemonClient(fake.socket_path) as client:
            started = time.monotonic()
            assert (await client.status()).version
            assert time.monotonic() - started < 1.0


async def test_a_busy_program_leaves_room_for_another(fake: FakeDaemon, anyio_backend: Any) -> None:
    async with (
        other_program(fake, backend_name(anyio_backend), "busy"),
        DaemonClient(fake.socket_path) as client,
    ):
        for _ in range(20):
            started = time.monotonic()
            await client.health()
            assert time.monotonic() - started < 1.0
    assert fake.count("daemon.health") >= 8 + 20


@asynccontextmanager
async def idle_connections_filling(fake: FakeDaemon, slots: int) -> AsyncIterator[None]:
    """A third program's idle connections, served, until the fake serves ``slots``."""
    held: list[socket.socket] = []
    try:
        while fake.served_connections < slots:
            connection = socket.socket(socket.AF_UNIX)
            held.append(connection)
            connection.setblocking(False)
            connection.connect(fake.socket_path)
            connection.send(b"\n")  # the blank-line handshake: answered once served
            with anyio.fail_after(30):
                await anyio.wait_readable(connection)
            assert connection.recv(1024).endswith(b"\n")
        yield
    finally:
        for connection in held:
            connection.close()


async def test_when_other_programs_hold_every_slot_the_conductor_is_busy_not_absent(
    socket_path: Path, anyio_backend: Any
) -> None:
    async with (
        FakeDaemon(socket_path) as fake,
        DaemonClient(socket_path, timeout=1.0) as client,
    ):
        async with (
            other_program(fake, backend_name(anyio_backend), "hold"),
            idle_connections_filling(fake, slots=5),
        ):
            assert fake.served_connections == 5, "other programs hold every slot"
            with pytest.raises(ConductorBusyError, match="held by other programs"):
                await client.health()
        # The other programs have left: their connections' slots are free
        # (a subscription's lingers until the conductor's next event).
        assert (await client.health()).status == "ok"


async def test_monitor_blocks_share_one_subscription(fake: FakeDaemon) -> None:
    served_at_most = 0

    async with DaemonClient(fake.socket_path) as client:
        for block in range(20):
            async with client.monitor() as events:
                await fake.wait_for(lambda: fake.monitor_subscribers == 1)
                served_at_most = max(served_at_most, fake.served_connections)
                for number in range(3):
                    fake.emit(f"block.{block}", sheet_num=number)
                received = [await events.__anext__() for _ in range(3)]
            assert [(event.event, event.sheet_num) for event in received] == [
                (f"block.{block}", 0),
                (f"block.{block}", 1),
                (f"block.{block}", 2),
            ]
            assert events.missed == 0
    assert fake.count("daemon.monitor.stream") == 1
    assert fake.accepted_connections == 1, "no other connection was ever opened for them"
    assert served_at_most == 1


async def test_a_slow_consumer_neither_delays_another_nor_misses_events_silently(
    fake: FakeDaemon,
) -> None:
    async with (
        DaemonClient(fake.socket_path, stream_buffer_size=10) as client,
        client.monitor() as slow,
        client.monitor() as quick,
    ):
        await fake.wait_for(lambda: fake.monitor_subscribers == 1)
        seen: list[int] = []
        with anyio.fail_after(10):  # the slow block reads nothing meanwhile
            for batch in range(8):
                for number in range(5 * batch, 5 * batch + 5):
                    fake.emit("tick", sheet_num=number)
                while len(seen) < 5 * batch + 5:
                    seen.append((await quick.__anext__()).sheet_num)
        assert seen == list(range(40))
        assert quick.missed == 0
        assert slow.missed == 30, "the slow block is told how many events it lost"
        assert [(await slow.__anext__()).sheet_num for _ in range(10)] == list(range(10))


async def test_the_shared_subscription_survives_a_slow_block_while_calls_go_on(
    fake: FakeDaemon,
) -> None:
    fake.register("test.echo", echo)
    async with DaemonClient(fake.socket_path, stream_buffer_size=5) as client, client.monitor():
        await fake.wait_for(lambda: fake.monitor_subscribers == 1)
        for number in range(200):
            fake.emit("unread", sheet_num=number)
        assert await client.call("test.echo", {"token": "t", "delay": 0}) == "t"
        assert fake.served_connections == 2
