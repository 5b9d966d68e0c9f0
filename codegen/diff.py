"""Compare two versions of the schema and classify each change for code that uses the SDK.

    python -m codegen diff OLD NEW [--json]
    python -m codegen diff --git-ref REF PATH [--json]

Each change is printed as one line, breaking ones first; ``--json`` prints a
list of ``{kind, severity, method, type, field, detail, used_by}`` instead.
Exit status 1 when a change is breaking, 0 otherwise, 2 when the documents
cannot be read. ``make generate`` prints :func:`summarize_against_git`.

Severities, from the point of view of code written against the generated SDK:

* **breaking**: that code may stop type-checking, fail, or misread a result;
* **behavioural**: signatures are unchanged but a call behaves differently
  (retry after a connection loss, the daemon's default for an omitted param);
* **compatible**: nothing written against the older SDK is affected.

SDK users *write* params and *read* results, so a field's change is judged by
the side it is on. Widening a param's type (``integer`` to ``number``, adding
``null``) is compatible; any change of a result field's type is breaking,
because a reader may rely on the exact Python type (an ``int`` is not a
``float``; a field that gains ``None`` must now be checked). A component used
on both sides takes the stricter verdict; a component no method uses is judged
as if used on both. Params are the wrapper's positional arguments, so a param
that changes position is breaking.

Changes inside a component are reported once, as ``Type.field``, with the
methods that reach the component (through params, results or notifications)
listed in ``used_by``. Codes a method declares in ``errors`` are informational
(the exception raised for a code comes from the error table), so a method
gaining or losing a code is compatible; it is reported so that callers can
revisit their ``except`` clauses. The error table itself is compared by code:
a code that disappears, or whose exception class changes, is breaking.
Descriptions and summaries are documentation and are not compared.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .schema import ERROR_REF_PREFIX, SCHEMA_REF_PREFIX, Json

Severity = Literal["breaking", "behavioural", "compatible"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "behavioural", "compatible")


@dataclass(frozen=True)
class Change:
    """One difference between two schema versions.

    ``method`` is set for changes to a method, ``type`` for changes to a
    component schema; ``field`` names the param, the field or the known value
    concerned. ``used_by`` lists the methods that reach a changed component.
    """

    kind: str
    severity: Severity
    detail: str
    method: str | None = None
    type: str | None = None
    field: str | None = None
    used_by: tuple[str, ...] = ()

    def location(self) -> str:
        if self.type is not None:
            return f"{self.type}.{self.field}" if self.field else self.type
        if self.method is not None:
            return f"{self.method}({self.field})" if self.field else self.method
        return "schema"

    def describe(self) -> str:
        used_by = f" [used by {', '.join(self.used_by)}]" if self.used_by else ""
        return f"{self.severity:<12}{self.location()}: {self.detail}{used_by}"

    def to_json(self) -> Json:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "method": self.method,
            "type": self.type,
            "field": self.field,
            "detail": self.detail,
            "used_by": list(self.used_by),
        }


def diff_documents(old: Json, new: Json) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    changes = [
        *_document_changes(old, new),
        *_method_changes(old, new),
        *_component_changes(old, new),
    ]
    return sorted(changes, key=lambda change: SEVERITIES.index(change.severity))


def format_changes(changes: Sequence[Change], since: str | None = None) -> str:
    """The human summary: a count per severity, then one line per change."""
    suffix = f" since {since}" if since else ""
    if not changes:
        return f"no differences{suffix}"
    counts = Counter(change.severity for change in changes)
    tally = ", ".join(
        f"{counts[severity]} {severity}" for severity in SEVERITIES if counts[severity]
    )
    lines = [f"schema changes{suffix}: {tally}"]
    lines += [f"  {change.describe()}" for change in changes]
    return "\n".join(lines)


def has_breaking(changes: Iterable[Change]) -> bool:
    return any(change.severity == "breaking" for change in changes)


# --- types -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """One member of a schema's type, as distinct as the generated Python types are.

    ``name`` is a JSON kind, ``"array"``, ``"map"`` (an object of arbitrary
    keys), ``"ref"`` (a component, compared by name) or ``"any"``. ``detail``
    is the component's name or the string's ``format``; ``items`` the element
    type of an array or map.
    """

    name: str
    detail: str = ""
    items: frozenset[_Kind] = frozenset()

    def __str__(self) -> str:
        if self.name == "ref":
            return self.detail
        if self.name in ("array", "map"):
            return f"{self.name}[{_render(self.items)}]"
        return f"{self.name}({self.detail})" if self.detail else self.name


def _type_of(schema: Mapping[str, Any]) -> frozenset[_Kind]:
    if "$ref" in schema:
        return frozenset({_Kind("ref", _component_name(schema["$ref"]))})
    members = schema.get("anyOf") or schema.get("oneOf")
    if members:
        return frozenset().union(*(_type_of(member) for member in members))
    names = schema.get("type")
    if names is None:
        return frozenset({_Kind("any")})
    return frozenset(
        _kind_of(name, schema) for name in ([names] if isinstance(names, str) else names)
    )


def _kind_of(name: str, schema: Mapping[str, Any]) -> _Kind:
    if name == "string":
        return _Kind("string", schema.get("format", ""))
    if name == "array":
        return _Kind("array", items=_type_of(schema.get("items", {})))
    if name == "object":
        # An inline object is a dict to the generated code; components are named by $ref.
        values = schema.get("additionalProperties")
        return _Kind("map", items=_type_of(values if isinstance(values, dict) else {}))
    return _Kind(name)


def _render(members: frozenset[_Kind]) -> str:
    return " | ".join(sorted(map(str, members)))


def _accepts(wide: frozenset[_Kind], narrow: frozenset[_Kind]) -> bool:
    """Whether every value of type ``narrow`` is also a value of type ``wide``."""
    return all(any(_covers(w, n) for w in wide) for n in narrow)


def _covers(wide: _Kind, narrow: _Kind) -> bool:
    if wide == narrow or wide.name == "any":
        return True
    if wide.name == "number":
        return narrow.name == "integer"  # an int is accepted where a float is (PEP 484)
    if wide.name in ("array", "map") and wide.name == narrow.name:
        return _accepts(wide.items, narrow.items)
    return False


def _component_name(ref: str) -> str:
    return ref.removeprefix(SCHEMA_REF_PREFIX)


def _refs(node: Any) -> Iterator[str]:
    """The components referenced anywhere inside ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):
            yield _component_name(ref)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# --- fields: method params and component properties -------------------------------------------

