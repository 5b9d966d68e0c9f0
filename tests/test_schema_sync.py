"""``codegen sync``: the schema compared with the conductor's own models, and brought in step."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen.conductor_models import without_docs
from codegen.model import from_document
from codegen.schema_sync import read_models, write

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "marianne.openrpc.json"
MODELS_0_1_0 = Path(__file__).parent / "data" / "conductor-models-0.1.0.json"
NEWER_CONDUCTOR = Path(__file__).parent / "newer_conductor"
# The models the stand-in newer conductor defines (tests/newer_conductor/marianne/daemon/types.py),
# and the enumeration (registry.py).
NEWER_MODELS = {"DaemonStatus", "JobResponse", "ObserverEvent"}
NEWER_ENUMS = {"DaemonJobStatus"}
# What sync says of the one open enum that a mirrored field uses and the conductor does not enumerate.
NOT_COMPARED = (
    "ObserverEventName: not compared: the conductor's model types ObserverEvent.event as a string"
)

Json = dict[str, Any]


def _run(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _sync(*arguments: str) -> subprocess.CompletedProcess[str]:
    return _run("-m", "codegen", "sync", *arguments)


def _schema() -> Json:
    document: Json = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return document


def _write(path: Path, document: Json) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- conductor 0.1.0 ------------------------------------------------------------------------------


def test_the_schema_is_in_step_with_conductor_0_1_0() -> None:
    synced = _sync(str(MODELS_0_1_0))
    assert (synced.returncode, synced.stdout.splitlines()) == (
        0,
        [NOT_COMPARED, "no drift from conductor 0.1.0"],
    )


def _mirrored(*, enums: bool) -> dict[str, str]:
    """The schema's components with an ``x-source``: the open enums, or the models."""
    return {
        name: component["x-source"]
        for name, component in _schema()["components"]["schemas"].items()
        if "x-source" in component and ("x-known-values" in component) == enums
    }


def test_every_model_of_the_conductor_is_mirrored_by_its_component() -> None:
    models = json.loads(MODELS_0_1_0.read_text())["models"]
    assert _mirrored(enums=False) == {name: entry["source"] for name, entry in models.items()}


def test_the_enumerations_no_model_reaches_are_mirrored_and_compared() -> None:
    enums = json.loads(MODELS_0_1_0.read_text())["enums"]
    mirrored = _mirrored(enums=True)
    assert set(mirrored) == {
        "DaemonJobStatus",
        "PressureLevel",
        "QuarantineStatus",
        "ProcessEventType",
    }
    assert set(mirrored) <= set(enums)


@pytest.mark.parametrize(
    ("section", "name", "reported"),
    [
        (
            "enums",
            "QuarantineStatus",
            "QuarantineStatus: nothing to compare with: "
            "the models file has no marianne.learning.store.models.QuarantineStatus",
        ),
        (
            "models",
            "GpuMetric",
            "GpuMetric: nothing to compare with: "
            "the models file has no marianne.daemon.profiler.models.GpuMetric",
        ),
    ],
)
def test_a_mirrored_component_missing_from_the_models_file_is_reported(
    tmp_path: Path, section: str, name: str, reported: str
) -> None:
    models: Json = json.loads(MODELS_0_1_0.read_text())
    del models[section][name]
    synced = _sync(str(_write(tmp_path / "models.json", models)))
    assert (synced.returncode, synced.stdout.splitlines()) == (1, [reported, NOT_COMPARED])


def test_a_mirrored_enumeration_is_compared_by_its_values(tmp_path: Path) -> None:
    models: Json = json.loads(MODELS_0_1_0.read_text())
    models["enums"]["PressureLevel"] = ["none", "low", "medium", "high", "severe"]
    synced = _sync(str(_write(tmp_path / "models.json", models)))
    assert (synced.returncode, synced.stdout.splitlines()) == (
        1,
        [
            "PressureLevel: values added in the conductor: severe",
            "PressureLevel: values no longer in the conductor: critical",
            NOT_COMPARED,
        ],
    )


def test_write_changes_nothing_when_in_step() -> None:
    document = _schema()
    protocol = from_document(copy.deepcopy(document))
    models = read_models(MODELS_0_1_0, protocol)
    assert write(copy.deepcopy(document), protocol, models) == document


def _changed_models(tmp_path: Path, change: str) -> Path:
    models: Json = json.loads(MODELS_0_1_0.read_text())
    sheet = models["models"]["SheetState"]
    for mode in ("serialization", "validation"):
        if change == "default":
            sheet[mode]["properties"]["max_retries"]["default"] = 5
        elif change == "required":
            sheet[mode]["required"].append("attempt_count")
            del sheet[mode]["properties"]["attempt_count"]["default"]
    return _write(tmp_path / "models.json", models)


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (
            "default",
            "SheetState.max_retries: default 3 here, default 5 in the conductor's model",
        ),
        (
            "required",
            "SheetState.attempt_count: optional here, required in the conductor's model",
        ),
    ],
)
def test_defaults_and_required_fields_are_compared(
    tmp_path: Path, change: str, reported: str
) -> None:
    synced = _sync(str(_changed_models(tmp_path, change)))
    assert (synced.returncode, synced.stdout.splitlines()) == (1, [reported, NOT_COMPARED])


