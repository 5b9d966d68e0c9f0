"""FakeDaemon: the conductor's wire behaviour (protocol §1), its result shapes, and its job lifecycle."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from marianne_sdk import DaemonClient, MethodNotFoundError
from marianne_sdk._transport import MAX_LINE_BYTES, Connection, Disconnected
from marianne_sdk.testing import (
    FakeDaemon,
    FakeRpcError,
    Fault,
    ReceivedRequest,
    SocketInUseError,
)

pytestmark = pytest.mark.anyio

RECORDING = Path(__file__).parent / "data" / "conductor-session.ndjson"


def recorded() -> dict[str, list[dict[str, Any]]]:
    """Recorded responses by method."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for line in RECORDING.read_text().splitlines():
        exchange = json.loads(line)
        by_method.setdefault(exchange["request"]["method"], []).append(exchange["response"])
    return by_method


def kind(value: Any) -> str:
    for json_kind, types in (
        ("null", type(None)),
        ("boolean", bool),
        ("number", int | float),
        ("string", str),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(value, types):
            return json_kind
    raise TypeError(value)


# Keys of job metadata present only when set (protocol §5.2).
JOB_META_CONDITIONAL = frozenset(
    {"error_message", "error_traceback", "chain_depth", "progress_completed", "progress_total"}
)


def assert_same_shape(
    real: Any, fake: Any, where: str = "$", conditional: frozenset[str] = frozenset()
) -> None:
    """Same keys in every object and the same JSON kind wherever both values are set.

    Keys in ``conditional`` may be missing on either side.
    """
    if real is None or fake is None:
        return
    assert kind(fake) == kind(real), f"{where}: {kind(fake)} instead of {kind(real)}"
    if isinstance(real, dict):
        if where.endswith(".sheets"):  # keyed by sheet number: compare one sheet
            assert_same_shape(next(iter(real.values())), next(iter(fake.values())), where + "[]")
            return
        assert sorted(set(fake) - conditional) == sorted(set(real) - conditional), where
        for key in set(real) & set(fake):
            assert_same_shape(real[key], fake[key], f"{where}.{key}", conditional)
    elif isinstance(real, list):
        for index, (real_item, fake_item) in enumerate(zip(real, fake, strict=False)):
            assert_same_shape(real_item, fake_item, f"{where}[{index}]", conditional)


async def wire(path: str, payload: bytes, answers: int) -> list[Any]:
    """Send raw ``payload`` on a new connection and read ``answers`` lines."""
    connection = await Connection.open(path, None)
    try:
        await connection.send_line(payload)
        with anyio.fail_after(10):
            return [json.loads(await connection.receive_line()) for _ in range(answers)]
    finally:
        connection.close()


async def dropped(path: str, payload: bytes) -> bool:
    """Whether the fake closes the connection after ``payload`` without answering."""
    connection = await Connection.open(path, None)
    try:
        await connection.send_line(payload)
        with anyio.fail_after(10):
            await connection.receive_line()
    except Disconnected:
        return True
    finally:
        connection.close()
    return False


# ---- the wire -------------------------------------------------------------------------


async def test_blank_lines_get_a_parse_error_and_the_connection_goes_on(
    fake: FakeDaemon,
) -> None:
    answers = await wire(
        fake.socket_path, b'\n  \n{"jsonrpc":"2.0","method":"daemon.health","id":7}\n', 3
    )
    parse_error = {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error: malformed JSON", "data": None},
        "id": None,
    }
    assert answers[:2] == [parse_error, parse_error]
    assert answers[2]["id"] == 7
    assert answers[2]["result"]["status"] == "ok"
    assert fake.requests == [ReceivedRequest("daemon.health", {}, 7)]


@pytest.mark.parametrize(
    ("line", "code", "message", "request_id"),
    [
        (b"{not json", -32700, "Parse error: malformed JSON", None),
        (
            b'[{"method":"daemon.health","id":1}]',
            -32600,
            "Invalid request: missing 'method' field",
            None,
        ),
        (b'{"id":4}', -32600, "Invalid request: missing 'method' field", 4),
        (
            b'{"jsonrpc":"1.0","method":"daemon.health","id":5}',
            -32600,
            "Invalid request: jsonrpc",
            5,
        ),
        (b'{"method":"daemon.health","params":[1],"id":6}', -32600, "Invalid request: params", 6),
        (b'{"method":7,"id":8}', -32600, "Invalid request: method", 8),
        (b'{"method":"no.such","id":"s"}', -32601, "Method not found: no.such", "s"),
    ],
)
async def test_refused_requests(
    fake: FakeDaemon, line: bytes, code: int, message: str, request_id: Any
) -> None:
    [answer] = await wire(fake.socket_path, line + b"\n", 1)
    assert answer["error"]["code"] == code
    assert answer["error"]["message"].startswith(message)
    assert answer["id"] == request_id
    if code == -32601:
        assert answer["error"]["data"] == {"method": "no.such"}


async def test_ids_are_echoed_as_the_conductor_coerces_them(fake: FakeDaemon) -> None:
    lines = b'{"method":"daemon.health","id":true}\n{"method":"daemon.health","id":2.0}\n'
    assert [answer["id"] for answer in await wire(fake.socket_path, lines, 2)] == [1, 2]
    assert await dropped(fake.socket_path, b'{"method":"daemon.health","id":1.5}\n')
    assert await dropped(fake.socket_path, b'{"method":"daemon.health","id":[1]}\n')
    assert await dropped(fake.socket_path, b'{"method":"daemon.health","id":1,"x":"\xff"}\n')


async def test_notifications_run_without_an_answer(fake: FakeDaemon) -> None:
    lines = (
        b'{"method":"daemon.clear_rate_limits"}\n'
        b'{"method":"daemon.shutdown","id":null}\n'
        b'{"method":"no.such.method"}\n'
        b'{"method":"daemon.health","id":3}\n'
    )
    [answer] = await wire(fake.socket_path, lines, 1)
    assert answer["id"] == 3
    assert fake.shutting_down
    assert [request.id for request in fake.requests] == [None, None, None, 3]


async def test_pipelined_requests_are_answered_in_order(fake: FakeDaemon) -> None:
    fake.inject(Fault.DELAY, "job.list", delay=0.1)
    lines = b'{"method":"job.list","id":1}\n{"method":"daemon.health","id":2}\n'
    assert [answer["id"] for answer in await wire(fake.socket_path, lines, 2)] == [1, 2]


async def test_the_line_limit(fake: FakeDaemon) -> None:
    exactly = b'{"method":"daemon.health","id":1,"pad":"' + b"x" * MAX_LINE_BYTES
    exactly = exactly[: MAX_LINE_BYTES - 2] + b'"}'
    assert len(exactly) == MAX_LINE_BYTES
    answers = await wire(fake.socket_path, exactly + b'\n{"method":"daemon.health","id":2}\n', 2)
    assert answers[0]["error"]["code"] == -32700
    assert answers[1]["id"] == 2
    assert await dropped(fake.socket_path, b"y" * (MAX_LINE_BYTES + 1) + b"\n")
    assert fake.requests == [ReceivedRequest("daemon.health", {}, 2)]


async def test_connections_above_the_cap_wait_unread(socket_path: Path) -> None:
    async with FakeDaemon(socket_path, max_served_connections=1) as fake:
        first = await Connection.open(str(socket_path), None)
        await first.send_line(b'{"method":"daemon.health","id":1}\n')
        await first.receive_line()
        second = await Connection.open(str(socket_path), None)
        await second.send_line(b'{"method":"daemon.health","id":2}\n')
        with anyio.fail_after(5):
            await fake.wait_for(lambda: fake.open_connections == 2)
        assert fake.served_connections == 1
        assert fake.count("daemon.health") == 1, "the second connection is not read"
        first.close()
        with anyio.fail_after(5):
            assert json.loads(await second.receive_line())["id"] == 2
        second.close()


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_handler_failures_map_like_the_conductor(fake: FakeDaemon, streaming: bool) -> None:
    """The same mapping whether the handler answers once or streams (then fails)."""

    def raising(error: Exception) -> Any:
        def handler(params: dict[str, Any]) -> Any:
            raise error

        async def streaming_handler(params: dict[str, Any]) -> AsyncIterator[Any]:
            raise error
            yield  # an async generator: a streaming method

        return streaming_handler if streaming else handler

    fake.register("a.key", raising(KeyError("job_id")))
    fake.register("a.type", raising(TypeError("bad type")))
    fake.register("a.runtime", raising(RuntimeError("boom")))
    fake.register("a.rpc", raising(FakeRpcError(-32001, "exhausted", {"why": 1})))
    lines = b"".join(
        b'{"method":"%s","id":%d}\n' % (name, number)
        for number, name in enumerate([b"a.key", b"a.type", b"a.runtime", b"a.rpc"])
    )
    errors = [answer["error"] for answer in await wire(fake.socket_path, lines, 4)]
    assert errors == [
        {"code": -32602, "message": "Invalid params: 'job_id'", "data": None},
        {"code": -32602, "message": "Invalid params: bad type", "data": None},
        {"code": -32603, "message": "Internal error: boom", "data": None},
        {"code": -32001, "message": "exhausted", "data": {"why": 1}},
    ]


async def test_registered_handlers_sync_async_and_replacing_builtins(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    async def slow_double(params: dict[str, Any]) -> int:
        await anyio.lowlevel.checkpoint()
        return int(params["n"]) * 2

    fake.register("test.double", slow_double)
    fake.register("test.nothing", lambda params: None)
    fake.register("daemon.health", lambda params: {"status": "custom"})
    assert await client.call("test.double", {"n": 21}) == 42
    assert await client.call("test.nothing") is None
    assert await client.call("daemon.health") == {"status": "custom"}


async def test_monitor_stream_never_answers_its_request(fake: FakeDaemon) -> None:
    connection = await Connection.open(fake.socket_path, None)
    await connection.send_line(b'{"method":"daemon.monitor.stream","id":9}\n')
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.monitor_subscribers == 1)
    fake.emit("x.y", job_id="j", sheet_num=2, data={"k": "v"})
    with anyio.fail_after(5):
        message = json.loads(await connection.receive_line())
    assert message["method"] == "monitor.event"
    assert "id" not in message
    assert {key: message["params"][key] for key in ("job_id", "sheet_num", "event", "data")} == {
        "job_id": "j",
        "sheet_num": 2,
        "event": "x.y",
        "data": {"k": "v"},
    }
    with anyio.move_on_after(0.1) as scope:
        await connection.receive_line()
    assert scope.cancelled_caught, "no answer to the request"
    connection.close()
    await anyio.wait_all_tasks_blocked()
    assert fake.monitor_subscribers == 1, "as on the conductor, a closed subscription lingers"
    assert fake.served_connections == 1
    fake.emit("next")
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.monitor_subscribers == 0 and fake.served_connections == 0)


