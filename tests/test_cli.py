"""The ``marianne-sdk`` command, run as a subprocess against a FakeDaemon."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import marianne_sdk
from marianne_sdk import (
    METHODS,
    ConductorBusyError,
    DaemonError,
    InvalidParamsError,
    JobRequest,
    JobSubmissionError,
    RequestTooLargeError,
    UntrustedDaemonError,
)
from marianne_sdk.cli import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_CONDUCTOR_BUSY,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    exit_code_for,
)
from marianne_sdk.sync import DaemonClient
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon

COMMAND = [sys.executable, "-m", "marianne_sdk"]
ENV = {key: value for key, value in os.environ.items() if key != "MARIANNE_SOCKET"}


@pytest.fixture
def fake(socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.01) as threaded:
        yield threaded


def cli(*args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


def at(fake: ThreadedFakeDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command against ``fake``."""
    return cli("--socket", fake.socket_path, *args)


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert (result.returncode, result.stderr) == (0, "")
    return json.loads(result.stdout)


def next_line(process: subprocess.Popen[str], timeout: float = 10.0) -> str:
    """The next line ``process`` prints (it flushes whole lines), waiting at most ``timeout``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output within {timeout} s"
    return process.stdout.readline()


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failing command writes to stderr."""
    [line] = result.stderr.splitlines()
    assert result.stdout == ""
    return line


def test_help_documents_every_exit_code() -> None:
    result = cli("--help")
    assert result.returncode == 0
    codes = {EXIT_OK, EXIT_ERROR, EXIT_USAGE, *(code for _, code in EXIT_CODES)}
    for code in (*codes, EXIT_REJECTED, EXIT_CONDUCTOR_BUSY, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE):
        assert f"\n  {code}  " in result.stdout


def test_version() -> None:
    result = cli("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"marianne-sdk {marianne_sdk.__version__}\n",
        "",
    )
    assert marianne_sdk.__version__ == importlib.metadata.version("marianne-sdk")


@pytest.mark.parametrize(
    ("command", "shown", "hidden"),
    [
        ("methods", ["--json"], ["--socket", "--clone", "--timeout"]),
        ("fake-daemon", ["--socket"], ["--clone", "--timeout", "--json"]),
        ("status", ["--socket", "--clone", "--timeout", "--json"], []),
        ("watch", ["--socket", "--json", "--idle-timeout"], []),
    ],
)
def test_subcommand_help_lists_only_the_options_it_uses(
    command: str, shown: list[str], hidden: list[str]
) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    options = set(re.findall(r"--[a-z-]+", result.stdout))
    assert set(shown) <= options
    assert not options & set(hidden)


def test_unused_options_after_the_command_are_usage_errors() -> None:
    result = cli("methods", "--timeout", "5")
    assert result.returncode == 2
    assert "unrecognized arguments: --timeout 5" in result.stderr


def test_module_and_console_script_agree() -> None:
    script = Path(sys.executable).with_name("marianne-sdk")
    result = subprocess.run(
        [script, "methods", "--json"], capture_output=True, text=True, check=True, timeout=30
    )
    assert json.loads(result.stdout) == ok_json(cli("methods", "--json"))


def test_methods() -> None:
    listed = ok_json(cli("methods", "--json"))
    assert {entry["name"] for entry in listed} == set(METHODS)
    flags = {entry["name"]: (entry["idempotent"], entry["streaming"]) for entry in listed}
    assert flags["daemon.monitor.stream"][1] is True
    assert flags["job.submit"] == (False, False)
    assert flags["job.status"] == (True, False)
    human = cli("methods").stdout.splitlines()
    assert human[0].split() == ["METHOD", "PYTHON", "FLAGS", "SUMMARY"]
    assert len(human) == 1 + len(METHODS)
    assert any(line.split()[:3] == ["job.status", "get_job_status", "idempotent"] for line in human)


def test_status_and_health(fake: ThreadedFakeDaemon) -> None:
    assert ok_json(at(fake, "status", "--json"))["pid"] == os.getpid()
    assert ok_json(at(fake, "--json", "health"))["status"] == "ok"
    human = at(fake, "status")
    assert human.returncode == 0
    assert "running_jobs:      0" in human.stdout.splitlines()


def test_socket_from_the_environment(fake: ThreadedFakeDaemon) -> None:
    assert ok_json(cli("health", "--json", env={**ENV, "MARIANNE_SOCKET": fake.socket_path}))


