"""Real conductor responses decode into the generated types, whole and typed."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest

from codegen import model
from marianne_sdk import METHODS

RECORDINGS = Path(__file__).parent / "data" / "conductor-session.ndjson"


def _exchanges() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDINGS.read_text().splitlines() if line.strip()]


def _results() -> list[tuple[str, Any]]:
    return [
        (exchange["request"]["method"], exchange["response"]["result"])
        for exchange in _exchanges()
        if "result" in exchange["response"]
    ]


def _ids(items: list[tuple[str, Any]]) -> list[str]:
    return [f"{index}-{method}" for index, (method, _) in enumerate(items)]


RESULTS = _results()


def test_recordings_cover_most_methods() -> None:
    assert len({method for method, _ in RESULTS}) >= 20


@pytest.mark.parametrize(("method", "result"), RESULTS, ids=_ids(RESULTS))
def test_recorded_result_decodes_typed(method: str, result: Any) -> None:
    result_type = METHODS[method].result_type
    decoded = msgspec.convert(result, result_type)
    assert _is_typed(decoded)


@pytest.mark.parametrize(("method", "result"), RESULTS, ids=_ids(RESULTS))
def test_recorded_result_decodes_from_json_bytes(method: str, result: Any) -> None:
    decoded = msgspec.json.decode(json.dumps(result).encode(), type=METHODS[method].result_type)
    assert decoded == msgspec.convert(result, METHODS[method].result_type)


@pytest.mark.parametrize(("method", "result"), RESULTS, ids=_ids(RESULTS))
def test_reencoding_gives_back_every_modelled_field(method: str, result: Any) -> None:
    decoded = msgspec.convert(result, METHODS[method].result_type)
    _assert_same(msgspec.to_builtins(decoded), result, path=method)


def _is_typed(value: Any) -> bool:
    """The result is a Struct, or a list of Structs: typed, not a bag of dicts."""
    if isinstance(value, list):
        return all(isinstance(item, msgspec.Struct) for item in value)
    return isinstance(value, msgspec.Struct)


def _assert_same(encoded: Any, recorded: Any, path: str) -> None:
    """Every field we encode equals the recorded one (fields we do not model are skipped)."""
    if isinstance(encoded, dict):
        assert isinstance(recorded, dict), path
        for key, value in encoded.items():
            assert key in recorded, f"{path}.{key} was not in the recording"
            _assert_same(value, recorded[key], f"{path}.{key}")
    elif isinstance(encoded, list):
        assert isinstance(recorded, list), path
        assert len(encoded) == len(recorded), path
        for index, (item, recorded_item) in enumerate(zip(encoded, recorded, strict=True)):
            _assert_same(item, recorded_item, f"{path}[{index}]")
    elif isinstance(encoded, str) and isinstance(recorded, str) and encoded != recorded:
        # A datetime re-encodes in msgspec's canonical form (`Z` for `+00:00`).
        assert _instant(encoded) == _instant(recorded), path
    elif isinstance(encoded, float) or isinstance(recorded, float):
        assert math.isclose(encoded, recorded), path
    else:
        assert encoded == recorded, path


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


REQUESTS = [
    (exchange["request"]["method"], exchange["request"].get("params") or {})
    for exchange in _exchanges()
    if "result" in exchange["response"]
]


@pytest.mark.parametrize(("method", "params"), REQUESTS, ids=_ids(REQUESTS))
def test_recorded_params_convert_into_params_type(method: str, params: dict[str, Any]) -> None:
    converted = msgspec.convert(params, METHODS[method].params_type)
    assert isinstance(converted, METHODS[method].params_type)


def test_the_recorded_invalid_params_are_refused_by_the_params_type() -> None:
    refused = [
        exchange["request"]
        for exchange in _exchanges()
        if exchange["response"].get("error", {}).get("code") == -32602
    ]
    assert refused
    for request in refused:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(request.get("params") or {}, METHODS[request["method"]].params_type)


def _recorded(method: str) -> Any:
    return next(result for recorded_method, result in RESULTS if recorded_method == method)


def test_unknown_fields_are_ignored() -> None:
    status = dict(_recorded("daemon.status"), added_in_a_newer_conductor={"x": 1})
    decoded = msgspec.convert(status, METHODS["daemon.status"].result_type)
    assert decoded.pid == status["pid"]


def test_unknown_status_values_still_decode() -> None:
    checkpoint = json.loads(json.dumps(_recorded("job.status")))
    checkpoint["status"] = "hibernating"
    first_sheet = next(iter(checkpoint["sheets"].values()))
    first_sheet["status"] = "teleported"
    decoded = msgspec.convert(checkpoint, METHODS["job.status"].result_type)
    assert decoded.status == "hibernating"
    assert next(iter(decoded.sheets.values())).status == "teleported"


def test_job_status_tells_which_shape_arrived() -> None:
    result_type = METHODS["job.status"].result_type
    checkpoint = msgspec.convert(_recorded("job.status"), result_type)
    assert checkpoint.shape == "checkpoint"
    listed = _recorded("job.list")[0]
    metadata = msgspec.convert(listed, result_type)
    assert metadata.shape == "metadata"
    record = msgspec.convert(
        {**listed, "pid": None, "completed_at": None, "current_sheet": None, "total_sheets": 3},
        result_type,
    )
    assert record.shape == "record"


def test_absent_and_null_stay_distinct() -> None:
    listed = _recorded("job.list")[0]
    result_type = METHODS["job.status"].result_type
    absent = msgspec.convert({k: v for k, v in listed.items() if k != "started_at"}, result_type)
    null = msgspec.convert({**listed, "started_at": None}, result_type)
    assert absent.started_at is msgspec.UNSET
    assert null.started_at is None


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("job.status", {"job_id": 42}),
        ("job.status", {}),
        ("job.history", {"job_id": "x", "limit": None}),
        ("job.submit", {"fresh": True}),
        ("job.clear", {"statuses": "completed"}),
    ],
)
def test_invalid_params_are_refused_by_the_params_types(
    method: str, params: dict[str, Any]
) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(params, METHODS[method].params_type)


# --- data written by an older conductor ----------------------------------------------------------

SCHEMA = model.load(Path(__file__).resolve().parent.parent / "schema" / "marianne.openrpc.json")
SHEET_FIELDS_WITH_DEFAULTS = [
    field.name for field in SCHEMA.components["SheetState"].fields if not field.required
]


def _checkpoint() -> dict[str, Any]:
    checkpoint: dict[str, Any] = json.loads(json.dumps(_recorded("job.status")))
    assert "job_name" in checkpoint  # the checkpoint shape
    return checkpoint


@pytest.mark.parametrize("field_name", SHEET_FIELDS_WITH_DEFAULTS)
def test_a_sheet_lacking_a_field_with_a_default_decodes(field_name: str) -> None:
    """A checkpoint stored before the field existed decodes; absent is the schema's default."""
    checkpoint = _checkpoint()
    sheet_key = next(iter(checkpoint["sheets"]))
    del checkpoint["sheets"][sheet_key][field_name]

    decoded = msgspec.convert(checkpoint, METHODS["job.status"].result_type)

    field = SCHEMA.components["SheetState"].field(field_name)
    assert field is not None
    expected = field.default if field.has_default else msgspec.UNSET
    assert getattr(decoded.sheets[sheet_key], field_name) == expected