# ---- faults ---------------------------------------------------------------------------


async def test_faults_record_run_or_skip_the_request_as_documented(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    ran: list[str] = []

    def note(params: dict[str, Any]) -> str:
        ran.append(params["tag"])
        return "ok"

    fake.register("test.note", note)
    for fault, tag in [
        (Fault.CLOSE_BEFORE_READ, "before"),
        (Fault.CLOSE_AFTER_READ, "after-read"),
        (Fault.CLOSE_AFTER_HANDLE, "after-handle"),
    ]:
        fake.inject(fault, "test.note")
        with pytest.raises(Exception, match="connection"):
            await client.call("test.note", {"tag": tag})
    assert [request.params["tag"] for request in fake.requests] == ["after-read", "after-handle"]
    assert ran == ["after-handle"]


async def test_injections_match_by_method_and_count(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.inject(Fault.GARBAGE, "job.list", times=None)
    fake.inject(Fault.GARBAGE, times=2)
    for _ in range(3):
        with pytest.raises(Exception, match="not a JSON-RPC message"):
            await client.call("job.list")
    with pytest.raises(Exception, match="not a JSON-RPC message"):
        await client.call("daemon.health")
    with pytest.raises(Exception, match="not a JSON-RPC message"):
        await client.call("daemon.health")
    assert (await client.call("daemon.health"))["status"] == "ok"


# ---- results ----------------------------------------------------------------------------


async def test_results_have_the_recorded_shape(fake: FakeDaemon, client: DaemonClient) -> None:
    real = recorded()
    fake.plan_job("many", sheets=40)
    fake.plan_job("fail", sheets=2, fail_at_sheet=1)
    for name in ("many", "fail"):
        await client.call("job.submit", {"config_path": f"/srv/demo/scores/{name}.yaml"})
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("fail") == "failed")
    fake.set_rate_limit("claude-cli", 30)

    same = {
        "daemon.health": None,
        "daemon.ready": None,
        "daemon.status": None,
        "daemon.config": None,
        "daemon.top": None,
        "daemon.top.stream": None,
        "daemon.events": {"limit": 5},
        "daemon.learning.patterns": {"limit": 5},
        "daemon.clear_rate_limits": {},
        "job.submit": {"config_path": "/srv/demo/scores/new.yaml"},
        "job.list": None,
        "job.status": {"job_id": "many"},
        "job.pause": {"job_id": "many"},
        "job.resume": {"job_id": "many"},
        "job.cancel": {"job_id": "many"},
        "job.errors": {"job_id": "fail"},
        "job.diagnose": {"job_id": "fail"},
        "job.history": {"job_id": "fail", "limit": 5},
        "daemon.observer_events": {"job_id": "many", "limit": 3},
        "job.modify": {"job_id": "long"},
        "job.clear": {"job_ids": ["fail"]},
    }
    for method, params in same.items():
        result = await client.call(method, params)
        if method == "daemon.observer_events":  # data depends on the event: compare alike
            events = result["events"]
            result["events"] = [e for e in events if e["event"] == "observer.process_exited"]
            assert result["events"], events
        for response in real[method]:
            if "result" in response:
                conditional = JOB_META_CONDITIONAL if method == "job.list" else frozenset()
                assert_same_shape(response["result"], result, method, conditional)
    checkpoint = await client.call("job.status", {"job_id": "many"})
    assert len(checkpoint) == 40
    assert len(checkpoint["sheets"]["1"]) == 61


async def test_errors_have_the_recorded_shape(fake: FakeDaemon, client: DaemonClient) -> None:
    lines = (
        b'{"jsonrpc":"2.0","method":"job.status","id":32,"params":{"job_id":"does-not-exist"}}\n'
        b'{"jsonrpc":"2.0","method":"job.status","id":33,"params":{}}\n'
        b'{"jsonrpc":"2.0","method":"no.such.method","id":34}\n'
    )
    real = [json.loads(line)["response"] for line in RECORDING.read_text().splitlines()[-3:]]
    answers = await wire(fake.socket_path, lines, 3)
    # The fake's "method not found" goes on to say how to give it the method.
    hint = answers[2]["error"].pop("message")
    assert hint.startswith(real[2]["error"].pop("message") + " (FakeDaemon has no handler")
    assert answers == real


async def test_a_method_without_handler_says_how_to_register_one(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    with pytest.raises(MethodNotFoundError) as caught:
        await client.call("daemon.version")
    assert caught.value.code == -32601
    assert caught.value.data == {"method": "daemon.version"}
    assert "fake.register('daemon.version', handler)" in caught.value.message
    fake.register("daemon.version", lambda params: "1.2.3")
    assert await client.call("daemon.version") == "1.2.3"


# ---- the job lifecycle ------------------------------------------------------------------


async def test_a_job_goes_from_metadata_to_checkpoint_to_completed(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.plan_job("steps", sheets=2)
    await client.call("job.submit", {"config_path": "/w/steps.yaml", "chain_depth": 2})
    queued = await client.call("job.status", {"job_id": "steps"})
    assert queued["status"] == "queued"
    assert "job_name" not in queued
    assert queued["chain_depth"] == 2
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("steps") == "completed")
    done = await client.call("job.status", {"job_id": "steps"})
    assert done["status"] == "completed"
    assert done["last_completed_sheet"] == 2
    assert done["completed_at"].endswith("Z")
    assert all(sheet["status"] == "completed" for sheet in done["sheets"].values())
    history = await client.call("job.history", {"job_id": "steps"})
    assert [record["sheet_num"] for record in history["records"]] == [2, 1]
    assert history["has_history"] is True
    assert history["records"][0]["executed_at"].endswith("+00:00")


async def test_pause_resume_cancel(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("long", sheets=1000)
    await client.call("job.submit", {"config_path": "/w/long.yaml"})
    rejected = await client.call("job.submit", {"config_path": "/w/long.yaml"})
    assert rejected["status"] == "rejected"
    assert "already" in rejected["message"]
    assert await client.call("job.pause", {"job_id": "long"}) == {
        "paused": False,
        "error": "Job 'long' is queued, not running",
    }
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("long") == "running")
    assert await client.call("job.pause", {"job_id": "long"}) == {"paused": True}
    assert fake.job_status("long") == "paused"
    resumed = await client.call("job.resume", {"job_id": "long"})
    assert resumed == {"job_id": "long", "status": "accepted", "message": "Job resume queued"}
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("long") == "running")
    assert await client.call("job.cancel", {"job_id": "long"}) == {"cancelled": True}
    assert await client.call("job.cancel", {"job_id": "long"}) == {"cancelled": False}
    assert await client.call("job.cancel", {"job_id": "ghost"}) == {"cancelled": False}
    still = await client.call("job.resume", {"job_id": "ghost"})
    assert still == {"job_id": "ghost", "status": "rejected", "message": "Score 'ghost' not found"}
    assert (await client.call("job.clear", {}))["deleted"] == 1
    assert fake.job_status("long") is None


async def test_modify_pauses_then_resumes_with_the_new_config(
    fake: FakeDaemon, client: DaemonClient
) -> None:
    fake.plan_job("mod", sheets=1000)
    await client.call("job.submit", {"config_path": "/w/mod.yaml"})
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("mod") == "running")
    answer = await client.call("job.modify", {"job_id": "mod", "config_path": "/w/v2/mod.yaml"})
    assert answer["message"] == "Pause signal sent. Will resume with mod.yaml when paused."
    assert fake.job_status("mod") == "paused"
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("mod") == "running")
    listed = await client.call("job.list")
    assert listed[0]["config_path"] == "/w/v2/mod.yaml"
    no_config = await client.call("job.modify", {"job_id": "mod"})
    assert no_config == {"job_id": "mod", "status": "rejected", "message": "config_path required"}


