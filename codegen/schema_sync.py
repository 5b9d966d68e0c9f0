"""Compare the schema's components with the conductor's own models, and update them.

    python -m codegen sync MODELS.json [--schema PATH] [--write]

``MODELS.json`` holds the JSON Schemas of the conductor's pydantic models and
TypedDicts, keyed by our component name, and the values of its enumerations
(``codegen/conductor_models.py`` writes one from an installed conductor). Every
component with an ``x-source`` is compared with its model: the fields, their
types (nullability included, number bounds and descriptions ignored), which are
required and their defaults, and the values of the enumerations they use; an
open enum with an ``x-source`` is compared with that enumeration's values. Each
difference is printed on a line, a mirrored component the file has nothing for
among them; an open enum used by a mirrored field that the conductor types as a
plain string is named as not compared. The exit status is 1 when there is a
difference, 0 when none, 2 when a file cannot be read. ``--write`` makes the components match, keeping our descriptions and
``x-`` extensions, so that ``make generate`` then classifies the change.

A field the conductor's model gives a default is optional here, with the same
default; a default made by a factory (``default_factory``) shows no value in the
model's schema: the field is then optional with no default (absent decodes to
``UNSET``), or with the empty value of its type (``[]``, ``{}``), which is what
the conductor's factories give.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import model
from .model import NO_DEFAULT, Component, Field, Kind, Protocol, SchemaType
from .schema import SCHEMA_REF_PREFIX, Json, SchemaError

DEFS_PREFIX = "#/$defs/"
# The keywords that make a field's type; the rest (bounds, titles) is not compared.
TYPE_KEYWORDS = ("type", "format", "items", "additionalProperties", "anyOf", "oneOf", "$ref")


@dataclass(frozen=True)
class Drift:
    """One difference between a component and the conductor's model."""

    component: str
    field: str | None
    detail: str

    def describe(self) -> str:
        location = f"{self.component}.{self.field}" if self.field else self.component
        return f"{location}: {self.detail}"


@dataclass(frozen=True)
class ConductorField:
    """A field of a conductor model, its schema rewritten in our terms."""

    field: Field
    schema: Json
    """Its JSON Schema with our ``$ref``s, for ``--write``."""
    enum_values: tuple[str, ...] | None
    """The values of the enumeration it uses, if it uses one."""


@dataclass(frozen=True)
class ConductorModel:
    name: str
    source: str
    fields: Mapping[str, ConductorField]


@dataclass(frozen=True)
class ModelsFile:
    conductor_version: str
    models: Mapping[str, ConductorModel]
    enums: Mapping[str, tuple[str, ...]]
    """Enumeration values by name: our component's for the enums mirrored by ``x-source``."""


