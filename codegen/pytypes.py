"""Python annotations for the schemas our own templates render (params and results).

The models themselves are rendered by datamodel-code-generator; this covers the
small subset of JSON Schema that method params and result descriptors use.
"""

from __future__ import annotations

from typing import Any

from .schema import SCHEMA_REF_PREFIX

_PRIMITIVES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
}


def annotation(schema: dict[str, Any], models: str = "models") -> str:
    """The annotation of values of ``schema``; components are ``{models}.Name``."""
    members = _union_members(schema, models)
    # None last, duplicates once: `str | None`, as a person would write it.
    ordered = [m for m in dict.fromkeys(members) if m != "None"]
    if "None" in members:
        ordered.append("None")
    return " | ".join(ordered)


def _union_members(schema: dict[str, Any], models: str) -> list[str]:
    if "$ref" in schema:
        return [f"{models}.{schema['$ref'].removeprefix(SCHEMA_REF_PREFIX)}"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [m for member in schema[key] for m in _union_members(member, models)]
    kind = schema.get("type")
    if isinstance(kind, list):
        return [m for k in kind for m in _union_members({**schema, "type": k}, models)]
    if kind == "string" and schema.get("format") == "date-time":
        return ["datetime.datetime"]
    if kind == "array":
        return [f"list[{annotation(schema.get('items', {}), models)}]"]
    if kind == "object":
        values = schema.get("additionalProperties")
        value = annotation(values, models) if isinstance(values, dict) else "Any"
        return [f"dict[str, {value}]"]
    if kind in _PRIMITIVES:
        return [_PRIMITIVES[kind]]
    return ["Any"]