async def test_submission_rejections(socket_path: Path, tmp_path: Path) -> None:
    real_config = tmp_path / "exists.yaml"
    real_config.write_text("name: exists\n")
    async with (
        FakeDaemon(socket_path, check_config_files=True) as fake,
        DaemonClient(socket_path) as client,
    ):
        missing = await client.call("job.submit", {"config_path": "/nowhere/nope.yaml"})
        assert missing == {
            "job_id": "nope",
            "status": "rejected",
            "message": "Config file not found: /nowhere/nope.yaml",
        }
        found = await client.call("job.submit", {"config_path": str(real_config)})
        assert found["status"] == "accepted"
        await client.call("daemon.shutdown")
        assert fake.shutting_down
        closing = await client.call("job.submit", {"config_path": str(real_config)})
        assert closing == {"job_id": "", "status": "rejected", "message": "Daemon is shutting down"}
        assert (await client.call("daemon.health"))["shutting_down"] is True
        assert (await client.call("daemon.ready"))["status"] == "not_ready"


async def test_recover_needs_a_saved_state(fake: FakeDaemon, client: DaemonClient) -> None:
    fake.plan_job("slow", sheets=1000)
    await client.call("job.submit", {"config_path": "/w/slow.yaml"})
    with pytest.raises(Exception, match="No state found for job 'slow'"):
        await client.call("job.recover", {"job_id": "slow"})
    with anyio.fail_after(10):
        await fake.wait_for(lambda: fake.job_status("slow") == "running")
    recovered = await client.call("job.recover", {"job_id": "slow", "dry_run": True})
    assert recovered["dry_run"] is True
    assert recovered["sheet_num"] is None
    assert recovered["state"]["job_id"] == "slow"