def test_an_unreadable_models_file_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "models.json"
    broken.write_text("{", encoding="utf-8")
    synced = _sync(str(broken))
    assert synced.returncode == 2
    assert synced.stderr.startswith("schema sync: ")


# --- a newer conductor ----------------------------------------------------------------------------


def test_docs_are_dropped_but_fields_named_description_kept() -> None:
    dumped = {
        "title": "Pattern",
        "description": "A pattern.",
        "properties": {
            "description": {"title": "Description", "type": "string"},
            "meta": {"type": "object", "default": {"description": "kept: data"}},
        },
    }
    assert without_docs(dumped) == {
        "properties": {
            "description": {"type": "string"},
            "meta": {"type": "object", "default": {"description": "kept: data"}},
        }
    }


@pytest.fixture
def newer(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the schema mirroring the stand-in's models, and the models file it dumps."""
    document = _schema()
    for name, component in document["components"]["schemas"].items():
        if name not in NEWER_MODELS | NEWER_ENUMS:
            component.pop("x-source", None)
    schema_path = _write(tmp_path / "marianne.openrpc.json", document)
    env = {**os.environ, "PYTHONPATH": str(NEWER_CONDUCTOR)}
    dumped = _run("codegen/conductor_models.py", "--schema", str(schema_path), env=env)
    assert dumped.returncode == 0, dumped.stderr
    models_path = tmp_path / "models.json"
    models_path.write_text(dumped.stdout, encoding="utf-8")
    return schema_path, models_path


def test_the_script_dumps_the_models_the_schema_names(newer: tuple[Path, Path]) -> None:
    _, models_path = newer
    models = json.loads(models_path.read_text())
    assert models["conductor_version"] == "0.2.0"
    assert set(models["models"]) == NEWER_MODELS
    assert models["enums"]["DaemonJobStatus"][-2:] == ["pending", "archived"]
    assert models["models"]["JobResponse"]["source"] == "marianne.daemon.types.JobResponse"
    assert models["models"]["DaemonStatus"]["validation"]["required"] == [
        "pid",
        "uptime_seconds",
        "running_jobs",
        "memory_usage_mb",
        "version",
        "build",
    ]


NEWER_DRIFT = [
    "DaemonStatus.total_jobs_active: not in the conductor's model (removed there)",
    "DaemonStatus.build: added in the conductor's model: string, required",
    "DaemonStatus.uptime_seconds: type number here, integer there",
    "DaemonJobStatus: values added in the conductor: archived",
    "JobResponseStatus: values added in the conductor: deferred",
]


def test_a_newer_conductor_is_reported_field_by_field(newer: tuple[Path, Path]) -> None:
    schema_path, models_path = newer
    synced = _sync(str(models_path), "--schema", str(schema_path))
    assert synced.returncode == 1
    assert synced.stdout.splitlines() == [*NEWER_DRIFT, NOT_COMPARED]


def test_write_brings_the_schema_in_step_and_diff_classifies_it(
    newer: tuple[Path, Path], tmp_path: Path
) -> None:
    schema_path, models_path = newer
    before = json.loads(schema_path.read_text())

    written = _sync(str(models_path), "--schema", str(schema_path), "--write")

    assert written.returncode == 1
    assert written.stdout.splitlines()[:-1] == [*NEWER_DRIFT, NOT_COMPARED]
    assert _sync(str(models_path), "--schema", str(schema_path)).returncode == 0
    after = json.loads(schema_path.read_text())
    status_before = before["components"]["schemas"]["DaemonStatus"]
    status_after = after["components"]["schemas"]["DaemonStatus"]
    # Our descriptions and extensions stay; only what the conductor changed moves.
    assert status_after["x-source"] == status_before["x-source"]
    assert status_after["description"] == status_before["description"]
    assert (
        status_after["properties"]["uptime_seconds"]["description"]
        == status_before["properties"]["uptime_seconds"]["description"]
    )
    assert status_after["properties"]["uptime_seconds"]["type"] == "integer"
    assert "total_jobs_active" not in status_after["required"]
    assert "build" in status_after["required"]

    old_path = _write(tmp_path / "old.json", before)
    diffed = _run("-m", "codegen", "diff", str(old_path), str(schema_path), "--json")
    assert diffed.returncode == 1  # breaking changes
    changes = {(c["kind"], c["severity"], c["type"], c["field"]) for c in json.loads(diffed.stdout)}
    assert changes == {
        ("field-removed", "breaking", "DaemonStatus", "total_jobs_active"),
        ("field-type-narrowed", "breaking", "DaemonStatus", "uptime_seconds"),
        ("field-added-required", "compatible", "DaemonStatus", "build"),
        ("known-value-added", "compatible", "DaemonJobStatus", "archived"),
        ("known-value-added", "compatible", "JobResponseStatus", "deferred"),
    }

    out = tmp_path / "regenerated"
    generated = _run("-m", "codegen", "generate", "--schema", str(schema_path), "--out", str(out))
    assert generated.returncode == 0, generated.stderr
    models = (out / "models.py").read_text()
    assert "build: str" in models
    assert "total_jobs_active" not in models
