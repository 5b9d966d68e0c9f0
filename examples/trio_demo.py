"""The SDK on trio: submit a score, follow it to the end, handle an error.

    python -m examples.trio_demo [SCORE.yaml]

The socket is $MARIANNE_SOCKET, else the conductor's /tmp/marianne.sock.
"""

from __future__ import annotations

import sys

import trio

from examples.walkthrough import follow_a_job, score_path
from marianne_sdk import DaemonClient


async def main() -> int:
    async with DaemonClient() as client:
        status = await client.status()
        print(f"conductor {status.version} (pid {status.pid}): {status.running_jobs} jobs running")
        # trio's cancel scopes cancel SDK calls cleanly.
        with trio.fail_after(120):
            return await follow_a_job(client, score_path("trio-demo"))


if __name__ == "__main__":
    sys.exit(trio.run(main))
