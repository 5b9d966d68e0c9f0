"""``make demo``: the examples and the command line against a fake conductor.

Needs no conductor: it starts the SDK's FakeDaemon on a temporary socket
(``python -m marianne_sdk fake-daemon``), runs each example and a few
``marianne-sdk`` commands with ``MARIANNE_SOCKET`` pointing at it, and stops
the fake. Exits non-zero if any step failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ["-m", "marianne_sdk"]
STEPS = [
    ["-m", "examples.asyncio_demo"],
    ["-m", "examples.trio_demo"],
    ["-m", "examples.sync_demo"],
    [*CLI, "methods"],
    [*CLI, "status"],
    [*CLI, "jobs"],
    [*CLI, "job", "asyncio-demo", "--json"],
]


def run(args: list[str], env: dict[str, str]) -> bool:
    print(f"\n$ python {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, timeout=300).returncode == 0


def main() -> int:
    # Under /tmp: a Unix socket path must stay under about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="marianne-demo-", dir="/tmp") as directory:
        socket_path = str(Path(directory) / "conductor.sock")
        env = {**os.environ, "MARIANNE_SOCKET": socket_path}
        daemon = subprocess.Popen(
            [sys.executable, *CLI, "fake-daemon", "--socket", socket_path],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert daemon.stdout is not None
            ready = daemon.stdout.readline()  # "" if the fake died
            if not ready.startswith("serving on"):
                print("the fake conductor did not start", file=sys.stderr)
                return 1
            print(f"fake conductor {ready.strip()}")
            failed = [args for args in STEPS if not run(args, env)]
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
    for args in failed:
        print(f"FAILED: python {' '.join(args)}", file=sys.stderr)
    if failed:
        return 1
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
