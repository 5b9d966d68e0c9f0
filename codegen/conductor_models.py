"""Write the JSON Schemas of an installed conductor's models: the input of ``codegen sync``.

    CONDUCTOR_PYTHON codegen/conductor_models.py [--schema PATH] > models.json

Run it with the Python environment of the conductor: it imports only the
conductor and pydantic (and the standard library), never the SDK. The models
it dumps are the ``x-source`` module paths of the schema's components; each
is written, under our component's name, in both of pydantic's modes: what the
conductor sends (``serialization``) and what it accepts (``validation``: a
field outside its ``required`` list has a default). Titles and descriptions
are dropped, fields named ``description`` kept. ``enums`` lists the values of
the enumerations the models use, by class name, and of every enumeration an
open enum component mirrors (its ``x-source`` is an ``Enum`` class), by our
component's name.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import importlib.metadata
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydantic

DEFAULT_SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "marianne.openrpc.json"
GENERATOR = "codegen/conductor_models.py"
# Keys whose values map names to schemas: the names are not schema keywords.
NAMED_SCHEMAS = ("properties", "$defs", "patternProperties")
# Keys whose values are data, not schemas.
DATA = ("default", "enum", "const", "examples")


def sources(schema_path: Path) -> dict[str, str]:
    """Our component name → the conductor model it mirrors, from the schema's ``x-source``."""
    document = json.loads(schema_path.read_text(encoding="utf-8"))
    return {
        name: component["x-source"]
        for name, component in document["components"]["schemas"].items()
        if "x-source" in component
    }


def import_model(path: str) -> Any:
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def model_schemas(model: Any) -> dict[str, Any]:
    adapter = pydantic.TypeAdapter(model)
    return {
        mode: without_docs(adapter.json_schema(mode=mode))
        for mode in ("serialization", "validation")
    }


def without_docs(node: Any) -> Any:
    """A JSON Schema without its ``title`` and ``description`` keywords, at any depth."""
    if isinstance(node, list):
        return [without_docs(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept = {}
    for key, value in node.items():
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            kept[key] = {name: without_docs(child) for name, child in value.items()}
        elif key in DATA:
            kept[key] = value
        elif key not in ("title", "description"):
            kept[key] = without_docs(value)
    return kept


def enums(models: dict[str, Any], mirrored: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The enumerations the models use (by class name), then the mirrored ones (by ours)."""
    found: dict[str, list[Any]] = {}
    for entry in models.values():
        for mode in ("serialization", "validation"):
            for name, definition in entry[mode].get("$defs", {}).items():
                if "enum" in definition:
                    found[name] = definition["enum"]
    return dict(sorted({**found, **mirrored}.items()))


def conductor_version(paths: Iterable[str]) -> str:
    for path in paths:
        package = path.split(".", 1)[0]
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = getattr(importlib.import_module(package), "__version__", None)
            if isinstance(version, str):
                return version
    return "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    arguments = parser.parse_args(argv)
    models: dict[str, Any] = {}
    mirrored_enums: dict[str, list[Any]] = {}
    mirrored = sources(arguments.schema)
    for name, source in mirrored.items():
        try:
            model = import_model(source)
        except (ImportError, AttributeError) as error:
            print(f"conductor_models: {name}: cannot import {source}: {error}", file=sys.stderr)
            return 2
        if isinstance(model, type) and issubclass(model, enum.Enum):
            mirrored_enums[name] = [member.value for member in model]
        else:
            models[name] = {"source": source, **model_schemas(model)}
    output = {
        "conductor_version": conductor_version(mirrored.values()),
        "generator": GENERATOR,
        "enums": enums(models, mirrored_enums),
        "models": models,
    }
    json.dump(output, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
