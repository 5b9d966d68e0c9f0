"""Fixtures: every I/O test runs on asyncio and on trio, against a FakeDaemon on a real socket.

Also on asyncio with uvloop, where installed (the dev extra installs it): the
asyncio connection's reader callback is the loop's own API, and uvloop
implements it apart from asyncio.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A socket path in a fresh directory under /tmp: AF_UNIX paths must stay under 108 bytes."""
    directory = Path(tempfile.mkdtemp(prefix="msdk-", dir="/tmp"))
    yield directory / "conductor.sock"
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def fake(socket_path: Path) -> AsyncIterator[FakeDaemon]:
    async with FakeDaemon(socket_path, step_seconds=0.01) as daemon:
        yield daemon


@pytest.fixture
async def client(fake: FakeDaemon) -> AsyncIterator[DaemonClient]:
    async with DaemonClient(fake.socket_path, timeout=10.0) as daemon_client:
        yield daemon_client


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