_NO_DEFAULT = object()

# rule -> (severity when SDK users write the value, as a param; when they read it, in a result)
_FIELD_RULES: dict[str, tuple[Severity, Severity]] = {
    "added-required": ("breaking", "compatible"),
    "added-optional": ("compatible", "compatible"),
    "removed": ("breaking", "breaking"),
    "now-required": ("breaking", "compatible"),
    "now-optional": ("compatible", "breaking"),
    "type-widened": ("compatible", "breaking"),
    "type-narrowed": ("breaking", "breaking"),
    "type-changed": ("breaking", "breaking"),
    "default-changed": ("behavioural", "behavioural"),
}


@dataclass(frozen=True)
class _Field:
    type: frozenset[_Kind]
    required: bool
    default: Any

    @classmethod
    def of(cls, schema: Mapping[str, Any], required: bool) -> _Field:
        return cls(_type_of(schema), required, schema.get("default", _NO_DEFAULT))


@dataclass(frozen=True)
class _Usage:
    """Who uses a component, and on which side: written (params) or read (results)."""

    methods: frozenset[str] = frozenset()
    written: bool = False
    read: bool = False

    def __or__(self, other: _Usage) -> _Usage:
        return _Usage(
            self.methods | other.methods, self.written or other.written, self.read or other.read
        )

    def severity(self, rule: str) -> Severity:
        as_param, as_result = _FIELD_RULES[rule]
        sides = [s for s, used in ((as_param, self.written), (as_result, self.read)) if used]
        return min(sides or [as_param, as_result], key=SEVERITIES.index)


_PARAM = _Usage(written=True)


