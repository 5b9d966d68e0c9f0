"""Loading and validating the OpenRPC document.

Validation has two parts: the OpenRPC 1.3 meta-schema (from offline copies, the
machines that run this have no network), then the profile rules of
``schema/README.md`` that the generator relies on. Both fail with a
:class:`SchemaError` naming the JSON path of the offending node.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

import marianne_sdk._errors as sdk_errors

METASCHEMA_DIR = Path(__file__).parent / "metaschema"
SCHEMA_REF_PREFIX = "#/components/schemas/"
ERROR_REF_PREFIX = "#/components/errors/"

Json = dict[str, Any]


class SchemaError(Exception):
    """The schema breaks the meta-schema or a profile rule."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def load(path: Path) -> Json:
    """Read and validate the document at ``path``."""
    document: Json = json.loads(path.read_text(encoding="utf-8"))
    validate(document)
    return document


def validate(document: Json) -> None:
    """Raise :class:`SchemaError` unless ``document`` is a valid schema of this profile."""
    _validate_against_metaschema(document)
    _ProfileChecker(document).check()


def _validate_against_metaschema(document: Json) -> None:
    openrpc_meta = json.loads((METASCHEMA_DIR / "openrpc-1.3.schema.json").read_text())
    json_schema_meta = json.loads(
        (METASCHEMA_DIR / "json-schema-tools-meta-schema.json").read_text()
    )
    resource = referencing.Resource.from_contents(
        json_schema_meta, default_specification=referencing.jsonschema.DRAFT7
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        [
            ("https://meta.json-schema.tools", resource),
            ("https://meta.json-schema.tools/", resource),
        ]
    )
    validator = jsonschema.Draft7Validator(openrpc_meta, registry=registry)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise SchemaError(error.json_path, error.message)


