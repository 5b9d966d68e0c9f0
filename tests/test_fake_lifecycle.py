"""FakeDaemon does what the conductor does: it stops as the conductor stops, restarts, goes silent.

The clients here are plain anyio socket streams, not the SDK's, so what is
seen is what the fake wrote; what the fake read is counted at the fake.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from marianne_sdk import DaemonClient, DaemonTimeoutError, JobRequest, JobSubmissionError
from marianne_sdk.testing import FakeDaemon, ReceivedRequest

pytestmark = pytest.mark.anyio

BOUND = 30.0  # for what takes milliseconds: only a hang reaches it


class Line:
    """A connection to the fake that sends one request at a time and reads its answer."""

    def __init__(self, stream: SocketStream) -> None:
        self.stream = stream
        self._lines = BufferedByteReceiveStream(stream)
        self._ids = 0

    async def send(self, method: str, params: dict[str, Any] | None = None) -> None:
        self._ids += 1
        request = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": self._ids}
        await self.stream.send(json.dumps(request).encode() + b"\n")

    async def receive(self) -> dict[str, Any]:
        with anyio.fail_after(BOUND):
            message: dict[str, Any] = json.loads(await self._lines.receive_until(b"\n", 1 << 24))
        return message

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send(method, params)
        return await self.receive()

    async def at_eof(self) -> bool:
        """Whether the fake closed this connection (waits for it, within the bound)."""
        with anyio.fail_after(BOUND):
            try:
                await self._lines.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return True
        return False


@asynccontextmanager
async def line_to(fake: FakeDaemon) -> AsyncIterator[Line]:
    async with await anyio.connect_unix(fake.socket_path) as stream:
        yield Line(stream)


async def test_stopping_like_the_conductor_reports_then_closes_the_listener_then_waits(
    socket_path: Path,
) -> None:
    async with FakeDaemon(socket_path) as fake, line_to(fake) as line:
        assert (await line.call("daemon.health"))["result"]["shutting_down"] is False
        stopped = anyio.Event()

        async def stop() -> None:
            await fake.stop_like_conductor()
            stopped.set()

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(stop)
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: not os.path.exists(socket_path))
            # The listener is closed: nothing new connects ...
            with pytest.raises(FileNotFoundError):
                await anyio.connect_unix(socket_path)
            # ... while the open connection is still served, as shutting down.
            health = (await line.call("daemon.health"))["result"]
            assert health["status"] == "ok"
            assert health["shutting_down"] is True
            ready = (await line.call("daemon.ready"))["result"]
            assert (ready["status"], ready["accepting_work"]) == ("not_ready", False)
            submit = (await line.call("job.submit", {"config_path": "/w/late.yaml"}))["result"]
            assert (submit["status"], submit["message"]) == ("rejected", "Daemon is shutting down")
            assert not stopped.is_set(), "the stop waits for the open connection"
            await line.stream.aclose()
            with anyio.fail_after(BOUND):
                await stopped.wait()
        assert fake.open_connections == 0
        assert fake.count("daemon.health") == 2


async def test_a_stop_like_the_conductor_ends_its_jobs_and_waits_for_a_monitor_stream(
    socket_path: Path,
) -> None:
    async with FakeDaemon(socket_path, step_seconds=3600) as fake, line_to(fake) as stream:
        await stream.call("job.submit", {"config_path": "/w/long.yaml"})
        await stream.send("daemon.monitor.stream")
        with anyio.fail_after(BOUND):
            await fake.wait_for(lambda: fake.monitor_subscribers == 1)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(fake.stop_like_conductor)
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: not os.path.exists(socket_path))
            assert fake.open_connections == 1, "the subscription's connection holds the stop"
            await stream.stream.aclose()  # noticed at once, without an event to write
        assert fake.open_connections == 0
        assert fake.job_status("long") == "queued", "the job ended where it stood"


async def test_grace_bounds_the_wait_for_a_client_that_never_closes(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as fake, line_to(fake) as line:
        await line.call("daemon.status")
        with anyio.fail_after(BOUND):
            await fake.stop_like_conductor(grace=0.2)
        assert await line.at_eof(), "the fake closed what was left"
        assert fake.open_connections == 0


@pytest.mark.parametrize("keep_jobs", [True, False], ids=["with-registry", "without"])
async def test_restart_serves_again_on_the_same_path(socket_path: Path, keep_jobs: bool) -> None:
    async with FakeDaemon(socket_path, step_seconds=0.01) as fake:
        fake.plan_job("nightly", sheets=1)
        async with DaemonClient(socket_path, timeout=BOUND) as client:
            await client.submit_job(JobRequest(config_path="/w/nightly.yaml"))
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: fake.job_status("nightly") == "completed")
            fake.shutting_down = True
            with anyio.fail_after(BOUND):
                await fake.restart(keep_jobs=keep_jobs)
            assert not (await client.health()).shutting_down
            if keep_jobs:
                assert (await client.get_job_status("nightly")).status == "completed"
            else:
                with pytest.raises(JobSubmissionError, match="not found"):
                    await client.get_job_status("nightly")
        assert fake.accepted_connections == 2, "the old connection ended with the old conductor"
        assert fake.count("job.submit") == 1, "what the fake read before the restart stays"


async def test_restart_of_a_fake_served_in_a_task_group(socket_path: Path) -> None:
    fake = FakeDaemon(socket_path)
    async with anyio.create_task_group() as task_group:
        await task_group.start(fake.serve)
        with anyio.fail_after(BOUND):
            await fake.restart()
        async with line_to(fake) as line:
            assert "result" in await line.call("daemon.status")
        await fake.stop()
    with pytest.raises(FileNotFoundError):
        await anyio.connect_unix(socket_path)


async def test_restart_needs_a_serving_fake(socket_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not serving"):
        await FakeDaemon(socket_path).restart()


async def test_a_new_fake_serves_on_the_path_of_one_stopped_like_the_conductor(
    socket_path: Path,
) -> None:
    async with FakeDaemon(socket_path) as first:
        await first.stop_like_conductor()
    async with FakeDaemon(socket_path) as second, line_to(second) as line:
        assert (await line.call("daemon.health"))["result"]["shutting_down"] is False


async def test_a_silent_fake_reads_and_counts_but_answers_nothing(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as fake, DaemonClient(socket_path, timeout=0.3) as client:
        await client.status()
        fake.go_silent()
        with pytest.raises(DaemonTimeoutError):
            await client.status()
        assert fake.count("daemon.status") == 2, "the request was read"
        fake.resume_answering()
        assert (await client.status()).version == "0.1.0"


async def test_a_silent_fake_pushes_no_event(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as fake, line_to(fake) as stream:
        await stream.send("daemon.monitor.stream")
        with anyio.fail_after(BOUND):
            await fake.wait_for(lambda: fake.monitor_subscribers == 1)
        fake.go_silent()
        fake.emit("while.silent")
        fake.resume_answering()
        fake.emit("after.silence")
        assert (await stream.receive())["params"]["event"] == "after.silence"


async def test_requests_are_counted_per_connection(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as fake, line_to(fake) as first, line_to(fake) as second:
        await first.call("daemon.health")
        await second.call("daemon.health")
        await second.call("daemon.status")
        await first.call("daemon.health")
        assert fake.count("daemon.health") == 3
        assert fake.count("daemon.health", connection=1) == 2
        assert fake.count("daemon.health", connection=2) == 1
        assert fake.count("daemon.status", connection=1) == 0
        assert [request.connection for request in fake.requests] == [1, 2, 2, 1]
        assert fake.requests[0] == ReceivedRequest("daemon.health", {}, 1)


def test_a_threaded_fake_stops_restarts_and_goes_silent(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path) as fake:
        with anyio.from_thread.start_blocking_portal() as portal:

            async def health() -> dict[str, Any]:
                async with await anyio.connect_unix(socket_path) as stream:
                    return await Line(stream).call("daemon.health")

            fake.shutting_down = True
            assert portal.call(health)["result"]["shutting_down"] is True
            fake.restart(keep_jobs=False)
            assert portal.call(health)["result"]["shutting_down"] is False
            fake.go_silent()
            fake.resume_answering()
            assert fake.count("daemon.health", connection=2) == 1
            fake.stop_like_conductor(grace=BOUND)
        assert not os.path.exists(socket_path)
