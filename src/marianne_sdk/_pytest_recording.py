"""Record a real conductor's session per test, replay it otherwise: ``@pytest.mark.marianne_recording``.

Part of the pytest plugin (:mod:`marianne_sdk.pytest_plugin`). A test marked
``@pytest.mark.marianne_recording`` talks to ``marianne_socket_path``, where,
for the whole test, one of two servers listens in a thread of its own:

- replaying: a :class:`~marianne_sdk.testing.FakeDaemon` answering from the
  test's recording (``fallback=False``: a request the recording lacks gets an
  error response);
- recording: the recording proxy of ``marianne-sdk record``, between the test
  and the real conductor, writing the test's recording.

``--marianne-record-mode`` decides which, as pytest-recording's modes do:
``none`` (the default) always replays, and a missing recording fails the
test; ``once`` records a test that has no recording yet and replays the
others; ``rewrite`` records every marked test again. The recording of a test
is ``recordings/<test module>/<test>.ndjson`` next to its module. A recording
is kept only when the test passed: a test that fails while recording leaves
the file it would have replaced as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from anyio.from_thread import start_blocking_portal

from ._discovery import SOCKET_ENV_VAR
from ._recorder import Recorder
from .testing import FakeDaemon, RecordedCall, ThreadedFakeDaemon

MARKER = "marianne_recording"
MODES = ("none", "once", "rewrite")
MODE_OPTION = "--marianne-record-mode"
SOCKET_OPTION = "--marianne-record-socket"

_MARKER_KWARGS = ("name", "redact", "strict")
_PROBE_SECONDS = 5.0
_MAX_NAME = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("marianne", "marianne-sdk: recorded conductor sessions")
    group.addoption(
        MODE_OPTION,
        choices=MODES,
        default="none",
        help=(
            "for tests marked marianne_recording: 'none' replays each test's recording "
            "(a missing one fails the test), 'once' records the tests that have none yet "
            "and replays the others, 'rewrite' records them all again. Default: none."
        ),
    )
    group.addoption(
        SOCKET_OPTION,
        metavar="PATH",
        default=None,
        help=(
            "the socket of the real conductor to record against "
            f"(default: ${SOCKET_ENV_VAR}); needed when a test is recorded."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, redact=(), strict=False): the test talks to marianne_socket_path "
        "(marianne_client, marianne_sync_client), where its recorded conductor session is "
        f"replayed, or recorded with {MODE_OPTION}=once|rewrite. name: the recording's file "
        "name (default: the test's); redact: keys whose values are not recorded; strict: fail "
        "a replayed test that left recorded calls unused.",
    )


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps a marked test's reports: whether it passed decides what its teardown does."""
    report = yield
    if item.get_closest_marker(MARKER) is not None:
        item.stash.setdefault(_REPORTS, {})[call.when] = report
    return report


@dataclass(frozen=True)
class RecordingSession:
    """The ``marianne_recording`` fixture: what serves a marked test's socket, and how.

    The test's clients connect to :attr:`socket_path` (the test's
    ``marianne_socket_path``) in either mode.
    """

    mode: Literal["record", "replay"]
    """``"record"``: the proxy records into :attr:`path`; ``"replay"``: a fake replays it."""
    path: Path
    """The test's recording file."""
    socket_path: Path
    """Where the proxy or the replaying fake listens."""
    upstream: str | None = None
    """The real conductor's socket, when recording."""
    fake: ThreadedFakeDaemon | None = field(default=None, repr=False)
    """The replaying fake (its observations: ``count``, ``requests``), when replaying."""

    def unused(self) -> list[RecordedCall]:
        """The recorded calls not replayed so far (``[]`` when recording)."""
        return self.fake.unused() if self.fake is not None else []


@dataclass(frozen=True)
class _Settings:
    name: str | None
    redact: tuple[str, ...]
    strict: bool


def _settings(marker: pytest.Mark) -> _Settings:
    unknown = sorted(set(marker.kwargs) - set(_MARKER_KWARGS))
    if marker.args or unknown:
        pytest.fail(
            f"@pytest.mark.{MARKER} takes the keyword arguments {', '.join(_MARKER_KWARGS)} "
            f"only, not {', '.join([*map(repr, marker.args), *unknown])}",
            pytrace=False,
        )
    name = marker.kwargs.get("name")
    redact = marker.kwargs.get("redact", ())
    if isinstance(redact, str):
        redact = (redact,)
    if name is not None and not isinstance(name, str):
        pytest.fail(f"@pytest.mark.{MARKER}(name=...) is a str, not {name!r}", pytrace=False)
    if not isinstance(redact, Collection) or not all(isinstance(key, str) for key in redact):
        pytest.fail(
            f"@pytest.mark.{MARKER}(redact=...) is a list of keys (str), not {redact!r}",
            pytrace=False,
        )
    return _Settings(name, tuple(redact), bool(marker.kwargs.get("strict", False)))


def file_name(name: str) -> str:
    """``name`` (a test's, say ``TestJobs.test_submit[trio]``) as a safe file name, no suffix.

    A parametrised test's id follows a ``-`` (``TestJobs.test_submit-trio``);
    runs of other characters than letters, digits, ``_``, ``.`` and ``-``
    become one ``_``; a long name is cut, and ends with a hash of the whole.
    """
    base, bracket, params = name.partition("[")
    if bracket:
        base = f"{base}-{params.removesuffix(']')}"
    safe = _UNSAFE.sub("_", base).strip("._") or "test"
    if len(safe) > _MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        safe = f"{safe[: _MAX_NAME - 13]}-{digest}"
    return safe


