"""The generated fleet wrappers mirror the client's non-streaming wrappers and fan their params out."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import pytest

from marianne_sdk import METHODS
from marianne_sdk._fleet_result import FleetResult
from marianne_sdk._generated import models, registry
from marianne_sdk._generated.fleet_methods import AsyncFleetMethods, SyncFleetMethods
from marianne_sdk._generated.methods import AsyncMethods, SyncMethods
from marianne_sdk._invoke import NOT_GIVEN, Timeout
from marianne_sdk._method import MethodInfo

PAIRS = [(AsyncMethods, AsyncFleetMethods), (SyncMethods, SyncFleetMethods)]
PAIR_IDS = ["async", "sync"]


def _wrappers(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize(("client_class", "fleet_class"), PAIRS, ids=PAIR_IDS)
def test_the_fleet_has_exactly_the_non_streaming_methods(
    client_class: type, fleet_class: type
) -> None:
    non_streaming = {info.python_name for info in METHODS.values() if not info.streaming}
    assert set(_wrappers(client_class)) > non_streaming  # the streaming ones are left out
    assert set(_wrappers(fleet_class)) == non_streaming


@pytest.mark.parametrize(("client_class", "fleet_class"), PAIRS, ids=PAIR_IDS)
def test_each_fleet_method_takes_the_clients_params_and_returns_a_fleet_result(
    client_class: type, fleet_class: type
) -> None:
    clients = _wrappers(client_class)
    for name, fleet_method in _wrappers(fleet_class).items():
        client_method = clients[name]
        ours, theirs = inspect.signature(fleet_method), inspect.signature(client_method)
        assert ours.parameters == theirs.parameters, name
        assert ours.return_annotation == f"FleetResult[{theirs.return_annotation}]", name
        assert inspect.iscoroutinefunction(fleet_method) == inspect.iscoroutinefunction(
            client_method
        ), name
        summary = inspect.getdoc(client_method).splitlines()[0]  # type: ignore[union-attr]
        assert inspect.getdoc(fleet_method).splitlines()[0] == summary, name  # type: ignore[union-attr]


Sent = tuple[MethodInfo[Any, Any], msgspec.Struct, Timeout]


class RecordingAsyncFleet(AsyncFleetMethods):
    """A fleet of one target whose every call answers with what it was handed."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def _fan_out_typed(
        self, info: MethodInfo[Any, Any], params: Any, timeout: Timeout
    ) -> FleetResult[Any]:
        self.sent.append((info, params, timeout))
        return FleetResult(ok={"only": info.name}, failed={})


class RecordingSyncFleet(SyncFleetMethods):
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def _fan_out_typed(
        self, info: MethodInfo[Any, Any], params: Any, timeout: Timeout
    ) -> FleetResult[Any]:
        self.sent.append((info, params, timeout))
        return FleetResult(ok={"only": info.name}, failed={})


def _encoded(params: msgspec.Struct) -> Any:
    return msgspec.json.decode(msgspec.json.encode(params))


@pytest.mark.anyio
async def test_an_async_fleet_method_hands_its_params_and_timeout_to_the_fan_out() -> None:
    fleet = RecordingAsyncFleet()
    answered = await fleet.get_job_status("nightly", "/work/nightly", timeout=2.5)
    request = models.JobRequest(config_path="/scores/nightly.yaml")
    await fleet.submit_job(request)
    assert answered.ok == {"only": "job.status"}
    (status_info, status_params, status_timeout), (submit_info, submit_params, submit_timeout) = (
        fleet.sent
    )
    assert (status_info, status_timeout) == (registry.JOB_STATUS, 2.5)
    assert _encoded(status_params) == {"job_id": "nightly", "workspace": "/work/nightly"}
    assert (submit_info, submit_params, submit_timeout) == (registry.JOB_SUBMIT, request, NOT_GIVEN)


def test_a_blocking_fleet_method_hands_its_params_and_timeout_to_the_fan_out() -> None:
    fleet = RecordingSyncFleet()
    answered = fleet.get_job_status("nightly", timeout=None)
    assert answered.ok == {"only": "job.status"}
    [(info, params, timeout)] = fleet.sent
    assert (info, timeout) == (registry.JOB_STATUS, None)
    assert _encoded(params) == {"job_id": "nightly"}  # a default is not sent
