"""Remote conductors over a real OpenSSH: ``ssh://`` targets against a private sshd.

The sshd (``tests/sshd.py``) runs on 127.0.0.1, so a "remote" conductor is a
FakeDaemon on a local socket, reached through ssh and the bridge it starts.
Each connection is one ssh child of this process: the tests count them in
``/proc`` (zombies included), so an ssh child left unreaped fails them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.conftest import BACKENDS
from tests.programs.unclosed_ssh_client import ssh_children
from tests.sshd import SSHServer, free_port

from marianne_sdk import (
    DaemonClient,
    DaemonError,
    DaemonNotRunningError,
    DaemonShuttingDownError,
    DaemonStatus,
    DaemonTimeoutError,
    Fleet,
    HealthResult,
    JobRequest,
    JobResponse,
    ObserverEvent,
    SSHConnectError,
    sync,
)
from marianne_sdk.cli import EXIT_OK, main
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

BOUND = 30.0
"""Seconds any step may take: each ssh session costs about 0.4 s on an idle machine."""
REAP_BOUND = 20.0
"""Seconds for a closed connection's ssh to be reaped (it gets 2 s, then SIGTERM, then SIGKILL)."""
PROGRAM_BOUND = 60.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """asyncio and trio: each ssh session is slow, uvloop runs only where a test asks for it."""
    return request.param


async def until(condition: Callable[[], object], bound: float = BOUND) -> None:
    with anyio.fail_after(bound):
        while not condition():  # noqa: ASYNC110 - /proc and the fake's counters have no event
            await anyio.sleep(0.02)


