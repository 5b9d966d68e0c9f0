"""``python -m codegen``: generate, check or diff the SDK's generated code.

python -m codegen generate [--schema PATH] [--out DIR]
python -m codegen check    [--schema PATH] [--out DIR]
python -m codegen diff OLD NEW | --git-ref REF PATH [--json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import generate, schema

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT / "schema" / "marianne.openrpc.json"
DEFAULT_OUT = ROOT / "src" / "marianne_sdk" / "_generated"


def main(argv: list[str]) -> int:
    if argv[:1] == ["diff"]:
        from . import diff

        return diff.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m codegen")
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    try:
        document = schema.load(arguments.schema)
    except schema.SchemaError as error:
        print(f"schema error: {arguments.schema}: {error}", file=sys.stderr)
        return 2
    files = generate.render(document, _label(arguments.schema))
    if arguments.command == "check":
        stale = generate.stale_files(files, arguments.out)
        if stale:
            print(
                f"generated code in {arguments.out} is stale ({', '.join(stale)}): run `make generate`",
                file=sys.stderr,
            )
            return 1
        print(f"generated code is current with {arguments.schema.name}")
        return 0
    generate.write_formatted(files, arguments.out)
    print(f"generated {len(files)} files into {arguments.out}")
    if arguments.schema.resolve() == DEFAULT_SCHEMA:
        from . import diff

        print(diff.summarize_against_git(arguments.schema))
    return 0


def _label(path: Path) -> str:
    """The schema's path as written in headers: relative, so output is machine-independent."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
