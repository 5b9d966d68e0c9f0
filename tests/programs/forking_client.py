"""A program that uses a client, then forks: ``python -m tests.programs.forking_client SOCKET MODE``.

MODE is ``sync`` (the blocking client) or an async backend (``asyncio``,
``trio``). The parent makes a call with idle connections kept for 30 s, then
forks twice: one child calls on the inherited client object, the other
never touches it; both then exit through the interpreter's normal exit
(atexit hooks and finalizers included). The parent waits for each child at
most ``CHILD_BOUND`` seconds, killing one that does not exit, calls again,
and prints one JSON object: each child's exit status (None if it had to be
killed) and the answers.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

import anyio

from marianne_sdk import DaemonClient as AsyncDaemonClient
from marianne_sdk.sync import DaemonClient

CHILD_BOUND = 20.0


def _whoami(client: Any, mode: str) -> Any:
    params = {"pid": os.getpid()}
    if mode == "sync":
        return client.call("test.whoami", params, timeout=5)

    async def call() -> Any:
        return await client.call("test.whoami", params, timeout=5)

    return anyio.run(call, backend=mode)


def _idle_connections(client: Any, mode: str) -> int:
    """The pooled connections the client holds, without touching any of them."""
    pool = client._client._pool if mode == "sync" else client._pool
    idle: int = pool.idle_connections
    return idle


def _child(client: Any, mode: str, uses_client: bool, report: int) -> None:
    # Before anything runs in the child: what it inherited must be forgotten already.
    inherited = _idle_connections(client, mode)
    answer = _whoami(client, mode) if uses_client else None
    os.write(report, json.dumps({"answer": answer, "inherited_idle": inherited}).encode())
    sys.exit(0)  # through atexit, where an inherited blocking client used to hang


def _fork(client: Any, mode: str, uses_client: bool) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(client, mode, uses_client, write_end)
    os.close(write_end)
    deadline = time.monotonic() + CHILD_BOUND
    status: int | None = None
    while time.monotonic() < deadline:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(wait_status)
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as report:
        said = json.loads(report.read() or b"{}")
    return {"pid": pid, "status": status, **said}


def main(socket_path: str, mode: str) -> None:
    client: Any = (
        DaemonClient(socket_path, max_idle_seconds=30)
        if mode == "sync"
        else AsyncDaemonClient(socket_path, max_idle_seconds=30)
    )
    first = _whoami(client, mode)
    idle_before_fork = _idle_connections(client, mode)
    calling = _fork(client, mode, uses_client=True)
    idle = _fork(client, mode, uses_client=False)
    again = _whoami(client, mode)
    if mode == "sync":
        client.close()
    print(
        json.dumps(
            {
                "parent": os.getpid(),
                "first": first,
                "again": again,
                "calling": calling,
                "idle": idle,
                "idle_before_fork": idle_before_fork,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
