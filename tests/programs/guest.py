"""Another program on the same conductor, with default client settings.

``python -m tests.programs.guest SOCKET BACKEND burst|busy|hold`` makes a burst
of 8 concurrent calls (``burst``), or keeps 4 callers busy without pause
(``busy``), or makes the burst and keeps its idle connections for a minute
(``hold``), with a ``monitor()`` block open; then it prints ``ready`` and stays
in its blocks until its standard input closes.
"""

from __future__ import annotations

import sys

import anyio
import anyio.to_thread

from marianne_sdk import DaemonClient


async def main(socket_path: str, mode: str) -> None:
    options = {"max_idle_seconds": 60.0} if mode == "hold" else {}
    async with DaemonClient(socket_path, **options) as client, client.monitor():
        async with anyio.create_task_group() as burst:
            for _ in range(8):
                burst.start_soon(client.health)
        async with anyio.create_task_group() as task_group:
            if mode == "busy":
                for _ in range(4):
                    task_group.start_soon(_keep_calling, client)
            print("ready", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.read)
            task_group.cancel_scope.cancel()


async def _keep_calling(client: DaemonClient) -> None:
    while True:
        await client.call("job.list")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[3], backend=sys.argv[2])