def _field_changes(
    old: Mapping[str, _Field], new: Mapping[str, _Field]
) -> Iterator[tuple[str, str, str]]:
    """(rule, field name, detail) for each difference between two sets of fields."""
    for name in old:
        if name not in new:
            yield "removed", name, "removed"
    for name, field in new.items():
        if name not in old:
            presence = "required" if field.required else "optional"
            yield f"added-{presence}", name, f"added, {presence}: {_render(field.type)}"
    for name, before in old.items():
        after = new.get(name)
        if after is None:
            continue
        if before.required != after.required:
            if after.required:
                yield "now-required", name, "now required"
            else:
                yield "now-optional", name, "no longer required"
        widened, narrowed = _accepts(after.type, before.type), _accepts(before.type, after.type)
        if not (widened and narrowed):
            rule = "type-widened" if widened else "type-narrowed" if narrowed else "type-changed"
            yield rule, name, f"type {_render(before.type)} -> {_render(after.type)}"
        # A default matters only while the field stays optional; required-ness is reported above.
        if before.default != after.default and not (before.required or after.required):
            detail = f"default {_show_default(before.default)} -> {_show_default(after.default)}"
            yield "default-changed", name, detail


def _show_default(value: Any) -> str:
    return "(none)" if value is _NO_DEFAULT else json.dumps(value)


# --- document, methods, components -----------------------------------------------------------


def _document_changes(old: Json, new: Json) -> Iterator[Change]:
    versions = [doc.get("info", {}).get("x-conductor-versions") for doc in (old, new)]
    if versions[0] != versions[1]:
        detail = f"conductor versions {versions[0]} -> {versions[1]}"
        yield Change("conductor-versions-changed", "behavioural", detail)
    old_table, new_table = _error_table(old), _error_table(new)
    for code in sorted(old_table.keys() - new_table.keys()):
        detail = f"error {code} ({old_table[code]}) left the error table: raised as DaemonError"
        yield Change("error-code-removed", "breaking", detail)
    for code in sorted(new_table.keys() - old_table.keys()):
        yield Change("error-code-added", "compatible", f"error {code} ({new_table[code]}) added")
    for code in sorted(old_table.keys() & new_table.keys()):
        if old_table[code] != new_table[code]:
            detail = f"error {code} raises {new_table[code]} instead of {old_table[code]}"
            yield Change("error-class-changed", "breaking", detail)


def _error_table(doc: Json) -> dict[int, str]:
    """The exception class raised for each error code of ``components.errors``."""
    classes = doc.get("x-error-exceptions", {})
    errors = doc.get("components", {}).get("errors", {})
    return {error["code"]: str(classes.get(name)) for name, error in errors.items()}


def _method_changes(old: Json, new: Json) -> Iterator[Change]:
    old_methods = {method["name"]: method for method in old.get("methods", [])}
    new_methods = {method["name"]: method for method in new.get("methods", [])}
    for name, method in old_methods.items():
        if name not in new_methods:
            wrapper = method.get("x-python-name")
            yield Change("method-removed", "breaking", f"method removed ({wrapper})", method=name)
        else:
            yield from _one_method_changes(name, method, new_methods[name], old, new)
    for name, method in new_methods.items():
        if name not in old_methods:
            wrapper = method.get("x-python-name")
            yield Change("method-added", "compatible", f"method added ({wrapper})", method=name)


def _one_method_changes(
    name: str, old: Json, new: Json, old_doc: Json, new_doc: Json
) -> Iterator[Change]:
    def change(kind: str, severity: Severity, detail: str, field: str | None = None) -> Change:
        return Change(kind, severity, detail, method=name, field=field)

    if old.get("x-python-name") != new.get("x-python-name"):
        detail = f"wrapper renamed {old.get('x-python-name')} -> {new.get('x-python-name')}"
        yield change("python-name-changed", "breaking", detail)
    if bool(old.get("x-idempotent")) != bool(new.get("x-idempotent")):
        if new.get("x-idempotent"):
            detail = "now idempotent: retried after a connection loss"
        else:
            detail = "no longer idempotent: never sent twice"
        yield change("idempotent-changed", "behavioural", detail)
    if bool(old.get("x-streaming")) != bool(new.get("x-streaming")):
        now = "now" if new.get("x-streaming") else "no longer"
        yield change("streaming-changed", "breaking", f"{now} streaming")
    elif _notification(old) != _notification(new):
        yield change(
            "notification-changed",
            "breaking",
            f"notification {_notification(old)} -> {_notification(new)}",
        )
    if "result" in old and "result" in new:
        before, after = _type_of(old["result"]["schema"]), _type_of(new["result"]["schema"])
        if before != after:
            yield change(
                "result-type-changed", "breaking", f"result {_render(before)} -> {_render(after)}"
            )
    yield from _params_changes(name, old, new)
    old_errors, new_errors = _method_errors(old, old_doc), _method_errors(new, new_doc)
    for code in sorted(old_errors.keys() - new_errors.keys()):
        yield change(
            "error-removed", "compatible", f"no longer returns error {code} ({old_errors[code]})"
        )
    for code in sorted(new_errors.keys() - old_errors.keys()):
        yield change("error-added", "compatible", f"may return error {code} ({new_errors[code]})")


