"""The fake and the client yielded from pytest-asyncio fixtures, as users write them.

pytest-asyncio sets a fixture up in one task and tears it down in another: an
``async with`` that needed one task would fail at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from marianne_sdk import DaemonClient, JobRequest
from marianne_sdk.testing import FakeDaemon


@pytest_asyncio.fixture
async def fake_daemon(socket_path: Path) -> AsyncIterator[FakeDaemon]:
    async with FakeDaemon(socket_path, step_seconds=0.01) as fake:
        yield fake


@pytest_asyncio.fixture
async def daemon_client(fake_daemon: FakeDaemon) -> AsyncIterator[DaemonClient]:
    async with DaemonClient(fake_daemon.socket_path, timeout=10) as client:
        yield client


@pytest.mark.asyncio
async def test_calls_through_fixtures(fake_daemon: FakeDaemon, daemon_client: DaemonClient) -> None:
    assert (await daemon_client.health()).status == "ok"
    state = await daemon_client.submit_and_wait(JobRequest(config_path="/scores/fixture.yaml"))
    assert state.status == "completed"
    assert fake_daemon.count("job.submit") == 1


@pytest.mark.asyncio
async def test_a_monitor_block_in_a_fixture_client(
    fake_daemon: FakeDaemon, daemon_client: DaemonClient
) -> None:
    async with daemon_client.monitor() as events:
        await fake_daemon.wait_for(lambda: fake_daemon.monitor_subscribers == 1)
        fake_daemon.emit("from.the.test")
        assert (await events.__anext__()).event == "from.the.test"
