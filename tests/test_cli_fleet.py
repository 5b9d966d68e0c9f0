"""``marianne-sdk`` with ``--socket`` repeated: one table or JSON list over several conductors."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.test_cli import COMMAND, ENV, cli

from marianne_sdk import JobRequest
from marianne_sdk.cli import EXIT_NOT_RUNNING, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from marianne_sdk.sync import DaemonClient
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon


@pytest.fixture
def paths() -> Iterator[list[str]]:
    directory = Path(tempfile.mkdtemp(prefix="msdk-cli-fleet-", dir="/tmp"))
    yield [str(directory / f"conductor-{index}.sock") for index in range(3)]
    shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def serving(*paths: str) -> Iterator[list[ThreadedFakeDaemon]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(FakeDaemon.in_thread(path, step_seconds=60)) for path in paths]


def sockets(*paths: str) -> list[str]:
    return [word for path in paths for word in ("--socket", path)]


def test_status_prints_one_table_with_a_target_column(paths: list[str]) -> None:
    with serving(*paths) as fakes:
        result = cli(*sockets(*paths), "status")
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    header, *rows = result.stdout.splitlines()
    assert header.split()[:2] == ["TARGET", "MEMORY_USAGE_MB"]
    assert "VERSION" in header.split()
    assert [row.split()[0] for row in rows] == paths
    assert [fake.count("daemon.status") for fake in fakes] == [1, 1, 1]


def test_json_records_carry_their_target_and_a_partial_answer_exits_partial(
    paths: list[str],
) -> None:
    alive, dead = paths[:2], paths[2]
    with serving(*alive):
        result = cli(*sockets(*paths), "health", "--json")
    assert result.returncode == EXIT_PARTIAL
    records = json.loads(result.stdout)
    assert [record["target"] for record in records] == alive
    assert all(record["status"] == "ok" for record in records)
    [error] = [json.loads(line) for line in result.stderr.splitlines()]
    assert error["target"] == dead
    assert error["error"] == "DaemonNotRunningError"
    assert error["exit_status"] == EXIT_NOT_RUNNING


def test_each_failure_is_reported_with_its_target(paths: list[str]) -> None:
    with serving(paths[0]):
        result = cli(*sockets(*paths), "status")
    assert result.returncode == EXIT_PARTIAL
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [paths[0]]
    assert result.stderr.splitlines() == [
        f"error: {path}: DaemonNotRunningError: no conductor socket at {path}" for path in paths[1:]
    ]


def test_when_no_target_answers_the_first_failure_sets_the_exit_status(paths: list[str]) -> None:
    result = cli(*sockets(*paths), "health")
    assert result.returncode == EXIT_NOT_RUNNING
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 3


def test_jobs_lists_every_targets_jobs(paths: list[str]) -> None:
    with serving(*paths[:2]) as fakes:
        for fake, names in zip(fakes, (["one"], ["two", "three"]), strict=True):
            with DaemonClient(fake.socket_path) as client:
                for name in names:
                    client.submit_job(JobRequest(config_path=f"/scores/{name}.yaml"))
        listed = cli(*sockets(*paths[:2]), "jobs", "--json")
        table = cli(*sockets(*paths[:2]), "jobs")
    assert (listed.returncode, listed.stderr) == (EXIT_OK, "")
    records = json.loads(listed.stdout)
    assert sorted((record["target"], record["job_id"]) for record in records) == [
        (paths[0], "one"),
        (paths[1], "three"),
        (paths[1], "two"),
    ]
    header, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["TARGET", "JOB"]
    assert sorted(tuple(row.split()[:2]) for row in rows) == [
        (paths[0], "one"),
        (paths[1], "three"),
        (paths[1], "two"),
    ]


def test_sockets_before_and_after_the_command_are_all_asked(paths: list[str]) -> None:
    with serving(*paths[:2]):
        result = cli("--socket", paths[0], "health", "--json", "--socket", paths[1])
    assert [record["target"] for record in json.loads(result.stdout)] == paths[:2]


@pytest.mark.parametrize(
    "arguments",
    [
        ["job", "some-job"],
        ["submit", "/scores/x.yaml"],
        ["call", "daemon.health"],
        ["fake-daemon"],
        ["--clone", "status"],
    ],
)
def test_other_commands_take_one_socket(paths: list[str], arguments: list[str]) -> None:
    result = cli(*sockets(*paths[:2]), *arguments)
    assert result.returncode == EXIT_USAGE
    assert "--socket" in result.stderr


def test_a_socket_given_twice_is_a_usage_error(paths: list[str]) -> None:
    result = cli(*sockets(paths[0], paths[0]), "status")
    assert result.returncode == EXIT_USAGE


def test_watch_merges_the_targets_events(paths: list[str]) -> None:
    alive, dead = paths[:2], paths[2]
    with serving(*alive) as fakes:
        watch = subprocess.Popen(
            [*COMMAND, *sockets(*paths), "watch", "--json", "--idle-timeout", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        with watch:
            for fake in fakes:
                fake.wait_for(lambda fake=fake: fake.monitor_subscribers == 1)
            fakes[1].emit("from.second", job_id="b")
            fakes[0].emit("from.first", job_id="a")
            stdout, stderr = watch.communicate(timeout=30)
    assert watch.returncode == EXIT_PARTIAL
    events = [json.loads(line) for line in stdout.splitlines()]
    assert sorted((event["target"], event["event"]) for event in events) == [
        (alive[0], "from.first"),
        (alive[1], "from.second"),
    ]
    [error] = stderr.splitlines()
    assert json.loads(error)["target"] == dead


def test_watch_prints_the_target_of_each_event(paths: list[str]) -> None:
    with serving(*paths[:2]) as fakes:
        watch = subprocess.Popen(
            [*COMMAND, *sockets(*paths[:2]), "watch", "--idle-timeout", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        with watch:
            for fake in fakes:
                fake.wait_for(lambda fake=fake: fake.monitor_subscribers == 1)
            fakes[0].emit("job.started", job_id="shown")
            stdout, stderr = watch.communicate(timeout=30)
    assert (watch.returncode, stderr) == (EXIT_OK, "")
    [line] = stdout.splitlines()
    assert line.split()[0] == paths[0]
    assert line.split()[2:4] == ["job.started", "shown"]
