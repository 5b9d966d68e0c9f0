"""The msgspec models of ``components.schemas``, rendered by datamodel-code-generator.

datamodel-code-generator takes JSON Schema, not OpenRPC, so the components are
handed to it as the ``$defs`` of a JSON Schema document. Its output is then
corrected where it gets our profile wrong, and nowhere else:

* a non-required field that has a ``default`` is still typed ``T | UnsetType``,
  and a ``null`` default is written ``UNSET``: the field gets the schema's
  type and default, which is what an absent value means;
* the root of the input document becomes a useless ``Model = Any`` alias;
* ``x-shapes`` (results of several shapes) has no equivalent: each such struct
  gets a ``shape`` property;
* there is no ``__all__``, which the package's re-export needs.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import tools
from .model import Component, Protocol, Shape
from .schema import SCHEMA_REF_PREFIX

BASE_CLASS = "marianne_sdk._struct.WireStruct"


class UpstreamOutputChanged(RuntimeError):
    """datamodel-code-generator wrote something a correction here no longer matches."""

    def __init__(self, correction: str, expected: str, found: str) -> None:
        super().__init__(
            f"datamodel-code-generator's output changed: cannot {correction}; "
            f"expected {expected}, found:\n{found}\n"
            "Update codegen/models.py for the installed datamodel-code-generator."
        )


DATAMODEL_CODEGEN_FLAGS = (
    "--input-file-type=jsonschema",
    "--output-model-type=msgspec.Struct",
    "--target-python-version=3.11",
    "--use-standard-primitive-types",
    "--output-datetime-class=datetime",
    "--keyword-only",
    "--use-title-as-name",
    "--use-schema-description",
    "--disable-timestamp",
    "--formatters=builtin",
    f"--base-class={BASE_CLASS}",
)


def render_models(protocol: Protocol) -> str:
    """The source of ``models.py`` (unformatted, without the file header)."""
    source = run_datamodel_codegen(protocol.document["components"]["schemas"])
    return correct(source, protocol.components)


def run_datamodel_codegen(components: dict[str, Any]) -> str:
    as_json_schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$defs": json.loads(json.dumps(components).replace(f'"{SCHEMA_REF_PREFIX}', '"#/$defs/')),
    }
    with tempfile.TemporaryDirectory() as workdir:
        schema_path = Path(workdir, "components.json")
        schema_path.write_text(json.dumps(as_json_schema, indent=2, sort_keys=True))
        return tools.run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                f"--input={schema_path}",
                *DATAMODEL_CODEGEN_FLAGS,
            ],
            cwd=Path(workdir),
        )


def correct(source: str, components: Mapping[str, Component]) -> str:
    lines: list[str | None] = list(source.splitlines())
    module = ast.parse(source)
    insertions: dict[int, list[str]] = {}
    classes: list[str] = []
    aliases: list[str] = []
    model_alias_seen = False
    for node in module.body:
        if isinstance(node, ast.ClassDef):
            classes.append(node.name)
            component = components.get(node.name)
            if component is None:
                continue
            _apply_schema_defaults(node, component, lines)
            if component.shapes:
                insertions[_end_line(node)] = _shape_property(component.shapes)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == "Model":
                model_alias_seen = True
                for index in range(node.lineno - 1, _end_line(node)):
                    lines[index] = ""
            else:
                aliases.append(node.target.id)
    if not model_alias_seen:
        raise UpstreamOutputChanged(
            "remove the alias of the root document", "`Model = ...`", source
        )
    # A struct under another name would silently miss its defaults and its shape.
    for name in sorted(name for name, component in components.items() if component.fields):
        if name not in classes:
            found = f"the classes {', '.join(classes)}"
            raise UpstreamOutputChanged(f"find the struct of {name}", f"`class {name}`", found)
    corrected: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line is not None:
            corrected.append(line)
        corrected.extend(insertions.get(number, []))
    exported = ", ".join(f'"{name}"' for name in sorted(classes + aliases))
    corrected += ["", f"__all__ = [{exported}]", ""]
    future_import = "from __future__ import annotations"
    text = "\n".join(corrected)
    if future_import not in text:
        raise UpstreamOutputChanged("import Literal", f"`{future_import}`", source)
    return text.replace(future_import, f"{future_import}\n\nfrom typing import Literal", 1)


def _end_line(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno


_UNSET_DEFAULT = re.compile(r"= \(?\s*UNSET\s*\)?$")


def _apply_schema_defaults(
    node: ast.ClassDef, component: Component, lines: list[str | None]
) -> None:
    defaulted = {field.name for field in component.fields if field.has_default}
    for statement in node.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        field = component.field(statement.target.id.removesuffix("_"))
        if field is None or not field.has_default:
            continue
        defaulted.discard(field.name)
        first, last = statement.lineno - 1, _end_line(statement)
        written = "\n".join(line or "" for line in lines[first:last])
        correction = f"give {node.name}.{field.name} its schema default"
        if " | UnsetType" not in written:
            raise UpstreamOutputChanged(correction, "a `T | UnsetType` annotation", written)
        # A null default is written UNSET (a long one wrapped in parentheses); others as given.
        text, count = _UNSET_DEFAULT.subn("= None", written.replace(" | UnsetType", ""))
        if field.default is None and count != 1:
            raise UpstreamOutputChanged(correction, "`= UNSET` at the end", written)
        lines[first:last] = [text] + [None] * (last - first - 1)
    if defaulted:
        fields = ", ".join(sorted(defaulted))
        written = "\n".join(line or "" for line in lines[node.lineno - 1 : _end_line(node)])
        raise UpstreamOutputChanged(
            f"give {node.name} its schema defaults", f"the fields {fields}", written
        )


def _shape_property(shapes: tuple[Shape, ...]) -> list[str]:
    names = ", ".join(f'"{shape.name}"' for shape in shapes)
    described = "; ".join(f"``{shape.name}``: {shape.description.rstrip('.')}" for shape in shapes)
    body = ["", "    @property", f"    def shape(self) -> Literal[{names}]:"]
    body.append(f'        """Which shape the conductor sent. {described}."""')
    for shape in shapes[:-1]:
        body.append(f"        if self.{shape.when_present} is not UNSET:")
        body.append(f'            return "{shape.name}"')
    body.append(f'        return "{shapes[-1].name}"')
    return body
