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

from codegen import model
from marianne_sdk import DaemonClient

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "marianne.openrpc.json"
METHODS_PAGE = "reference/methods.md"
TYPES_PAGE = "reference/types.md"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    # The generator's own typed reading of the schema, defaults of optional keys applied.
    protocol = model.load(SCHEMA)
    files.append(File.generated(config, METHODS_PAGE, content=methods_page(protocol)))
    files.append(File.generated(config, TYPES_PAGE, content=types_page(protocol)))
    return files


def anchor(name: str) -> str:
    """The id of a method's or type's section: its name, dots as dashes."""
    return name.replace(".", "-")


# --- types ------------------------------------------------------------------------------


def type_text(schema_type: model.SchemaType, page: str) -> str:
    """A type as Python in Markdown, named types linked to their section."""
    return " \\| ".join(_kind_text(kind, page) for kind in schema_type.members)


def _kind_text(kind: model.Kind, page: str) -> str:
    if kind.name == "ref":
        target = "" if page == TYPES_PAGE else "types.md"
        return f"[`{kind.ref}`]({target}#{anchor(kind.ref)})"
    if kind.name in ("array", "map") and kind.items is not None:
        inner = type_text(kind.items, page)
        return f"list[{inner}]" if kind.name == "array" else f"dict[str, {inner}]"
    return f"`{kind.annotation(models='')}`"


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


def fields_table(
    fields: Iterable[model.Field], page: str, headers: tuple[str, str, str]
) -> Iterator[str]:
    """Params or a type's fields: ``headers`` name the name, required and default columns."""
    name, required, default = headers
    return table(
        (name, "Type", required, default, "Description"),
        (
            (
                f"`{field.name}`",
                type_text(field.type, page),
                "yes" if field.required else "no",
                f"`{json.dumps(field.default)}`" if field.has_default else "",
                cell(field.description),
            )
            for field in fields
        ),
    )


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


def methods_page(protocol: model.Protocol) -> str:
    common = ", ".join(
        f"`{error.code}`" for error in protocol.errors if error.code in (-32700, -32600, -32601)
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
    groups = sorted({method.name.split(".", 1)[0] for method in protocol.methods})
    for group in sorted(groups, key=lambda name: (name != "job", name != "daemon", name)):
        lines += [f"## {group.capitalize()}", ""]
        for method in protocol.methods:
            if method.name.split(".", 1)[0] == group:
                lines += method_section(method)
    return "\n".join(lines)


def method_section(method: model.Method) -> list[str]:
    name, python_name = method.name, method.python_name
    awaited = "" if method.streaming else "await "
    call = python_call(getattr(DaemonClient, python_name), f"{awaited}client.{python_name}")
    lines = [
        f"### `{name}` {{ #{anchor(name)} }}",
        "",
        "```python",
        call,
        "```",
        "",
        prose(method.summary),
        "",
        prose(method.description),
        "",
    ]
    if method.streaming:
        lines += [
            f"**Streaming**: `client.{python_name}()` blocks share one subscription of the "
            "client, each with a buffer of its own; see [Streams](../guides/streams.md).",
            "",
        ]
    elif method.idempotent:
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
    if method.params:
        if method.params_struct:
            lines += [
                f"The wrapper takes the params as one `{method.params_struct}`; "
                "through `call()` they are these keys.",
                "",
            ]
        lines += ["**Params**", ""]
        lines += fields_table(method.params, METHODS_PAGE, ("Name", "Required", "Default"))
    else:
        lines += ["**Params**: none.", ""]
    if method.result is not None:
        result = method.result
        lines += [f"**Result** (`{result.name}`): {type_text(result.type, METHODS_PAGE)}", ""]
    elif method.notification is not None:
        notification = method.notification
        lines += [
            "**Result**: none, ever. **Notifications** "
            f"(`{notification.method}`): {type_text(notification.type, METHODS_PAGE)}",
            "",
        ]
    lines += ["**Errors**", ""]
    lines += table(
        ("Code", "Name", "Exception", "When"),
        (
            (
                f"`{error.code}`",
                f"`{error.key}`",
                f"[`{error.exception}`](errors.md#marianne_sdk._errors.{error.exception})",
                cell(error.message),
            )
            for error in method.errors
        ),
    )
    return lines


# --- the result types page --------------------------------------------------------------


def types_page(protocol: model.Protocol) -> str:
    lines = [
        "# Result types",
        "",
        "The types of params and results, generated from `schema/marianne.openrpc.json`. "
        "Each object type is a msgspec Struct importable from `marianne_sdk`; a field the "
        "conductor does not always send is `msgspec.UNSET` when absent (distinct from "
        "`None`), or its documented default, and unknown fields are ignored. A string type "
        "with known values accepts any string; the known ones are the members of the "
        "`StrEnum` named `Known<Type>`.",
        "",
    ]
    for name, component in sorted(protocol.components.items()):
        lines += [f"## `{name}` {{ #{anchor(name)} }}", "", prose(component.description), ""]
        if component.known_values:
            known = ", ".join(f'`"{value}"`' for value in component.known_values)
            lines += [f"A string. Known values (`Known{name}`): {known}.", ""]
        if component.shapes:
            lines += ["Comes in several shapes; its `shape` property tells which:", ""]
            lines += [f"- `{shape.name}`: {prose(shape.description)}" for shape in component.shapes]
            lines += [""]
        if component.fields:
            headers = ("Field", "Always sent", "Default when absent")
            lines += fields_table(component.fields, TYPES_PAGE, headers)
    return "\n".join(lines)
