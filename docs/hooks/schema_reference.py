"""MkDocs hook: the method and result-type reference pages, written from the schema at build time.

``schema/marianne.openrpc.json`` is the single source of truth of the
protocol, so the reference of every method (params, result, errors, retry
behaviour) and of every result type (fields) is rendered from it, together
with the Python signature of the generated wrapper, rather than written by
hand. The pages exist only in the built site.
"""

from __future__ import annotations

import html
import inspect
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from marianne_sdk import DaemonClient

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "marianne.openrpc.json"
METHODS_PAGE = "reference/methods.md"
TYPES_PAGE = "reference/types.md"
_JSON_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
    "object": "dict",
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    files.append(File.generated(config, METHODS_PAGE, content=methods_page(schema)))
    files.append(File.generated(config, TYPES_PAGE, content=types_page(schema)))
    return files


def anchor(name: str) -> str:
    """The id of a method's or type's section: its name, dots as dashes."""
    return name.replace(".", "-")


# --- types ------------------------------------------------------------------------------


def type_text(schema: dict[str, Any], page: str) -> str:
    """A schema as a Python-like type in Markdown, named types linked to their section."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = "" if page == TYPES_PAGE else "types.md"
        return f"[`{name}`]({target}#{anchor(name)})"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " \\| ".join(type_text(option, page) for option in schema[combinator])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_text(schema.get('items', {}), page)}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"dict[str, {type_text(schema['additionalProperties'], page)}]"
    if kind == "string" and schema.get("format") == "date-time":
        return "`datetime`"
    if isinstance(kind, str):
        return f"`{_JSON_TYPES.get(kind, kind)}`"
    return "`Any`"


def prose(text: str) -> str:
    """Schema text as Markdown: shown as written, ``<id>`` included, not read as HTML."""
    return html.escape(text, quote=False)


def cell(text: str) -> str:
    """Schema text for one Markdown table cell."""
    return prose(" ".join(text.split())).replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> Iterator[str]:
    header = list(header)
    yield "| " + " | ".join(header) + " |"
    yield "|" + "---|" * len(header)
    for row in rows:
        yield "| " + " | ".join(row) + " |"
    yield ""


def python_call(function: Any, prefix: str) -> str:
    """``prefix`` + ``function``'s parameters and return type as written, without ``self``.

    Long signatures get one parameter per line, as the code formatter writes them.
    """
    signature = inspect.signature(function)
    parts = []
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        parts.append(str(parameter))
    returns = f" -> {signature.return_annotation}"
    text = f"{prefix}({', '.join(parts)}){returns}"
    if len(text) > 88:
        text = f"{prefix}(\n" + "".join(f"    {part},\n" for part in parts) + f"){returns}"
    # The generated code's annotations are strings naming the generated modules.
    return text.replace("'", "").replace("models.", "")


# --- the methods page -------------------------------------------------------------------


def methods_page(schema: dict[str, Any]) -> str:
    common = ", ".join(
        f"`{error['code']}`"
        for error in schema["components"]["errors"].values()
        if error["code"] in (-32700, -32600, -32601)
    )
    lines = [
        "# Methods",
        "",
        "Every method of the conductor, generated from `schema/marianne.openrpc.json`: the "
        "Python wrapper on [`DaemonClient`](client.md) (the blocking "
        "[`marianne_sdk.sync.DaemonClient`](sync.md) has the same methods without `await`), "
        "the wire name and params for [`call()`](client.md), the result type, whether the "
        "SDK may send the request twice, and the errors the conductor answers with.",
        "",
        f"Any call can also fail with {common} (a daemon older than the schema); "
        "they are not repeated below. How errors become exceptions: "
        "[Errors and retries](../guides/errors-and-retries.md).",
        "",
    ]
    for group, title in (("job.", "Jobs"), ("daemon.", "Daemon")):
        lines += [f"## {title}", ""]
        for method in schema["methods"]:
            if method["name"].startswith(group):
                lines += method_section(method, schema)
    return "\n".join(lines)


def method_section(method: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    name = method["name"]
    python_name = method["x-python-name"]
    awaited = "" if method["x-streaming"] else "await "
    call = python_call(getattr(DaemonClient, python_name), f"{awaited}client.{python_name}")
    lines = [
        f"### `{name}` {{ #{anchor(name)} }}",
        "",
        "```python",
        call,
        "```",
        "",
        prose(method["summary"]),
        "",
        prose(method.get("description", "")),
        "",
    ]
    if method["x-streaming"]:
        lines += [
            "**Streaming**: `client.monitor()` opens it on a connection of its own and yields "
            "each notification; see [Streams](../guides/streams.md).",
            "",
        ]
    elif method["x-idempotent"]:
        lines += [
            "**Idempotent**: sent once more, on a fresh connection, if the connection is lost "
            "with the request in flight.",
            "",
        ]
    else:
        lines += [
            "**Not idempotent**: never sent twice; a lost connection with the request in flight "
            "raises `ConnectionLostError(possibly_executed=True)`.",
            "",
        ]
    if method["params"]:
        if "x-params-struct" in method:
            lines += [
                f"The wrapper takes the params as one `{method['x-params-struct']}`; "
                "through `call()` they are these keys.",
                "",
            ]
        lines += ["**Params**", ""]
        lines += table(
            ("Name", "Type", "Required", "Default", "Description"),
            (
                (
                    f"`{param['name']}`",
                    type_text(param["schema"], METHODS_PAGE),
                    "yes" if param.get("required") else "no",
                    f"`{json.dumps(param['schema']['default'])}`"
                    if "default" in param["schema"]
                    else "",
                    cell(param.get("description", "")),
                )
                for param in method["params"]
            ),
        )
    else:
        lines += ["**Params**: none.", ""]
    if "result" in method:
        result = method["result"]
        lines += [
            f"**Result** (`{result['name']}`): {type_text(result['schema'], METHODS_PAGE)}",
            "",
        ]
    else:
        notification = method["x-notification"]
        lines += [
            "**Result**: none, ever. **Notifications** "
            f"(`{notification['method']}`): {type_text(notification['schema'], METHODS_PAGE)}",
            "",
        ]
    errors = schema["components"]["errors"]
    exceptions = schema["x-error-exceptions"]
    lines += ["**Errors**", ""]
    lines += table(
        ("Code", "Name", "Exception", "When"),
        (
            (
                f"`{errors[key]['code']}`",
                f"`{key}`",
                f"[`{exceptions[key]}`](errors.md#marianne_sdk._errors.{exceptions[key]})",
                cell(errors[key]["message"]),
            )
            for key in (error["$ref"].rsplit("/", 1)[-1] for error in method["errors"])
        ),
    )
    return lines


# --- the result types page --------------------------------------------------------------


def types_page(schema: dict[str, Any]) -> str:
    lines = [
        "# Result types",
        "",
        "The types of params and results, generated from `schema/marianne.openrpc.json`. "
        "Each object type is a msgspec Struct importable from `marianne_sdk`; a field the "
        "conductor does not always send is `msgspec.UNSET` when absent (distinct from "
        "`None`), and unknown fields are ignored. A string type with known values accepts "
        "any string; the known ones are the members of the `StrEnum` named `Known<Type>`.",
        "",
    ]
    for name, component in sorted(schema["components"]["schemas"].items()):
        lines += [
            f"## `{name}` {{ #{anchor(name)} }}",
            "",
            prose(component.get("description", "")),
            "",
        ]
        if "x-known-values" in component:
            known = ", ".join(f'`"{value}"`' for value in component["x-known-values"])
            lines += [f"A string. Known values (`Known{name}`): {known}.", ""]
        if "x-shapes" in component:
            lines += ["Comes in several shapes; its `shape` property tells which:", ""]
            lines += [
                f"- `{shape['name']}`: {prose(shape['description'])}"
                for shape in component["x-shapes"]
            ]
            lines += [""]
        properties = component.get("properties", {})
        if properties:
            required = set(component.get("required", []))
            lines += table(
                ("Field", "Type", "Always sent", "Description"),
                (
                    (
                        f"`{field}`",
                        type_text(field_schema, TYPES_PAGE),
                        "yes" if field in required else "no",
                        cell(field_schema.get("description", "")),
                    )
                    for field, field_schema in properties.items()
                ),
            )
    return "\n".join(lines)
