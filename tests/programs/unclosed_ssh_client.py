"""A program that exits with an ssh connection open: ``python -m tests.programs.unclosed_ssh_client URL``.

The client (``--client URL``) makes one call with the blocking client to the
``ssh://`` URL (the ssh command is ``$MARIANNE_SSH_COMMAND``, inherited),
prints one JSON object (the conductor's version and the pids of its ssh
children at that moment) and exits without closing the client: the
interpreter's exit must reap the ssh child.

Run without ``--client``, the program is the client's parent and a child
subreaper: an ssh child the client left behind, running or exited but never
reaped, becomes the parent's child when the client exits, so it is seen
however fast it ends. The parent waits for the client at most
:data:`CLIENT_BOUND` seconds (killing it after that), then prints one JSON
object: the client's exit status (None if it was killed), its report, and the
pids of the ssh processes it left behind (which the parent then kills and reaps).

:func:`ssh_children` is also how the ssh tests find the ssh children of their own process.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from marianne_sdk.sync import DaemonClient

CLIENT_BOUND = 30.0
_PR_SET_CHILD_SUBREAPER = 36


def ssh_children(parent: int | None = None) -> set[int]:
    """The pids of ``parent``'s children (default: this process's) that are ssh.

    Read from ``/proc/PID/stat``, whose name field a zombie keeps: a child
    that exited but was never reaped counts too.
    """
    parent = os.getpid() if parent is None else parent
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 1 :].split()[1])
        if ppid == parent and name == "ssh":
            found.add(int(entry.name))
    return found


client: DaemonClient | None = None


def run_client(url: str) -> None:
    global client  # referenced until the interpreter exits: its exit hooks must do the work
    client = DaemonClient(url, timeout=20, max_idle_seconds=60)
    status = client.status()
    print(json.dumps({"version": status.version, "ssh": sorted(ssh_children())}), flush=True)


def run_parent(url: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    command = [sys.executable, "-m", "tests.programs.unclosed_ssh_client", "--client", url]
    status: int | None
    out: str | bytes | None
    err: str | bytes | None
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=CLIENT_BOUND)
    except subprocess.TimeoutExpired as expired:  # run() killed it
        status, out, err = None, expired.stdout, expired.stderr
    else:
        status, out, err = finished.returncode, finished.stdout, finished.stderr
    left = sorted(ssh_children())  # the client's orphans, now this process's children
    for pid in left:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    text = out.decode() if isinstance(out, bytes) else out or ""
    report: dict[str, Any] = {
        "status": status,
        "client": json.loads(text) if text else None,
        "stderr": err.decode() if isinstance(err, bytes) else err,
        "left": left,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--client":
        run_client(sys.argv[2])
    else:
        run_parent(sys.argv[1])