def read_models(path: Path, protocol: Protocol) -> ModelsFile:
    """Read a models file; its class names are mapped to our components through ``x-source``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    ours_by_class = {
        component.source.rsplit(".", 1)[-1]: component.name
        for component in protocol.components.values()
        if component.source
    }
    models = {
        name: _conductor_model(name, entry, ours_by_class, protocol)
        for name, entry in data["models"].items()
    }
    enums = {name: tuple(values) for name, values in data.get("enums", {}).items()}
    return ModelsFile(
        conductor_version=str(data.get("conductor_version", "?")),
        models=models,
        enums=enums,
    )


def _conductor_model(
    name: str, entry: Json, ours_by_class: Mapping[str, str], protocol: Protocol
) -> ConductorModel:
    sent = entry["serialization"]
    # What the model accepts tells which fields have a default: those old data may lack.
    required = set(entry["validation"].get("required", []))
    definitions = {**sent.get("$defs", {}), **entry["validation"].get("$defs", {})}
    fields = {}
    for field_name, field_schema in sent.get("properties", {}).items():
        ours = _in_our_terms(field_schema, definitions, ours_by_class, protocol)
        fields[field_name] = ConductorField(
            field=Field.of(field_name, ours, required=field_name in required),
            schema=ours,
            enum_values=_enum_values(field_schema, definitions),
        )
    return ConductorModel(name, entry["source"], fields)


def _in_our_terms(
    node: Any, definitions: Mapping[str, Json], ours_by_class: Mapping[str, str], protocol: Protocol
) -> Any:
    """A pydantic schema with our component ``$ref``s, enumerations as our open enums."""
    if isinstance(node, list):
        return [_in_our_terms(item, definitions, ours_by_class, protocol) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFS_PREFIX):
        class_name = ref.removeprefix(DEFS_PREFIX)
        target = definitions.get(class_name, {})
        rest = {key: value for key, value in node.items() if key != "$ref"}
        if "enum" in target:
            known = ours_by_class.get(class_name, class_name)
            if known in protocol.components:
                return {**rest, "$ref": f"{SCHEMA_REF_PREFIX}{known}"}
            return {**rest, "type": "string"}
        return {**rest, "$ref": SCHEMA_REF_PREFIX + ours_by_class.get(class_name, class_name)}
    kept = {
        key: _in_our_terms(value, definitions, ours_by_class, protocol)
        for key, value in node.items()
        if key in (*TYPE_KEYWORDS, "default", "properties")
    }
    if kept.get("additionalProperties") is True:
        del kept["additionalProperties"]
    # Only date-time changes the decoded Python type; pydantic's "path" and others are strings.
    if kept.get("format") not in (None, "date-time"):
        del kept["format"]
    return kept


def _enum_values(node: Any, definitions: Mapping[str, Json]) -> tuple[str, ...] | None:
    """The values of the (first) enumeration anywhere in a pydantic field schema."""
    if isinstance(node, list):
        found = (_enum_values(item, definitions) for item in node)
        return next((values for values in found if values is not None), None)
    if not isinstance(node, dict):
        return None
    if "enum" in node:
        return tuple(node["enum"])
    if "const" in node:
        return (node["const"],)
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFS_PREFIX):
        target = definitions.get(ref.removeprefix(DEFS_PREFIX), {})
        if "enum" in target:
            return tuple(target["enum"])
    return _enum_values([value for key, value in node.items() if key != "$ref"], definitions)


# --- comparing --------------------------------------------------------------------------------


def compare(protocol: Protocol, models: ModelsFile) -> list[Drift]:
    """Every difference between the components with an ``x-source`` and their models."""
    drifts: list[Drift] = []
    for component in protocol.components.values():
        if component.source is None:
            continue
        listed = models.enums if component.known_values else models.models
        if component.name not in listed:
            detail = f"nothing to compare with: the models file has no {component.source}"
            drifts.append(Drift(component.name, None, detail))
            continue
        conductor = models.models.get(component.name)
        if conductor is None:  # an open enum: its values are compared below
            continue
        if conductor.source != component.source:
            detail = f"mirrors {component.source}, the models file has {conductor.source}"
            drifts.append(Drift(component.name, None, detail))
        drifts += _field_drifts(component, conductor, protocol, models)
    drifts += _enum_drifts(protocol, models)
    return drifts


def _field_drifts(
    component: Component, conductor: ConductorModel, protocol: Protocol, models: ModelsFile
) -> Iterator[Drift]:
    ours = {field.name: field for field in component.fields}
    for name in sorted(ours.keys() - conductor.fields.keys() - _unlisted(component, models)):
        yield Drift(component.name, name, "not in the conductor's model (removed there)")
    for name, theirs in _mirrored_fields(component, conductor):
        field = theirs.field
        mine = ours.get(name)
        if mine is None:
            presence = "required" if field.required else f"optional, {_default_text(field)}"
            detail = f"added in the conductor's model: {_wire(field.type, protocol)}, {presence}"
            yield Drift(component.name, name, detail)
            continue
        if _wire(mine.type, protocol) != _wire(field.type, protocol):
            detail = f"type {_wire(mine.type, protocol)} here, {_wire(field.type, protocol)} there"
            yield Drift(component.name, name, detail)
        if mine.required != field.required:
            here, there = (
                ("required", "has a default") if mine.required else ("optional", "required")
            )
            yield Drift(component.name, name, f"{here} here, {there} in the conductor's model")
        elif not field.required and not _default_agrees(mine, field):
            detail = f"{_default_text(mine)} here, {_default_text(field)} in the conductor's model"
            yield Drift(component.name, name, detail)


def _unlisted(component: Component, models: ModelsFile) -> set[str]:
    """Our fields a models file does not list although they are not drift."""
    return set(component.not_in_source)


def _mirrored_fields(
    component: Component, conductor: ConductorModel
) -> Iterator[tuple[str, ConductorField]]:
    for name, theirs in conductor.fields.items():
        if name not in component.source_omits:
            yield name, theirs


def _default_agrees(mine: Field, theirs: Field) -> bool:
    """Whether an optional field of ours decodes absence as the conductor does, or to UNSET."""
    if not mine.has_default:
        return True
    if theirs.has_default:
        return bool(mine.default == theirs.default)
    return bool(mine.default == _empty_value(mine.type))


def _empty_value(value_type: SchemaType) -> Any:
    """What a ``list`` or ``dict`` factory gives for a field of this type."""
    names = {member.name for member in value_type.members}
    return [] if names == {"array"} else {} if names == {"map"} else NO_DEFAULT


def _default_text(field: Field) -> str:
    if field.has_default:
        return f"default {json.dumps(field.default)}"
    return "no default value"


def _wire(value_type: SchemaType, protocol: Protocol) -> SchemaType:
    """The type as it is on the wire: an open enumeration is a string."""
    return SchemaType(
        tuple(dict.fromkeys(_wire_kind(kind, protocol) for kind in value_type.members))
    )


def _wire_kind(kind: Kind, protocol: Protocol) -> Kind:
    if kind.name == "ref":
        component = protocol.components.get(kind.ref)
        if component is not None and component.known_values:
            return Kind("string")
    if kind.items is not None:
        return Kind(kind.name, kind.format, kind.ref, _wire(kind.items, protocol))
    return kind


def _conductor_enums(protocol: Protocol, models: ModelsFile) -> dict[str, tuple[str, ...]]:
    """Our open enumerations → the values of the conductor's enumeration they mirror.

    From the models file's ``enums`` table for those with an ``x-source`` (by our
    name), and from the fields of the mirrored components that use an enumeration.
    """
    values_by_component: dict[str, tuple[str, ...]] = {
        component.name: models.enums[component.name]
        for component in protocol.components.values()
        if component.source and component.known_values and component.name in models.enums
    }
    for enum, _, theirs in _mirrored_enum_fields(protocol, models):
        if theirs.enum_values is not None:
            values_by_component.setdefault(enum.name, theirs.enum_values)
    return dict(sorted(values_by_component.items()))


def _mirrored_enum_fields(
    protocol: Protocol, models: ModelsFile
) -> Iterator[tuple[Component, str, ConductorField]]:
    """Each open enum a mirrored component's field uses, the field (``Component.field``), and
    the conductor's field."""
    for component in protocol.components.values():
        conductor = models.models.get(component.name) if component.source else None
        if conductor is None:
            continue
        for field in component.fields:
            theirs = conductor.fields.get(field.name)
            enum = _known_values_component(field.type, protocol)
            if theirs is not None and enum is not None:
                yield enum, f"{component.name}.{field.name}", theirs