def wait_until(condition: Callable[[], object], bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"not true within {bound} s"
        time.sleep(0.02)


def ssh_mentioning(text: str) -> list[int]:
    """Every ssh process on the machine whose command line mentions ``text`` (``pgrep -f``)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if (
                entry.name.isdigit()
                and (entry / "comm").read_text().strip() == "ssh"
                and text.encode() in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
    return found


def comparable(status: DaemonStatus) -> tuple[Any, ...]:
    """What two status answers of one conductor share: not its uptime nor its memory use."""
    return (status.pid, status.version, status.running_jobs, status.total_jobs_active)


# ---- calls, streams and jobs ---------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", BACKENDS)
async def test_typed_calls_give_the_local_answers_on_one_pooled_connection(
    sshd: SSHServer, socket_path: Path
) -> None:
    before = ssh_children()
    # Jobs that never start: both clients see the same list.
    async with (
        FakeDaemon(socket_path, step_seconds=3600) as fake,
        DaemonClient(sshd.url(socket_path), timeout=20) as remote,
    ):
        with anyio.fail_after(BOUND):
            status = await remote.status()
            health = await remote.health()
            submitted = await remote.submit_job(JobRequest(config_path="/tmp/over-ssh.yaml"))
            jobs = await remote.list_jobs()
        assert fake.accepted_connections == 1, "every call went over the first connection"
        assert fake.served_connections == 1, "which stays open, pooled"
        assert len(ssh_children() - before) == 1, "one ssh child for all the calls"
        assert remote.target == sshd.url(socket_path)
        async with DaemonClient(socket_path, timeout=20) as local:
            local_status = await local.status()
            local_health = await local.health()
            local_submitted = await local.submit_job(JobRequest(config_path="/tmp/local.yaml"))
            local_jobs = await local.list_jobs()
            assert await remote.list_jobs() == local_jobs
    assert isinstance(status, DaemonStatus)
    assert comparable(status) == comparable(local_status)
    assert isinstance(health, HealthResult)
    assert (health.pid, health.status, health.shutting_down) == (
        local_health.pid,
        local_health.status,
        local_health.shutting_down,
    )
    assert isinstance(submitted, JobResponse)
    assert (submitted.job_id, submitted.status) == ("over-ssh", local_submitted.status)
    assert [job.job_id for job in jobs] == ["over-ssh"]
    assert type(jobs[0]) is type(local_jobs[0])
    assert fake.count("daemon.status") == 2


async def test_submit_and_wait_and_monitor_follow_a_job(fake: FakeDaemon, sshd: SSHServer) -> None:
    fake.plan_job("followed", sheets=2)
    seen: list[tuple[str, int]] = []
    async with DaemonClient(sshd.url(fake.socket_path), timeout=20) as client:
        with anyio.fail_after(BOUND):
            async with client.monitor() as events:
                await until(lambda: fake.monitor_subscribers == 1)
                state = await client.submit_and_wait(JobRequest(config_path="/tmp/followed.yaml"))
                async for event in events:
                    assert isinstance(event, ObserverEvent)
                    if event.job_id == "followed" and event.event.startswith(("job.", "sheet.")):
                        seen.append((event.event, event.sheet_num))
                    if event.event == "job.completed":
                        break
    assert (state.job_id, state.status) == ("followed", "completed")
    assert seen == [
        ("job.started", 0),
        ("sheet.started", 1),
        ("sheet.completed", 1),
        ("sheet.started", 2),
        ("sheet.completed", 2),
        ("job.completed", 0),
    ]


def test_the_blocking_client_and_fleet(sshd: SSHServer, socket_path: Path) -> None:
    other = socket_path.with_name("other.sock")
    missing = sshd.url(socket_path.with_name("missing.sock"))
    url = sshd.url(socket_path)
    with (
        FakeDaemon.in_thread(socket_path, step_seconds=3600) as fake,
        FakeDaemon.in_thread(other) as other_fake,
    ):
        with sync.DaemonClient(url, timeout=20) as client:
            status = client.status()
            response = client.submit_job(JobRequest(config_path="/tmp/blocking.yaml"))
            assert client.is_daemon_running()
            assert client.socket_path == socket_path
        targets = [url, str(other), missing]
        with sync.Fleet(targets, timeout=20) as fleet:
            result = fleet.status()
        assert fake.count("daemon.status") == 2
        assert other_fake.count("daemon.status") == 1
    assert isinstance(status, DaemonStatus)
    assert (response.job_id, response.status) == ("blocking", "accepted")
    assert list(result.ok) == targets[:2]
    assert all(isinstance(each, DaemonStatus) for each in result.ok.values())
    assert list(result.failed) == [missing]
    assert type(result.failed[missing]) is DaemonNotRunningError


# ---- the command line --------------------------------------------------------------------


def test_the_cli_shows_a_remote_status(
    sshd: SSHServer, socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sshd.url(socket_path)
    with FakeDaemon.in_thread(socket_path) as fake:
        assert main(["--socket", url, "status"]) == EXIT_OK
        shown = capsys.readouterr()
        assert main(["--socket", url, "status", "--json"]) == EXIT_OK
        as_json = capsys.readouterr()
        assert main(["--socket", url, "--socket", str(socket_path), "status"]) == EXIT_OK
        both = capsys.readouterr()
        assert fake.count("daemon.status") == 4
    assert (shown.err, as_json.err, both.err) == ("", "", "")
    record = json.loads(as_json.out)
    assert record["version"]
    assert record["pid"] > 0
    assert record["version"] in shown.out
    assert str(record["pid"]) in shown.out
    header, *rows = both.out.splitlines()
    assert header.split()[0] == "TARGET"
    assert [row.split()[0] for row in rows] == [url, str(socket_path)]


# ---- failures to connect -----------------------------------------------------------------


ASKPASS = '#!/bin/sh\ntouch "$0.asked"\necho yes\n'
"""An askpass that says yes to anything, leaving a mark: ssh must never run it."""


@pytest.mark.parametrize("host_key", ["changed", "unknown"])
async def test_a_host_key_that_is_not_trusted_fails_without_a_prompt(
    fake: FakeDaemon,
    sshd: SSHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    host_key: str,
) -> None:
    known_hosts = tmp_path / "known_hosts"
    if host_key == "changed":
        other_key = tmp_path / "other_key"
        with anyio.fail_after(BOUND):
            await anyio.run_process(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other_key]
            )
        sshd.write_known_hosts(known_hosts, other_key.with_suffix(".pub").read_text())
    else:
        known_hosts.write_text("")
    config = tmp_path / "ssh_config"
    sshd.write_client_config(config, known_hosts)
    # A config that lets ssh ask about an unknown key, and a way for it to ask
    # without a terminal: only the SDK's BatchMode keeps it from asking.
    text = config.read_text().replace("  BatchMode yes\n", "")
    config.write_text(text.replace("StrictHostKeyChecking yes", "StrictHostKeyChecking ask"))
    askpass = tmp_path / "askpass"
    askpass.write_text(ASKPASS)
    askpass.chmod(0o755)
    monkeypatch.setenv("MARIANNE_SSH_COMMAND", f"ssh -F {config}")
    monkeypatch.setenv("SSH_ASKPASS", str(askpass))
    monkeypatch.setenv("SSH_ASKPASS_REQUIRE", "force")
    monkeypatch.setenv("DISPLAY", ":0")
    url = sshd.url(fake.socket_path)
    async with DaemonClient(url, timeout=20) as client:
        with anyio.fail_after(BOUND), pytest.raises(SSHConnectError) as caught:
            await client.status()
    assert "Host key verification failed" in str(caught.value)
    assert url in str(caught.value)
    assert caught.value.target == url
    assert "Host key verification failed" in caught.value.stderr
    assert not await anyio.Path(f"{askpass}.asked").exists(), "ssh asked"
    assert fake.accepted_connections == 0


async def test_an_unreachable_port_is_an_ssh_failure(sshd: SSHServer, socket_path: Path) -> None:
    url = sshd.url(socket_path, port=free_port())
    before = ssh_children()
    async with DaemonClient(url, timeout=20) as client:
        with anyio.fail_after(BOUND), pytest.raises(SSHConnectError) as caught:
            await client.health()
        assert not await client.is_daemon_running()
    assert caught.value.target == url
    assert url in str(caught.value)
    assert "Connection refused" in str(caught.value)
    await until(lambda: not ssh_children() - before, REAP_BOUND)


async def test_a_host_that_accepts_and_says_nothing_is_an_ssh_failure(
    sshd: SSHServer, socket_path: Path
) -> None:
    """Bounded by connect_timeout, not by the call's timeout: ssh never got to the bridge."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever sends a banner
        url = sshd.url(socket_path, port=silent.getsockname()[1])
        before = ssh_children()
        async with DaemonClient(url, timeout=BOUND, connect_timeout=1.0) as client:
            with anyio.fail_after(BOUND), pytest.raises(SSHConnectError) as caught:
                await client.health()
    assert caught.value.target == url
    assert url in str(caught.value)
    await until(lambda: not ssh_children() - before, REAP_BOUND)


@pytest.mark.parametrize("left", ["nothing", "a stale socket file"])
async def test_no_conductor_behind_the_remote_socket(
    sshd: SSHServer, socket_path: Path, left: str
) -> None:
    if left == "a stale socket file":
        with socket.socket(socket.AF_UNIX) as stale:
            stale.bind(str(socket_path))  # closed without listening: connecting is refused
    url = sshd.url(socket_path)
    before = ssh_children()
    async with DaemonClient(url, timeout=20) as client:
        with anyio.fail_after(BOUND), pytest.raises(DaemonNotRunningError) as caught:
            await client.status()
    assert not isinstance(caught.value, SSHConnectError), "ssh itself worked"
    assert "127.0.0.1" in str(caught.value)
    assert str(socket_path) in str(caught.value)
    assert await anyio.Path(socket_path).exists() == (left == "a stale socket file")
    await until(lambda: not ssh_children() - before, REAP_BOUND)


# ---- the ssh children's end -----------------------------------------------------------------


async def hold(params: dict[str, Any]) -> None:
    """A FakeDaemon handler that never answers."""
    await anyio.sleep_forever()


@pytest.mark.parametrize("ending", ["cancelled", "timed out"])
async def test_a_call_ended_midway_leaves_no_ssh_behind(
    fake: FakeDaemon, sshd: SSHServer, ending: str
) -> None:
    fake.register("test.hold", hold)
    before = ssh_children()

    async def call(client: DaemonClient) -> None:
        if ending == "timed out":
            with pytest.raises(DaemonTimeoutError):
                await client.call("test.hold", timeout=2.0)
        else:
            await client.call("test.hold")

    async with DaemonClient(sshd.url(fake.socket_path), timeout=20) as client:
        with anyio.fail_after(BOUND):
            await client.health()  # the pooled connection the held call will use
            held = ssh_children() - before
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(call, client)
                await until(lambda: fake.count("test.hold") == 1)
                assert fake.accepted_connections == 1
                if ending == "cancelled":
                    task_group.cancel_scope.cancel()
        assert len(held) == 1
        await until(lambda: not ssh_children() & held, REAP_BOUND)
        assert not ssh_children() - before, "no other ssh was started meanwhile"
        with anyio.fail_after(BOUND):
            status = await client.status()
        assert isinstance(status, DaemonStatus)
        assert fake.accepted_connections == 2, "the next call connected anew"


async def read_to_the_end(client: DaemonClient) -> None:
    """Read ``client.monitor()`` until it ends, within :data:`BOUND` seconds."""
    with anyio.fail_after(BOUND):
        async with client.monitor() as events:
            async for _ in events:
                pass


async def test_closing_the_client_reaps_its_ssh_children(fake: FakeDaemon, sshd: SSHServer) -> None:
    before = ssh_children()
    ended: list[BaseException | None] = []
    client = DaemonClient(sshd.url(fake.socket_path), timeout=20)

    async def watch() -> None:
        try:
            await read_to_the_end(client)
        except DaemonError as error:
            ended.append(error)
        else:
            ended.append(None)

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(watch)
            await until(lambda: fake.monitor_subscribers == 1)
            await client.status()
            children = ssh_children() - before
            assert len(children) == 2, "one for the stream, one for calls"
            await client.close()
    assert ended == [None], "closing ended the stream, as it does a local one"
    await until(lambda: not ssh_children() & children, REAP_BOUND)
    assert not ssh_children() - before
    with pytest.raises(DaemonError, match="closed"):
        await client.status()


def test_a_program_that_exits_without_closing_leaves_no_ssh(
    sshd: SSHServer, socket_path: Path
) -> None:
    """Its ssh is reaped before it exits: none becomes an orphan (the program's parent sees any)."""
    url = sshd.url(socket_path)
    command = [sys.executable, "-m", "tests.programs.unclosed_ssh_client", url]
    with FakeDaemon.in_thread(socket_path) as fake:
        try:
            program = subprocess.run(
                command, cwd=REPO, capture_output=True, text=True, timeout=PROGRAM_BOUND
            )
        except subprocess.TimeoutExpired:  # run() killed it
            pytest.fail(f"the program's parent did not exit within {PROGRAM_BOUND} s")
        assert program.returncode == 0, program.stderr
        report = json.loads(program.stdout)
        assert report["status"] == 0, f"the program hung or failed: {report['stderr']}"
        assert ssh_mentioning(str(socket_path)) == []
        assert fake.count("daemon.status") == 1
        wait_until(lambda: fake.open_connections == 0)  # the bridge went with its ssh
    assert report["client"]["version"]
    assert len(report["client"]["ssh"]) == 1, "the program had its ssh child when it called"
    assert report["left"] == [], "an ssh outlived the program that started it"


# ---- fleets, the environment, liveness --------------------------------------------------------


async def test_a_fleet_of_remote_conductors(sshd: SSHServer, socket_path: Path) -> None:
    paths = [socket_path.with_name(f"conductor-{index}.sock") for index in range(4)]
    urls = [sshd.url(path) for path in paths]
    dead = urls[2]
    received: tuple[str, ObserverEvent] | None = None
    async with contextlib.AsyncExitStack() as stack:
        fakes = [
            await stack.enter_async_context(FakeDaemon(path)) for path in paths if path != paths[2]
        ]
        fleet = await stack.enter_async_context(Fleet(urls, timeout=20))
        with anyio.fail_after(BOUND):
            result = await fleet.status()
        assert [fake.count("daemon.status") for fake in fakes] == [1, 1, 1]
        with anyio.fail_after(BOUND):
            async with fleet.monitor() as events:
                await until(lambda: all(fake.monitor_subscribers == 1 for fake in fakes))
                fakes[1].emit("ssh.test", job_id="from-the-second")
                async for target, event in events:
                    received = (target, event)
                    break
                failed = dict(events.failed)
    assert list(result.ok) == [urls[0], urls[1], urls[3]]
    assert all(isinstance(each, DaemonStatus) for each in result.ok.values())
    assert list(result.failed) == [dead]
    assert isinstance(result.failed[dead], DaemonNotRunningError)
    assert not isinstance(result.failed[dead], SSHConnectError)
    assert received is not None, "the block ended without an event"
    target, event = received
    assert target == urls[1]
    assert isinstance(event, ObserverEvent)
    assert (event.event, event.job_id) == ("ssh.test", "from-the-second")
    assert list(failed) == [dead]


async def test_marianne_socket_may_name_a_remote_conductor(
    fake: FakeDaemon, sshd: SSHServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sshd.url(fake.socket_path)
    monkeypatch.setenv("MARIANNE_SOCKET", url)
    async with DaemonClient(timeout=20) as client:
        assert client.target == url
        with anyio.fail_after(BOUND):
            health = await client.health()
    assert health.status == "ok"
    assert fake.count("daemon.health") == 1


@pytest.mark.parametrize("idle_connection", [True, False], ids=["idle-connection", "none-idle"])
async def test_a_quiet_monitor_ends_when_the_remote_conductor_stops(
    fake: FakeDaemon, sshd: SSHServer, idle_connection: bool
) -> None:
    """Its probe asks on a pooled connection that is still served, else connects and finds none."""
    expected: type[DaemonError] = (
        DaemonShuttingDownError if idle_connection else DaemonNotRunningError
    )
    # Without the idle connection, none may come from an early probe either: one kept a
    # little while (0.2 s) is closed before the next probe (0.5 s), which then connects.
    idle = 10.0 if idle_connection else 0.2
    client = DaemonClient(
        sshd.url(fake.socket_path), heartbeat=0.5, timeout=20, max_idle_seconds=idle
    )

    async def stop() -> None:
        await until(lambda: fake.monitor_subscribers == 1)
        with anyio.fail_after(BOUND):
            await fake.stop_like_conductor()  # returns once every connection is closed

    async with client, anyio.create_task_group() as task_group:
        if idle_connection:
            await client.status()
        task_group.start_soon(stop)
        with pytest.raises(expected) as caught:
            await read_to_the_end(client)
        await client.close()  # frees a pooled connection, which the fake waits for
    assert not isinstance(caught.value, SSHConnectError)
    assert fake.open_connections == 0
    if idle_connection:
        assert fake.count("daemon.health") >= 1, "the probe was answered: shutting down"
