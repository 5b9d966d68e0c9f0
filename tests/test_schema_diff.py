"""``codegen.diff``: every kind of schema change, classified, through the API and the CLI."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codegen.diff import Change, diff_protocols, main, summarize_against_git
from codegen.model import from_document
from codegen.schema import validate

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "marianne.openrpc.json"


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(name: str) -> Json:
    return {"$ref": f"#/components/errors/{name}"}


def _param(name: str, schema: Json, *, required: bool = False) -> Json:
    return {"name": name, "required": required, "schema": schema}


@pytest.fixture
def document() -> Json:
    """A fresh copy of the real schema, for each test to change as it likes."""
    loaded: Json = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def _method_of(doc: Json, name: str) -> Json:
    return next(method for method in doc["methods"] if method["name"] == name)


def _param_of(doc: Json, method: str, name: str) -> Json:
    return next(param for param in _method_of(doc, method)["params"] if param["name"] == name)


def _component(doc: Json, name: str) -> Json:
    schema: Json = doc["components"]["schemas"][name]
    return schema


Mutation = Callable[[Json], None]
Expected = list[tuple[str, str, str]]  # (kind, severity, location)


def _row(change_id: str, mutate: Mutation, *expected: tuple[str, str, str]) -> Any:
    return pytest.param(mutate, list(expected), id=change_id)


def _add_method(doc: Json) -> None:
    added = copy.deepcopy(_method_of(doc, "daemon.health"))
    added.update({"name": "daemon.version", "x-python-name": "get_version"})
    doc["methods"].append(added)


def _remove_method(doc: Json) -> None:
    doc["methods"].remove(_method_of(doc, "job.resume"))


def _rename_wrapper(doc: Json) -> None:
    _method_of(doc, "job.status")["x-python-name"] = "job_status"


def _add_param(method: str, *, required: bool) -> Mutation:
    def mutate(doc: Json) -> None:
        since = _param("since", {"type": "number"}, required=required)
        if not required:
            since["schema"]["default"] = 0
        _method_of(doc, method)["params"].append(since)

    return mutate


def _remove_param(doc: Json) -> None:
    # limit is the last param, so no other param changes position.
    _method_of(doc, "job.history")["params"].remove(_param_of(doc, "job.history", "limit"))


def _set_param_type(method: str, param: str, schema: Json) -> Mutation:
    def mutate(doc: Json) -> None:
        target = _param_of(doc, method, param)
        target["schema"] = {**schema, "default": target["schema"]["default"]}

    return mutate


def _require_param(doc: Json) -> None:
    target = _param_of(doc, "daemon.events", "limit")
    target["required"] = True
    del target["schema"]["default"]


def _unrequire_param(doc: Json) -> None:
    target = _param_of(doc, "job.status", "job_id")
    target["required"] = False
    target["schema"]["default"] = ""


def _change_default(doc: Json) -> None:
    _param_of(doc, "job.history", "limit")["schema"]["default"] = 20


def _swap_params(doc: Json) -> None:
    params = _method_of(doc, "job.clear")["params"]
    params[1], params[2] = params[2], params[1]


def _change_params_struct(doc: Json) -> None:
    struct = {**_component(doc, "JobRequest"), "title": "SubmitRequest"}
    doc["components"]["schemas"]["SubmitRequest"] = struct
    _method_of(doc, "job.submit")["x-params-struct"] = "SubmitRequest"


def _change_result(doc: Json) -> None:
    _method_of(doc, "job.clear")["result"]["schema"] = {"type": "integer"}


def _add_field(component: str, required: bool) -> Mutation:
    def mutate(doc: Json) -> None:
        target = _component(doc, component)
        target["properties"]["budget_usd"] = {"type": "number"}
        if required:
            target["required"].append("budget_usd")

    return mutate


def _remove_result_field(doc: Json) -> None:
    del _component(doc, "DaemonStatus")["properties"]["version"]
    _component(doc, "DaemonStatus")["required"].remove("version")


def _set_field_type(component: str, field: str, schema: Json) -> Mutation:
    def mutate(doc: Json) -> None:
        _component(doc, component)["properties"][field] = schema

    return mutate


def _require_result_field(doc: Json) -> None:
    _component(doc, "JobListEntry")["required"].append("completed_at")


def _unrequire_result_field(doc: Json) -> None:
    _component(doc, "DaemonStatus")["required"].remove("uptime_seconds")


def _default_result_field(doc: Json) -> None:
    _unrequire_result_field(doc)
    _component(doc, "DaemonStatus")["properties"]["uptime_seconds"]["default"] = 0.0


def _add_submit_option(*, required: bool) -> Mutation:
    """A new field of job.submit's params struct, and so a new param of job.submit."""

    def mutate(doc: Json) -> None:
        schema: Json = {"type": "number"} if required else {"type": "number", "default": 0}
        request = _component(doc, "JobRequest")
        request["properties"]["budget_usd"] = schema
        params = _method_of(doc, "job.submit")["params"]
        if required:
            request["required"].append("budget_usd")
            params.insert(1, _param("budget_usd", schema, required=True))  # after config_path
        else:
            params.append(_param("budget_usd", schema))

    return mutate


