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
``float``; a field that gains ``None`` must now be checked). A field that stops
being required but gets a default is compatible on both sides: absent, it
decodes to a value of its type. A component used on both sides takes the
stricter verdict; a component no method uses is judged as if used on both.
Params are the wrapper's positional arguments, so a param that changes
position is breaking.

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

from . import model
from .model import NO_DEFAULT, Component, Field, Method, Protocol, Shape
from .schema import Json, SchemaError

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


def diff_protocols(old: Protocol, new: Protocol) -> list[Change]:
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


# --- fields: method params and component properties -------------------------------------------

# rule -> (severity when SDK users write the value, as a param; when they read it, in a result)
_FIELD_RULES: dict[str, tuple[Severity, Severity]] = {
    "added-required": ("breaking", "compatible"),
    "added-optional": ("compatible", "compatible"),
    "removed": ("breaking", "breaking"),
    "now-required": ("breaking", "compatible"),
    "now-optional": ("compatible", "breaking"),
    # Absent decodes to the default, a value of the field's type: readers see no new value kind.
    "now-defaulted": ("compatible", "compatible"),
    "type-widened": ("compatible", "breaking"),
    "type-narrowed": ("breaking", "breaking"),
    "type-changed": ("breaking", "breaking"),
    "default-changed": ("behavioural", "behavioural"),
}


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


def field_changes(
    old: Mapping[str, Field], new: Mapping[str, Field]
) -> Iterator[tuple[str, str, str]]:
    """(rule, field name, detail) for each difference between two sets of fields."""
    for name in old:
        if name not in new:
            yield "removed", name, "removed"
    for name, field in new.items():
        if name not in old:
            presence = "required" if field.required else "optional"
            yield f"added-{presence}", name, f"added, {presence}: {field.type}"
    for name, before in old.items():
        after = new.get(name)
        if after is None:
            continue
        if before.required and not after.required and after.has_default:
            yield "now-defaulted", name, f"no longer required, absent means {_show(after.default)}"
        elif before.required != after.required:
            if after.required:
                yield "now-required", name, "now required"
            else:
                yield "now-optional", name, "no longer required"
        widened, narrowed = after.type.accepts(before.type), before.type.accepts(after.type)
        if not (widened and narrowed):
            rule = "type-widened" if widened else "type-narrowed" if narrowed else "type-changed"
            yield rule, name, f"type {before.type} -> {after.type}"
        # A default matters only while the field stays optional; required-ness is reported above.
        if before.default != after.default and not (before.required or after.required):
            detail = f"default {_show(before.default)} -> {_show(after.default)}"
            yield "default-changed", name, detail


def _show(default: Any) -> str:
    return "(none)" if default is NO_DEFAULT else json.dumps(default)


def _by_name(fields: Iterable[Field]) -> dict[str, Field]:
    return {field.name: field for field in fields}


# --- document, methods, components -----------------------------------------------------------


def _document_changes(old: Protocol, new: Protocol) -> Iterator[Change]:
    if old.conductor_versions != new.conductor_versions:
        detail = f"conductor versions {old.conductor_versions} -> {new.conductor_versions}"
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


def _error_table(protocol: Protocol) -> dict[int, str]:
    """The exception class raised for each error code."""
    return {error.code: error.exception for error in protocol.errors}


def _method_changes(old: Protocol, new: Protocol) -> Iterator[Change]:
    for method in old.methods:
        after = new.method(method.name)
        if after is None:
            detail = f"method removed ({method.python_name})"
            yield Change("method-removed", "breaking", detail, method=method.name)
        else:
            yield from _one_method_changes(method, after)
    old_names = {method.name for method in old.methods}
    for method in new.methods:
        if method.name not in old_names:
            detail = f"method added ({method.python_name})"
            yield Change("method-added", "compatible", detail, method=method.name)


def _one_method_changes(old: Method, new: Method) -> Iterator[Change]:
    def change(kind: str, severity: Severity, detail: str, field: str | None = None) -> Change:
        return Change(kind, severity, detail, method=old.name, field=field)

    if old.python_name != new.python_name:
        detail = f"wrapper renamed {old.python_name} -> {new.python_name}"
        yield change("python-name-changed", "breaking", detail)
    if old.idempotent != new.idempotent:
        if new.idempotent:
            detail = "now idempotent: retried after a connection loss"
        else:
            detail = "no longer idempotent: never sent twice"
        yield change("idempotent-changed", "behavioural", detail)
    if old.streaming != new.streaming:
        now = "now" if new.streaming else "no longer"
        yield change("streaming-changed", "breaking", f"{now} streaming")
    elif _notification(old) != _notification(new):
        yield change(
            "notification-changed",
            "breaking",
            f"notification {_notification(old)} -> {_notification(new)}",
        )
    if old.result and new.result and old.result.type != new.result.type:
        detail = f"result {old.result.type} -> {new.result.type}"
        yield change("result-type-changed", "breaking", detail)
    yield from _params_changes(old, new)
    old_errors = {error.code: error.key for error in old.errors}
    new_errors = {error.code: error.key for error in new.errors}
    for code in sorted(old_errors.keys() - new_errors.keys()):
        detail = f"no longer returns error {code} ({old_errors[code]})"
        yield change("error-removed", "compatible", detail)
    for code in sorted(new_errors.keys() - old_errors.keys()):
        yield change("error-added", "compatible", f"may return error {code} ({new_errors[code]})")


