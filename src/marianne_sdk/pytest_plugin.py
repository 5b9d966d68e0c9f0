"""pytest fixtures for testing code that uses the SDK against a :class:`FakeDaemon`.

Installed with the package (entry point ``pytest11``), so the fixtures are
there in any test once ``marianne-sdk`` is installed:

``marianne_socket_path``
    A socket path in a fresh directory (short enough for ``AF_UNIX``),
    removed after the test.
``marianne_fake_options``
    Keyword arguments for the fakes below (:class:`FakeDaemon`'s own):
    ``{}`` here; override this fixture to change them.
``marianne_client_options``
    Keyword arguments for the clients below (:class:`marianne_sdk.DaemonClient`'s,
    but the socket): ``{}`` here; override this fixture to change them.
``marianne_fake``
    A :class:`FakeDaemon` serving on the test's event loop, for async tests:
    under the anyio plugin (``@pytest.mark.anyio``, asyncio or trio) or
    pytest-asyncio (``@pytest.mark.asyncio``, or its auto mode).
``marianne_client``
    A :class:`marianne_sdk.DaemonClient` connected to ``marianne_fake``.
``marianne_sync_fake``
    A :class:`ThreadedFakeDaemon`: the fake serving from a thread of its own,
    for blocking code and any test, async or not.
``marianne_sync_client``
    A :class:`marianne_sdk.sync.DaemonClient` connected to ``marianne_sync_fake``.

``marianne_recording``
    For a test marked ``@pytest.mark.marianne_recording``: the real
    conductor's session recorded for it, replayed (or recorded, with
    ``--marianne-record-mode=once|rewrite`` and ``--marianne-record-socket``)
    on ``marianne_socket_path``, where ``marianne_client`` and
    ``marianne_sync_client`` connect on such a test.

A test uses either the async pair or the blocking pair: both serve on
``marianne_socket_path``, and a fake refuses a path another one serves.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import sync
from ._client import DaemonClient
from ._pytest_recording import RecordingSession, is_recorded_test, refuse_a_fake
from .testing import FakeDaemon, ThreadedFakeDaemon

__all__ = ["RecordingSession"]

# The recording workflow's options, marker, hooks and fixture (``marianne_recording``).
pytest_plugins: list[str] = ["marianne_sdk._pytest_recording"]

_HAS_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None

# Under the 108 bytes of an AF_UNIX path, where pytest's tmp_path may not be.
_SHORT_TMP = "/tmp" if Path("/tmp").is_dir() else None


@pytest.fixture
def marianne_socket_path() -> Iterator[Path]:
    """A socket path in a fresh, short-named directory, removed after the test.

    On a test marked ``@pytest.mark.marianne_recording``, its recorded
    session is served there (see ``marianne_recording``).
    """
    directory = Path(tempfile.mkdtemp(prefix="marianne-", dir=_SHORT_TMP))
    yield directory / "conductor.sock"
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def marianne_fake_options() -> dict[str, Any]:
    """Keyword arguments of the fixtures' :class:`FakeDaemon`; override to change them.

    For example, in a ``conftest.py``::

        @pytest.fixture
        def marianne_fake_options():
            return {"step_seconds": 0.01, "check_config_files": True}

    or ``{"recording": path}`` to answer from a recorded session.
    """
    return {}


@pytest.fixture
def marianne_client_options() -> dict[str, Any]:
    """Keyword arguments of the fixtures' clients, async and blocking; override to change them.

    For example ``{"timeout": 5.0}``: a call the fake never answers fails in 5 s.
    """
    return {}


@pytest.fixture
def marianne_fake(request: pytest.FixtureRequest) -> FakeDaemon:
    """A :class:`FakeDaemon` serving on the test's event loop (anyio or pytest-asyncio)."""
    refuse_a_fake(request, "marianne_fake")
    fake: FakeDaemon = request.getfixturevalue(_runner_fixture(request, "fake"))
    return fake


@pytest.fixture
def marianne_client(request: pytest.FixtureRequest) -> DaemonClient:
    """A :class:`marianne_sdk.DaemonClient` connected to ``marianne_fake``, closed after the test.

    On a test marked ``@pytest.mark.marianne_recording``, connected to its
    recording instead (see ``marianne_recording``), with no heartbeat.
    """
    client: DaemonClient = request.getfixturevalue(_runner_fixture(request, "client"))
    return client


