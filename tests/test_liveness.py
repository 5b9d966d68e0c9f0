"""A quiet stream checks on its conductor: it ends when the conductor stops, goes or goes silent.

The conductor's shutdown waits for every open connection (protocol §1.8), so
a monitor block that only waited for events would keep it from exiting, and
itself wait forever.
"""

from __future__ import annotations

import os
import socket
from functools import partial
from pathlib import Path

import anyio
import pytest
from tests.support import send_all

from marianne_sdk import (
    DaemonClient,
    DaemonNotRunningError,
    DaemonShuttingDownError,
    DaemonTimeoutError,
    JobRequest,
)
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

HEARTBEAT = 0.2
BOUND = 30.0  # several times heartbeat plus the 5 s probe bound
HANDSHAKE_REPLY = b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}\n'


async def read_to_the_end(client: DaemonClient) -> None:
    """Read ``client.monitor()`` until it ends, within :data:`BOUND` seconds."""
    with anyio.fail_after(BOUND):
        async with client.monitor() as events:
            async for _ in events:
                pass


async def test_a_quiet_monitor_ends_when_the_conductor_shuts_down(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path, heartbeat=HEARTBEAT) as client:
        fake.shutting_down = True
        with pytest.raises(DaemonShuttingDownError, match="shutting down"):
            await read_to_the_end(client)
        assert client._feeds == {}, "the subscription and its connection are closed"
    assert fake.count("daemon.health") >= 1


async def test_wait_for_job_lets_go_of_a_conductor_that_shuts_down(socket_path: Path) -> None:
    """The wait goes on (a restart may follow) but its stream lets the conductor exit."""
    # A sheet takes an hour: the job sends no events while the conductor waits for it.
    async with (
        FakeDaemon(socket_path, step_seconds=3600) as fake,
        DaemonClient(socket_path, heartbeat=HEARTBEAT) as client,
    ):
        response = await client.submit_job(JobRequest(config_path="/tmp/long.yaml"))
        fake.shutting_down = True
        with anyio.fail_after(BOUND), pytest.raises(DaemonTimeoutError, match="did not end"):
            await client.wait_for_job(response.job_id, timeout=3, poll_interval=3600)
    assert fake.count("daemon.health") >= 1
    assert fake.count("daemon.monitor.stream") >= 2, "the stream was closed, then opened anew"


async def test_a_busy_stream_sends_no_probe(fake: FakeDaemon) -> None:
    fake.plan_job("busy", sheets=40)
    async with DaemonClient(fake.socket_path, heartbeat=1.0) as client:
        with anyio.fail_after(BOUND):
            state = await client.submit_and_wait(
                JobRequest(config_path="/tmp/busy.yaml"), poll_interval=3600
            )
        assert state.status == "completed"
        assert fake.count("daemon.health") == 0, "events kept coming: no probe was needed"


async def test_heartbeat_none_never_probes(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path, heartbeat=None) as client:
        with anyio.move_on_after(5 * HEARTBEAT):
            await read_to_the_end(client)
    assert fake.count("daemon.health") == 0


def test_heartbeat_must_be_positive() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        DaemonClient("/tmp/nowhere.sock", heartbeat=0)


async def _quiet_conductor(
    socket_path: Path, *, answers_later: bool, task_status: anyio.abc.TaskStatus[None]
) -> None:
    """Serves one stream connection, then unlinks its socket or stops answering new ones."""
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(socket_path))
        listener.listen()
        listener.setblocking(False)
        task_status.started()
        await anyio.wait_readable(listener)
        stream, _ = listener.accept()
        stream.setblocking(False)
        with stream:
            await anyio.wait_readable(stream)
            stream.recv(65536)  # the handshake (and perhaps the request)
            await send_all(stream, HANDSHAKE_REPLY)
            if not answers_later:
                os.unlink(socket_path)  # gone: nothing listens any more
                await anyio.sleep_forever()
            held = []  # silent: accepts, reads nothing, answers nothing
            try:
                while True:
                    await anyio.wait_readable(listener)
                    held.append(listener.accept()[0])
            finally:
                for sock in held:
                    sock.close()


@pytest.mark.parametrize(
    ("answers_later", "error", "match"),
    [
        (False, DaemonNotRunningError, "no conductor socket"),
        (True, DaemonTimeoutError, "stopped answering"),
    ],
    ids=["gone", "silent"],
)
async def test_a_quiet_monitor_ends_when_the_conductor_is_gone_or_silent(
    socket_path: Path, answers_later: bool, error: type[Exception], match: str
) -> None:
    async with anyio.create_task_group() as task_group:
        await task_group.start(partial(_quiet_conductor, socket_path, answers_later=answers_later))
        async with DaemonClient(
            socket_path, heartbeat=HEARTBEAT, trusted_uids=None, timeout=10
        ) as client:
            with pytest.raises(error, match=match):
                await read_to_the_end(client)
        task_group.cancel_scope.cancel()


async def test_a_monitor_and_a_conductor_stopping_as_it_does_both_end(fake: FakeDaemon) -> None:
    """The conductor waits for the stream's connection, the stream for events: no longer."""
    outcome: list[BaseException] = []

    async def monitor(client: DaemonClient) -> None:
        try:
            await read_to_the_end(client)
        except (DaemonShuttingDownError, DaemonNotRunningError) as error:
            outcome.append(error)

    client = DaemonClient(fake.socket_path, heartbeat=HEARTBEAT)
    async with client, anyio.create_task_group() as task_group:
        task_group.start_soon(monitor, client)
        with anyio.fail_after(BOUND):
            while not fake.monitor_subscribers:  # noqa: ASYNC110 - a counter at the fake
                await anyio.sleep(0.01)
            await fake.stop_like_conductor()  # returns once every connection is closed
    assert len(outcome) == 1
    assert fake.open_connections == 0


async def test_a_monitor_of_a_silent_fake_ends_with_a_timeout(fake: FakeDaemon) -> None:
    async def silence_once_subscribed() -> None:
        with anyio.fail_after(BOUND):
            while not fake.monitor_subscribers:  # noqa: ASYNC110 - a counter at the fake
                await anyio.sleep(0.01)
        fake.go_silent()

    client = DaemonClient(fake.socket_path, heartbeat=HEARTBEAT, timeout=10)
    async with client, anyio.create_task_group() as task_group:
        task_group.start_soon(silence_once_subscribed)
        with pytest.raises(DaemonTimeoutError, match="stopped answering"):
            await read_to_the_end(client)
