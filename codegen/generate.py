"""Rendering the generated package and comparing it with what is committed.

Wrapper docstrings follow the Google style (``Args:``, ``Returns:``,
``Raises:``), as the rest of the package does.
"""

from __future__ import annotations

import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from . import tools
from .model import Field, Method, Protocol, SchemaType
from .models import render_models

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATED_MODULES = ("params", "methods", "fleet_methods", "registry", "enums")
# Column limit of docstring text; the code around it is formatted to 100 by ruff.
DOC_WIDTH = 88


@dataclass(frozen=True)
class Param:
    """A method param as the templates write it."""

    field: Field

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def required(self) -> bool:
        return self.field.required

    @property
    def annotation(self) -> str:
        annotation = self.field.type.annotation()
        return f"{annotation} | UnsetType" if self.unset_when_left_out else annotation

    @property
    def default(self) -> str:
        return "UNSET" if self.unset_when_left_out else repr(self.field.default)

    @property
    def unset_when_left_out(self) -> bool:
        """An optional param without a default: left out, it is ``UNSET``, which is never sent."""
        return not self.field.required and not self.field.has_default

    @property
    def description(self) -> str:
        return _docstring_safe(self.field.description)


@dataclass(frozen=True)
class Flavour:
    """One class of wrappers: async or blocking, of one client or fanned out over a fleet."""

    class_name: str
    base: str
    is_async: bool
    stream_type: str = ""
    """The stream class of a client's streaming wrappers (a fleet has none)."""
    fleet: bool = False

    @property
    def keyword(self) -> str:
        return "async def" if self.is_async else "def"

    @property
    def awaiting(self) -> str:
        return "await " if self.is_async else ""

    @property
    def entry(self) -> str:
        """The invoker's method the wrappers hand their params to (``_invoke.py``)."""
        return "_fan_out_typed" if self.fleet else "_call_typed"

    def returns(self, result_annotation: str) -> str:
        return f"FleetResult[{result_annotation}]" if self.fleet else result_annotation


FLAVOURS = (
    Flavour("AsyncMethods", "AsyncInvoker", is_async=True, stream_type="EventStream"),
    Flavour("SyncMethods", "SyncInvoker", is_async=False, stream_type="SyncEventStream"),
)
FLEET_FLAVOURS = (
    Flavour("AsyncFleetMethods", "AsyncFleetInvoker", is_async=True, fleet=True),
    Flavour("SyncFleetMethods", "SyncFleetInvoker", is_async=False, fleet=True),
)


