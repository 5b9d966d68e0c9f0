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

from codegen import generate, model, models
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
    and the new param of ``job.list`` has no default (left out, it is not sent),
    as in the README's walk-through.
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
            "schema": {"type": "string"},
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
    assert "probe_label: Only the jobs with this label. Left out, it is not sent." in doc


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
            await client.list_jobs()

    assert isinstance(answer, regenerated.models.RegenerationProbeResult)
    assert answer.uptime_seconds == 12.35
    assert answer.since == datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.UTC)
    assert jobs == []
    assert listed == [{"probe_label": "nightly"}, {}]


_VALUE_SCHEMAS: dict[str, tuple[dict[str, Any], Any]] = {
    # A value schema of each kind, and a default for it.
    "string": ({"type": "string"}, "text"),
    "integer": ({"type": "integer"}, 1),
    "number": ({"type": "number"}, 1.5),
    "boolean": ({"type": "boolean"}, False),
    "array": ({"type": "array", "items": {"type": "string"}}, []),
    "object": ({"type": "object", "additionalProperties": {"type": "integer"}}, {}),
    "enum": ({"$ref": "#/components/schemas/LogLevel"}, "info"),
    "ref": ({"$ref": "#/components/schemas/SocketConfig"}, None),
}


def _param_shapes() -> list[dict[str, Any]]:
    """Every param shape: required or optional, with or without a default, nullable or not."""
    required: list[dict[str, Any]] = []
    optional: list[dict[str, Any]] = []
    for kind, (value_schema, default) in _VALUE_SCHEMAS.items():
        nullable = {"anyOf": [value_schema, {"type": "null"}]}
        required += [
            {"name": f"required_{kind}", "required": True, "schema": value_schema},
            {"name": f"required_nullable_{kind}", "required": True, "schema": nullable},
        ]
        optional += [
            {"name": f"optional_{kind}", "required": False, "schema": value_schema},
            {"name": f"optional_nullable_{kind}", "required": False, "schema": nullable},
            {"name": f"null_default_{kind}", "schema": {**nullable, "default": None}},
        ]
        if default is not None:
            optional.append(
                {"name": f"default_{kind}", "schema": {**value_schema, "default": default}}
            )
    return required + optional


@pytest.fixture(scope="module")
def every_param_shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A method with every param shape, generated, type-checked strictly, and imported."""
    tmp_path = tmp_path_factory.mktemp("param_shapes")
    document = json.loads(SCHEMA_PATH.read_text())
    document["methods"].append(
        {
            "name": "test.param_shapes",
            "params": _param_shapes(),
            "result": {"name": "ok", "schema": {"type": "boolean"}},
            "x-python-name": "param_shapes",
        }
    )
    changed = tmp_path / "marianne.openrpc.json"
    changed.write_text(json.dumps(document, indent=2))
    package = tmp_path / "param_shapes_sdk"
    _generate(changed, package)
    mypy = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file=",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(package),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("param_shapes_sdk.params")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith("param_shapes_sdk")]:
            del sys.modules[name]


def _required_values() -> dict[str, Any]:
    values = {"string": "s", "integer": 2, "number": 2.5, "boolean": True, "array": ["a"]}
    values |= {"object": {"a": 1}, "enum": "debug", "ref": None}
    required = {f"required_{kind}": value for kind, value in values.items()}
    return required | {f"required_nullable_{kind}": None for kind in values}


def test_an_omitted_optional_param_is_not_sent(every_param_shape: Any) -> None:
    required = _required_values()
    del required["required_ref"]  # a struct: given below
    params = every_param_shape.TestParamShapesParams(
        **required, required_ref=msgspec.convert({}, _socket_config_type(every_param_shape))
    )
    sent = msgspec.json.decode(msgspec.json.encode(params))
    assert set(sent) == {name for name in sent if name.startswith("required_")}
    assert set(sent) == set(required) | {"required_ref"}


def test_a_given_optional_param_is_sent(every_param_shape: Any) -> None:
    required = _required_values()
    del required["required_ref"]
    params = every_param_shape.TestParamShapesParams(
        **required,
        required_ref=msgspec.convert({}, _socket_config_type(every_param_shape)),
        optional_boolean=False,
        optional_nullable_string=None,
        default_integer=7,
    )
    sent = msgspec.json.decode(msgspec.json.encode(params))
    assert sent["optional_boolean"] is False
    assert sent["optional_nullable_string"] is None
    assert sent["default_integer"] == 7
    assert "optional_integer" not in sent


def _socket_config_type(params_module: Any) -> Any:
    return importlib.import_module(
        params_module.__name__.replace(".params", ".models")
    ).SocketConfig


_PATCHED_COMPONENTS = {
    "Probe": {
        "title": "Probe",
        "type": "object",
        "description": "A struct with a null default and a non-null one.",
        "properties": {
            "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "count": {"type": "integer", "default": 3},
        },
    }
}


@pytest.fixture(scope="module")
def upstream_models() -> tuple[str, dict[str, model.Component]]:
    """datamodel-code-generator's own output for a struct the corrections apply to."""
    components = {
        name: model.build_component(name, schema) for name, schema in _PATCHED_COMPONENTS.items()
    }
    return models.run_datamodel_codegen(_PATCHED_COMPONENTS), components


def test_upstream_output_is_corrected(
    upstream_models: tuple[str, dict[str, model.Component]],
) -> None:
    source, components = upstream_models
    corrected = models.correct(source, components)
    assert "label: str | None = None" in corrected
    assert "count: int = 3" in corrected
    assert "UnsetType" not in corrected.split("class Probe")[1]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("Model: ", "Root: "), "remove the alias of the root document"),
        (lambda s: s.replace("from __future__ import annotations", ""), "import Literal"),
        (lambda s: s.replace("| UnsetType = UNSET", "| None = UNSET"), "Probe.label"),
        (lambda s: s.replace("= UNSET", "= MISSING"), "Probe.label"),
        (lambda s: s.replace("class Probe(", "class Probe1("), "find the struct of Probe"),
        (lambda s: s.replace("    count:", "    counter:"), "give Probe its schema defaults"),
    ],
    ids=[
        "root alias",
        "future import",
        "unset annotation",
        "unset default",
        "class renamed",
        "field renamed",
    ],
)
def test_a_correction_that_no_longer_matches_fails_loudly(
    upstream_models: tuple[str, dict[str, model.Component]],
    edit: Any,
    message: str,
) -> None:
    source, components = upstream_models
    changed = edit(source)
    assert changed != source
    with pytest.raises(models.UpstreamOutputChanged, match=message) as raised:
        models.correct(changed, components)
    assert "datamodel-code-generator's output changed" in str(raised.value)
