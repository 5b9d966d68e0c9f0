"""Running the external tools of the generation: every failure stops it, with the tool's output."""

from __future__ import annotations

import subprocess
from pathlib import Path


class ToolError(Exception):
    """A tool the generator runs failed."""


def run(command: list[str], cwd: Path | None = None) -> str:
    """Run ``command``; its standard output, or :class:`ToolError` when it fails."""
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=cwd, encoding="utf-8"
    )
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise ToolError(f"{' '.join(command[:4])} … exited {completed.returncode}:\n{output}")
    return completed.stdout