# ---- lifecycle of the fake ----------------------------------------------------------------


async def test_serving_in_a_task_group_and_stopping(socket_path: Path) -> None:
    fake = FakeDaemon(socket_path)
    async with anyio.create_task_group() as task_group:
        await task_group.start(fake.serve)
        assert await anyio.Path(socket_path).is_socket()
        assert oct(os.stat(socket_path).st_mode & 0o777) == oct(0o660)
        async with DaemonClient(socket_path) as client:
            assert (await client.health()).status == "ok"
            await fake.stop()
            assert not await anyio.Path(socket_path).exists()
    assert fake.open_connections == 0


async def test_a_fake_refuses_a_socket_another_serves(socket_path: Path) -> None:
    async with FakeDaemon(socket_path) as first:
        with pytest.raises(
            SocketInUseError, match=f"already listening .*{re.escape(str(socket_path))}"
        ):
            async with FakeDaemon(socket_path):
                pass
        # The first goes on serving on its socket, for new connections too.
        async with DaemonClient(socket_path) as client:
            assert (await client.health()).status == "ok"
        assert first.count("daemon.health") == 1


async def test_a_stale_socket_file_is_replaced_and_other_files_are_kept(
    socket_path: Path,
) -> None:
    with socket.socket(socket.AF_UNIX) as stale:  # bound, never listening: nobody serves it
        stale.bind(str(socket_path))
    async with FakeDaemon(socket_path), DaemonClient(socket_path) as client:
        assert (await client.health()).status == "ok"
    await anyio.Path(socket_path).write_text("not a socket")
    with pytest.raises(FileExistsError, match="not a socket"):
        async with FakeDaemon(socket_path):
            pass
    assert await anyio.Path(socket_path).read_text() == "not a socket"