def recording_path(item: pytest.Item, name: str | None = None) -> Path:
    """Where the recording of ``item`` is: ``recordings/<module>/<name>.ndjson`` by its module.

    ``name`` defaults to the test's name within its module (its class's name,
    a dot, its own), parameters included.
    """
    if name is None:
        name = ".".join(item.nodeid.split("::")[1:]) or item.name
    return item.path.parent / "recordings" / item.path.stem / f"{file_name(name)}.ndjson"


@pytest.fixture
def marianne_recording(
    request: pytest.FixtureRequest, marianne_socket_path: Path
) -> Iterator[RecordingSession]:
    """The recorded session a ``@pytest.mark.marianne_recording`` test talks to.

    Set up for every marked test, whether requested or not: the recording's
    fake (replaying) or proxy (recording) serves ``marianne_socket_path`` for
    the whole test; ``marianne_client`` and ``marianne_sync_client`` connect
    to it. Its :class:`~marianne_sdk.pytest_plugin.RecordingSession` tells
    the ``mode``, the recording's ``path``, and ``unused()`` calls.
    """
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        pytest.fail(
            f"marianne_recording serves the tests marked @pytest.mark.{MARKER} only",
            pytrace=False,
        )
    settings = _settings(marker)
    path = recording_path(request.node, settings.name)
    mode = request.config.getoption(MODE_OPTION)
    if mode == "rewrite" or (mode == "once" and not path.exists()):
        yield from _record(request, path, marianne_socket_path, settings)
    elif path.exists():
        yield from _replay(request, path, marianne_socket_path, settings)
    else:
        pytest.fail(
            f"no recording of {request.node.nodeid} at {path}: record it once against a "
            f"running conductor with\n    pytest {MODE_OPTION}=once "
            f"{SOCKET_OPTION}=/path/to/conductor.sock '{request.node.nodeid}'\n"
            f"(or with ${SOCKET_ENV_VAR} set instead of {SOCKET_OPTION}), and commit the file",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _marianne_recording_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Serves the recording of a marked test, which may not request ``marianne_recording``."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("marianne_recording")


def is_recorded_test(request: pytest.FixtureRequest) -> bool:
    """Whether the test of ``request`` is marked ``@pytest.mark.marianne_recording``."""
    return request.node.get_closest_marker(MARKER) is not None


def refuse_a_fake(request: pytest.FixtureRequest, fixture: str) -> None:
    """Fails a marked test asking for a simulating fake: it talks to its recording."""
    if is_recorded_test(request):
        pytest.fail(
            f"{fixture} simulates a conductor, and a test marked @pytest.mark.{MARKER} talks "
            "to its recording: use marianne_client or marianne_sync_client (or connect to "
            "marianne_socket_path), and marianne_recording for the replaying fake",
            pytrace=False,
        )


def _passed(request: pytest.FixtureRequest) -> bool:
    call = request.node.stash.get(_REPORTS, {}).get("call")
    return call is not None and call.passed


def _record(
    request: pytest.FixtureRequest, path: Path, listen: Path, settings: _Settings
) -> Iterator[RecordingSession]:
    upstream = request.config.getoption(SOCKET_OPTION) or os.environ.get(SOCKET_ENV_VAR)
    if not upstream:
        pytest.fail(
            f"recording {request.node.nodeid} into {path} needs a running conductor: pass "
            f"{SOCKET_OPTION}=PATH or set ${SOCKET_ENV_VAR}",
            pytrace=False,
        )
    _probe(upstream, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and moved in place once the test passed: a failed run keeps
    # the recording it would have replaced.
    partial = path.with_name(f"{path.name}.partial")
    recorder = Recorder(upstream, listen, partial, redact=settings.redact)
    try:
        with start_blocking_portal() as portal:
            serving, _ = portal.start_task(recorder.serve)
            try:
                yield RecordingSession("record", path, listen, upstream=upstream)
            finally:
                serving.cancel()
        if _passed(request):
            os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _probe(upstream: str, path: Path) -> None:
    """Fails the test unless a conductor accepts a connection at ``upstream``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(_PROBE_SECONDS)
        try:
            probe.connect(upstream)
        except OSError as error:
            pytest.fail(
                f"cannot record {path}: no conductor accepts connections at {upstream} ({error})",
                pytrace=False,
            )


def _replay(
    request: pytest.FixtureRequest, path: Path, listen: Path, settings: _Settings
) -> Iterator[RecordingSession]:
    with FakeDaemon.in_thread(listen, recording=path, fallback=False) as fake:
        yield RecordingSession("replay", path, listen, fake=fake)
        unused = fake.unused()
    if settings.strict and unused and _passed(request):
        listed = "\n".join(f"    {call.method} {call.params}" for call in unused)
        pytest.fail(
            f"{len(unused)} recorded call(s) of {path} never replayed "
            f"(@pytest.mark.{MARKER}(strict=True)):\n{listed}",
            pytrace=False,
        )
