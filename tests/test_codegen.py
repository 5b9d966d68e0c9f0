"""Generation is reproducible, current, and regenerating after a protocol change works."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from codegen import generate, model

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
    check = subprocess.run(
        [sys.executable, "-m", "codegen", "check", "--schema", str(SCHEMA_PATH), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 1
    assert "registry.py" in check.stderr


def _changed_protocol(document: dict[str, Any]) -> dict[str, Any]:
    """A newer conductor: one method more, one field more on an existing type."""
    document["methods"].append(
        {
            "name": "job.archive",
            "summary": "Archive a finished job's workspace.",
            "paramStructure": "by-name",
            "params": [
                {"name": "job_id", "required": True, "schema": {"type": "string"}},
                {"name": "compress", "schema": {"type": "boolean", "default": True}},
            ],
            "result": {"name": "archive", "schema": {"$ref": "#/components/schemas/ArchiveResult"}},
            "errors": [{"$ref": "#/components/errors/JOB_NOT_FOUND"}],
            "x-python-name": "archive_job",
            "x-idempotent": False,
            "x-streaming": False,
        }
    )
    schemas = document["components"]["schemas"]
    schemas["ArchiveResult"] = {
        "title": "ArchiveResult",
        "type": "object",
        "description": "Where the archive was written.",
        "properties": {"path": {"type": "string"}, "size_bytes": {"type": "integer"}},
        "required": ["path", "size_bytes"],
    }
    status = schemas["DaemonStatus"]
    status["properties"]["build"] = {"type": "string", "description": "Build identifier."}
    status["required"].append("build")
    return document


def test_regenerating_after_a_protocol_change(tmp_path: Path) -> None:
    document = _changed_protocol(json.loads(SCHEMA_PATH.read_text()))
    changed = tmp_path / "marianne.openrpc.json"
    changed.write_text(json.dumps(document, indent=2))
    package = tmp_path / "regenerated_sdk"
    _generate(changed, package)

    sys.path.insert(0, str(tmp_path))
    try:
        registry = importlib.import_module("regenerated_sdk.registry")
        methods = importlib.import_module("regenerated_sdk.methods")
        models = importlib.import_module("regenerated_sdk.models")
    finally:
        sys.path.remove(str(tmp_path))

    archive = registry.METHODS["job.archive"]
    assert archive.python_name == "archive_job"
    assert archive.idempotent is False
    assert archive.result_type is models.ArchiveResult
    assert msgspec.convert({"job_id": "j"}, archive.params_type).compress is True
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"compress": True}, archive.params_type)
    assert callable(methods.AsyncMethods.archive_job)
    assert callable(methods.SyncMethods.archive_job)

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
        registry.METHODS["daemon.status"].result_type,
    )
    assert status.build == "abc"