def uncompared(protocol: Protocol, models: ModelsFile) -> list[str]:
    """The open enums used by mirrored fields that have no conductor values to compare with."""
    compared = _conductor_enums(protocol, models)
    unmatched: dict[str, list[str]] = {}
    for enum, location, _ in _mirrored_enum_fields(protocol, models):
        if enum.name not in compared:
            unmatched.setdefault(enum.name, []).append(location)
    return [
        f"{name}: not compared: the conductor's model types {', '.join(fields)} as a string"
        for name, fields in sorted(unmatched.items())
    ]


def _enum_drifts(protocol: Protocol, models: ModelsFile) -> list[Drift]:
    """Known values that differ from the conductor's enumerations, once per component."""
    drifts = []
    for name, values in _conductor_enums(protocol, models).items():
        known = protocol.components[name].known_values
        added = [value for value in values if value not in known]
        removed = [value for value in known if value not in values]
        if added:
            drifts.append(Drift(name, None, f"values added in the conductor: {', '.join(added)}"))
        if removed:
            detail = f"values no longer in the conductor: {', '.join(removed)}"
            drifts.append(Drift(name, None, detail))
    return drifts


def _known_values_component(value_type: SchemaType, protocol: Protocol) -> Component | None:
    for ref in value_type.refs():
        component = protocol.components.get(ref)
        if component is not None and component.known_values:
            return component
    return None


# --- writing ----------------------------------------------------------------------------------


