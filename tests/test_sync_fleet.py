"""The blocking Fleet: the async fleet's fan-out and merging, through a thread of its own."""

from __future__ import annotations

import contextlib
import inspect
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import marianne_sdk
from marianne_sdk import DaemonError, DaemonNotRunningError, DaemonStatus, DaemonTimeoutError
from marianne_sdk._generated import params, registry
from marianne_sdk.sync import Fleet
from marianne_sdk.testing import FakeDaemon, Fault, ThreadedFakeDaemon


@pytest.fixture
def paths() -> Iterator[list[str]]:
    directory = Path(tempfile.mkdtemp(prefix="msdk-fleet-", dir="/tmp"))
    yield [str(directory / f"conductor-{index}.sock") for index in range(4)]
    shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def serving(*paths: str) -> Iterator[list[ThreadedFakeDaemon]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(FakeDaemon.in_thread(path)) for path in paths]


def _loop_threads() -> int:
    return sum(thread.name == "marianne-sdk" for thread in threading.enumerate())


def test_takes_the_async_fleets_arguments() -> None:
    assert inspect.signature(Fleet) == inspect.signature(marianne_sdk.Fleet)


def test_a_dead_target_fails_alone(paths: list[str]) -> None:
    dead = paths[1]
    with serving(*(p for p in paths if p != dead)) as fakes, Fleet(paths, timeout=10.0) as fleet:
        result = fleet.call("daemon.health")
        status = fleet._fan_out_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), None)
    assert list(result.ok) == [p for p in paths if p != dead]
    assert list(result.failed) == [dead]
    assert isinstance(result.failed[dead], DaemonNotRunningError)
    assert all(isinstance(value, DaemonStatus) for value in status.ok.values())
    assert [fake.count("daemon.health") for fake in fakes] == [1, 1, 1]
    assert [fake.count("daemon.status") for fake in fakes] == [1, 1, 1]


def test_a_silent_target_is_bounded_by_the_timeout(paths: list[str]) -> None:
    with serving(*paths[:3]) as fakes, Fleet(paths[:3], timeout=30.0) as fleet:
        fakes[0].inject(Fault.SILENCE, "daemon.health")
        result = fleet.call("daemon.health", timeout=0.5)
    assert list(result.ok) == paths[1:3]
    assert isinstance(result.failed[paths[0]], DaemonTimeoutError)


def test_monitor_merges_and_keeps_the_lost_targets_error(paths: list[str]) -> None:
    targets = paths[:3]
    with serving(*targets[:2]) as (first, second), Fleet(targets, timeout=10.0) as fleet:
        with fleet.monitor() as events:
            assert list(events.failed) == [targets[2]]
            for fake in (first, second):
                fake.wait_for(lambda fake=fake: fake.monitor_subscribers == 1)
            second.emit("from.second")
            received = [next(events)]
            first.emit("from.first")
            received.append(next(events))
        assert [(target, event.event) for target, event in received] == [
            (targets[1], "from.second"),
            (targets[0], "from.first"),
        ]
        assert isinstance(events.failed[targets[2]], DaemonNotRunningError)
        assert events.missed == 0


def test_closing_stops_the_thread_and_refuses_calls(paths: list[str]) -> None:
    before = _loop_threads()
    fleet = Fleet(paths[:2])
    assert _loop_threads() == before + 1
    fleet.close()
    fleet.close()
    assert _loop_threads() == before
    with pytest.raises(DaemonError, match="closed"):
        fleet.call("daemon.health")


def test_an_unclosed_fleet_is_closed_when_collected(paths: list[str]) -> None:
    before = _loop_threads()
    fleet: Any = Fleet(paths[:2])
    with pytest.warns(ResourceWarning, match="unclosed"):
        del fleet  # the last reference: collected at once
    assert _loop_threads() == before


def test_bad_arguments_are_refused_in_the_calling_thread(paths: list[str]) -> None:
    before = _loop_threads()
    with pytest.raises(ValueError, match="twice"):
        Fleet([paths[0], paths[0]])
    assert _loop_threads() == before


def test_typed_methods_fan_out_and_decode_each_targets_result(paths: list[str]) -> None:
    live, dead = paths[:2], paths[2]
    with serving(*live), Fleet([*live, dead]) as fleet:
        statuses = fleet.status(timeout=20)
    assert list(statuses.ok) == live
    assert all(isinstance(status, DaemonStatus) for status in statuses.ok.values())
    assert list(statuses.failed) == [dead]
    assert isinstance(statuses.failed[dead], DaemonNotRunningError)