def _widen_submit_option(doc: Json) -> None:
    widened = {"type": ["number", "null"]}
    _set_field_type("JobRequest", "start_sheet", {**widened, "default": None})(doc)
    _set_param_type("job.submit", "start_sheet", widened)(doc)


def _read_and_written(doc: Json) -> None:
    # DaemonStatus becomes a param type too, and gains a required field: fine to read, not to write.
    status = _param("status", {"anyOf": [_ref("DaemonStatus"), {"type": "null"}], "default": None})
    _method_of(doc, "job.history")["params"].append(status)
    _add_field("DaemonStatus", required=True)(doc)


def _add_known_value(doc: Json) -> None:
    _component(doc, "DaemonJobStatus")["x-known-values"].append("archived")


def _remove_known_value(doc: Json) -> None:
    _component(doc, "JobResponseStatus")["x-known-values"].remove("pending")


def _make_idempotent(doc: Json) -> None:
    _method_of(doc, "job.resume")["x-idempotent"] = True


def _make_streaming(doc: Json) -> None:
    target = _method_of(doc, "daemon.status")
    target["x-streaming"] = True
    result = target.pop("result")
    target["x-notification"] = {"method": "daemon.status.changed", "schema": result["schema"]}


def _rename_notification(doc: Json) -> None:
    _method_of(doc, "daemon.monitor.stream")["x-notification"]["method"] = "monitor.events"


def _add_method_error(doc: Json) -> None:
    _method_of(doc, "job.resume")["errors"].append(_error("JOB_NOT_FOUND"))


def _remove_method_error(doc: Json) -> None:
    _method_of(doc, "job.status")["errors"].remove(_error("JOB_NOT_FOUND"))


def _add_error_code(doc: Json) -> None:
    doc["components"]["errors"]["RATE_LIMITED"] = {"code": -32006, "message": "Rate limited."}
    doc["x-error-exceptions"]["RATE_LIMITED"] = "ResourceExhaustedError"


def _remove_error_code(doc: Json) -> None:
    del doc["components"]["errors"]["WORKSPACE_NOT_FOUND"]
    del doc["x-error-exceptions"]["WORKSPACE_NOT_FOUND"]


def _change_error_class(doc: Json) -> None:
    doc["x-error-exceptions"]["JOB_NOT_FOUND"] = "DaemonError"


def _add_type(doc: Json) -> None:
    doc["components"]["schemas"]["Budget"] = {
        "type": "object",
        "title": "Budget",
        "description": "A cost budget.",
        "properties": {"limit_usd": {"type": "number"}},
        "required": ["limit_usd"],
    }


def _remove_type(doc: Json) -> None:
    del doc["components"]["schemas"]["AnomalyEventData"]


def _change_type_kind(doc: Json) -> None:
    status = _component(doc, "JobResponseStatus")
    status["type"] = "integer"
    del status["x-known-values"]


def _add_shape(doc: Json) -> None:
    shape = {"name": "finished", "when-present": "completed_at", "description": "A finished job."}
    _component(doc, "JobState")["x-shapes"].insert(2, shape)


def _remove_shape(doc: Json) -> None:
    del _component(doc, "JobState")["x-shapes"][1]


def _reorder_shapes(doc: Json) -> None:
    shapes = _component(doc, "JobState")["x-shapes"]
    shapes[0], shapes[1] = shapes[1], shapes[0]


def _change_conductor_versions(doc: Json) -> None:
    doc["info"]["x-conductor-versions"] = ">=0.1.0,<0.3"


