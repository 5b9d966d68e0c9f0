"""Command-line arguments: the parser's error handling, shared options and params."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any, NoReturn

import msgspec


class UsageError(Exception):
    """A command's arguments make no sense (exit code 2).

    ``parser`` is the (sub)command parser whose usage line to show, if any.
    """

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


class ArgumentParser(argparse.ArgumentParser):
    """Raises bad arguments as :class:`UsageError`, so that ``--json`` can report them."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


def attach_clone_values(argv: Sequence[str]) -> list[str]:
    """Read a bare ``--clone`` as the default clone.

    Like the conductor's ``--conductor-clone[=NAME]``, a clone name is attached
    with ``=``; argparse alone would take the next word (the command) as the
    name.
    """
    return ["--clone=" if arg == "--clone" else arg for arg in argv]


def seconds(text: str) -> float:
    """A duration option: a positive, finite number of seconds."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return seconds


# Options accepted before the command, and after it by the commands they affect.
OPTIONS: dict[str, tuple[Any, dict[str, Any]]] = {
    "--socket": (
        None,
        {
            "action": "append",
            "metavar": "PATH",
            "help": (
                "socket path or ssh://[user@]host[:port][/path]; repeat it to ask several "
                "conductors (status, health, jobs, watch)"
            ),
        },
    ),
    "--clone": (
        None,
        {
            "metavar": "[=NAME]",
            "help": "use the clone conductor's socket (--clone or --clone=NAME)",
        },
    ),
    "--timeout": (
        None,
        {
            "type": seconds,
            "metavar": "SECONDS",
            "help": "per-call timeout (default: the client's, 30 s)",
        },
    ),
    "--json": (
        False,
        {
            "action": "store_true",
            "help": "machine-readable output (one JSON document; one per line for watch)",
        },
    ),
}
CLIENT_OPTIONS = tuple(OPTIONS)


def add_options(parser: argparse.ArgumentParser, names: Sequence[str], *, defaults: bool) -> None:
    # Sub-parsers must not set defaults: theirs would overwrite a value given
    # before the command. A sub-parser's values replace those given before
    # it, so a repeatable option collects there under a name of its own.
    for name in names:
        default, settings = OPTIONS[name]
        if not defaults and settings.get("action") == "append":
            settings = {**settings, "dest": _after_command(name)}
        parser.add_argument(name, default=default if defaults else argparse.SUPPRESS, **settings)


def _after_command(name: str) -> str:
    return name.lstrip("-").replace("-", "_") + "_after_command"


def sockets(args: argparse.Namespace) -> list[str]:
    """Every ``--socket`` given, before the command and after it, in order."""
    return [*(args.socket or ()), *getattr(args, _after_command("--socket"), ())]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parse_params(words: Sequence[str], params_type: type[msgspec.Struct] | None) -> dict[str, Any]:
    """``['{"a": 1}']`` or ``['a=1', 'b=x']`` → ``{"a": 1, "b": "x"}``.

    A ``key=value`` value stays text where ``params_type`` (the method's
    params, None for a method the SDK does not know) takes a string for
    ``key``: job ids are file stems, and ``123`` is one.
    """
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        try:
            params = msgspec.json.decode(words[0])
        except msgspec.DecodeError as error:
            raise UsageError(f"PARAMS_JSON is not valid JSON: {error}") from None
        if not isinstance(params, dict):
            raise UsageError("PARAMS_JSON must be a JSON object")
        return params
    field_types = (
        {}
        if params_type is None
        else {field.encode_name: field.type for field in msgspec.structs.fields(params_type)}
    )
    params = {}
    for word in words:
        key, equals, text = word.partition("=")
        if not equals or not key:
            raise UsageError(f"expected key=value or one JSON object, got {word!r}")
        params[key] = _param_value(text, field_types.get(key))
    return params


def _param_value(text: str, field_type: Any) -> Any:
    if field_type is not None and _is_valid(text, field_type):
        return text
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # the client's validation names the param if it wanted something else


def _is_valid(value: Any, target_type: Any) -> bool:
    try:
        msgspec.convert(value, target_type)
    except msgspec.ValidationError:
        return False
    return True
