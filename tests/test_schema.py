"""The schema is valid OpenRPC 1.3 and follows the profile the generator relies on."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codegen import schema
from codegen.model import from_document

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "marianne.openrpc.json"

Json = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Json:
    loaded: Json = json.loads(SCHEMA_PATH.read_text())
    return loaded


def test_schema_is_valid(document: Json) -> None:
    schema.validate(document)


def test_method_names_are_unique(document: Json) -> None:
    names = [method["name"] for method in document["methods"]]
    assert names
    assert len(names) == len(set(names))


def test_absent_flags_are_false(document: Json) -> None:
    method = copy.deepcopy(_method(document, "job.cancel"))
    del method["x-idempotent"], method["x-streaming"]
    method.update({"name": "job.cancel.quietly", "x-python-name": "cancel_job_quietly"})
    document = copy.deepcopy(document)
    document["methods"].append(method)
    added = from_document(document).method("job.cancel.quietly")
    assert added is not None
    assert (added.idempotent, added.streaming) == (False, False)


def test_all_protocol_error_codes_are_declared(document: Json) -> None:
    codes = {error["code"] for error in document["components"]["errors"].values()}
    assert codes == {
        -32700,
        -32600,
        -32601,
        -32602,
        -32603,
        -32000,
        -32001,
        -32002,
        -32003,
        -32004,
        -32005,
    }


def _method(document: Json, name: str) -> Json:
    return next(method for method in document["methods"] if method["name"] == name)


def _add_unknown_method_key(document: Json) -> None:
    _method(document, "job.status")["idempotent"] = True


def _idempotent_flag_not_a_boolean(document: Json) -> None:
    _method(document, "job.cancel")["x-idempotent"] = "no"


def _drop_python_name(document: Json) -> None:
    del _method(document, "daemon.health")["x-python-name"]


def _untagged_object_union(document: Json) -> None:
    _method(document, "daemon.status")["result"]["schema"] = {
        "anyOf": [
            {"$ref": "#/components/schemas/DaemonStatus"},
            {"$ref": "#/components/schemas/HealthResult"},
        ]
    }


def _two_string_kinds_in_a_component(document: Json) -> None:
    document["components"]["schemas"]["DaemonStatus"]["properties"]["version"] = {
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]
    }


def _positional_params(document: Json) -> None:
    _method(document, "job.status")["paramStructure"] = "by-position"


def _required_after_optional(document: Json) -> None:
    params = _method(document, "job.status")["params"]
    params.reverse()


def _mutable_param_default(document: Json) -> None:
    statuses = _method(document, "job.clear")["params"][0]
    statuses["schema"]["default"] = ["completed"]


def _x_source_not_a_path(document: Json) -> None:
    document["components"]["schemas"]["DaemonStatus"]["x-source"] = ["marianne", "DaemonStatus"]


def _unknown_exception_class(document: Json) -> None:
    document["x-error-exceptions"]["JOB_NOT_FOUND"] = "NoSuchError"


@pytest.mark.parametrize(
    ("mutate", "path_fragment"),
    [
        (_add_unknown_method_key, "$.methods["),
        (_idempotent_flag_not_a_boolean, "x-idempotent"),
        (_drop_python_name, "x-python-name"),
        (_untagged_object_union, "result.schema.anyOf"),
        (_two_string_kinds_in_a_component, "DaemonStatus.properties.version.anyOf"),
        (_positional_params, "paramStructure"),
        (_required_after_optional, ".params["),
        (_mutable_param_default, ".schema.default"),
        (_unknown_exception_class, "x-error-exceptions.JOB_NOT_FOUND"),
        (_x_source_not_a_path, "DaemonStatus.x-source"),
    ],
)
def test_broken_copies_are_rejected_naming_the_path(
    document: Json, mutate: Callable[[Json], None], path_fragment: str
) -> None:
    broken = copy.deepcopy(document)
    mutate(broken)
    with pytest.raises(schema.SchemaError) as raised:
        schema.validate(broken)
    assert path_fragment in raised.value.path


def test_cli_reports_the_path_of_a_broken_schema(
    document: Json, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codegen.__main__ import main

    broken = copy.deepcopy(document)
    _idempotent_flag_not_a_boolean(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert main(["check", "--schema", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "x-idempotent" in capsys.readouterr().err