@dataclass(frozen=True)
class Wrapper:
    """A method as the templates write it: its names, signature and docstring."""

    method: Method
    protocol: Protocol

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def python_name(self) -> str:
        return self.method.python_name

    @property
    def constant(self) -> str:
        return self.method.name.upper().replace(".", "_")

    @property
    def summary(self) -> str:
        return self.method.summary

    @property
    def idempotent(self) -> bool:
        return self.method.idempotent

    @property
    def streaming(self) -> bool:
        return self.method.streaming

    @property
    def errors(self) -> tuple[int, ...]:
        return tuple(error.code for error in self.method.errors)

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(Param(param) for param in self.method.params)

    @property
    def params_struct(self) -> str | None:
        return self.method.params_struct

    @property
    def params_class_name(self) -> str:
        return self.method.params_struct or (
            "".join(part.capitalize() for part in re.split(r"[._]", self.method.name)) + "Params"
        )

    @property
    def params_class(self) -> str:
        module = "models" if self.method.params_struct else "params"
        return f"{module}.{self.params_class_name}"

    @property
    def params_struct_arg(self) -> str:
        """``JobRequest`` → ``request``: the wrapper's argument for a params struct."""
        assert self.method.params_struct is not None
        last_word: str = re.findall("[A-Z][a-z0-9]*", self.method.params_struct)[-1]
        return last_word.lower()

    @property
    def params_expression(self) -> str:
        if self.method.params_struct:
            return self.params_struct_arg
        arguments = ", ".join(f"{param.name}={param.name}" for param in self.method.params)
        return f"{self.params_class}({arguments})"

    @property
    def result_annotation(self) -> str:
        return self.method.result.type.annotation() if self.method.result else "None"

    @property
    def notification(self) -> str | None:
        return self.method.notification.method if self.method.notification else None

    @property
    def notification_annotation(self) -> str:
        notification = self.method.notification
        return notification.type.annotation() if notification else "None"

    def docstring(self, flavour: Flavour) -> str:
        """The wrapper's docstring, quotes included, indented for a method body."""
        method = self.method
        paragraphs = [method.summary]
        if method.description:
            paragraphs.append(method.description)
        if method.streaming:
            paragraphs.append(
                f"Streams ``{self.notification}`` notifications of ``{method.name}`` on a "
                "connection of its own, closed when the block is left."
            )
        else:
            retry = (
                "idempotent: retried once on a fresh connection if the connection is lost"
                if method.idempotent
                else "not idempotent: never sent twice"
            )
            targets = " on every target of the fleet" if flavour.fleet else ""
            paragraphs.append(f"Calls ``{method.name}``{targets}; {retry}.")
        lines = [method.summary, ""]
        for paragraph in paragraphs[1:]:
            lines += [*textwrap.wrap(paragraph, DOC_WIDTH), ""]
        lines += self._arguments_section(flavour)
        lines += ["", "Returns:", *_entry(self._returns(flavour))]
        if method.errors and not flavour.fleet:
            lines += ["", "Raises:"]
            for error in method.errors:
                lines += _entry(
                    f"{error.exception}: Code {error.code} ({error.key}). {error.message}"
                )
        body = textwrap.indent(_docstring_safe("\n".join(lines)), " " * 8).lstrip()
        return f'"""{body}\n        """'

    def _arguments_section(self, flavour: Flavour) -> list[str]:
        method = self.method
        lines = ["Args:"]
        if method.params_struct:
            struct = self.protocol.components[method.params_struct]
            lines += _entry(
                f"{self.params_struct_arg}: The params of ``{method.name}``, as "
                f"a ``{method.params_struct}``. {struct.description}"
            )
            for param in method.params:
                lines += _entry(f"- ``{param.name}``: {_param_text(param)}", indent=8)
        for param in method.params if not method.params_struct else ():
            lines += _entry(f"{param.name}: {_param_text(param)}")
        if method.streaming:
            lines += _entry(
                "idle_timeout: Raise ``DaemonTimeoutError`` when no event arrives for that "
                "many seconds; ``None`` waits as long as the stream is open."
            )
        elif flavour.fleet:
            lines += _entry(
                "timeout: Seconds each target's call may take, after which that target "
                "fails with ``DaemonTimeoutError``; left out, each client's ``timeout``; "
                "``None``, no deadline."
            )
        else:
            lines += _entry(
                "timeout: Seconds the whole call may take, after which "
                "``DaemonTimeoutError`` is raised; left out, the client's ``timeout``; "
                "``None``, no deadline."
            )
        return lines

    def _returns(self, flavour: Flavour) -> str:
        method = self.method
        if method.notification is not None:
            item = method.notification.type
            return (
                f"{flavour.stream_type}[{item.annotation(models='')}]: The params of each "
                f"``{method.notification.method}`` notification, as they arrive. "
                f"{_description_of(item, self.protocol)}"
            )
        assert method.result is not None
        result = method.result
        described = result.description or _description_of(result.type, self.protocol)
        if flavour.fleet:
            errors = ", ".join(sorted({error.exception for error in method.errors}))
            described = (
                f"In ``ok``, the result of each target that answered: {described} In "
                f"``failed``, the error of each other target"
                + (f" (such as {errors})." if errors else ".")
            )
        return f"{flavour.returns(result.type.annotation(models=''))}: {described}"


def _param_text(param: Field) -> str:
    text = param.description or ("Required." if param.required else "")
    if not param.required:
        text += (
            f" Defaults to ``{param.default!r}``."
            if param.has_default
            else " Left out, it is not sent."
        )
    return text.strip()


def _description_of(value_type: SchemaType, protocol: Protocol) -> str:
    """The descriptions of the components a type names."""
    return " ".join(
        protocol.components[ref].description for ref in dict.fromkeys(value_type.refs())
    )