def resolve(document: Json, schema: Json) -> Json:
    """Follow a ``$ref`` into ``components.schemas`` (one level)."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return dict(document["components"]["schemas"][ref.removeprefix(SCHEMA_REF_PREFIX)])


def is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


class _ProfileChecker:
    def __init__(self, document: Json) -> None:
        self.document = document
        self.components: Mapping[str, Json] = document.get("components", {}).get("schemas", {})

    def check(self) -> None:
        self._check_components()
        self._check_errors()
        python_names: dict[str, str] = {}
        for index, method in enumerate(self.document["methods"]):
            path = f"$.methods[{index}]"
            if "$ref" in method:
                raise SchemaError(path, "methods must be written inline, not referenced")
            self._check_method(path, method)
            name = method["x-python-name"]
            if name in python_names:
                raise SchemaError(
                    f"{path}.x-python-name", f"{name!r} is also used by {python_names[name]}"
                )
            python_names[name] = method["name"]

    def _check_method(self, path: str, method: Json) -> None:
        if not isinstance(method.get("x-python-name"), str):
            raise SchemaError(f"{path}.x-python-name", "required, must be a str")
        # Optional flags: the generator reads an absent one as false.
        for flag in ("x-idempotent", "x-streaming"):
            if not isinstance(method.get(flag, False), bool):
                raise SchemaError(f"{path}.{flag}", "must be a boolean")
        if not is_identifier(method["x-python-name"]):
            raise SchemaError(f"{path}.x-python-name", "must be a Python identifier")
        # Absent means by name here: the conductor takes no positional params.
        if method.get("paramStructure", "by-name") != "by-name":
            raise SchemaError(f"{path}.paramStructure", 'must be "by-name" when given')
        seen_optional = False
        for index, param in enumerate(method["params"]):
            param_path = f"{path}.params[{index}]"
            if "$ref" in param:
                raise SchemaError(param_path, "params must be written inline, not referenced")
            if not is_identifier(param["name"]):
                raise SchemaError(f"{param_path}.name", "must be a Python identifier")
            if param.get("required", False):
                if seen_optional:
                    raise SchemaError(param_path, "a required param may not follow an optional one")
            else:
                seen_optional = True
            default = param["schema"].get("default")
            if isinstance(default, list | dict) and default:
                # A Struct default must be immutable or empty: msgspec copies only empties.
                raise SchemaError(f"{param_path}.schema.default", "must be a scalar, [] or {}")
            self._check_schema(f"{param_path}.schema", param["schema"])
        if method.get("x-streaming", False):
            notification = method.get("x-notification")
            if not isinstance(notification, dict) or not isinstance(
                notification.get("method"), str
            ):
                raise SchemaError(
                    f"{path}.x-notification", "streaming methods need {method, schema}"
                )
            self._check_schema(f"{path}.x-notification.schema", notification.get("schema", {}))
            if "result" in method:
                raise SchemaError(f"{path}.result", "a streaming method has no result")
        else:
            if "x-notification" in method:
                raise SchemaError(f"{path}.x-notification", "only streaming methods notify")
            if "result" not in method or "$ref" in method["result"]:
                raise SchemaError(f"{path}.result", "required, written inline")
            self._check_schema(f"{path}.result.schema", method["result"]["schema"])
        struct_name = method.get("x-params-struct")
        if struct_name is not None:
            struct = self.components.get(struct_name)
            if struct is None:
                raise SchemaError(f"{path}.x-params-struct", f"no component {struct_name!r}")
            if set(struct.get("properties", {})) != {p["name"] for p in method["params"]}:
                raise SchemaError(
                    f"{path}.x-params-struct", f"{struct_name}'s fields differ from the params"
                )
        for index, error in enumerate(method.get("errors", [])):
            ref = error.get("$ref", "")
            if ref.removeprefix(ERROR_REF_PREFIX) not in self.document["components"].get(
                "errors", {}
            ):
                raise SchemaError(f"{path}.errors[{index}]", "must reference components.errors")

    def _check_components(self) -> None:
        for name, schema in self.components.items():
            path = f"$.components.schemas.{name}"
            if not is_identifier(name):
                raise SchemaError(path, "component names must be Python identifiers")
            if schema.get("title") != name:
                raise SchemaError(f"{path}.title", "must equal the component's key")
            if not isinstance(schema.get("x-source", ""), str):
                raise SchemaError(f"{path}.x-source", "must be a module path")
            if "x-known-values" in schema and schema.get("type") != "string":
                raise SchemaError(f"{path}.x-known-values", "only string schemas have known values")
            if "x-shapes" in schema:
                self._check_shapes(f"{path}.x-shapes", schema)
            self._check_schema(path, schema)

    def _check_shapes(self, path: str, schema: Json) -> None:
        shapes = schema["x-shapes"]
        properties = schema.get("properties", {})
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise SchemaError(path, "must list at least two shapes")
        for index, shape in enumerate(shapes):
            shape_path = f"{path}[{index}]"
            if not is_identifier(shape.get("name", "")):
                raise SchemaError(f"{shape_path}.name", "must be an identifier")
            field = shape.get("when-present")
            last = index == len(shapes) - 1
            if last and field is not None:
                raise SchemaError(f"{shape_path}.when-present", "the last shape is the fallback")
            if not last and (field not in properties or not is_identifier(field)):
                raise SchemaError(f"{shape_path}.when-present", "must name a property")
            if not last and field in schema.get("required", []):
                raise SchemaError(
                    f"{shape_path}.when-present", "a required field cannot tell shapes apart"
                )

    def _check_errors(self) -> None:
        errors = self.document.get("components", {}).get("errors", {})
        exceptions = self.document.get("x-error-exceptions", {})
        for name in errors:
            class_name = exceptions.get(name)
            exception = getattr(sdk_errors, str(class_name), None)
            if not (isinstance(exception, type) and issubclass(exception, sdk_errors.DaemonError)):
                raise SchemaError(
                    f"$.x-error-exceptions.{name}", "must name a DaemonError class of the SDK"
                )

    def _check_schema(self, path: str, schema: Any) -> None:
        """Reject unions msgspec cannot decode untagged, anywhere in ``schema``."""
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if ref is not None and ref.removeprefix(SCHEMA_REF_PREFIX) not in self.components:
            raise SchemaError(f"{path}.$ref", f"unknown component {ref!r}")
        for key in ("anyOf", "oneOf"):
            if key in schema:
                self._check_union(f"{path}.{key}", schema[key])
        if isinstance(schema.get("type"), list):
            self._check_union(f"{path}.type", [{"type": t} for t in schema["type"]])
        for key, child_path in _children(schema, path):
            self._check_schema(child_path, key)

    def _check_union(self, path: str, members: list[Json]) -> None:
        kinds = [self._kind(member) for member in members]
        for kind in set(kinds):
            if kind != "number" and kinds.count(kind) > 1:
                raise SchemaError(
                    path, f"union of several {kind} types: msgspec cannot decode it untagged"
                )

    def _kind(self, schema: Json) -> str:
        """The JSON kind msgspec tells union members apart by."""
        if "$ref" in schema:
            return self._kind(resolve(self.document, schema))
        kind = schema.get("type", "any")
        if kind == "integer":
            return "number"
        return str(kind) if isinstance(kind, str) else "any"


def _children(schema: Json, path: str) -> Iterator[tuple[Any, str]]:
    for name, child in schema.get("properties", {}).items():
        yield child, f"{path}.properties.{name}"
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield schema[key], f"{path}.{key}"
    for key in ("anyOf", "oneOf", "allOf"):
        for index, child in enumerate(schema.get(key, [])):
            yield child, f"{path}.{key}[{index}]"
