"""FakeDaemon(recording=...) answers from a recorded session, through the real client.

The recordings are written here with the recording format's own encoder, as
``marianne-sdk record`` writes them: a session of ``daemon.status``, a job
submitted and followed through ``monitor()`` and ``job.status``, ``job.list``
and a rejected call.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from tests.test_cli import COMMAND, ENV, next_line

from marianne_sdk import DaemonClient, DaemonError, JobRequest, JobSubmissionError, sync
from marianne_sdk._generated import registry
from marianne_sdk._recording import Direction, Exchange, RecordingHeader, encode_line
from marianne_sdk.testing import FakeDaemon, RecordedCall
from marianne_sdk.testing._shapes import new_checkpoint

pytestmark = pytest.mark.anyio

BOUND = 30.0

SUBMIT_PARAMS = {
    "config_path": "/tmp/nightly.yaml",
    "chain_depth": None,
    "client_cwd": None,
    "dry_run": False,
    "fresh": False,
    "self_healing": False,
    "self_healing_auto_confirm": False,
    "start_sheet": None,
    "workspace": None,
}
STATUS = {
    "pid": 4242,
    "uptime_seconds": 12.5,
    "running_jobs": 0,
    "total_jobs_active": 0,
    "memory_usage_mb": 101.3,
    "version": "0.1.0",
}
SUBMITTED = {"job_id": "nightly", "status": "accepted", "message": "Job queued"}
RUNNING = {**new_checkpoint("nightly", "/tmp/nightly.yaml", 1, "running"), "pid": 4343}
COMPLETED = {**copy.deepcopy(RUNNING), "status": "completed", "last_completed_sheet": 1}
LISTED = [
    {
        "job_id": "nightly",
        "status": "completed",
        "config_path": "/tmp/nightly.yaml",
        "workspace": "/tmp/ws/nightly",
        "submitted_at": 1796245556.9,
        "started_at": 1796245557.0,
        "progress_completed": 1,
        "progress_total": 1,
    }
]
NOT_FOUND = {"code": -32000, "message": "Job 'nope' not found", "data": None}
HEALTH = {"status": "ok", "pid": 4242, "uptime_seconds": 3.0, "shutting_down": False}


def event(name: str, sheet_num: int = 0) -> dict[str, Any]:
    return {
        "job_id": "nightly",
        "sheet_num": sheet_num,
        "event": name,
        "data": None,
        "timestamp": 1796245557.5,
    }


class Recording:
    """A recording file being written, one exchange at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        header = RecordingHeader(upstream="/run/marianne.sock", started_at="2026-12-02T20:00:00Z")
        self._lines = [encode_line(header)]
        self._ids: dict[int, int] = {}

    def _add(self, connection: int, direction: Direction, **fields: Any) -> None:
        time = len(self._lines) / 100
        self._lines.append(
            encode_line(Exchange(connection=connection, direction=direction, time=time, **fields))
        )

    def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        result: Any = None,
        error: dict[str, Any] | None = None,
        connection: int = 1,
    ) -> None:
        request_id = self._ids[connection] = self._ids.get(connection, 0) + 1
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
        self._add(connection, Direction.TO_CONDUCTOR, message=request)
        answer = {"error": error} if error is not None else {"result": result}
        self._add(
            connection,
            Direction.FROM_CONDUCTOR,
            message={"jsonrpc": "2.0", **answer, "id": request_id},
        )

    def subscribe(self, connection: int) -> None:
        request = {"jsonrpc": "2.0", "method": "daemon.monitor.stream", "params": {}, "id": 1}
        self._add(connection, Direction.TO_CONDUCTOR, message=request)

    def events(self, connection: int, *events: dict[str, Any]) -> None:
        for item in events:
            message = {"jsonrpc": "2.0", "method": "monitor.event", "params": item}
            self._add(connection, Direction.FROM_CONDUCTOR, message=message)

    def handshake(self, connection: int) -> None:
        """The client's blank line, recorded as raw text, and the conductor's refusal."""
        self._add(connection, Direction.TO_CONDUCTOR, raw="")
        refusal = {"code": -32700, "message": "Parse error: malformed JSON", "data": None}
        reply = {"jsonrpc": "2.0", "error": refusal, "id": None}
        self._add(connection, Direction.FROM_CONDUCTOR, message=reply)

    def write(self) -> Path:
        self.path.write_bytes(b"".join(self._lines))
        return self.path


