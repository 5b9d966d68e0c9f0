"""The client and the fake as users hold them: errors leave as themselves, whichever task ends the block.

Nothing the SDK runs in the background encloses the user's code: a whole
``async with`` block inside ``try`` catches the error it raised, on asyncio
and trio, and a block may be entered in one task and left in another.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import (
    NOT_GIVEN,
    DaemonClient,
    DaemonError,
    DaemonNotRunningError,
    DaemonTimeoutError,
    JobSubmissionError,
)
from marianne_sdk.testing import FakeDaemon, Fault

pytestmark = pytest.mark.anyio


class UsersOwnError(Exception):
    pass


async def test_not_running_is_caught_around_the_whole_block(socket_path: Path) -> None:
    caught: DaemonNotRunningError | None = None
    try:
        async with DaemonClient(socket_path) as client:
            await client.status()
    except DaemonNotRunningError as error:
        caught = error
    assert caught is not None
    assert str(socket_path) in str(caught)
    with pytest.raises(DaemonNotRunningError):
        async with DaemonClient(socket_path) as client:
            await client.health()


async def test_a_rejected_job_operation_is_caught_around_the_whole_block(fake: FakeDaemon) -> None:
    with pytest.raises(JobSubmissionError, match="not found"):
        async with DaemonClient(fake.socket_path) as client:
            await client.get_job_status("no-such-job")


@pytest.mark.parametrize("catch", [TimeoutError, DaemonError, DaemonTimeoutError])
async def test_a_timeout_is_caught_as_timeout_and_as_daemon_error(
    fake: FakeDaemon, catch: type[Exception]
) -> None:
    fake.inject(Fault.SILENCE, "daemon.status")
    started = time.monotonic()
    with pytest.raises(catch) as caught:
        async with DaemonClient(fake.socket_path, timeout=0.2) as client:
            await client.status()
    assert type(caught.value) is DaemonTimeoutError
    assert time.monotonic() - started < 10
    assert fake.count("daemon.status") == 1, "a timeout never sends again"


async def test_the_users_own_error_leaves_the_blocks_as_the_same_object(
    socket_path: Path,
) -> None:
    raised = UsersOwnError("mine")

    async def users_code() -> None:
        async with (
            FakeDaemon(socket_path) as fake,
            DaemonClient(fake.socket_path) as client,
            client.monitor() as events,
        ):
            await fake.wait_for(lambda: fake.monitor_subscribers == 1)
            fake.emit("one")
            async for _ in events:
                raise raised

    with pytest.raises(UsersOwnError) as caught:
        await users_code()
    assert caught.value is raised
    assert not await anyio.Path(socket_path).exists(), "the fake stopped on the way out"


async def test_a_stream_error_leaves_the_monitor_block_as_itself(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path) as client:
        with pytest.raises(DaemonTimeoutError, match="no message within"):
            async with client.monitor(idle_timeout=0.1) as events:
                await events.__anext__()


async def test_a_fake_that_cannot_serve_raises_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        async with FakeDaemon(tmp_path / "missing" / "conductor.sock"):
            pass


async def test_entered_in_one_task_and_left_in_another(socket_path: Path) -> None:
    """As an app object's exit stack, or a server's startup and shutdown hooks, do."""
    stack = AsyncExitStack()
    clients: list[DaemonClient] = []
    fakes: list[FakeDaemon] = []

    async def startup() -> None:
        fakes.append(await stack.enter_async_context(FakeDaemon(socket_path)))
        clients.append(await stack.enter_async_context(DaemonClient(socket_path)))

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(startup)
    assert (await clients[0].health()).status == "ok"
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(stack.aclose)
    assert not await anyio.Path(socket_path).exists()
    with pytest.raises(DaemonError, match="closed"):
        await clients[0].health()


async def test_a_client_never_entered_works_and_closes(fake: FakeDaemon) -> None:
    client = DaemonClient(fake.socket_path, max_idle_seconds=0.1)
    assert (await client.health()).status == "ok"
    with anyio.fail_after(10):  # well past max_idle_seconds: the client's own timer closes it
        await fake.wait_for(lambda: fake.open_connections == 0)
    await client.close()
    with pytest.raises(DaemonError, match="closed"):
        await client.health()
    with pytest.raises(DaemonError, match="closed"):
        async with client:
            pass


async def test_timeout_none_waits_past_the_clients_timeout(fake: FakeDaemon) -> None:
    fake.inject(Fault.DELAY, "daemon.health", delay=0.5)
    async with DaemonClient(fake.socket_path, timeout=0.1) as client:
        assert (await client.health(timeout=None)).status == "ok"
        fake.inject(Fault.DELAY, "daemon.health", delay=0.5)
        with pytest.raises(DaemonTimeoutError):
            await client.health(timeout=NOT_GIVEN)


@pytest.mark.parametrize("timeout", [0, 0.0, -1])
async def test_a_zero_or_negative_timeout_is_refused_before_sending(
    fake: FakeDaemon, timeout: float
) -> None:
    async with DaemonClient(fake.socket_path) as client:
        calls: list[Callable[[], Any]] = [
            lambda: client.health(timeout=timeout),
            lambda: client.call("daemon.health", timeout=timeout),
            lambda: client.notify("daemon.health", timeout=timeout),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="positive"):
                await call()
        with pytest.raises(ValueError, match="positive"):
            client.monitor(idle_timeout=timeout)
    with pytest.raises(ValueError, match="positive"):
        DaemonClient(fake.socket_path, timeout=timeout)
    assert fake.requests == []


async def test_with_on_the_async_client_points_to_the_blocking_one(socket_path: Path) -> None:
    client = DaemonClient(socket_path)
    with pytest.raises(TypeError, match=r"marianne_sdk\.sync"), client:  # type: ignore[misc]
        pass
    assert str(socket_path) in repr(client)


async def test_trio_as_a_guest_of_an_asyncio_loop(fake: FakeDaemon, anyio_backend: Any) -> None:
    """Qt and asyncio host applications run trio this way: calls must be answered."""
    if anyio_backend == "trio":
        pytest.skip("the host loop is asyncio's (or uvloop's)")
    import trio

    async def guest() -> str:
        async with DaemonClient(fake.socket_path, timeout=10) as client:
            return (await client.health()).status

    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    trio.lowlevel.start_guest_run(
        guest,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        done_callback=lambda outcome: done.set_result(outcome.unwrap()),
        host_uses_signal_set_wakeup_fd=True,
    )
    with anyio.fail_after(15):
        assert await done == "ok"


def test_an_unclosed_blocking_client_does_not_keep_a_script_alive(tmp_path: Path) -> None:
    socket_path = tmp_path / "conductor.sock"
    script = textwrap.dedent(
        f"""
        import warnings
        from marianne_sdk.sync import DaemonClient
        warnings.simplefilter("always", ResourceWarning)
        client = DaemonClient({str(socket_path)!r})
        print(client.health().status, flush=True)
        """
    )
    with FakeDaemon.in_thread(socket_path) as fake:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONDEVMODE": "1"},
        )
        elapsed = time.monotonic() - started
        assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
        assert elapsed < 5
        assert "ResourceWarning: unclosed" in done.stderr
        assert "Traceback" not in done.stderr
        fake.wait_for(lambda: fake.open_connections == 0)


def test_a_script_that_fails_with_an_unclosed_blocking_client_exits(tmp_path: Path) -> None:
    socket_path = tmp_path / "conductor.sock"
    script = textwrap.dedent(
        f"""
        from marianne_sdk.sync import DaemonClient
        client = DaemonClient({str(socket_path)!r})
        client.health()
        raise SystemExit("the script's own failure")
        """
    )
    with FakeDaemon.in_thread(socket_path):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert "the script's own failure" in done.stderr


def test_the_blocking_client_takes_the_async_clients_arguments() -> None:
    import inspect

    from marianne_sdk import sync

    blocking = inspect.signature(sync.DaemonClient)
    asynchronous = inspect.signature(DaemonClient)
    assert blocking == asynchronous


async def test_reprs_say_where_and_what_is_held(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path) as client:
        await client.health()
        assert repr(client) == (
            f"<DaemonClient {fake.socket_path!r}: 0 connection(s) in use, 1 idle, 0 stream(s)>"
        )
        events = client.monitor()
        assert "daemon.monitor.stream" not in repr(events)  # not subscribed yet
        async with events:
            assert repr(events).startswith("<Subscription daemon.monitor.stream open")
    assert repr(client) == f"<DaemonClient {fake.socket_path!r}: closed>"
    assert repr(fake).startswith(f"<FakeDaemon {fake.socket_path!r} serving: ")


async def test_a_path_that_is_no_socket_is_named_as_such(tmp_path: Path) -> None:
    regular = tmp_path / "file"
    regular.write_text("")
    for path in (tmp_path, regular):
        with pytest.raises(DaemonNotRunningError, match="is not a socket"):
            async with DaemonClient(path) as client:
                await client.health()
