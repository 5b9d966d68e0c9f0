"""DaemonClient: calls, ids, params validation, error mapping, typed wrappers, lifecycle."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import msgspec
import pytest
import sniffio
import trio

from marianne_sdk import (
    METHODS,
    DaemonAlreadyRunningError,
    DaemonClient,
    DaemonError,
    DaemonInternalError,
    DaemonNotRunningError,
    DaemonParseError,
    DaemonShuttingDownError,
    InvalidParamsError,
    InvalidRequestError,
    JobRequest,
    JobSubmissionError,
    MethodNotFoundError,
    ResourceExhaustedError,
    UntrustedDaemonError,
)
from marianne_sdk._generated import models
from marianne_sdk._generated.params import JobStatusParams
from marianne_sdk.testing import FakeDaemon, FakeRpcError, ReceivedRequest

pytestmark = pytest.mark.anyio

ERROR_CLASSES: dict[int, type[DaemonError]] = {
    -32700: DaemonParseError,
    -32600: InvalidRequestError,
    -32601: MethodNotFoundError,
    -32602: InvalidParamsError,
    -32603: DaemonInternalError,
    -32000: JobSubmissionError,
    -32001: ResourceExhaustedError,
    -32002: DaemonAlreadyRunningError,
    -32003: DaemonShuttingDownError,
    -32004: JobSubmissionError,
    -32005: JobSubmissionError,
    -32099: DaemonError,  # not a code of the conductor's: the base class
}


async def test_call_returns_the_result_as_builtins(fake: FakeDaemon, client: DaemonClient) -> None:
    health = await client.call("daemon.health")
    assert health["status"] == "ok"
    assert health["pid"] == os.getpid()
    assert isinstance(await client.call("job.list"), list)


async def test_request_ids_count_per_client(fake: FakeDaemon, client: DaemonClient) -> None:
    await client.call("daemon.health")
    await client.call("daemon.status", {})
    await client.notify("daemon.clear_rate_limits")
    with pytest.raises(JobSubmissionError):
        await client.call("job.status", JobStatusParams(job_id="x"))
    assert fake.requests == [
        ReceivedRequest("daemon.health", {}, 1),
        ReceivedRequest("daemon.status", {}, 2),
        ReceivedRequest("daemon.clear_rate_limits", {}, None),
        ReceivedRequest("job.status", {"job_id": "x"}, 3),
    ]
    async with DaemonClient(fake.socket_path) as other:
        await other.call("daemon.health")
    assert fake.requests[-1].id == 1


async def test_typed_wrappers_decode_into_models(fake: FakeDaemon, client: DaemonClient) -> None:
    status = await client.status()
    assert isinstance(status, models.DaemonStatus)
    assert status.pid == os.getpid()
    response = await client.submit_job(JobRequest(config_path="/scores/typed.yaml"))
    assert response == models.JobResponse(
        job_id="typed", status="accepted", message="Job queued (concurrency limit: 15)"
    )


@pytest.mark.parametrize(
    ("method", "params", "complaint"),
    [
        ("job.status", {}, "missing required field `job_id`"),
        ("job.status", {"job_id": 7}, "Expected `str`, got `int`"),
        ("job.status", {"job_id": "a", "jobid": "typo"}, "unknown field `jobid`"),
        ("job.submit", {"config_path": "/x.yaml", "fresh": "yes"}, "Expected `bool`"),
        ("daemon.events", {"limit": None}, "Expected `int`, got `null`"),
    ],
)
async def test_invalid_params_are_refused_before_sending(
    fake: FakeDaemon, client: DaemonClient, method: str, params: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidParamsError, match="not sent") as caught:
        await client.call(method, params)
    assert complaint in str(caught.value)
    assert caught.value.request_id is None
    assert caught.value.method == method
    assert fake.requests == []
    assert fake.accepted_connections == 0


async def test_invalid_typed_params_are_refused_before_sending(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    with pytest.raises(InvalidParamsError, match="not sent"):
        await client.get_job_status(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidParamsError, match="not sent"):
        await client.submit_job(JobRequest(config_path=["not", "a", "path"]))  # type: ignore[arg-type]
    with pytest.raises(InvalidParamsError, match="not sent"):
        await client.process_events(limit=object())  # type: ignore[arg-type]
    assert fake.requests == []


async def test_params_must_be_a_mapping(fake: FakeDaemon, client: DaemonClient) -> None:
    with pytest.raises(InvalidParamsError, match="mapping"):
        await client.call("made.up", ["positional"])  # type: ignore[arg-type]
    with pytest.raises(InvalidParamsError, match="cannot be encoded"):
        await client.call("made.up", {"when": object()})
    assert fake.requests == []


async def test_unknown_methods_are_sent_unvalidated(fake: FakeDaemon, client: DaemonClient) -> None:
    with pytest.raises(MethodNotFoundError) as caught:
        await client.call("no.such.method", {"anything": [1, 2]})
    assert caught.value.data == {"method": "no.such.method"}
    assert caught.value.code == -32601
    assert fake.requests == [ReceivedRequest("no.such.method", {"anything": [1, 2]}, 1)]


async def test_streaming_methods_are_refused_by_call_and_notify(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    with pytest.raises(ValueError, match="stream"):
        await client.call("daemon.monitor.stream")
    with pytest.raises(ValueError, match="stream"):
        await client.notify("daemon.monitor.stream")
    assert fake.requests == []


@pytest.mark.parametrize(("code", "expected"), sorted(ERROR_CLASSES.items()))
async def test_error_responses_map_to_their_class_and_keep_the_details(
    fake: FakeDaemon, client: DaemonClient, code: int, expected: type[DaemonError]
) -> None:
    def fail(params: dict[str, Any]) -> None:
        raise FakeRpcError(code, f"failure {code}", {"detail": params["n"]})

    fake.register("test.fail", fail)
    with pytest.raises(DaemonError) as caught:
        await client.call("test.fail", {"n": 3})
    error = caught.value
    assert type(error) is expected
    assert (error.code, error.message, error.data) == (code, f"failure {code}", {"detail": 3})
    assert (error.method, error.request_id) == ("test.fail", 1)
    assert await client.call("daemon.health")
    assert fake.accepted_connections == 1, "an error response leaves the connection usable"


async def test_handler_exceptions_map_like_the_conductor(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.register("test.lookup", lambda params: params["job_id"])
    with pytest.raises(InvalidParamsError, match="Invalid params: 'job_id'") as caught:
        await client.call("test.lookup")
    assert caught.value.code == -32602
    with pytest.raises(JobSubmissionError, match="Job 'ghost' not found"):
        await client.call("job.status", {"job_id": "ghost"})

    def broken(params: dict[str, Any]) -> None:
        raise RuntimeError("disk on fire")

    fake.register("test.broken", broken)
    with pytest.raises(DaemonInternalError, match="Internal error: disk on fire"):
        await client.call("test.broken")


async def test_notify_sends_without_an_id_and_reads_nothing(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    seen = anyio.Event()

    def record(params: dict[str, Any]) -> dict[str, Any]:
        seen.set()
        return {"ignored": True}

    fake.register("test.note", record)
    await client.notify("test.note", {"x": 1})
    with anyio.fail_after(5):
        await seen.wait()
    assert fake.requests == [ReceivedRequest("test.note", {"x": 1}, None)]
    assert await client.call("daemon.health")
    assert fake.accepted_connections == 1


async def test_timeout_names_the_call(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.inject("silence", "daemon.status")
    with pytest.raises(TimeoutError, match=r"daemon\.status \(id 1\): no response within 0\.2 s"):
        await client.call("daemon.status", timeout=0.2)


async def test_is_daemon_running(socket_path: Path) -> None:
    async with DaemonClient(socket_path) as client:
        assert not await client.is_daemon_running()
        async with FakeDaemon(socket_path):
            assert await client.is_daemon_running()
        assert not await client.is_daemon_running()
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(str(socket_path))
        stale.close()
        assert await anyio.Path(socket_path).exists()
        assert not await client.is_daemon_running()


async def test_close_is_idempotent_and_later_calls_fail(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    await client.call("daemon.health")
    await client.close()
    await client.close()
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)
    with pytest.raises(DaemonError, match="closed"):
        await client.call("daemon.health")
    with pytest.raises(DaemonError, match="closed"):
        await client.stream("daemon.monitor.stream").__anext__()
    assert fake.count("daemon.health") == 1


async def test_a_connection_in_use_at_close_is_closed_when_its_call_ends(
    fake: FakeDaemon,
) -> None:
    fake.inject("delay", "job.list", delay=0.2)
    client = DaemonClient(fake.socket_path)
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(client.call, "job.list")
        await fake.wait_for(lambda: fake.count("job.list") == 1)
        await client.close()
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)


async def test_missing_socket(socket_path: Path) -> None:
    async with DaemonClient(socket_path) as client:
        with pytest.raises(DaemonNotRunningError, match=f"no conductor socket at {socket_path}"):
            await client.call("daemon.health")


async def test_connection_refused(socket_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(socket_path))
    stale.close()
    async with DaemonClient(socket_path) as client:
        with pytest.raises(
            DaemonNotRunningError, match=f"nothing listens on the conductor socket {socket_path}"
        ):
            await client.call("daemon.health")


PERMISSION_CHECK = textwrap.dedent(
    """
    import os, sys
    import anyio
    import anyio._backends._asyncio, anyio._backends._trio
    from marianne_sdk import DaemonClient, DaemonNotRunningError

    os.setgid(65534)
    os.setuid(65534)  # root ignores file modes: connect as an unprivileged user

    async def main() -> None:
        try:
            await DaemonClient(sys.argv[1]).call("daemon.health")
        except DaemonNotRunningError as error:
            print(type(error).__name__, error)

    anyio.run(main, backend=sys.argv[2])
    """
)


async def test_permission_denied(fake: FakeDaemon, anyio_backend_name: str) -> None:
    path = Path(fake.socket_path)
    await anyio.Path(path.parent).chmod(0o755)
    await anyio.Path(path).chmod(0o000)
    if os.geteuid() == 0:
        command = [sys.executable, "-c", PERMISSION_CHECK, str(path), anyio_backend_name]
        completed = await anyio.run_process(command, check=True)
        output = completed.stdout.decode().strip()
    else:
        with pytest.raises(DaemonNotRunningError) as caught:
            await DaemonClient(path).call("daemon.health")
        output = f"{type(caught.value).__name__} {caught.value}"
    assert output == f"DaemonNotRunningError not permitted to connect to {path}"
    assert fake.accepted_connections == 0


async def test_an_untrusted_daemon_is_refused_before_anything_is_sent(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path, trusted_uids={os.getuid() + 4242}) as client:
        with pytest.raises(UntrustedDaemonError):
            await client.call("daemon.health")
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.accepted_connections == 1 and fake.open_connections == 0)
    assert fake.requests == []


def test_socket_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MARIANNE_SOCKET", raising=False)
    assert DaemonClient().socket_path == Path("/tmp/marianne.sock")
    monkeypatch.setenv("MARIANNE_SOCKET", str(tmp_path / "env.sock"))
    assert DaemonClient().socket_path == tmp_path / "env.sock"
    assert DaemonClient(tmp_path / "explicit.sock").socket_path == tmp_path / "explicit.sock"


@pytest.mark.parametrize(
    "options",
    [{"pool_size": 0}, {"timeout": 0}, {"connect_timeout": -1}, {"max_idle_seconds": 0}],
)
def test_settings_are_checked(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        DaemonClient("/tmp/x.sock", **options)


async def test_every_typed_wrapper_round_trips(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("long", sheets=500)
    called: set[str] = set()

    async def check(python_name: str, *args: Any, **kwargs: Any) -> Any:
        info = next(info for info in METHODS.values() if info.python_name == python_name)
        result = await getattr(client, python_name)(*args, **kwargs)
        # The typed result is exactly what the declared type decodes from the wire.
        wire = msgspec.json.encode(result)
        assert msgspec.json.decode(wire, type=info.result_type) == result
        called.add(python_name)
        return result

    accepted = await check("submit_job", JobRequest(config_path="/scores/short.yaml"))
    assert accepted.status == "accepted"
    assert (await check("get_job_status", "short")).shape == "metadata"
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("short") == "completed")
    await check("submit_job", JobRequest(config_path="/scores/long.yaml"))
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("long") == "running")

    state = await check("get_job_status", "short")
    assert state.shape == "checkpoint"
    assert state.sheets is not msgspec.UNSET
    assert len(state.sheets) == 3
    assert (await check("pause_job", "long")).paused is True
    assert (await check("resume_job", "long")).message == "Job resume queued"
    assert (await check("cancel_job", "long")).cancelled is True
    modified = await check("modify_job", "long", config_path="/scores/long.yaml")
    assert modified.status == "accepted"
    entries = await check("list_jobs")
    assert [entry.job_id for entry in entries] == ["short", "long"]
    assert (await check("get_errors", "short")).state.shape == "checkpoint"
    assert (await check("diagnose", "short")).workspace == "/scores/ws/short"
    history = await check("get_execution_history", "short", limit=2)
    assert [record.sheet_num for record in history.records] == [3, 2]
    recovered = await check("recover_job", "short", dry_run=True)
    assert recovered.dry_run is True
    assert recovered.state.total_sheets == 3
    assert (await check("status")).version == "0.1.0"
    assert (await check("config")).socket.path == fake.socket_path
    assert (await check("health")).status == "ok"
    assert (await check("readiness")).accepting_work is True
    assert [p.job_id for p in (await check("top")).job_progress] == ["short", "long"]
    assert (await check("top_jsonl_path")).jsonl_path.endswith("monitor.jsonl")
    events = (await check("process_events", limit=2)).events
    assert len(events) == 2
    observed = (await check("observer_events", "short", limit=2)).events
    assert [event.event for event in observed] == [
        "observer.process_exited",
        "observer.process_spawned",
    ]
    fake.set_rate_limit("claude", 60)
    assert (await check("rate_limits")).active_limits == 1
    assert (await check("clear_rate_limits")).cleared == 1
    assert (await check("learning_patterns")).patterns == []
    assert (await check("clear_jobs", job_ids=["short"])).deleted == 1
    assert (await check("shutdown")).shutting_down is True
    assert (await check("health")).shutting_down is True

    # Every method the fake answers, however many the schema has: a method added
    # to the schema is answered once a test registers a handler for it.
    answered = [info for name, info in METHODS.items() if name in fake.methods]
    assert called == {info.python_name for info in answered if not info.streaming}
    assert {info.python_name for info in answered if info.streaming} == {"monitor"}


def test_a_client_serves_one_event_loop_after_another(socket_path: Path) -> None:
    # As a script does that calls asyncio.run() (or trio.run()) more than once.
    with FakeDaemon.in_thread(socket_path) as fake:
        client = DaemonClient(socket_path)
        assert asyncio.run(client.call("daemon.health"))["status"] == "ok"
        assert asyncio.run(client.call("daemon.health"))["status"] == "ok"
        assert trio.run(client.call, "daemon.health")["status"] == "ok"
        assert asyncio.run(client.call("daemon.health"))["status"] == "ok"
        assert fake.count("daemon.health") == 4
        fake.wait_for(lambda: fake.open_connections <= 1)


def test_a_client_streams_on_one_event_loop_after_another(socket_path: Path) -> None:
    async def one_event(number: int) -> str:
        async with client.monitor() as events:
            # Subscribed anew on each loop: the previous loop's reader ended with it.
            await anyio.to_thread.run_sync(
                fake.wait_for, lambda: fake.count("daemon.monitor.stream") == number
            )
            fake.emit(f"loop.{number}")
            with anyio.fail_after(10):
                return (await events.__anext__()).event

    with FakeDaemon.in_thread(socket_path) as fake:
        client = DaemonClient(socket_path)
        assert asyncio.run(one_event(1)) == "loop.1"
        assert trio.run(one_event, 2) == "loop.2"
        assert asyncio.run(one_event(3)) == "loop.3"


async def test_on_trio_notifications_let_other_tasks_run(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    """trio's rule: every await of an API may switch tasks. asyncio makes no such promise."""
    on_trio = sniffio.current_async_library() == "trio"
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await anyio.lowlevel.checkpoint()

    await client.health()  # a pooled connection is idle, so notify() need not wait
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(other_task)
        with anyio.fail_after(10):
            await anyio.lowlevel.checkpoint()
            turns = 0
            for _ in range(20):
                await client.notify("daemon.health")
            turns_while_notifying = turns
            await fake.wait_for(lambda: fake.count("daemon.health") == 21)
        task_group.cancel_scope.cancel()
    if on_trio:
        assert turns_while_notifying >= 10, "about one turn per notify; none without checkpoints"
