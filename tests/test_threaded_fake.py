"""FakeDaemon.in_thread: the fake on an event loop of its own thread, driven from blocking code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from marianne_sdk import JobRequest
from marianne_sdk.sync import DaemonClient
from marianne_sdk.testing import FakeDaemon, Fault, ReceivedRequest, SocketInUseError


async def slept(seconds: float) -> float:
    await anyio.sleep(seconds)
    return seconds


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_configure_and_observe_from_the_test_thread(socket_path: Path, backend: str) -> None:
    with (
        FakeDaemon.in_thread(socket_path, backend=backend, step_seconds=0.01) as fake,
        DaemonClient(fake.socket_path, timeout=10) as client,
    ):
        fake.register("test.echo", lambda params: params["value"])
        fake.plan_job("two", sheets=2, fail_at_sheet=2)
        fake.inject(Fault.GARBAGE, "daemon.status")
        assert client.call("test.echo", {"value": 7}) == 7
        with pytest.raises(Exception, match="not a JSON-RPC message"):
            client.status()
        with client.monitor(idle_timeout=10) as events:
            fake.wait_for(lambda: fake.monitor_subscribers == 1)
            fake.emit("x.y", job_id="elsewhere")
            assert next(iter(events)).event == "x.y"
            client.submit_job(JobRequest(config_path="/scores/two.yaml"))
            fake.wait_for(lambda: fake.job_status("two") == "failed")
        assert fake.count("job.submit") == 1
        assert fake.requests[0] == ReceivedRequest("test.echo", {"value": 7}, 1)
        assert fake.accepted_connections >= 2
        assert fake.call(fake.count, "job.submit") == 1
        assert fake.call(slept, 0.01) == 0.01
    assert not socket_path.exists()


def test_wait_for_gives_up_at_its_timeout(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path) as fake, pytest.raises(TimeoutError):
        fake.wait_for(lambda: fake.count("job.submit") == 1, timeout=0.1)


def test_a_threaded_fake_refuses_a_socket_another_serves(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path) as first:
        with (
            pytest.raises(SocketInUseError),
            FakeDaemon.in_thread(socket_path),
        ):
            pass
        with DaemonClient(socket_path) as client:
            assert client.health().status == "ok"
        assert first.count("daemon.health") == 1


def test_handlers_run_on_the_fakes_loop(socket_path: Path) -> None:
    seen: list[Any] = []

    async def handler(params: dict[str, Any]) -> str:
        import sniffio

        seen.append(sniffio.current_async_library())
        return "ok"

    with (
        FakeDaemon.in_thread(socket_path, backend="trio") as fake,
        DaemonClient(socket_path) as client,
    ):
        fake.register("test.where", handler)
        assert client.call("test.where") == "ok"
    assert seen == ["trio"]