def test_sheet_fields_with_defaults_are_those_of_the_conductor() -> None:
    # Of SheetState's 61 fields, only sheet_num has no default in the conductor's model.
    assert len(SHEET_FIELDS_WITH_DEFAULTS) == 60
    assert "sheet_num" not in SHEET_FIELDS_WITH_DEFAULTS


def test_a_sheet_lacking_its_number_is_refused() -> None:
    checkpoint = _checkpoint()
    del next(iter(checkpoint["sheets"].values()))["sheet_num"]
    with pytest.raises(msgspec.ValidationError, match="sheet_num"):
        msgspec.convert(checkpoint, METHODS["job.status"].result_type)


def test_free_form_timestamps_decode_as_written() -> None:
    checkpoint = _checkpoint()
    checkpoint["resume_at"] = "after the rate limit"
    sheet = next(iter(checkpoint["sheets"].values()))
    sheet["validation_details"] = [{"passed": True, "checked_at": "yesterday, 14:02"}]
    sheet["progress_snapshots"] = [{"phase": "executing", "snapshot_at": "1764597731.5"}]

    decoded = msgspec.convert(checkpoint, METHODS["job.status"].result_type)

    decoded_sheet = next(iter(decoded.sheets.values()))
    assert decoded.resume_at == "after the rate limit"
    assert decoded_sheet.validation_details[0].checked_at == "yesterday, 14:02"
    assert decoded_sheet.progress_snapshots[0].snapshot_at == "1764597731.5"


@pytest.mark.parametrize("last_seen", ["2026-11-30T14:02:11.512339", "30/11/2026 14:02"])
def test_learning_pattern_last_seen_is_kept_as_sent(last_seen: str) -> None:
    pattern = {
        "id": "p1",
        "pattern_type": "retry",
        "pattern_name": "backoff",
        "description": None,
        "effectiveness_score": 0.5,
        "priority_score": 0.5,
        "occurrence_count": 3,
        "last_seen": last_seen,
        "quarantine_status": "pending",
        "trust_score": 0.5,
    }
    decoded = msgspec.convert(
        {"patterns": [pattern]}, METHODS["daemon.learning.patterns"].result_type
    )
    assert decoded.patterns[0].last_seen == last_seen