def write(document: Json, protocol: Protocol, models: ModelsFile) -> Json:
    """``document`` with the mirrored components made to match their models."""
    schemas = document["components"]["schemas"]
    for component in protocol.components.values():
        conductor = models.models.get(component.name) if component.source else None
        if conductor is not None:
            unlisted = _unlisted(component, models)
            _update_component(schemas[component.name], conductor, protocol, unlisted)
    for name, values in _conductor_enums(protocol, models).items():
        # Our order stays; values new in the conductor come last.
        known = protocol.components[name].known_values
        kept = [value for value in known if value in values]
        schemas[name]["x-known-values"] = kept + [v for v in values if v not in known]
    return document


def _update_component(
    component: Json, conductor: ConductorModel, protocol: Protocol, unlisted: set[str]
) -> None:
    mirrored = dict(_mirrored_fields(protocol.components[component["title"]], conductor))
    properties: Json = component.setdefault("properties", {})
    for name in list(properties):
        if name not in mirrored and name not in unlisted:
            del properties[name]
    for name, theirs in mirrored.items():
        ours = properties.get(name)
        if ours is None:
            properties[name] = _with_written_default(theirs.schema, theirs.field)
            continue
        mine = Field.of(name, ours, required=name in component.get("required", []))
        updated = dict(ours)
        if _wire(theirs.field.type, protocol) != _wire(mine.type, protocol):
            updated = _replace_type(ours, theirs.schema)
        if mine.required or (mine.has_default and not _default_agrees(mine, theirs.field)):
            updated = _with_written_default(updated, theirs.field)
        # Otherwise our choice of the default, or of UNSET, stands: it agrees.
        properties[name] = updated
    required = [name for name in properties if name in mirrored and mirrored[name].field.required]
    required += [
        name
        for name in component.get("required", [])
        if name not in mirrored and name in properties
    ]
    if required or "required" in component:
        component["required"] = required


def _replace_type(ours: Json, theirs: Json) -> Json:
    """``ours`` with the type keywords of ``theirs``, where ours were; other keys kept."""
    replaced: Json = {}
    for key, value in ours.items():
        if key not in TYPE_KEYWORDS:
            replaced[key] = value
        elif not any(k in TYPE_KEYWORDS for k in replaced):
            replaced.update({k: v for k, v in theirs.items() if k in TYPE_KEYWORDS})
    replaced.update({k: v for k, v in theirs.items() if k in TYPE_KEYWORDS})
    return replaced


def _with_written_default(field_schema: Json, theirs: Field) -> Json:
    """The schema of a field with the default ``--write`` gives it (the conductor's)."""
    default = NO_DEFAULT if theirs.required else theirs.default
    if default is NO_DEFAULT and not theirs.required:
        default = _empty_value(theirs.type)
    written = {key: value for key, value in field_schema.items() if key != "default"}
    if default is NO_DEFAULT:
        return written
    if "default" in field_schema:
        # Keep the key where it was.
        return {key: default if key == "default" else value for key, value in field_schema.items()}
    return {**written, "default": default}


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str], default_schema: Path) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen sync",
        description="Compare the schema's x-source components with the conductor's models.",
    )
    parser.add_argument("models", type=Path, metavar="MODELS.json")
    parser.add_argument("--schema", type=Path, default=default_schema)
    parser.add_argument(
        "--write", action="store_true", help="update the schema's components to match"
    )
    arguments = parser.parse_args(argv)
    try:
        document = json.loads(arguments.schema.read_text(encoding="utf-8"))
        protocol = model.from_document(document)
        models = read_models(arguments.models, protocol)
    except (OSError, ValueError, KeyError, SchemaError) as error:
        print(f"schema sync: {error}", file=sys.stderr)
        return 2
    drifts = compare(protocol, models)
    for drift in drifts:
        print(drift.describe())
    for line in uncompared(protocol, models):
        print(line)
    if not drifts:
        print(f"no drift from conductor {models.conductor_version}")
        return 0
    if arguments.write:
        written = write(document, protocol, models)
        text = json.dumps(written, indent=2, ensure_ascii=False) + "\n"
        arguments.schema.write_text(text, encoding="utf-8")
        print(f"updated {arguments.schema}: run `make generate` to see what the change means")
    return 1
