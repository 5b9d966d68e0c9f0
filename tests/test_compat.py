"""The conductor-version courtesy check: specifier matching and the one warning per client."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import LogWatch

from marianne_sdk import DaemonClient
from marianne_sdk._compat import is_supported, release
from marianne_sdk._generated.registry import CONDUCTOR_VERSIONS
from marianne_sdk.testing import FakeDaemon


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", (0, 1)), ("v1.2.3", (1, 2, 3)), ("0.1.0rc1", (0, 1)), ("2", (2,)), ("dev", None)],
)
def test_release_numbers(version: str, expected: tuple[int, ...] | None) -> None:
    assert release(version) == expected


@pytest.mark.parametrize(
    ("version", "specifiers", "expected"),
    [
        ("0.1.0", ">=0.1.0,<0.2", True),
        ("0.1.9", ">=0.1.0,<0.2", True),
        ("0.2.0", ">=0.1.0,<0.2", False),
        ("0.0.9", ">=0.1.0,<0.2", False),
        ("1.0", "==1.0.0", True),
        ("1.1", "!=1.1", False),
        ("unknown", ">=0.1", None),
        ("0.1.0", "~=0.1", None),
        ("0.1.0", "", None),
    ],
)
def test_specifiers(version: str, specifiers: str, expected: bool | None) -> None:
    assert is_supported(version, specifiers) is expected


def test_the_schema_declares_the_recorded_conductor_version() -> None:
    assert is_supported("0.1.0", CONDUCTOR_VERSIONS) is True


def _status_reporting(version: str) -> Any:
    def status(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "pid": 1,
            "uptime_seconds": 1.0,
            "running_jobs": 0,
            "total_jobs_active": 0,
            "memory_usage_mb": 1.0,
            "version": version,
        }

    return status


def _warnings(log: LogWatch) -> list[str]:
    return [message for message in log.messages if "outside the versions" in message]


@pytest.mark.anyio
async def test_an_unsupported_conductor_is_warned_about_once_per_client(
    fake: FakeDaemon, sdk_log: LogWatch
) -> None:
    fake.register("daemon.status", _status_reporting("9.0.0"))
    async with DaemonClient(fake.socket_path) as client:
        assert await client.check_conductor_version() is False
        await client.status()
        assert (await client.status()).version == "9.0.0"
    assert len(_warnings(sdk_log)) == 1
    assert "9.0.0" in _warnings(sdk_log)[0]
    async with DaemonClient(fake.socket_path) as another:
        await another.status()
    assert len(_warnings(sdk_log)) == 2


@pytest.mark.anyio
async def test_a_supported_conductor_is_not_warned_about(
    client: DaemonClient, sdk_log: LogWatch
) -> None:
    assert await client.check_conductor_version() is True
    assert _warnings(sdk_log) == []