def session(path: Path) -> Path:
    """The recorded session: status, a job followed to its end, the list, a rejection."""
    recording = Recording(path)
    recording.handshake(1)
    recording.call("daemon.status", {}, result=STATUS)
    recording.handshake(2)
    recording.subscribe(2)
    recording.call("job.submit", SUBMIT_PARAMS, result=SUBMITTED)
    recording.events(2, event("job.started"), event("sheet.started", 1))
    recording.call("job.status", {"job_id": "nightly"}, result=RUNNING)
    recording.events(2, event("sheet.completed", 1), event("job.completed"))
    recording.call("job.status", {"job_id": "nightly"}, result=COMPLETED)
    recording.call("job.list", {}, result=LISTED)
    recording.call("job.status", {"job_id": "nope"}, error=NOT_FOUND)
    return recording.write()


def typed(result: Any, method: Any) -> Any:
    """``result`` as the client decodes it for ``method`` (a registry entry)."""
    return msgspec.json.decode(msgspec.json.encode(result), type=method.result_type)


def typed_event(item: dict[str, Any]) -> Any:
    """A monitor event as the client decodes it."""
    kind = registry.DAEMON_MONITOR_STREAM.notification_type
    return msgspec.json.decode(msgspec.json.encode(item), type=kind)


def client_of(fake: FakeDaemon) -> DaemonClient:
    return DaemonClient(fake.socket_path, timeout=BOUND, heartbeat=None)


async def test_a_replayed_session_gives_the_recorded_results_errors_and_events(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = session(tmp_path / "session.ndjson")
    async with FakeDaemon(socket_path, recording=recording) as fake, client_of(fake) as client:
        assert await client.status() == typed(STATUS, registry.DAEMON_STATUS)
        async with client.monitor() as events:
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: fake.monitor_subscribers == 1)
            submitted = await client.submit_job(JobRequest(config_path="/tmp/nightly.yaml"))
            assert submitted == typed(SUBMITTED, registry.JOB_SUBMIT)
            with anyio.fail_after(BOUND):
                first = [await anext(events), await anext(events)]
            running = await client.get_job_status("nightly")
            with anyio.fail_after(BOUND):
                then = [await anext(events), await anext(events)]
            completed = await client.get_job_status("nightly")
        assert first + then == [
            typed_event(event("job.started")),
            typed_event(event("sheet.started", 1)),
            typed_event(event("sheet.completed", 1)),
            typed_event(event("job.completed")),
        ], "in the recorded order, each after the answer it followed"
        assert running == typed(RUNNING, registry.JOB_STATUS)
        assert completed == typed(COMPLETED, registry.JOB_STATUS), "the second recorded answer"
        assert (running.status, completed.status) == ("running", "completed")
        assert await client.list_jobs() == typed(LISTED, registry.JOB_LIST)
        with pytest.raises(JobSubmissionError, match="Job 'nope' not found") as rejected:
            await client.get_job_status("nope")
        assert rejected.value.code == -32000
        assert fake.unused() == []
        assert fake.count("job.status") == 3


async def test_key_order_and_whitespace_do_not_matter(socket_path: Path, tmp_path: Path) -> None:
    recording = session(tmp_path / "session.ndjson")
    lines = recording.read_bytes().split(b"\n")
    [submit] = [n for n, line in enumerate(lines) if b'"job.submit"' in line]
    exchange = json.loads(lines[submit])
    reordered = dict(reversed(list(exchange["message"]["params"].items())))
    exchange["message"]["params"] = reordered
    lines[submit] = json.dumps(exchange, indent=None, separators=(" ,  ", " :  ")).encode()
    recording.write_bytes(b"\n".join(lines))
    async with FakeDaemon(socket_path, recording=recording) as fake, client_of(fake) as client:
        submitted = await client.submit_job(JobRequest(config_path="/tmp/nightly.yaml"))
    assert submitted.status == "accepted"


async def test_identical_requests_get_the_recorded_answers_in_order(
    socket_path: Path, tmp_path: Path
) -> None:
    async with (
        FakeDaemon(socket_path, recording=session(tmp_path / "s.ndjson")) as fake,
        client_of(fake) as client,
    ):
        statuses = [await client.call("job.status", {"job_id": "nightly"}) for _ in range(2)]
        with pytest.raises(DaemonError, match="not in the recording") as third:
            await client.call("job.status", {"job_id": "nightly"})
    assert [state["status"] for state in statuses] == ["running", "completed"]
    assert "job.status" in str(third.value)
    assert "all replayed already" in str(third.value)


