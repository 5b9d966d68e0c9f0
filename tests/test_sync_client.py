"""The blocking client: the async client's behaviour, through a thread of its own."""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import marianne_sdk
from marianne_sdk import (
    DaemonError,
    DaemonNotRunningError,
    DaemonStatus,
    InvalidParamsError,
    JobListEntry,
    JobRequest,
    JobSubmissionError,
    KnownDaemonJobStatus,
    MethodNotFoundError,
    ObserverEvent,
    UntrustedDaemonError,
)
from marianne_sdk.sync import DaemonClient
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon


@pytest.fixture
def fake(socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as threaded:
        yield threaded


@pytest.fixture
def client(fake: ThreadedFakeDaemon) -> Iterator[DaemonClient]:
    with DaemonClient(fake.socket_path, timeout=10.0) as sync_client:
        yield sync_client


def test_takes_the_async_clients_arguments() -> None:
    def parameters(function: Any) -> list[tuple[str, Any, Any]]:
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    assert parameters(DaemonClient) == parameters(marianne_sdk.DaemonClient)


def test_typed_results(client: DaemonClient) -> None:
    status = client.status()
    assert isinstance(status, DaemonStatus)
    assert status.running_jobs == 0
    client.submit_job(JobRequest(config_path="/scores/typed.yaml"))
    [job] = client.list_jobs()
    assert isinstance(job, JobListEntry)
    assert job.job_id == "typed"


def test_monitor_follows_a_job_and_keeps_the_subscription_for_the_next_block(
    client: DaemonClient, fake: ThreadedFakeDaemon
) -> None:
    seen: list[ObserverEvent] = []
    with client.monitor(idle_timeout=10) as events:
        fake.wait_for(lambda: fake.monitor_subscribers == 1)
        response = client.submit_job(JobRequest(config_path="/scores/followed.yaml"))
        for event in events:
            assert isinstance(event, ObserverEvent)
            seen.append(event)
            if event.event == "job.completed":
                break
    with client.monitor(idle_timeout=10) as events:
        fake.emit("second.block")
        assert next(events).event == "second.block"
    assert fake.count("daemon.monitor.stream") == 1
    names = [event.event for event in seen if event.job_id == response.job_id]
    assert names[0] == "job.started"
    assert names.count("sheet.completed") == 3
    state = client.get_job_status(response.job_id)
    assert state.status == KnownDaemonJobStatus.COMPLETED
    assert state.sheets
    assert all(sheet.status == "completed" for sheet in state.sheets.values())


def test_untyped_stream_ends_with_the_response(
    client: DaemonClient, fake: ThreadedFakeDaemon
) -> None:
    async def count(params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        for n in range(params["n"]):
            yield {"n": n}

    fake.register("demo.count", count)
    with client.stream("demo.count", {"n": 3}) as items:
        assert list(items) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_error_classes(client: DaemonClient, fake: ThreadedFakeDaemon) -> None:
    with pytest.raises(JobSubmissionError) as caught:
        client.get_job_status("does-not-exist")
    assert caught.value.code == -32000
    with pytest.raises(MethodNotFoundError):
        client.call("no.such.method")


def test_invalid_params_are_refused_before_sending(
    client: DaemonClient, fake: ThreadedFakeDaemon
) -> None:
    with pytest.raises(InvalidParamsError):
        client.call("job.status", {"job_id": 42})
    assert client.call("daemon.health")["status"] == "ok"
    assert fake.count("job.status") == 0


def test_timeout_surfaces_as_timeout_error(fake: ThreadedFakeDaemon) -> None:
    fake.inject("delay", "daemon.status", delay=5.0)
    with DaemonClient(fake.socket_path, timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client.status()
        assert time.monotonic() - started < 2.0


def test_notify_runs_without_an_answer(client: DaemonClient, fake: ThreadedFakeDaemon) -> None:
    client.notify("job.submit", {"config_path": "/scores/notified.yaml"})
    fake.wait_for(lambda: fake.count("job.submit") == 1)
    assert fake.requests[-1].id is None


def test_is_daemon_running(client: DaemonClient, socket_path: Path) -> None:
    assert client.is_daemon_running()
    with DaemonClient(socket_path.with_name("missing.sock")) as absent:
        assert not absent.is_daemon_running()
        with pytest.raises(DaemonNotRunningError):
            absent.status()


@pytest.mark.skipif(sys.platform != "linux", reason="SO_PEERCRED is Linux-only")
def test_untrusted_daemon_is_refused(fake: ThreadedFakeDaemon) -> None:
    with (
        DaemonClient(fake.socket_path, trusted_uids={os.getuid() + 12345}) as client,
        pytest.raises(UntrustedDaemonError),
    ):
        client.status()
    assert fake.requests == []


def test_closed_client_raises(fake: ThreadedFakeDaemon) -> None:
    client = DaemonClient(fake.socket_path)
    assert client.health().status == "ok"
    events = client.monitor()
    client.close()
    client.close()
    with pytest.raises(DaemonError, match="closed"):
        client.health()
    with pytest.raises(DaemonError, match="closed"):
        next(events)
    events.close()  # nothing left to close: not an error


def test_closing_the_client_closes_its_open_streams(fake: ThreadedFakeDaemon) -> None:
    client = DaemonClient(fake.socket_path)
    events = client.monitor()
    events.__enter__()
    fake.wait_for(lambda: fake.monitor_subscribers == 1)
    client.close()
    fake.emit("after.close")  # the conductor notices a closed subscription at its next event
    fake.wait_for(lambda: fake.monitor_subscribers == 0)
    assert events is not None, "the stream was still referenced: closed by the client, not by GC"
    events.close()


def test_one_client_serves_several_threads(client: DaemonClient, fake: ThreadedFakeDaemon) -> None:
    with ThreadPoolExecutor(max_workers=8) as threads:
        statuses = list(threads.map(lambda _: client.health().status, range(40)))
    assert statuses == ["ok"] * 40
    assert fake.count("daemon.health") == 40