@pytest.fixture
def marianne_sync_fake(
    request: pytest.FixtureRequest,
    marianne_socket_path: Path,
    marianne_fake_options: dict[str, Any],
) -> Iterator[ThreadedFakeDaemon]:
    """A :class:`FakeDaemon` serving from a thread of its own (:meth:`FakeDaemon.in_thread`)."""
    refuse_a_fake(request, "marianne_sync_fake")
    with FakeDaemon.in_thread(marianne_socket_path, **marianne_fake_options) as fake:
        yield fake


@pytest.fixture
def marianne_sync_client(
    request: pytest.FixtureRequest, marianne_client_options: dict[str, Any]
) -> Iterator[sync.DaemonClient]:
    """A blocking :class:`marianne_sdk.sync.DaemonClient` connected to ``marianne_sync_fake``.

    On a test marked ``@pytest.mark.marianne_recording``, connected to its
    recording instead (see ``marianne_recording``), with no heartbeat.
    """
    path, options = _client_target(request, "marianne_sync_fake", marianne_client_options)
    with sync.DaemonClient(path, **options) as client:
        yield client


# A recorded session replays only the calls it holds: the heartbeat's
# ``daemon.health`` probes, which come when a stream is quiet for a while, are
# not the test's own calls. Options the test gives still win.
_RECORDED_CLIENT_OPTIONS: dict[str, Any] = {"heartbeat": None}


def _client_target(
    request: pytest.FixtureRequest, fake_fixture: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The socket a client fixture connects to, and the client's options."""
    if is_recorded_test(request):
        session: RecordingSession = request.getfixturevalue("marianne_recording")
        return str(session.socket_path), {**_RECORDED_CLIENT_OPTIONS, **options}
    fake: FakeDaemon | ThreadedFakeDaemon = request.getfixturevalue(fake_fixture)
    return fake.socket_path, options


@pytest.fixture
def _marianne_client_target(
    request: pytest.FixtureRequest, marianne_client_options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Where ``marianne_client`` connects (``marianne_fake``, or a recording), and its options."""
    return _client_target(request, "marianne_fake", marianne_client_options)


# Which plugin runs an async fixture depends on the test: the anyio plugin
# runs the async fixtures of tests it runs (those requesting ``anyio_backend``),
# pytest-asyncio runs the fixtures it is told are its own. So each async
# fixture exists once per runner, and the public one picks by the test.


def _runner_fixture(request: pytest.FixtureRequest, name: str) -> str:
    if "anyio_backend" in request.fixturenames:
        return f"_marianne_anyio_{name}"
    if _HAS_PYTEST_ASYNCIO and request.node.get_closest_marker("asyncio") is not None:
        return f"_marianne_asyncio_{name}"
    if inspect.iscoroutinefunction(getattr(request, "function", None)):
        pytest.fail(
            f"marianne_{name} serves on the test's event loop: run the test with the anyio "
            "plugin (@pytest.mark.anyio) or pytest-asyncio (@pytest.mark.asyncio)",
            pytrace=False,
        )
    pytest.fail(
        f"marianne_{name} is for async tests; a blocking test uses marianne_sync_{name}",
        pytrace=False,
    )


async def _fake(
    marianne_socket_path: Path, marianne_fake_options: dict[str, Any]
) -> AsyncIterator[FakeDaemon]:
    async with FakeDaemon(marianne_socket_path, **marianne_fake_options) as daemon:
        yield daemon


async def _client(
    _marianne_client_target: tuple[str, dict[str, Any]],
) -> AsyncIterator[DaemonClient]:
    path, options = _marianne_client_target
    async with DaemonClient(path, **options) as client:
        yield client


_marianne_anyio_fake = pytest.fixture(_fake, name="_marianne_anyio_fake")
_marianne_anyio_client = pytest.fixture(_client, name="_marianne_anyio_client")

if _HAS_PYTEST_ASYNCIO:
    import pytest_asyncio

    # pytest-asyncio sets a fixture up and tears it down in different tasks:
    # the fake and the client may be left in another task than they were entered.
    _marianne_asyncio_fake = pytest_asyncio.fixture(_fake, name="_marianne_asyncio_fake")
    _marianne_asyncio_client = pytest_asyncio.fixture(_client, name="_marianne_asyncio_client")