def _notification(method: Json) -> str | None:
    notification = method.get("x-notification")
    if notification is None:
        return None
    return f"{notification.get('method')}: {_render(_type_of(notification.get('schema', {})))}"


def _params_changes(name: str, old: Json, new: Json) -> Iterator[Change]:
    old_struct, new_struct = old.get("x-params-struct"), new.get("x-params-struct")
    if old_struct != new_struct:
        detail = f"params struct {old_struct} -> {new_struct}: the wrapper's signature changes"
        yield Change("params-struct-changed", "breaking", detail, method=name)
    if old_struct or new_struct:
        # The struct's fields are the params: their changes are reported once, on the struct.
        return
    old_params, new_params = _params(old), _params(new)
    for rule, param, detail in _field_changes(old_params, new_params):
        yield Change(f"param-{rule}", _PARAM.severity(rule), detail, method=name, field=param)
    # The params are the wrapper's positional order: a param that moves rebinds positional calls.
    new_order = list(new_params)
    for before, param in enumerate(old_params):
        after = new_order.index(param) if param in new_params else before
        if before != after:
            detail = f"moved from position {before + 1} to {after + 1}"
            yield Change("param-moved", "breaking", detail, method=name, field=param)


def _params(method: Json) -> dict[str, _Field]:
    return {
        param["name"]: _Field.of(param.get("schema", {}), bool(param.get("required")))
        for param in method.get("params", [])
    }


def _method_errors(method: Json, doc: Json) -> dict[int, str]:
    """The codes a method declares, each with the error's component name or message."""
    components = doc.get("components", {}).get("errors", {})
    codes: dict[int, str] = {}
    for error in method.get("errors", []):
        if "$ref" in error:
            key = error["$ref"].removeprefix(ERROR_REF_PREFIX)
            codes[components[key]["code"]] = key
        else:
            codes[error["code"]] = error.get("message", "")
    return codes


def _component_changes(old: Json, new: Json) -> Iterator[Change]:
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    old_usage, new_usage = _usages(old), _usages(new)
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        used_by = tuple(sorted(old_usage[name].methods))
        yield Change("type-removed", "breaking", "type removed", type=name, used_by=used_by)
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        used_by = tuple(sorted(new_usage[name].methods))
        yield Change("type-added", "compatible", "type added", type=name, used_by=used_by)
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        usage = old_usage[name] | new_usage[name]
        for change in _one_component_changes(old_schemas[name], new_schemas[name], usage):
            yield dataclasses.replace(change, type=name, used_by=tuple(sorted(usage.methods)))


def _usages(doc: Json) -> dict[str, _Usage]:
    """How each component is reached from the methods, directly or through other components."""
    schemas = doc.get("components", {}).get("schemas", {})
    usages = dict.fromkeys(schemas, _Usage())
    for method in doc.get("methods", []):
        written = {*_refs(method.get("params", []))}
        if method.get("x-params-struct"):
            written.add(method["x-params-struct"])
        read = {*_refs([method.get("result"), method.get("x-notification")])}
        for roots, usage in ((written, _Usage(written=True)), (read, _Usage(read=True))):
            for component in _reachable(roots, schemas):
                usages[component] |= dataclasses.replace(usage, methods=frozenset({method["name"]}))
    return usages


