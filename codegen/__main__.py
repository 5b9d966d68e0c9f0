"""``python -m codegen``: generate, check, diff or sync the SDK's schema and generated code.

python -m codegen generate [--schema PATH] [--out DIR]
python -m codegen check    [--schema PATH] [--out DIR]
python -m codegen diff OLD NEW | --git-ref REF PATH [--json]
python -m codegen sync MODELS.json [--schema PATH] [--write]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import generate, model, schema, tools

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT / "schema" / "marianne.openrpc.json"
DEFAULT_OUT = ROOT / "src" / "marianne_sdk" / "_generated"


def main(argv: list[str]) -> int:
    if argv[:1] == ["diff"]:
        from . import diff

        return diff.main(argv[1:])
    if argv[:1] == ["sync"]:
        from . import schema_sync

        return schema_sync.main(argv[1:], default_schema=DEFAULT_SCHEMA)
    parser = argparse.ArgumentParser(prog="python -m codegen")
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    try:
        protocol = model.load(arguments.schema)
    except schema.SchemaError as error:
        print(f"schema error: {arguments.schema}: {error}", file=sys.stderr)
        return 2
    try:
        return _generate_or_check(protocol, arguments.command, arguments.schema, arguments.out)
    except tools.ToolError as error:
        print(f"generation failed: {error}", file=sys.stderr)
        return 2


def _generate_or_check(protocol: model.Protocol, command: str, path: Path, out: Path) -> int:
    files = generate.render(protocol, _label(path))
    if command == "check":
        stale = generate.stale_files(files, out)
        if stale:
            print(
                f"generated code in {out} is stale ({', '.join(stale)}): run `make generate`",
                file=sys.stderr,
            )
            return 1
        print(f"generated code is current with {path.name}")
        return 0
    generate.write_formatted(files, out)
    print(f"generated {len(files)} files into {out}")
    if path.resolve() == DEFAULT_SCHEMA:
        from . import diff

        print(diff.summarize_against_git(path))
    return 0


def _label(path: Path) -> str:
    """The schema's path as written in headers: relative, so output is machine-independent."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