def test_submit_jobs_and_job(fake: ThreadedFakeDaemon, tmp_path: Path) -> None:
    response = ok_json(
        subprocess.run(
            [*COMMAND, "--socket", fake.socket_path, "submit", "scores/one.yaml", "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=ENV,
            timeout=30,
            check=False,
        )
    )
    assert response == {
        "job_id": "one",
        "status": "accepted",
        "message": "Job queued (concurrency limit: 15)",
    }
    # Relative paths are made absolute: the daemon would resolve them against its own cwd.
    [submitted] = [r for r in fake.requests if r.method == "job.submit"]
    assert submitted.params["config_path"] == str(tmp_path / "scores" / "one.yaml")
    assert submitted.params["client_cwd"] == str(tmp_path)

    [job] = ok_json(at(fake, "jobs", "--json"))
    assert job["job_id"] == "one"
    table = at(fake, "jobs").stdout.splitlines()
    assert table[0].split() == ["JOB", "STATUS", "PROGRESS", "SUBMITTED", "CONFIG"]
    assert table[1].startswith("one ")

    assert ok_json(at(fake, "job", "one", "--json"))["job_id"] == "one"
    human = at(fake, "job", "one").stdout
    assert "job_id:" in human
    assert "config_path:" in human


def test_pause_resume_cancel(socket_path: Path) -> None:
    with FakeDaemon.in_thread(socket_path, step_seconds=0.2) as fake:
        fake.plan_job("long", sheets=500)  # runs for 100 s
        # The stream stays open until the job is cancelled: FakeDaemon can fail
        # when a client closes a monitor stream while an event is being sent.
        with DaemonClient(fake.socket_path) as client, client.monitor(idle_timeout=10) as events:
            fake.wait_for(lambda: fake.monitor_subscribers == 1)
            assert at(fake, "submit", "/scores/long.yaml").returncode == 0
            next(e for e in events if (e.job_id, e.event) == ("long", "job.started"))

            assert ok_json(at(fake, "pause", "long", "--json")) == {"paused": True}
            again = at(fake, "pause", "long")
            assert again.returncode == 4
            assert again.stderr == "error: rejected: Job 'long' is paused, not running\n"
            assert ok_json(at(fake, "resume", "long", "--json"))["status"] == "accepted"
            assert ok_json(at(fake, "cancel", "long", "--json")) == {"cancelled": True}
            assert at(fake, "cancel", "unknown").returncode == 4


def test_call_with_json_or_key_values(fake: ThreadedFakeDaemon) -> None:
    assert ok_json(at(fake, "call", "daemon.events", "limit=5", "--json")) == {"events": []}
    assert ok_json(at(fake, "call", "daemon.events", '{"limit": 5}', "--json")) == {"events": []}
    rejected = at(fake, "call", "job.status", "job_id=nope")
    assert error_line(rejected) == "error: JobSubmissionError: Job 'nope' not found"
    pretty = at(fake, "call", "daemon.health")
    assert pretty.stdout.startswith("{\n  ")
    assert json.loads(pretty.stdout)["status"] == "ok"


def test_key_values_take_the_params_schema_types(fake: ThreadedFakeDaemon) -> None:
    """A string param keeps digits as text: job ids are file stems."""
    assert at(fake, "submit", "/scores/123.yaml").returncode == 0
    assert ok_json(at(fake, "call", "job.status", "job_id=123", "--json"))["job_id"] == "123"
    numbers = at(fake, "call", "job.history", "job_id=123", "sheet_num=1", "limit=2", "--json")
    assert numbers.returncode == 0
    [sent] = [r for r in fake.requests if r.method == "job.history"]
    assert sent.params == {"job_id": "123", "sheet_num": 1, "limit": 2}
    flags = at(fake, "call", "job.recover", "job_id=true", "dry_run=true", "--json")
    assert flags.returncode in {0, 4}
    [sent] = [r for r in fake.requests if r.method == "job.recover"]
    assert sent.params == {"job_id": "true", "dry_run": True}


def test_invalid_params_are_refused_before_sending(fake: ThreadedFakeDaemon) -> None:
    wrong_type = at(fake, "call", "daemon.events", "limit=many")
    unknown_key = at(fake, "call", "job.status", "job_id=x", "jobid=y")
    for result in (wrong_type, unknown_key):
        assert result.returncode == 4
        assert error_line(result).startswith("error: InvalidParamsError: ")
    assert fake.count("job.status") == 0


def test_watch_prints_events_until_idle(fake: ThreadedFakeDaemon) -> None:
    # The idle timeout only has to outlast the gaps between the job's events
    # (10 ms steps): the job is submitted in-process, not by a second command
    # whose start-up on a loaded machine could take longer.
    watch = subprocess.Popen(
        [*COMMAND, "--socket", fake.socket_path, "watch", "--json", "--idle-timeout", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    with watch:
        fake.wait_for(lambda: fake.monitor_subscribers == 1)
        with DaemonClient(fake.socket_path) as client:
            assert client.submit_job(JobRequest(config_path="/scores/watched.yaml")).job_id
        stdout, stderr = watch.communicate(timeout=30)
    assert (watch.returncode, stderr) == (0, "")
    events = [json.loads(line) for line in stdout.splitlines()]
    assert {"job_id": "watched", "event": "job.completed"}.items() <= events[-1].items()


def test_watch_exits_cleanly_on_ctrl_c(fake: ThreadedFakeDaemon) -> None:
    watch = subprocess.Popen(
        [*COMMAND, "--socket", fake.socket_path, "watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    with watch:
        fake.wait_for(lambda: fake.monitor_subscribers == 1)
        fake.emit("job.started", job_id="shown", data={"sheet_count": 1})
        assert next_line(watch).split()[1:5] == ["job.started", "shown", "sheet", "0"]
        watch.send_signal(signal.SIGINT)
        stdout, stderr = watch.communicate(timeout=30)
    assert (watch.returncode, stdout, stderr) == (0, "", "")
    fake.emit("after.exit")  # the conductor notices a closed subscription at its next event
    fake.wait_for(lambda: fake.monitor_subscribers == 0)


def test_exit_code_not_running(tmp_path: Path) -> None:
    result = cli("--socket", str(tmp_path / "absent.sock"), "status")
    assert result.returncode == 3
    assert error_line(result).startswith("error: DaemonNotRunningError: ")
    assert str(tmp_path / "absent.sock") in result.stderr


@pytest.mark.parametrize(
    ("clone", "path"),
    [("--clone", "/tmp/marianne-clone.sock"), ("--clone=a b", "/tmp/marianne-clone-a-b.sock")],
)
def test_clone_sockets(clone: str, path: str) -> None:
    if Path(path).exists():
        pytest.skip(f"a clone conductor is running at {path}")
    result = cli(clone, "status")  # a bare --clone does not swallow the command
    assert result.returncode == 3
    assert path in result.stderr


def test_exit_code_rejected(fake: ThreadedFakeDaemon) -> None:
    result = at(fake, "job", "does-not-exist")
    assert result.returncode == 4
    assert error_line(result) == "error: JobSubmissionError: Job 'does-not-exist' not found"
    unknown = at(fake, "call", "no.such.method")
    assert unknown.returncode == 4
    assert error_line(unknown).startswith("error: MethodNotFoundError: ")


@pytest.mark.parametrize(
    ("fault", "method", "command", "error"),
    [
        ("garbage", "daemon.status", ["status"], "ProtocolError"),
        (
            "close_after_handle",
            "job.submit",
            ["submit", "/scores/lost.yaml"],
            "ConnectionLostError",
        ),
    ],
)
def test_exit_code_protocol(
    fake: ThreadedFakeDaemon, fault: str, method: str, command: list[str], error: str
) -> None:
    fake.inject(fault, method)
    result = at(fake, *command)
    assert result.returncode == 5
    assert error_line(result).startswith(f"error: {error}: ")


def test_exit_code_timeout(fake: ThreadedFakeDaemon) -> None:
    fake.inject("delay", "daemon.status", delay=10.0)
    result = at(fake, "--timeout", "0.2", "status")
    assert result.returncode == 6
    assert error_line(result).startswith("error: DaemonTimeoutError: ")


@pytest.mark.parametrize(
    "args",
    [
        ["call", "job.status", "not-key-value"],
        ["call", "job.status", "[1, 2]"],
        ["call", "daemon.monitor.stream"],
        ["--socket", "/tmp/x.sock", "--clone=y", "status"],
        ["fake-daemon"],
        ["no-such-command"],
    ],
)
def test_exit_code_usage(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_exit_code_conductor_busy(socket_path: Path) -> None:
    with (
        FakeDaemon.in_thread(socket_path, max_served_connections=1) as fake,
        DaemonClient(socket_path, max_idle_seconds=60) as holder,
    ):
        holder.health()  # its idle connection holds the only slot
        result = cli("--socket", str(socket_path), "--timeout", "1", "status")
        assert result.returncode == 7
        assert error_line(result).startswith("error: ConductorBusyError: ")
        assert "held by other programs" in result.stderr
        assert fake.count("daemon.status") == 0


def test_fake_daemon_command(socket_path: Path) -> None:
    served = subprocess.Popen(
        [*COMMAND, "fake-daemon", "--socket", str(socket_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    with served:
        assert next_line(served) == f"serving on {socket_path}\n"
        assert ok_json(cli("--socket", str(socket_path), "health", "--json"))["pid"] == served.pid
        served.terminate()
        assert served.wait(timeout=30) == 0
    assert not socket_path.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--timeout", "0", "status"],
        ["status", "--timeout", "-1"],
        ["--timeout", "nan", "jobs"],
        ["--timeout", "soon", "jobs"],
        ["watch", "--idle-timeout", "0"],
    ],
)
def test_durations_must_be_positive(fake: ThreadedFakeDaemon, args: list[str]) -> None:
    result = at(fake, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "timeout" in error_line_of_usage(result)
    assert fake.requests == []


def error_line_of_usage(result: subprocess.CompletedProcess[str]) -> str:
    *_, last = result.stderr.splitlines()
    assert re.match(r"marianne-sdk( [a-z-]+)?: error: ", last), last
    return last


def test_closed_stdout_ends_quietly(fake: ThreadedFakeDaemon) -> None:
    """``marianne-sdk jobs | head -1``: the reader is gone before anything is printed."""
    for args in (["jobs"], ["jobs", "--json"], ["methods"]):
        process = subprocess.Popen(
            [*COMMAND, "--socket", fake.socket_path, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        with process:
            assert process.stdout is not None
            process.stdout.close()  # the only reading end: every write now fails with EPIPE
            _, stderr = process.communicate(timeout=30)
        assert (process.returncode, stderr) == (EXIT_BROKEN_PIPE, "")
    assert fake.count("job.list") == 2


def test_closed_stdout_through_the_shell(fake: ThreadedFakeDaemon) -> None:
    shell = subprocess.run(
        ["bash", "-o", "pipefail", "-c", '"$@" | head -1', "bash", *COMMAND, "methods"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
        check=False,
    )
    assert shell.stdout.split() == ["METHOD", "PYTHON", "FLAGS", "SUMMARY"]
    assert shell.stderr == ""
    assert shell.returncode in {0, EXIT_BROKEN_PIPE}  # 0 if all was written before head left


def json_error(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON object a failing command writes to stderr under --json."""
    [line] = result.stderr.splitlines()
    report: dict[str, Any] = json.loads(line)
    assert report["exit_status"] == result.returncode
    return report


def test_json_errors(fake: ThreadedFakeDaemon, tmp_path: Path) -> None:
    assert json_error(at(fake, "job", "nope", "--json")) == {
        "error": "JobSubmissionError",
        "message": "Job 'nope' not found",
        "code": -32000,
        "exit_status": 4,
    }
    absent = json_error(cli("--json", "--socket", str(tmp_path / "absent.sock"), "status"))
    assert (absent["error"], absent["code"], absent["exit_status"]) == (
        "DaemonNotRunningError",
        None,
        3,
    )
    assert str(tmp_path / "absent.sock") in absent["message"]
    fake.inject("delay", "daemon.status", delay=10.0)
    timeout = json_error(at(fake, "--json", "--timeout", "0.2", "status"))
    assert (timeout["error"], timeout["exit_status"]) == ("DaemonTimeoutError", 6)
    refused = at(fake, "--json", "cancel", "unknown")  # a result that says no
    assert json.loads(refused.stdout) == {"cancelled": False}
    assert json_error(refused) == {
        "error": "rejected",
        "message": "no running task for job 'unknown'",
        "code": None,
        "exit_status": 4,
    }


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0", "status"], ["call", "job.status", "not-key-value"], ["no-such-command"]],
)
def test_json_usage_errors(args: list[str]) -> None:
    report = json_error(cli("--json", *args))
    assert (report["error"], report["code"], report["exit_status"]) == ("usage", None, 2)
    assert report["message"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UntrustedDaemonError("x", uid=1, pid=2, path="/s"), 3),
        (JobSubmissionError("x", code=-32000), 4),
        (InvalidParamsError("x"), 4),  # refused locally: no code
        (RequestTooLargeError("x"), 5),
        (DaemonError("x"), 1),  # raised locally, no daemon involved
        (DaemonError("x", code=-32099), 4),  # a JSON-RPC error the schema does not name
        (TimeoutError(), 6),
        (ConductorBusyError("x"), 7),  # a timeout, with a code of its own
        (KeyError("x"), 1),
    ],
)
def test_exit_code_for_each_error_class(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code
