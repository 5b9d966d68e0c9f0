"""Print each runtime dependency's installed version next to its declared minimum.

``make test-lowest`` runs this in the environment it builds at the lowest
allowed versions, before the test suite. It exits 1 when an installed version
is not the declared minimum: that environment would not test what the
package's metadata promises.

    python -m tests.declared_minima
"""

from __future__ import annotations

import importlib.metadata
import sys

from packaging.requirements import Requirement
from packaging.version import Version

DISTRIBUTION = "marianne-sdk"


def declared_minima() -> dict[str, Version]:
    """Each dependency's (and each extra's) ``>=`` bound in the installed metadata."""
    minima = {}
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        bounds = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
        if not bounds:
            raise SystemExit(f"{DISTRIBUTION}: {text!r} declares no lower bound")
        minima[requirement.name] = max(bounds)
    return minima


def main() -> int:
    mismatches = 0
    print(f"{'dependency':<30} {'declared':<10} installed")
    for name, minimum in sorted(declared_minima().items()):
        installed = Version(importlib.metadata.version(name))
        mismatches += installed != minimum
        note = "" if installed == minimum else "  <- not the declared minimum"
        print(f"{name:<30} >={minimum!s:<8} {installed}{note}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
