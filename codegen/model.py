"""The typed model of the schema: what generation, ``diff`` and ``sync`` read.

:func:`build` turns a validated OpenRPC document into :class:`Protocol`, once;
nothing downstream walks the raw JSON again, except datamodel-code-generator,
which takes the component schemas as JSON Schema. :class:`SchemaType` is the one
reading of a JSON Schema type: it gives the Python annotation of the generated
code (:meth:`SchemaType.annotation`) and the comparisons of the diff
(:meth:`SchemaType.accepts`).

Defaults of the optional ``x-`` flags are applied here: a method without
``x-idempotent`` is not idempotent, one without ``x-streaming`` does not stream.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import schema
from .schema import ERROR_REF_PREFIX, SCHEMA_REF_PREFIX, Json


class _NoDefault(enum.Enum):
    NO_DEFAULT = enum.auto()

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT = _NoDefault.NO_DEFAULT
"""The default of a field that has none (``None`` is the JSON ``null`` default)."""

_PRIMITIVE_ANNOTATIONS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
}


@dataclass(frozen=True)
class Kind:
    """One member of a type, as distinct as the generated Python types are.

    ``name`` is a JSON kind, ``"array"``, ``"map"`` (an object of arbitrary
    keys), ``"ref"`` (a component, by name) or ``"any"``. ``format`` is a
    string's ``format``; ``items`` the element type of an array or a map.
    """

    name: str
    format: str = ""
    ref: str = ""
    items: SchemaType | None = None

    def __str__(self) -> str:
        if self.name == "ref":
            return self.ref
        if self.name in ("array", "map"):
            return f"{self.name}[{self.items}]"
        return f"{self.name}({self.format})" if self.format else self.name

    def annotation(self, models: str) -> str:
        if self.name == "ref":
            return f"{models}.{self.ref}" if models else self.ref
        if self.name == "string" and self.format == "date-time":
            return "datetime.datetime"
        if self.name == "array":
            return f"list[{_items(self).annotation(models)}]"
        if self.name == "map":
            return f"dict[str, {_items(self).annotation(models)}]"
        return _PRIMITIVE_ANNOTATIONS.get(self.name, "Any")

    def covers(self, narrow: Kind) -> bool:
        """Whether every value of ``narrow`` is a value of this kind."""
        if self == narrow or self.name == "any":
            return True
        if self.name == "number":
            return narrow.name == "integer"  # an int is accepted where a float is (PEP 484)
        if self.name in ("array", "map") and self.name == narrow.name:
            return _items(self).accepts(_items(narrow))
        return False


def _items(kind: Kind) -> SchemaType:
    return kind.items if kind.items is not None else ANY


@dataclass(frozen=True, eq=False)
class SchemaType:
    """A union of :class:`Kind` (one member for a plain type), in the schema's order.

    Equal to another type with the same members in any order.
    """

    members: tuple[Kind, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchemaType) and frozenset(self.members) == frozenset(other.members)

    def __hash__(self) -> int:
        return hash(frozenset(self.members))

    def __str__(self) -> str:
        return " | ".join(sorted(map(str, self.members)))

    def annotation(self, models: str = "models") -> str:
        """The Python annotation; components are ``{models}.Name`` (``Name`` for ``""``).

        Members are in the schema's order, except ``None``, which comes last.
        """
        written = list(dict.fromkeys(member.annotation(models) for member in self.members))
        ordered = [text for text in written if text != "None"]
        return " | ".join(ordered + ["None"] * (len(ordered) < len(written)))

    def accepts(self, narrow: SchemaType) -> bool:
        """Whether every value of ``narrow`` is also a value of this type."""
        return all(any(w.covers(n) for w in self.members) for n in narrow.members)

    def refs(self) -> Iterator[str]:
        """The components this type names, at any depth."""
        for member in self.members:
            if member.name == "ref":
                yield member.ref
            elif member.items is not None:
                yield from member.items.refs()


ANY = SchemaType((Kind("any"),))


def type_of(value_schema: Mapping[str, Any]) -> SchemaType:
    """The type of the values a JSON Schema (of this profile) describes."""
    return SchemaType(tuple(dict.fromkeys(_kinds(value_schema))))


def _kinds(value_schema: Mapping[str, Any]) -> Iterator[Kind]:
    if "$ref" in value_schema:
        yield Kind("ref", ref=value_schema["$ref"].removeprefix(SCHEMA_REF_PREFIX))
        return
    members = value_schema.get("anyOf") or value_schema.get("oneOf")
    if members:
        for member in members:
            yield from _kinds(member)
        return
    names = value_schema.get("type")
    if names is None:
        yield Kind("any")
        return
    for name in [names] if isinstance(names, str) else names:
        if name == "string":
            yield Kind("string", format=value_schema.get("format", ""))
        elif name == "array":
            yield Kind("array", items=type_of(value_schema.get("items", {})))
        elif name == "object":
            # An inline object is a dict to the generated code; components are named by $ref.
            values = value_schema.get("additionalProperties")
            yield Kind("map", items=type_of(values if isinstance(values, dict) else {}))
        else:
            yield Kind(name)


@dataclass(frozen=True)
class Field:
    """A method param or a component property."""

    name: str
    type: SchemaType
    required: bool
    default: Any = NO_DEFAULT
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @classmethod
    def of(cls, name: str, value_schema: Mapping[str, Any], *, required: bool) -> Field:
        return cls(
            name=name,
            type=type_of(value_schema),
            required=required,
            default=value_schema.get("default", NO_DEFAULT),
            description=_text(value_schema.get("description", "")),
        )


@dataclass(frozen=True)
class Shape:
    """One shape of a result of several shapes (``x-shapes``)."""

    name: str
    when_present: str | None
    description: str


@dataclass(frozen=True)
class Component:
    """A schema of ``components.schemas``: an object's fields, or an open enum's values."""

    name: str
    description: str
    type: SchemaType
    fields: tuple[Field, ...]
    known_values: tuple[str, ...]
    shapes: tuple[Shape, ...]
    source: str | None
    """``x-source``: the conductor model this component mirrors (its module path)."""
    source_omits: tuple[str, ...] = ()
    """``x-source-omits``: fields of that model the conductor leaves out of this data."""
    not_in_source: tuple[str, ...] = ()
    """Fields marked ``x-not-in-source``: added to the model's data by the conductor's handler."""

    def field(self, name: str) -> Field | None:
        return next((field for field in self.fields if field.name == name), None)

    def refs(self) -> Iterator[str]:
        for field in self.fields:
            yield from field.type.refs()


@dataclass(frozen=True)
class ErrorCode:
    """An entry of ``components.errors`` and the exception class raised for it."""

    key: str
    code: int
    message: str
    exception: str


@dataclass(frozen=True)
class Result:
    name: str
    type: SchemaType
    description: str


@dataclass(frozen=True)
class Notification:
    method: str
    type: SchemaType


@dataclass(frozen=True)
class Method:
    name: str
    python_name: str
    summary: str
    description: str
    params: tuple[Field, ...]
    params_struct: str | None
    result: Result | None
    """``None`` for a streaming method, which notifies instead."""
    notification: Notification | None
    errors: tuple[ErrorCode, ...]
    idempotent: bool
    streaming: bool

    def written_refs(self) -> set[str]:
        """Components the caller writes: the params."""
        refs = {ref for param in self.params for ref in param.type.refs()}
        return refs | ({self.params_struct} if self.params_struct else set())

    def read_refs(self) -> set[str]:
        """Components the caller reads: the result or the notifications."""
        read = self.result.type if self.result else None
        if self.notification:
            read = self.notification.type
        return set(read.refs()) if read else set()


@dataclass(frozen=True)
class Protocol:
    """The whole schema, typed."""

    document: Json
    """The validated document, as read (for datamodel-code-generator and ``sync --write``)."""
    conductor_versions: str
    methods: tuple[Method, ...]
    components: Mapping[str, Component]
    errors: tuple[ErrorCode, ...]

    @property
    def digest(self) -> str:
        """A hash of the document's content, independent of its formatting."""
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def method(self, name: str) -> Method | None:
        return next((method for method in self.methods if method.name == name), None)

    def reachable(self, roots: set[str]) -> set[str]:
        """``roots`` and every component they reach through their fields."""
        seen: set[str] = set()
        pending = [root for root in roots if root in self.components]
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending += [ref for ref in self.components[name].refs() if ref in self.components]
        return seen