def _edit_docs_only(doc: Json) -> None:
    _method_of(doc, "job.status")["summary"] = "Return a job's state."
    _component(doc, "JobResponse")["description"] = "The answer to a job request."


B, C, H = "breaking", "compatible", "behavioural"
NULLABLE_INT = {"anyOf": [{"type": "integer"}, {"type": "null"}]}

ROWS = [
    _row("method-added", _add_method, ("method-added", C, "daemon.version")),
    _row("method-removed", _remove_method, ("method-removed", B, "job.resume")),
    _row("python-name", _rename_wrapper, ("python-name-changed", B, "job.status")),
    _row(
        "param-added-optional",
        _add_param("job.history", required=False),
        ("param-added-optional", C, "job.history(since)"),
    ),
    _row(
        "param-added-required",
        _add_param("daemon.status", required=True),
        ("param-added-required", B, "daemon.status(since)"),
    ),
    _row("param-removed", _remove_param, ("param-removed", B, "job.history(limit)")),
    _row(
        "param-narrowed",
        _set_param_type("job.clear", "older_than_seconds", NULLABLE_INT),
        ("param-type-narrowed", B, "job.clear(older_than_seconds)"),
    ),
    _row(
        "param-widened",
        _set_param_type("job.history", "limit", {"type": ["number", "null"]}),
        ("param-type-widened", C, "job.history(limit)"),
    ),
    _row(
        "param-changed",
        _set_param_type("job.status", "workspace", {"type": ["boolean", "null"]}),
        ("param-type-changed", B, "job.status(workspace)"),
    ),
    _row(
        "param-array-items-widened",
        _set_param_type(
            "job.clear",
            "job_ids",
            {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
        ),
        ("param-type-widened", C, "job.clear(job_ids)"),
    ),
    _row(
        "param-string-to-date-time",
        _set_param_type(
            "job.status",
            "workspace",
            {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        ),
        ("param-type-changed", B, "job.status(workspace)"),
    ),
    _row("param-now-required", _require_param, ("param-now-required", B, "daemon.events(limit)")),
    _row("param-now-defaulted", _unrequire_param, ("param-now-defaulted", C, "job.status(job_id)")),
    _row("param-default", _change_default, ("param-default-changed", H, "job.history(limit)")),
    _row(
        "param-moved",
        _swap_params,
        ("param-moved", B, "job.clear(older_than_seconds)"),
        ("param-moved", B, "job.clear(job_ids)"),
    ),
    _row(
        "params-struct",
        _change_params_struct,
        ("params-struct-changed", B, "job.submit"),
        ("type-added", C, "SubmitRequest"),
    ),
    _row("result-type", _change_result, ("result-type-changed", B, "job.clear")),
    _row(
        "field-added-optional",
        _add_field("DaemonStatus", required=False),
        ("field-added-optional", C, "DaemonStatus.budget_usd"),
    ),
    _row(
        "field-added-required",
        _add_field("DaemonStatus", required=True),
        ("field-added-required", C, "DaemonStatus.budget_usd"),
    ),
    _row("field-removed", _remove_result_field, ("field-removed", B, "DaemonStatus.version")),
    _row(
        "field-int-to-number",
        _set_field_type("DaemonStatus", "pid", {"type": "number"}),
        ("field-type-widened", B, "DaemonStatus.pid"),
    ),
    _row(
        "field-gains-null",
        _set_field_type("JobResponse", "job_id", {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ("field-type-widened", B, "JobResponse.job_id"),
    ),
    _row(
        "field-loses-null",
        _set_field_type("HistoryRecord", "exit_code", {"type": "integer"}),
        ("field-type-narrowed", B, "HistoryRecord.exit_code"),
    ),
    _row(
        "field-map-values",
        _set_field_type(
            "RateLimitsResult",
            "backends",
            {"type": "object", "additionalProperties": {"type": "number"}},
        ),
        ("field-type-changed", B, "RateLimitsResult.backends"),
    ),
    _row(
        "field-date-time-to-epoch",
        _set_field_type("HistoryRecord", "executed_at", {"type": "number"}),
        ("field-type-changed", B, "HistoryRecord.executed_at"),
    ),
    _row(
        "field-ref-changed",
        _set_field_type("JobResponse", "status", _ref("DaemonJobStatus")),
        ("field-type-changed", B, "JobResponse.status"),
    ),
    _row(
        "field-now-required",
        _require_result_field,
        ("field-now-required", C, "JobListEntry.completed_at"),
    ),
    _row(
        "field-now-optional",
        _unrequire_result_field,
        ("field-now-optional", B, "DaemonStatus.uptime_seconds"),
    ),
    _row(
        "field-now-defaulted",
        _default_result_field,
        ("field-now-defaulted", C, "DaemonStatus.uptime_seconds"),
    ),
    _row(
        "struct-field-optional",
        _add_submit_option(required=False),
        ("field-added-optional", C, "JobRequest.budget_usd"),
    ),
    _row(
        "struct-field-required",
        _add_submit_option(required=True),
        ("field-added-required", B, "JobRequest.budget_usd"),
    ),
    _row(
        "struct-field-widened",
        _widen_submit_option,
        ("field-type-widened", C, "JobRequest.start_sheet"),
    ),
    _row(
        "read-and-written",
        _read_and_written,
        ("field-added-required", B, "DaemonStatus.budget_usd"),
        ("param-added-optional", C, "job.history(status)"),
    ),
    _row(
        "known-value-added", _add_known_value, ("known-value-added", C, "DaemonJobStatus.archived")
    ),
    _row(
        "known-value-removed",
        _remove_known_value,
        ("known-value-removed", B, "JobResponseStatus.pending"),
    ),
    _row("idempotent", _make_idempotent, ("idempotent-changed", H, "job.resume")),
    _row("streaming", _make_streaming, ("streaming-changed", B, "daemon.status")),
    _row(
        "notification", _rename_notification, ("notification-changed", B, "daemon.monitor.stream")
    ),
    _row("error-added", _add_method_error, ("error-added", C, "job.resume")),
    _row("error-removed", _remove_method_error, ("error-removed", C, "job.status")),
    _row("error-code-added", _add_error_code, ("error-code-added", C, "schema")),
    _row("error-code-removed", _remove_error_code, ("error-code-removed", B, "schema")),
    _row("error-class", _change_error_class, ("error-class-changed", B, "schema")),
    _row("type-added", _add_type, ("type-added", C, "Budget")),
    _row("type-removed", _remove_type, ("type-removed", B, "AnomalyEventData")),
    _row("type-kind", _change_type_kind, ("type-changed", B, "JobResponseStatus")),
    _row("shape-added", _add_shape, ("shape-added", C, "JobState")),
    _row("shape-removed", _remove_shape, ("shape-removed", B, "JobState")),
    _row("shape-order", _reorder_shapes, ("shape-detection-changed", B, "JobState")),
    _row(
        "conductor-versions",
        _change_conductor_versions,
        ("conductor-versions-changed", H, "schema"),
    ),
    _row("docs-only", _edit_docs_only),
]


def diff_documents(old: Json, new: Json) -> list[Change]:
    return diff_protocols(from_document(old), from_document(new))


def _changed(document: Json, mutate: Mutation) -> Json:
    new = copy.deepcopy(document)
    mutate(new)
    return new


def _write(path: Path, doc: Json) -> Path:
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("mutate", "expected"), ROWS)
def test_each_row_is_a_schema_the_generator_accepts(
    document: Json, mutate: Mutation, expected: Expected
) -> None:
    validate(_changed(document, mutate))


@pytest.mark.parametrize(("mutate", "expected"), ROWS)
def test_each_change_is_classified(document: Json, mutate: Mutation, expected: Expected) -> None:
    changes = diff_documents(document, _changed(document, mutate))

    assert sorted((c.kind, c.severity, c.location()) for c in changes) == sorted(expected)


@pytest.mark.parametrize(("mutate", "expected"), ROWS)
def test_cli_exit_status_and_json(
    document: Json,
    mutate: Mutation,
    expected: Expected,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = _write(tmp_path / "old.json", document)
    new = _write(tmp_path / "new.json", _changed(document, mutate))

    status = main([str(old), str(new), "--json"])

    reported = json.loads(capsys.readouterr().out)
    assert status == (1 if any(severity == B for _, severity, _ in expected) else 0)
    assert sorted((c["kind"], c["severity"]) for c in reported) == sorted(
        (k, s) for k, s, _ in expected
    )
    assert all(
        set(c) >= {"kind", "severity", "method", "type", "field", "detail"} for c in reported
    )


def test_identical_documents_have_no_differences(
    document: Json, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "schema.json", document)

    assert diff_documents(document, copy.deepcopy(document)) == []
    assert main([str(path), str(path)]) == 0
    assert capsys.readouterr().out == "no differences\n"


def test_component_change_is_reported_once_with_its_users(document: Json) -> None:
    changes = diff_documents(document, _changed(document, _remove_known_value))

    (change,) = changes
    assert (change.type, change.field, change.method) == ("JobResponseStatus", "pending", None)
    assert change.used_by == ("job.modify", "job.resume", "job.submit")


def test_human_output_lists_breaking_changes_first(
    document: Json, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def mutate(doc: Json) -> None:
        _add_method(doc)
        _make_idempotent(doc)
        _remove_known_value(doc)

    old = _write(tmp_path / "old.json", document)
    new = _write(tmp_path / "new.json", _changed(document, mutate))

    assert main([str(old), str(new)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "schema changes: 1 breaking, 1 behavioural, 1 compatible",
        "  breaking    JobResponseStatus.pending: known value removed"
        " [used by job.modify, job.resume, job.submit]",
        "  behavioural job.resume: now idempotent: retried after a connection loss",
        "  compatible  daemon.version: method added (get_version)",
    ]


@pytest.mark.parametrize(
    "arguments",
    [["only-one.json"], ["a.json", "b.json", "c.json"], ["--git-ref", "HEAD", "a", "b"]],
)
def test_cli_rejects_wrong_arity(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2


def test_cli_reports_unreadable_documents(
    document: Json, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "good.json", document)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")

    assert main([str(good), str(broken)]) == 2
    assert main([str(good), str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.count("schema diff: ") == 2


# --- against git ---------------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def committed_schema(document: Json, tmp_path: Path) -> Path:
    """A repository in tmp_path whose HEAD holds ``schema/marianne.openrpc.json``."""
    _git(tmp_path, "init", "--quiet")
    path = tmp_path / "schema" / "marianne.openrpc.json"
    path.parent.mkdir()
    _write(path, document)
    _git(tmp_path, "add", "schema/marianne.openrpc.json")
    _git(tmp_path, "commit", "--quiet", "-m", "schema")
    return path


@needs_git
def test_git_ref_compares_the_working_copy_with_the_commit(
    document: Json, committed_schema: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(committed_schema, _changed(document, _remove_method))

    assert main(["--git-ref", "HEAD", str(committed_schema), "--json"]) == 1
    (change,) = json.loads(capsys.readouterr().out)
    assert (change["kind"], change["severity"], change["method"]) == (
        "method-removed",
        B,
        "job.resume",
    )


@needs_git
def test_summary_against_git(document: Json, committed_schema: Path) -> None:
    assert summarize_against_git(committed_schema) == "schema unchanged since HEAD"

    _write(committed_schema, _changed(document, _add_method))
    assert summarize_against_git(committed_schema).splitlines() == [
        "schema changes since HEAD: 1 compatible",
        "  compatible  daemon.version: method added (get_version)",
    ]

    _write(committed_schema, _changed(document, _edit_docs_only))
    assert summarize_against_git(committed_schema) == "no differences since HEAD"


@needs_git
def test_a_schema_not_committed_gives_a_note(
    document: Json,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Keep git from finding a repository above tmp_path.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    path = _write(tmp_path / "schema.json", document)
    assert summarize_against_git(path).startswith("schema diff skipped: ")

    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "commit", "--quiet", "--allow-empty", "-m", "nothing yet")
    assert summarize_against_git(path).startswith("schema diff skipped: ")
    assert summarize_against_git(path, ref="no-such-ref").startswith("schema diff skipped: ")
    assert main(["--git-ref", "HEAD", str(path)]) == 2
    assert "schema diff: " in capsys.readouterr().err


@needs_git
def test_this_repository_schema_matches_head(capsys: pytest.CaptureFixture[str]) -> None:
    relative = SCHEMA_PATH.relative_to(ROOT).as_posix()
    try:
        unchanged = (
            subprocess.run(
                ["git", "diff", "--quiet", "HEAD", "--", relative], cwd=ROOT, check=False
            ).returncode
            == 0
        )
        committed = _git(ROOT, "ls-files", "--", relative).strip() == relative
    except subprocess.CalledProcessError:
        pytest.skip("not a git checkout")
    if not (committed and unchanged):
        pytest.skip("the schema is not committed, or is being edited")

    assert main(["--git-ref", "HEAD", str(SCHEMA_PATH)]) == 0
    assert capsys.readouterr().out == "no differences since HEAD\n"
