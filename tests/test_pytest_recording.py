"""The pytest plugin's recording workflow: ``@pytest.mark.marianne_recording`` and its modes.

Each check runs pytest in a subprocess (``pytester``) on a test module
written as a user would; a :class:`FakeDaemon` in a thread of the outer test
is the "real" conductor recorded against. The inner tests write what they
saw (typed results, by their repr) into ``$RESULTS``, so that the outer test
compares what a test saw when recorded with what it sees replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marianne_sdk._pytest_recording import file_name
from marianne_sdk._recording import (
    REDACTED,
    Direction,
    RecordingHeader,
    encode_line,
    read_recording,
)
from marianne_sdk.testing import FakeDaemon, ThreadedFakeDaemon

pytest_plugins = ["pytester"]

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "testing.md"
BOUND = 120.0
"""Seconds an inner pytest run may take: a hang fails instead of blocking the suite."""

BOTH_BACKENDS = """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

SESSION = """
import os
from pathlib import Path

import pytest
from marianne_sdk import JobRequest


def config_path(request):
    return "/scores/" + request.node.name.replace("[", "-").replace("]", "") + ".yaml"


def check(request, session, status, submitted, state):
    assert submitted.status == "accepted"
    assert state.job_id == submitted.job_id
    if session.mode == "replay":
        assert session.fake.count("job.submit") == 1
    out = Path(os.environ["RESULTS"]) / f"{request.node.name}.txt"
    out.write_text(f"{session.mode}\\n{(status, submitted, state)!r}")


@pytest.mark.marianne_recording
@pytest.mark.anyio
async def test_anyio(request, marianne_client, marianne_recording):
    status = await marianne_client.status()
    submitted = await marianne_client.submit_job(JobRequest(config_path=config_path(request)))
    state = await marianne_client.get_job_status(submitted.job_id)
    check(request, marianne_recording, status, submitted, state)


@pytest.mark.marianne_recording
@pytest.mark.asyncio
async def test_pytest_asyncio(request, marianne_client, marianne_recording):
    status = await marianne_client.status()
    submitted = await marianne_client.submit_job(JobRequest(config_path=config_path(request)))
    state = await marianne_client.get_job_status(submitted.job_id)
    check(request, marianne_recording, status, submitted, state)


@pytest.mark.marianne_recording
def test_blocking(request, marianne_sync_client, marianne_recording):
    status = marianne_sync_client.status()
    submitted = marianne_sync_client.submit_job(JobRequest(config_path=config_path(request)))
    state = marianne_sync_client.get_job_status(submitted.job_id)
    check(request, marianne_recording, status, submitted, state)
"""

TESTS = ["test_anyio[asyncio]", "test_anyio[trio]", "test_pytest_asyncio", "test_blocking"]
FILES = {
    "test_anyio[asyncio]": "test_anyio-asyncio.ndjson",
    "test_anyio[trio]": "test_anyio-trio.ndjson",
    "test_pytest_asyncio": "test_pytest_asyncio.ndjson",
    "test_blocking": "test_blocking.ndjson",
}