def load(path: Path) -> Protocol:
    """Read, validate and model the schema at ``path``; raises :class:`schema.SchemaError`."""
    return build(schema.load(path))


def from_document(document: Json) -> Protocol:
    """Validate and model ``document``; raises :class:`schema.SchemaError`."""
    schema.validate(document)
    return build(document)


def build(document: Json) -> Protocol:
    """Model a document that :func:`schema.validate` accepted."""
    exceptions = document["x-error-exceptions"]
    errors = {
        key: ErrorCode(key, error["code"], error["message"], exceptions[key])
        for key, error in document["components"]["errors"].items()
    }
    return Protocol(
        document=document,
        conductor_versions=document["info"].get("x-conductor-versions", ""),
        methods=tuple(_method(method, errors) for method in document["methods"]),
        components={
            name: build_component(name, component)
            for name, component in document["components"]["schemas"].items()
        },
        errors=tuple(sorted(errors.values(), key=lambda error: -error.code)),
    )


def _method(method: Json, errors: Mapping[str, ErrorCode]) -> Method:
    result = method.get("result")
    notification = method.get("x-notification")
    return Method(
        name=method["name"],
        python_name=method["x-python-name"],
        summary=_text(str(method.get("summary", method["name"]))),
        description=_text(method.get("description", "")),
        params=tuple(
            Field(
                name=param["name"],
                type=type_of(param["schema"]),
                required=bool(param.get("required", False)),
                default=param["schema"].get("default", NO_DEFAULT),
                description=_text(param.get("description", "")),
            )
            for param in method["params"]
        ),
        params_struct=method.get("x-params-struct"),
        result=Result(
            result["name"], type_of(result["schema"]), _text(result.get("description", ""))
        )
        if result
        else None,
        notification=Notification(notification["method"], type_of(notification["schema"]))
        if notification
        else None,
        errors=tuple(
            errors[error["$ref"].removeprefix(ERROR_REF_PREFIX)]
            for error in method.get("errors", [])
        ),
        idempotent=method.get("x-idempotent", False),
        streaming=method.get("x-streaming", False),
    )


def build_component(name: str, component: Json) -> Component:
    required = set(component.get("required", []))
    return Component(
        name=name,
        description=_text(component.get("description", "")),
        type=type_of(component),
        fields=tuple(
            Field.of(field_name, field_schema, required=field_name in required)
            for field_name, field_schema in component.get("properties", {}).items()
        ),
        known_values=tuple(component.get("x-known-values", ())),
        shapes=tuple(
            Shape(
                shape["name"], shape.get("when-present"), _text(str(shape.get("description", "")))
            )
            for shape in component.get("x-shapes", ())
        ),
        source=component.get("x-source"),
        source_omits=tuple(component.get("x-source-omits", ())),
        not_in_source=tuple(
            field_name
            for field_name, field_schema in component.get("properties", {}).items()
            if field_schema.get("x-not-in-source", False)
        ),
    )


def _text(text: str) -> str:
    """Documentation text on one line, whitespace collapsed."""
    return re.sub(r"\s+", " ", text).strip()
