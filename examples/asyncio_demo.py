"""The SDK on asyncio: submit a score, follow it to the end, handle an error.

    python -m examples.asyncio_demo [SCORE.yaml]

The socket is $MARIANNE_SOCKET, else the conductor's /tmp/marianne.sock.
"""

from __future__ import annotations

import asyncio
import sys

from examples.walkthrough import follow_a_job, score_path
from marianne_sdk import DaemonClient


async def main() -> int:
    async with DaemonClient() as client:
        # Independent calls run at once, each on a pooled connection of its own.
        status, health = await asyncio.gather(client.status(), client.health())
        print(f"conductor {status.version} (pid {status.pid}): {health.status}")
        # asyncio's own timeouts cancel SDK calls cleanly.
        async with asyncio.timeout(120):
            return await follow_a_job(client, score_path("asyncio-demo"))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
