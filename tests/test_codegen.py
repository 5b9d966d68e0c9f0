"""Generation is reproducible, current, and regenerating after a protocol change works."""

from __future__ import annotations

import datetime
import importlib
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from codegen import generate, model
from marianne_sdk import METHODS, DaemonClient
from marianne_sdk.testing import FakeDaemon

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "marianne.openrpc.json"
GENERATED = ROOT / "src" / "marianne_sdk" / "_generated"


def _generate(schema_path: Path, out: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen",
            "generate",
            "--schema",
            str(schema_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def _check(schema_path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegen", "check", "--schema", str(schema_path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _contents(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.py"))}


def test_committed_code_is_current() -> None:
    files = generate.render(model.load(SCHEMA_PATH), "schema/marianne.openrpc.json")
    assert generate.stale_files(files, GENERATED) == []


def test_generating_twice_changes_nothing(tmp_path: Path) -> None:
    _generate(SCHEMA_PATH, tmp_path / "first")
    _generate(SCHEMA_PATH, tmp_path / "second")
    first = _contents(tmp_path / "first")
    assert first == _contents(tmp_path / "second")
    assert first == _contents(GENERATED)


def test_stale_code_is_detected(tmp_path: Path) -> None:
    out = tmp_path / "_generated"
    _generate(SCHEMA_PATH, out)
    registry = out / "registry.py"
    registry.write_text(registry.read_text() + "\n# edited by hand\n")
    check = _check(SCHEMA_PATH, out)
    assert check.returncode == 1
    assert "registry.py" in check.stderr


def _method_named(document: dict[str, Any], name: str) -> dict[str, Any]:
    method: dict[str, Any] = next(m for m in document["methods"] if m["name"] == name)
    return method


def _changed_protocol(document: dict[str, Any]) -> dict[str, Any]:
    """A newer conductor: a method more, an optional param more, a field more on a type.

    The new method leaves out what has a default (the x- flags, paramStructure),
    as the README's walk-through does.
    """
    document["methods"].append(
        {
            "name": "test.regeneration_probe",
            "summary": "Return how long the daemon has been running.",
            "params": [
                {
                    "name": "precision",
                    "description": "Decimals of the seconds.",
                    "schema": {"type": "integer", "default": 1},
                }
            ],
            "result": {
                "name": "uptime",
                "schema": {"$ref": "#/components/schemas/RegenerationProbeResult"},
            },
            "errors": [{"$ref": "#/components/errors/INTERNAL_ERROR"}],
            "x-python-name": "regeneration_probe",
        }
    )
    _method_named(document, "job.list")["params"].append(
        {
            "name": "probe_label",
            "description": "Only the jobs with this label.",
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        }
    )
    schemas = document["components"]["schemas"]
    schemas["RegenerationProbeResult"] = {
        "title": "RegenerationProbeResult",
        "type": "object",
        "description": "How long the daemon has been running.",
        "properties": {
            "uptime_seconds": {"type": "number"},
            "since": {"type": "string", "format": "date-time"},
        },
        "required": ["uptime_seconds", "since"],
    }
    status = schemas["DaemonStatus"]
    status["properties"]["build"] = {"type": "string", "description": "Build identifier."}
    status["required"].append("build")
    return document


@dataclass(frozen=True)
class Regenerated:
    registry: Any
    methods: Any
    models: Any
    params: Any


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regenerated]:
    """The walk of a protocol change, on a copy of the schema: edit, generate, check, import."""
    tmp_path = tmp_path_factory.mktemp("regeneration")
    document = _changed_protocol(json.loads(SCHEMA_PATH.read_text()))
    changed = tmp_path / "marianne.openrpc.json"
    changed.write_text(json.dumps(document, indent=2))
    package = tmp_path / "regenerated_sdk"
    _generate(changed, package)
    check = _check(changed, package)
    assert check.returncode == 0, check.stderr

    sys.path.insert(0, str(tmp_path))
    try:
        yield Regenerated(
            *(
                importlib.import_module(f"regenerated_sdk.{module}")
                for module in ("registry", "methods", "models", "params")
            )
        )
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith("regenerated_sdk")]:
            del sys.modules[name]


def test_regenerated_registry_has_the_new_method(regenerated: Regenerated) -> None:
    uptime = regenerated.registry.METHODS["test.regeneration_probe"]
    assert uptime.python_name == "regeneration_probe"
    assert (uptime.idempotent, uptime.streaming) == (False, False)
    assert uptime.result_type is regenerated.models.RegenerationProbeResult
    assert msgspec.convert({}, uptime.params_type).precision == 1
    assert callable(regenerated.methods.AsyncMethods.regeneration_probe)
    assert callable(regenerated.methods.SyncMethods.regeneration_probe)
    assert set(regenerated.registry.METHODS) == set(METHODS) | {"test.regeneration_probe"}


def test_regenerated_docstring_documents_the_new_param(regenerated: Regenerated) -> None:
    doc = inspect.getdoc(regenerated.methods.AsyncMethods.list_jobs)
    assert doc is not None
    assert "probe_label: Only the jobs with this label. Defaults to ``None``." in doc


def test_regenerated_models_decode_the_new_field(regenerated: Regenerated) -> None:
    status = msgspec.convert(
        {
            "pid": 1,
            "uptime_seconds": 1.0,
            "running_jobs": 0,
            "total_jobs_active": 0,
            "memory_usage_mb": 1.0,
            "version": "0.2.0",
            "build": "abc",
        },
        regenerated.registry.METHODS["daemon.status"].result_type,
    )
    assert status.build == "abc"


@pytest.mark.anyio
async def test_regenerated_client_calls_the_new_method(
    regenerated: Regenerated, socket_path: Path
) -> None:
    class RegeneratedClient(regenerated.methods.AsyncMethods, DaemonClient):
        pass

    listed: list[dict[str, Any]] = []

    async def uptime(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "uptime_seconds": round(12.345, params["precision"]),
            "since": "2026-12-01T09:00:00Z",
        }

    async def list_jobs(params: dict[str, Any]) -> list[Any]:
        listed.append(params)
        return []

    async with FakeDaemon(socket_path) as fake:
        fake.register("test.regeneration_probe", uptime)
        fake.register("job.list", list_jobs)
        async with RegeneratedClient(socket_path, timeout=10.0) as client:
            answer = await client.regeneration_probe(precision=2)
            jobs = await client.list_jobs(probe_label="nightly")

    assert isinstance(answer, regenerated.models.RegenerationProbeResult)
    assert answer.uptime_seconds == 12.35
    assert answer.since == datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.UTC)
    assert jobs == []
    assert listed == [{"probe_label": "nightly"}]