def _notification(method: Method) -> str | None:
    notification = method.notification
    return f"{notification.method}: {notification.type}" if notification else None


def _params_changes(old: Method, new: Method) -> Iterator[Change]:
    if old.params_struct != new.params_struct:
        detail = (
            f"params struct {old.params_struct} -> {new.params_struct}: "
            "the wrapper's signature changes"
        )
        yield Change("params-struct-changed", "breaking", detail, method=old.name)
    if old.params_struct or new.params_struct:
        # The struct's fields are the params: their changes are reported once, on the struct.
        return
    old_params, new_params = _by_name(old.params), _by_name(new.params)
    for rule, param, detail in field_changes(old_params, new_params):
        yield Change(f"param-{rule}", _PARAM.severity(rule), detail, method=old.name, field=param)
    # The params are the wrapper's positional order: a param that moves rebinds positional calls.
    new_order = list(new_params)
    for before, param in enumerate(old_params):
        after = new_order.index(param) if param in new_params else before
        if before != after:
            detail = f"moved from position {before + 1} to {after + 1}"
            yield Change("param-moved", "breaking", detail, method=old.name, field=param)


def _component_changes(old: Protocol, new: Protocol) -> Iterator[Change]:
    old_usage, new_usage = _usages(old), _usages(new)
    for name in sorted(old.components.keys() - new.components.keys()):
        used_by = tuple(sorted(old_usage[name].methods))
        yield Change("type-removed", "breaking", "type removed", type=name, used_by=used_by)
    for name in sorted(new.components.keys() - old.components.keys()):
        used_by = tuple(sorted(new_usage[name].methods))
        yield Change("type-added", "compatible", "type added", type=name, used_by=used_by)
    for name in sorted(old.components.keys() & new.components.keys()):
        usage = old_usage[name] | new_usage[name]
        for change in _one_component_changes(old.components[name], new.components[name], usage):
            yield dataclasses.replace(change, type=name, used_by=tuple(sorted(usage.methods)))


def _usages(protocol: Protocol) -> dict[str, _Usage]:
    """How each component is reached from the methods, directly or through other components."""
    usages = dict.fromkeys(protocol.components, _Usage())
    for method in protocol.methods:
        for roots, usage in (
            (method.written_refs(), _Usage(written=True)),
            (method.read_refs(), _Usage(read=True)),
        ):
            for component in protocol.reachable(roots):
                usages[component] |= dataclasses.replace(usage, methods=frozenset({method.name}))
    return usages


def _one_component_changes(old: Component, new: Component, usage: _Usage) -> Iterator[Change]:
    """The changes inside one component; the caller sets ``type`` and ``used_by``."""
    if old.type != new.type:
        yield Change("type-changed", "breaking", f"type {old.type} -> {new.type}")
        return
    for rule, field, detail in field_changes(_by_name(old.fields), _by_name(new.fields)):
        yield Change(f"field-{rule}", usage.severity(rule), detail, field=field)
    for value in old.known_values:
        if value not in new.known_values:
            yield Change("known-value-removed", "breaking", "known value removed", field=value)
    for value in new.known_values:
        if value not in old.known_values:
            yield Change("known-value-added", "compatible", "known value added", field=value)
    yield from _shape_changes(old.shapes, new.shapes)


def _shape_changes(old: tuple[Shape, ...], new: tuple[Shape, ...]) -> Iterator[Change]:
    old_names, new_names = [s.name for s in old], [s.name for s in new]
    for name in old_names:
        if name not in new_names:
            yield Change("shape-removed", "breaking", f"shape {name!r} removed")
    for name in new_names:
        if name not in old_names:
            yield Change("shape-added", "compatible", f"shape {name!r} added")

    # The first shape whose marker field is present wins, so order matters as much as markers.
    def detection(shapes: tuple[Shape, ...], kept: list[str]) -> list[tuple[str, str | None]]:
        return [(s.name, s.when_present) for s in shapes if s.name in kept]

    before, after = detection(old, new_names), detection(new, old_names)
    if before != after:
        detail = f"shape detection {before} -> {after}"
        yield Change("shape-detection-changed", "breaking", detail)


# --- reading documents ------------------------------------------------------------------------


class UnavailableError(Exception):
    """The committed version of the schema cannot be read (no git, no repository, not committed)."""


def _parse(text: str, origin: str) -> Protocol:
    """The model of a schema's text; :class:`ValueError` when it is not a valid schema."""
    document: Json = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{origin}: not a JSON object")  # noqa: TRY004 - bad input, like bad JSON
    try:
        return model.from_document(document)
    except SchemaError as error:
        raise ValueError(f"{origin}: {error}") from error


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
    try:
        new = _parse(current, str(path))
    except ValueError as error:
        return f"schema diff skipped: {error}"
    return format_changes(diff_protocols(old, new), since=ref)


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
    changes = diff_protocols(old, new)
    if arguments.json:
        print(json.dumps([change.to_json() for change in changes], indent=2))
    else:
        print(format_changes(changes, since=arguments.git_ref))
    return 1 if has_breaking(changes) else 0