def _entry(text: str, indent: int = 4) -> list[str]:
    """A section entry: its first line at ``indent``, continuation lines 4 deeper."""
    return textwrap.wrap(
        text,
        DOC_WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 4),
        break_on_hyphens=False,
    )


def _docstring_safe(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''")


def render(protocol: Protocol, schema_label: str) -> dict[str, str]:
    """Every generated file, by file name, unformatted."""
    header = (
        f"# Generated from {schema_label} (sha256 {protocol.digest}) by `python -m codegen generate`.\n"
        "# Do not edit: change the schema and regenerate (`make generate`).\n"
    )
    wrappers = [Wrapper(method, protocol) for method in protocol.methods]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["py"] = repr
    context = {
        "methods": wrappers,
        "errors": protocol.errors,
        "exception_classes": sorted({"DaemonError", *(e.exception for e in protocol.errors)}),
        "enums": _enums(protocol),
        "conductor_versions": protocol.conductor_versions,
        "imports": {
            module: _imports(wrappers, module)
            for module in ("params", "methods", "fleet_methods", "registry")
        },
        "flavours": FLAVOURS,
        "fleet_flavours": FLEET_FLAVOURS,
    }
    files = {"__init__.py": header, "models.py": header + render_models(protocol)}
    for module in TEMPLATED_MODULES:
        template = environment.get_template(f"{module}.py.jinja")
        files[f"{module}.py"] = header + template.render(context)
    return files


def _enums(protocol: Protocol) -> list[dict[str, Any]]:
    return [
        {
            "class_name": f"Known{component.name}",
            "alias": component.name,
            "description": component.description,
            "members": [
                {"name": re.sub(r"\W+", "_", value).strip("_").upper(), "value": value}
                for value in component.known_values
            ],
        }
        for component in protocol.components.values()
        if component.known_values
    ]


def _imports(wrappers: list[Wrapper], module: str) -> dict[str, bool]:
    """Which of ``datetime``, ``Any``, ``UnsetType`` and ``models`` the annotations of ``module`` use."""
    annotations: list[str] = []
    for wrapper in wrappers:
        own_params = [] if wrapper.params_struct else [p.annotation for p in wrapper.params]
        if module == "params":
            annotations += own_params
        elif module == "methods":
            annotations += [wrapper.params_class, wrapper.result_annotation]
            annotations += [wrapper.notification_annotation, *own_params]
        elif module == "fleet_methods":
            if not wrapper.streaming:
                annotations += [wrapper.params_class, wrapper.result_annotation, *own_params]
        else:
            annotations += [wrapper.params_class, wrapper.result_annotation]
            annotations += [wrapper.notification_annotation]
    text = " ".join(annotations)
    return {
        "datetime": "datetime." in text,
        "Any": re.search(r"\bAny\b", text) is not None,
        "models": "models." in text,
        "UnsetType": re.search(r"\bUnsetType\b", text) is not None,
    }


def write_formatted(files: dict[str, str], directory: Path) -> None:
    """Write ``files`` into ``directory`` and format them as the repository does."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.py"):
        if stale.name not in files:
            stale.unlink()
    for name, source in files.items():
        (directory / name).write_text(source, encoding="utf-8")
    paths = [str(directory / name) for name in sorted(files)]
    # The config file of the caller's checkout must not change generated bytes.
    isolated = ["--isolated", "--line-length=100", "--target-version=py311"]
    ruff = [sys.executable, "-m", "ruff"]
    # Imports are sorted by ruff; an unused one is a fault of a template, so it fails here.
    tools.run([*ruff, "check", *isolated, "--select=I,F401", "--unfixable=F401", "--fix", *paths])
    tools.run([*ruff, "format", *isolated, "--quiet", *paths])


def stale_files(files: dict[str, str], directory: Path) -> list[str]:
    """Names of the files in ``directory`` that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as fresh:
        write_formatted(files, Path(fresh))
        expected = {path.name: path.read_bytes() for path in Path(fresh).glob("*.py")}
    present = {path.name: path.read_bytes() for path in directory.glob("*.py")}
    return sorted(
        name for name in expected.keys() | present.keys() if expected.get(name) != present.get(name)
    )