@pytest.fixture
def results(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the inner tests write what they saw; no conductor in the environment."""
    directory = pytester.mkdir("results")
    monkeypatch.setenv("RESULTS", str(directory))
    monkeypatch.delenv("MARIANNE_SOCKET", raising=False)
    return directory


@pytest.fixture
def conductor(marianne_socket_path: Path) -> Iterator[ThreadedFakeDaemon]:
    """Stands for the real conductor, for the whole test."""
    with FakeDaemon.in_thread(marianne_socket_path.with_name("real.sock")) as fake:
        yield fake


def run(pytester: pytest.Pytester, results: Path, *args: str) -> tuple[pytest.RunResult, dict]:
    """An inner pytest run, and what each inner test saw: ``{test: (mode, results)}``."""
    outcome = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--strict-markers", "-rA", *args, timeout=BOUND
    )
    seen = {}
    for path in results.iterdir():
        mode, _, text = path.read_text().partition("\n")
        seen[path.name.removesuffix(".txt")] = (mode, text)
        path.unlink()
    return outcome, seen


def recordings(pytester: pytest.Pytester, module: str = "test_session") -> Path:
    return pytester.path / "recordings" / module


def test_record_once_then_replay_without_the_conductor_then_rewrite(
    pytester: pytest.Pytester,
    results: Path,
    marianne_socket_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makeconftest(BOTH_BACKENDS)
    pytester.makepyfile(test_session=SESSION)
    first = marianne_socket_path.with_name("first.sock")
    with FakeDaemon.in_thread(first) as conductor:
        recorded_run, recorded = run(
            pytester, results, "--marianne-record-mode=once", f"--marianne-record-socket={first}"
        )
        recorded_run.assert_outcomes(passed=4)
        # Every test's calls went through to the conductor.
        assert conductor.count("daemon.status") == 4
        assert conductor.count("job.submit") == 4
        assert conductor.count("job.status") == 4
    assert not first.exists()  # the conductor is gone

    assert sorted(p.name for p in recordings(pytester).iterdir()) == sorted(FILES.values())
    for test, name in FILES.items():
        header, exchanges = read_recording(recordings(pytester) / name)
        assert header.upstream == str(first)
        sent = [
            e.message["method"]
            for e in exchanges
            if e.direction is Direction.TO_CONDUCTOR and isinstance(e.message, dict)
        ]
        assert [m for m in sent if m] == ["daemon.status", "job.submit", "job.status"], test
        answers = [
            e.message for e in exchanges if e.direction is Direction.FROM_CONDUCTOR and e.message
        ]
        job = test.replace("[", "-").replace("]", "")
        assert {"job_id": job, "status": "accepted"}.items() <= answers[-2]["result"].items()
    assert {test: mode for test, (mode, _) in recorded.items()} == dict.fromkeys(TESTS, "record")

    # The default mode replays each recording: the same typed results, no conductor.
    replayed_run, replayed = run(pytester, results)
    replayed_run.assert_outcomes(passed=4)
    assert {test: mode for test, (mode, _) in replayed.items()} == dict.fromkeys(TESTS, "replay")
    assert {test: seen for test, (_, seen) in replayed.items()} == {
        test: seen for test, (_, seen) in recorded.items()
    }
    assert "DaemonStatus(" in replayed["test_blocking"][1]

    # ``once`` replays what has a recording, with no conductor needed.
    again_run, again = run(pytester, results, "--marianne-record-mode=once")
    again_run.assert_outcomes(passed=4)
    assert {mode for mode, _ in again.values()} == {"replay"}

    # ``rewrite`` records them all again, from $MARIANNE_SOCKET here.
    second = marianne_socket_path.with_name("second.sock")
    with FakeDaemon.in_thread(second) as conductor:
        monkeypatch.setenv("MARIANNE_SOCKET", str(second))
        rewritten_run, rewritten = run(pytester, results, "--marianne-record-mode=rewrite")
        monkeypatch.delenv("MARIANNE_SOCKET")
        rewritten_run.assert_outcomes(passed=4)
        assert conductor.count("job.submit") == 4
    assert {mode for mode, _ in rewritten.values()} == {"record"}
    for name in FILES.values():
        header, _ = read_recording(recordings(pytester) / name)
        assert header.upstream == str(second)
    replayed_run, replayed = run(pytester, results)
    replayed_run.assert_outcomes(passed=4)
    assert {test: seen for test, (_, seen) in replayed.items()} == {
        test: seen for test, (_, seen) in rewritten.items()
    }


def guide_example() -> str:
    """The test module the testing guide shows for recording and replaying."""
    text = GUIDE.read_text()
    after = text.split("<!-- testing-example: recording -->\n```python\n", 1)[1]
    return after.split("```", 1)[0]


def test_the_guide_example_records_then_replays(
    pytester: pytest.Pytester, results: Path, conductor: ThreadedFakeDaemon
) -> None:
    pytester.makepyfile(test_nightly=guide_example())
    socket = f"--marianne-record-socket={conductor.socket_path}"
    run(pytester, results, "--marianne-record-mode=once", socket)[0].assert_outcomes(passed=2)
    assert conductor.count("job.submit") == 2
    assert sorted(p.name for p in recordings(pytester, "test_nightly").iterdir()) == [
        "test_submitting_the_nightly_run.ndjson",
        "test_the_job_report.ndjson",
    ]
    replayed, _ = run(pytester, results)
    replayed.assert_outcomes(passed=2)
    assert conductor.count("job.submit") == 2  # replayed: nothing reached the conductor


def test_a_missing_recording_fails_and_says_how_to_record_it(
    pytester: pytest.Pytester, results: Path
) -> None:
    pytester.makeconftest(BOTH_BACKENDS)
    pytester.makepyfile(test_session=SESSION)
    outcome, seen = run(pytester, results, "-k", "blocking")
    outcome.assert_outcomes(errors=1)
    outcome.stdout.fnmatch_lines(
        [
            "*no recording of test_session.py::test_blocking at *recordings/test_session/"
            "test_blocking.ndjson: record it once against a running conductor with",
            "*pytest --marianne-record-mode=once --marianne-record-socket=/path/to/conductor.sock"
            " 'test_session.py::test_blocking'",
        ]
    )
    assert seen == {}


@pytest.mark.parametrize("socket", [None, "absent"])
def test_recording_without_a_conductor_fails_and_writes_nothing(
    pytester: pytest.Pytester, results: Path, marianne_socket_path: Path, socket: str | None
) -> None:
    pytester.makeconftest(BOTH_BACKENDS)
    pytester.makepyfile(test_session=SESSION)
    args = ["-k", "blocking", "--marianne-record-mode=once"]
    if socket is not None:
        args.append(f"--marianne-record-socket={marianne_socket_path.with_name(socket)}")
    outcome, seen = run(pytester, results, *args)
    outcome.assert_outcomes(errors=1)
    if socket is None:
        expected = (
            "*recording test_session.py::test_blocking into *test_blocking.ndjson needs a "
            "running conductor: pass --marianne-record-socket=PATH or set $MARIANNE_SOCKET"
        )
    else:
        expected = "*cannot record *test_blocking.ndjson: no conductor accepts connections at *"
    outcome.stdout.fnmatch_lines([expected])
    assert seen == {}
    assert not (pytester.path / "recordings").exists() or not any(recordings(pytester).iterdir())


FAILING = """
import os
import pytest

@pytest.mark.marianne_recording
def test_status(marianne_sync_client):
    marianne_sync_client.status()
    assert os.environ.get("FAIL") is None, "failing on purpose"
"""


def test_a_test_failing_while_recorded_keeps_the_recording_it_would_replace(
    pytester: pytest.Pytester,
    results: Path,
    conductor: ThreadedFakeDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(test_failing=FAILING)
    socket = f"--marianne-record-socket={conductor.socket_path}"
    path = recordings(pytester, "test_failing") / "test_status.ndjson"

    monkeypatch.setenv("FAIL", "1")
    run(pytester, results, "--marianne-record-mode=once", socket)[0].assert_outcomes(failed=1)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []  # not even a partial file

    monkeypatch.delenv("FAIL")
    run(pytester, results, "--marianne-record-mode=once", socket)[0].assert_outcomes(passed=1)
    kept = path.read_bytes()
    assert b'"daemon.status"' in kept

    monkeypatch.setenv("FAIL", "1")
    run(pytester, results, "--marianne-record-mode=rewrite", socket)[0].assert_outcomes(failed=1)
    assert path.read_bytes() == kept
    assert conductor.count("daemon.status") == 3


MARKER_OPTIONS = """
import os
import pytest
from marianne_sdk import JobRequest

@pytest.mark.marianne_recording(redact=["version"], strict=True)
def test_strict(marianne_sync_client):
    status = marianne_sync_client.status()
    if not os.environ.get("LESS"):
        marianne_sync_client.submit_job(JobRequest(config_path="/scores/strict.yaml"))
    assert status.version == os.environ["VERSION"]

@pytest.mark.marianne_recording
def test_lenient(marianne_sync_client):
    marianne_sync_client.status()
    if not os.environ.get("LESS"):
        marianne_sync_client.submit_job(JobRequest(config_path="/scores/lenient.yaml"))
"""


def test_redact_and_strict(
    pytester: pytest.Pytester,
    results: Path,
    conductor: ThreadedFakeDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(test_options=MARKER_OPTIONS)
    socket = f"--marianne-record-socket={conductor.socket_path}"
    monkeypatch.setenv("VERSION", "0.1.0")  # the fake conductor's
    run(pytester, results, "--marianne-record-mode=once", socket)[0].assert_outcomes(passed=2)
    strict = recordings(pytester, "test_options") / "test_strict.ndjson"
    header, _ = read_recording(strict)
    assert header.redacted == ["version"]
    assert b'"0.1.0"' not in strict.read_bytes()
    assert b'"0.1.0"' in (strict.parent / "test_lenient.ndjson").read_bytes()

    # Replayed, the redacted value is what the test sees.
    monkeypatch.setenv("VERSION", REDACTED)
    run(pytester, results)[0].assert_outcomes(passed=2)

    # A replayed test that leaves recorded calls unused fails when strict.
    monkeypatch.setenv("LESS", "1")
    outcome, _ = run(pytester, results)
    outcome.assert_outcomes(passed=2, errors=1)
    outcome.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_strict*",
            "*1 recorded call(s) of *test_strict.ndjson never replayed "
            "(@pytest.mark.marianne_recording(strict=True)):",
            "*job.submit {'config_path': '/scores/strict.yaml'*",
        ]
    )


SHARED = """
import pytest

@pytest.mark.marianne_recording(name="shared session")
@pytest.mark.anyio
async def test_status(marianne_client, marianne_recording):
    assert (await marianne_client.status()).version == "0.1.0"
"""


def test_a_named_recording_is_shared_and_once_records_it_once(
    pytester: pytest.Pytester, results: Path, conductor: ThreadedFakeDaemon
) -> None:
    pytester.makeconftest(BOTH_BACKENDS)
    pytester.makepyfile(test_shared=SHARED)
    socket = f"--marianne-record-socket={conductor.socket_path}"
    run(pytester, results, "--marianne-record-mode=once", socket)[0].assert_outcomes(passed=2)
    # The first parameter recorded, the second replayed that recording.
    assert conductor.count("daemon.status") == 1
    assert [p.name for p in recordings(pytester, "test_shared").iterdir()] == [
        "shared_session.ndjson"
    ]


MISUSE = """
import pytest

@pytest.mark.marianne_recording
def test_with_a_fake(marianne_sync_fake):
    pass

@pytest.mark.marianne_recording("positional")
def test_bad_marker():
    pass

def test_unmarked(marianne_recording):
    pass
"""


def test_misuse_fails_clearly(pytester: pytest.Pytester, results: Path) -> None:
    pytester.makepyfile(test_misuse=MISUSE)
    # A recording, empty but for its header: a fake replays it.
    header = RecordingHeader(upstream="/tmp/marianne.sock", started_at="2026-01-01T00:00:00")
    recording = recordings(pytester, "test_misuse") / "test_with_a_fake.ndjson"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(encode_line(header))
    outcome, _ = run(pytester, results)
    outcome.assert_outcomes(errors=3)
    outcome.stdout.fnmatch_lines_random(
        [
            "*marianne_sync_fake simulates a conductor, and a test marked "
            "@pytest.mark.marianne_recording talks to its recording*",
            "*@pytest.mark.marianne_recording takes the keyword arguments name, redact, strict "
            "only, not 'positional'",
            "*marianne_recording serves the tests marked @pytest.mark.marianne_recording only",
        ]
    )


def test_pytest_lists_the_options_the_marker_and_the_fixture(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest_subprocess("--help", timeout=BOUND).stdout.str()
    assert "--marianne-record-mode={none,once,rewrite}" in help_text
    assert "--marianne-record-socket=PATH" in help_text
    markers = pytester.runpytest_subprocess("--markers", timeout=BOUND).stdout.str()
    assert "@pytest.mark.marianne_recording(name=None, redact=(), strict=False)" in markers
    fixtures = pytester.runpytest_subprocess(
        "--fixtures", "-p", "no:cacheprovider", timeout=BOUND
    ).stdout.str()
    assert "\nmarianne_recording -- " in fixtures


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test_x", "test_x"),
        ("TestJobs.test_submit[trio]", "TestJobs.test_submit-trio"),
        ("test_x[a/b c-1]", "test_x-a_b_c-1"),
        ("shared session", "shared_session"),
        ("../escape", "escape"),
    ],
)
def test_file_names(name: str, expected: str) -> None:
    assert file_name(name) == expected


def test_a_long_name_is_cut_and_keeps_a_hash_of_the_whole() -> None:
    first, second = file_name("test_x[" + "a" * 300 + "]"), file_name("test_x[" + "a" * 301 + "]")
    assert len(first) == len(second) == 120
    assert first != second