def _reachable(roots: Iterable[str], schemas: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = [root for root in roots if root in schemas]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += [ref for ref in _refs(schemas[name]) if ref in schemas]
    return seen


def _one_component_changes(old: Json, new: Json, usage: _Usage) -> Iterator[Change]:
    """The changes inside one component; the caller sets ``type`` and ``used_by``."""
    before, after = _type_of(old), _type_of(new)
    if before != after:
        yield Change("type-changed", "breaking", f"type {_render(before)} -> {_render(after)}")
        return
    for rule, field, detail in _field_changes(_properties(old), _properties(new)):
        yield Change(f"field-{rule}", usage.severity(rule), detail, field=field)
    old_known, new_known = old.get("x-known-values", []), new.get("x-known-values", [])
    for value in old_known:
        if value not in new_known:
            yield Change("known-value-removed", "breaking", "known value removed", field=value)
    for value in new_known:
        if value not in old_known:
            yield Change("known-value-added", "compatible", "known value added", field=value)
    yield from _shape_changes(old.get("x-shapes", []), new.get("x-shapes", []))


def _properties(schema: Json) -> dict[str, _Field]:
    required = set(schema.get("required", []))
    return {
        name: _Field.of(field, name in required)
        for name, field in schema.get("properties", {}).items()
    }


def _shape_changes(old: list[Json], new: list[Json]) -> Iterator[Change]:
    old_names, new_names = [s["name"] for s in old], [s["name"] for s in new]
    for name in old_names:
        if name not in new_names:
            yield Change("shape-removed", "breaking", f"shape {name!r} removed")
    for name in new_names:
        if name not in old_names:
            yield Change("shape-added", "compatible", f"shape {name!r} added")

    # The first shape whose marker field is present wins, so order matters as much as markers.
    def detection(shapes: list[Json], kept: list[str]) -> list[tuple[str, str | None]]:
        return [(s["name"], s.get("when-present")) for s in shapes if s["name"] in kept]

    before, after = detection(old, new_names), detection(new, old_names)
    if before != after:
        detail = f"shape detection {before} -> {after}"
        yield Change("shape-detection-changed", "breaking", detail)


# --- reading documents ------------------------------------------------------------------------


class UnavailableError(Exception):
    """The committed version of the schema cannot be read (no git, no repository, not committed)."""


def _parse(text: str, origin: str) -> Json:
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{origin}: not a JSON object")  # noqa: TRY004 - bad input, like bad JSON
    return document


def _committed_text(path: Path, ref: str) -> str:
    # `REF:./name` is resolved relative to the working directory, so no repository root is needed.
    command = ["git", "show", f"{ref}:./{path.name}"]
    try:
        shown = subprocess.run(
            command,
            cwd=path.resolve().parent,
            capture_output=True,
            encoding="utf-8",
            check=False,
        )
    except OSError as error:
        raise UnavailableError(f"cannot run git: {error}") from error
    if shown.returncode != 0:
        reason = shown.stderr.strip().splitlines()[0] if shown.stderr.strip() else "git failed"
        raise UnavailableError(f"{path} at {ref} cannot be read: {reason}")
    return shown.stdout


def summarize_against_git(path: Path, ref: str = "HEAD") -> str:
    """The human summary of the changes from ``path`` as committed at ``ref`` to the working copy.

    Never raises for a missing repository or an uncommitted file: returns a note instead.
    """
    try:
        committed = _committed_text(path, ref)
    except UnavailableError as error:
        return f"schema diff skipped: {error}"
    current = path.read_text(encoding="utf-8")
    if committed == current:
        return f"schema unchanged since {ref}"
    try:
        old = _parse(committed, f"{path} at {ref}")
    except ValueError as error:
        return f"schema diff skipped: {error}"
    return format_changes(diff_documents(old, _parse(current, str(path))), since=ref)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen diff",
        description="Classify the changes between two schema versions as breaking, "
        "behavioural or compatible for code that uses the SDK.",
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="OLD NEW, or one PATH with --git-ref"
    )
    parser.add_argument(
        "--git-ref", metavar="REF", help="compare PATH as committed at REF with the working copy"
    )
    parser.add_argument("--json", action="store_true", help="print the changes as a JSON list")
    arguments = parser.parse_args(argv)
    if len(arguments.paths) != (1 if arguments.git_ref else 2):
        parser.error("expected OLD NEW, or --git-ref REF PATH")
    try:
        if arguments.git_ref:
            (path,) = arguments.paths
            old = _parse(_committed_text(path, arguments.git_ref), f"{path} at {arguments.git_ref}")
        else:
            path = arguments.paths[1]
            old = _parse(arguments.paths[0].read_text(encoding="utf-8"), str(arguments.paths[0]))
        new = _parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ValueError, UnavailableError) as error:
        print(f"schema diff: {error}", file=sys.stderr)
        return 2
    changes = diff_documents(old, new)
    if arguments.json:
        print(json.dumps([change.to_json() for change in changes], indent=2))
    else:
        print(format_changes(changes, since=arguments.git_ref))
    return 1 if has_breaking(changes) else 0