async def test_unused_lists_what_a_shorter_run_skipped(socket_path: Path, tmp_path: Path) -> None:
    recording = session(tmp_path / "session.ndjson")
    async with FakeDaemon(socket_path, recording=recording) as fake, client_of(fake) as client:
        await client.status()
        await client.get_job_status("nightly")
        skipped = fake.unused()
    assert [(call.method, call.params) for call in skipped] == [
        ("daemon.monitor.stream", {}),
        ("job.submit", SUBMIT_PARAMS),
        ("job.status", {"job_id": "nightly"}),
        ("job.list", {}),
        ("job.status", {"job_id": "nope"}),
    ]
    assert skipped[0].answer is None, "the conductor never answers a subscription"
    assert skipped[2].answer is not None
    assert skipped[2].answer["result"] == COMPLETED, "the first job.status was replayed"
    assert skipped[4].answer == {"jsonrpc": "2.0", "error": NOT_FOUND, "id": 6}
    assert all(isinstance(call, RecordedCall) for call in skipped)


async def test_a_request_not_in_the_recording_is_refused_or_falls_back(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = session(tmp_path / "session.ndjson")
    async with FakeDaemon(socket_path, recording=recording) as fake, client_of(fake) as client:
        with pytest.raises(DaemonError, match=r"daemon\.ready .*is not in the recording") as miss:
            await client.readiness()
        assert miss.value.code == -32603
        assert miss.value.data == {"method": "daemon.ready", "params": {}}
    async with (
        FakeDaemon(socket_path, recording=recording, fallback=True) as fake,
        client_of(fake) as client,
    ):
        assert (await client.readiness()).status == "ready", "the simulation answers"
        assert await client.status() == typed(STATUS, registry.DAEMON_STATUS), "the recording"


async def test_a_subscription_arriving_late_gets_the_events_due_before_it(
    socket_path: Path, tmp_path: Path
) -> None:
    """Sent on its own connection, a subscription may reach the fake after the answer
    its events followed: they are held for it, not dropped."""
    recording = session(tmp_path / "session.ndjson")
    async with FakeDaemon(socket_path, recording=recording) as fake, client_of(fake) as client:
        await client.submit_job(JobRequest(config_path="/tmp/nightly.yaml"))
        assert fake.monitor_subscribers == 0, "the job's events are due, with nobody to take them"
        async with client.monitor() as events:
            with anyio.fail_after(BOUND):
                first = [await anext(events), await anext(events)]
            await client.get_job_status("nightly")
            with anyio.fail_after(BOUND):
                then = [await anext(events), await anext(events)]
    assert first + then == [
        typed_event(event("job.started")),
        typed_event(event("sheet.started", 1)),
        typed_event(event("sheet.completed", 1)),
        typed_event(event("job.completed")),
    ]


async def test_events_keep_their_recorded_order_whatever_order_their_answers_go_in(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = Recording(tmp_path / "crossing.ndjson")
    recording.subscribe(2)
    recording.call("job.status", {"job_id": "nightly"}, result=RUNNING, connection=1)
    recording.events(2, event("job.started"))
    recording.call("job.list", {}, result=LISTED, connection=3)
    recording.events(2, event("job.completed"))
    path = recording.write()
    async with FakeDaemon(socket_path, recording=path) as fake, client_of(fake) as client:
        async with client.monitor() as events:
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: fake.monitor_subscribers == 1)
            await client.list_jobs()  # answered first: its event waits for the one before it
            await client.get_job_status("nightly")
            with anyio.fail_after(BOUND):
                seen = [await anext(events), await anext(events)]
        assert fake.unused() == []
    assert seen == [typed_event(event("job.started")), typed_event(event("job.completed"))]


async def test_each_subscription_gets_the_events_recorded_on_it(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = Recording(tmp_path / "two.ndjson")
    recording.subscribe(2)
    recording.subscribe(3)
    recording.call("job.submit", SUBMIT_PARAMS, result=SUBMITTED)
    recording.events(2, event("job.started"))
    recording.events(3, event("sheet.started", 1))
    recording.call("job.status", {"job_id": "nightly"}, result=RUNNING)
    recording.events(3, event("sheet.completed", 1))
    recording.events(2, event("job.completed"))
    path = recording.write()
    async with (
        FakeDaemon(socket_path, recording=path) as fake,
        client_of(fake) as first_client,
        client_of(fake) as second_client,  # a client's monitor() blocks share one subscription
        first_client.monitor() as first,
    ):
        with anyio.fail_after(BOUND):
            await fake.wait_for(lambda: fake.monitor_subscribers == 1)
        async with second_client.monitor() as second:  # the second recorded subscription
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: fake.monitor_subscribers == 2)
            await first_client.submit_job(JobRequest(config_path="/tmp/nightly.yaml"))
            await first_client.get_job_status("nightly")
            with anyio.fail_after(BOUND):
                to_first = [await anext(first), await anext(first)]
                to_second = [await anext(second), await anext(second)]
    assert to_first == [typed_event(event("job.started")), typed_event(event("job.completed"))]
    assert to_second == [
        typed_event(event("sheet.started", 1)),
        typed_event(event("sheet.completed", 1)),
    ]


async def test_daemon_health_gets_the_recorded_answers_then_the_fakes(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = Recording(tmp_path / "health.ndjson")
    recording.call("daemon.health", {}, result=HEALTH)
    recording.call("daemon.status", {}, result=STATUS)
    path = recording.write()
    async with FakeDaemon(socket_path, recording=path) as fake, client_of(fake) as client:
        never_asked = [call.method for call in fake.unused()]
        recorded = await client.health()
        answered = await client.health()
        unused = [call.method for call in fake.unused()]
        assert fake.count("daemon.health") == 2
    assert never_asked == ["daemon.health", "daemon.status"]
    assert recorded.pid == HEALTH["pid"], "the recorded answer, first"
    assert (answered.status, answered.pid) == ("ok", os.getpid()), "then the fake's own"
    assert unused == ["daemon.status"], "the fake's answer took nothing from the recording"


async def test_a_quiet_replayed_stream_outlives_its_liveness_probes(
    socket_path: Path, tmp_path: Path
) -> None:
    """The client probes a quiet stream with ``daemon.health``, more often than recorded."""
    recording = Recording(tmp_path / "quiet.ndjson")
    recording.subscribe(2)
    recording.call("daemon.health", {}, result=HEALTH)
    recording.call("job.submit", SUBMIT_PARAMS, result=SUBMITTED)
    recording.events(2, event("job.started"), event("job.completed"))
    path = recording.write()
    async with (
        FakeDaemon(socket_path, recording=path) as fake,
        DaemonClient(fake.socket_path, timeout=BOUND, heartbeat=0.05) as client,
    ):
        async with client.monitor() as events:
            with anyio.fail_after(BOUND):
                await fake.wait_for(lambda: fake.count("daemon.health") >= 3)
            await client.submit_job(JobRequest(config_path="/tmp/nightly.yaml"))
            with anyio.fail_after(BOUND):
                seen = [await anext(events), await anext(events)]
        unused = fake.unused()
    assert seen == [typed_event(event("job.started")), typed_event(event("job.completed"))]
    assert unused == [], "a probe took the recorded daemon.health"


def test_a_threaded_fake_replays(socket_path: Path, tmp_path: Path) -> None:
    recording = session(tmp_path / "session.ndjson")
    with (
        FakeDaemon.in_thread(socket_path, recording=recording) as fake,
        sync.DaemonClient(socket_path, timeout=BOUND) as client,
    ):
        assert client.status() == typed(STATUS, registry.DAEMON_STATUS)
        assert len(fake.unused()) == 6


class TestThePluginReplays:
    """The plugin's fake replays what ``marianne_fake_options`` names."""

    @pytest.fixture
    def marianne_fake_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"recording": session(tmp_path / "session.ndjson")}

    async def test_the_fixtures_replay(
        self, marianne_fake: FakeDaemon, marianne_client: DaemonClient
    ) -> None:
        assert await marianne_client.status() == typed(STATUS, registry.DAEMON_STATUS)
        assert len(marianne_fake.unused()) == 6


def test_the_command_line_fake_replays_and_says_what_it_never_replayed(
    socket_path: Path, tmp_path: Path
) -> None:
    recording = session(tmp_path / "session.ndjson")
    command = [*COMMAND, "fake-daemon", "--socket", str(socket_path), "--replay", str(recording)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    ) as served:
        try:
            assert next_line(served, timeout=BOUND) == f"serving on {socket_path}\n"
            with sync.DaemonClient(socket_path, timeout=BOUND) as client:
                assert client.status() == typed(STATUS, registry.DAEMON_STATUS)
                with pytest.raises(DaemonError, match="not in the recording"):
                    client.readiness()
        finally:
            served.terminate()
            _, errors = served.communicate(timeout=BOUND)
    assert served.returncode == 0
    assert errors.splitlines()[0] == "6 recorded request(s) never replayed:"
    assert '  job.status {"job_id": "nope"}' in errors.splitlines()


def test_the_command_line_fake_refuses_a_file_that_is_no_recording(
    socket_path: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a recording\n")
    result = subprocess.run(
        [*COMMAND, "fake-daemon", "--socket", str(socket_path), "--replay", str(bogus)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=BOUND,
        check=False,
    )
    assert result.returncode != 0
    assert "RecordingError" in result.stderr
    assert "is not a marianne-sdk recording" in result.stderr
