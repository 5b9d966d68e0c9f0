"""Fixtures: every I/O test runs on asyncio and on trio, against a FakeDaemon on a real socket.

Also on asyncio with uvloop, where installed (the dev extra installs it): the
asyncio connection's reader callback is the loop's own API, and uvloop
implements it apart from asyncio.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import LogWatch

from marianne_sdk import DaemonClient
from marianne_sdk.testing import FakeDaemon

# The private sshd (``sshd`` fixture) of the remote-conductor tests.
pytest_plugins = ["tests.sshd"]

BACKENDS: list[Any] = ["asyncio", "trio"]
if importlib.util.find_spec("uvloop") is not None:
    BACKENDS.insert(1, pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"))


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(params=["managed", "plain"])
def managed(request: pytest.FixtureRequest) -> bool:
    """Whether a client is used as ``async with``, or built and closed with ``close()``."""
    return bool(request.param == "managed")


# The fake and the clients are the shipped pytest plugin's (marianne_sdk.pytest_plugin),
# under the short names these tests use, with faster jobs and a bound on every call.


@pytest.fixture
def marianne_fake_options() -> dict[str, Any]:
    return {"step_seconds": 0.01}


@pytest.fixture
def marianne_client_options() -> dict[str, Any]:
    return {"timeout": 10.0}


@pytest.fixture
def socket_path(marianne_socket_path: Path) -> Path:
    return marianne_socket_path


@pytest.fixture
def fake(marianne_fake: FakeDaemon) -> FakeDaemon:
    return marianne_fake


@pytest.fixture
def client(marianne_client: DaemonClient) -> DaemonClient:
    return marianne_client


@pytest.fixture
def sdk_log() -> Iterator[LogWatch]:
    logger = logging.getLogger("marianne_sdk")
    watch = LogWatch()
    previous = logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(previous)
