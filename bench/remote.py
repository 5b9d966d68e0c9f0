"""The conductor over ssh: the SDK against the floor, opening a connection, fleet fan-out.

A private sshd on 127.0.0.1 (``tests.sshd.SSHServer``: generated keys, its
own configs) makes this machine the "remote" host, and :mod:`bench.server`
processes (the cheap canned server) are its conductors. Every measured run
is a process of its own (:mod:`bench.remote_runs`) with
``$MARIANNE_SSH_COMMAND`` reaching that sshd:

- a paired run per event loop (asyncio, uvloop, trio): the SDK client over
  ssh (its own ssh connections, each running its bridge on the far side) and
  on the local socket of the same server, and the floor of that loop over
  ssh with as many connections (one ssh per lane, running ``socat``, or the
  SDK's bridge for :data:`BRIDGE_FLOOR_CLIENTS`), all open at once and
  taking turns in :data:`SLICES` slices, so that the clients compared share
  whatever else the machine does meanwhile (the machine this was written on
  was shared, and separate runs a minute apart differed by 2x). Each turn
  times a few fresh connections' first call, then calls/s and client CPU.
  sshd and the server run on the placement's server CPUs and the runs on its
  client CPUs, as the local workloads do;
- fleet fan-out against 16 servers, each on its own socket, wherever the OS
  puts the processes: the median ``daemon.health`` latency of a
  :class:`Fleet` of 1, 4 and 16 ssh targets, and of each target alone, in
  the same run on warm connections, for :data:`FLEET_CLIENTS`.

Where sshd cannot run, :func:`run_remote` says why and measures nothing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from bench.harness import affinity, canned_servers, cpu_sets, run_measured
from bench.remote_runs import FLEET_SIZES, LOOP_OF, REMOTE_WORKLOADS, SDK_VIAS
from bench.workloads import FLOORS

SLICES = 6
"""Slices of each paired run: in each, every client takes its turn (smoke: one)."""

REMOTE_COUNT = 6_000
REMOTE_SMOKE_COUNT = 16
"""Calls of each workload of each client of a paired run, over all its slices."""

SSH_OPENINGS = 1
LOCAL_OPENINGS = 5
"""Fresh connections timed by a client in each slice, over ssh and on the local socket.

(Smoke: one each.) floor-trio times none: the floor's opening is ssh's and
socat's or the bridge's, whatever the event loop, and floor-asyncio times it."""

BRIDGE_FLOOR_CLIENTS = ("floor-asyncio",)
"""The floor clients that also run through ssh + the SDK's bridge, not only ssh + socat.

That floor tells what the bridge costs against socat, which does not depend on
the client's event loop."""

FLEET_CLIENTS = ("sdk-asyncio", "sdk-trio")
"""The SDK clients with a fleet run: each opens 21 ssh sessions (fleets of 1, 4 and 16).

sdk-uvloop would add as much again for what the asyncio code path already shows."""

FLEET_CALLS = 200
FLEET_SMOKE_CALLS = 10
"""Timed calls of each target alone and of each fleet."""

FAR_ROUND_TRIP = 0.005
"""Seconds the servers of the second fleet run wait before each answer: hosts on a network.

On 127.0.0.1 every target's ssh, sshd, bridge and server share this machine's
CPUs, so a fleet call of 16 costs 16 calls' CPU and can only be as fast as
those CPUs allow; across a network, what a fan-out overlaps is the round trip
(0.5 ms in one rack, tens of ms across sites), which this run stands for.
"""

FAR_FLEET_CALLS = 60
"""Timed calls of each target alone and of each fleet in the run with the round trip."""

_LOOPS = ("asyncio", "uvloop", "trio")
_RUN_TIMEOUT = 180.0
_LOG_IN_TIMEOUT = 30.0


class Skipped(Exception):
    """The remote rows cannot run here; the message says why."""


@contextlib.contextmanager
def remote_host(
    servers: int, cpus: set[int] | None, answer_after: float = 0.0
) -> Iterator[tuple[Any, list[str]]]:
    """A private sshd on 127.0.0.1 and ``servers`` canned servers, on ``cpus``.

    Each server waits ``answer_after`` seconds before each answer.

    Yields the ``tests.sshd.SSHServer`` and the servers' socket paths; raises
    :class:`Skipped` where sshd cannot run. sshd, and so what it starts for
    each session (the bridge), runs on ``cpus`` as the servers do.
    """
    try:
        from tests.sshd import SSHServer, SSHUnavailable
    except ImportError as error:  # pytest, which tests.sshd imports, is missing
        raise Skipped(f"tests.sshd cannot be imported: {error}") from error
    with contextlib.ExitStack() as stack:
        try:
            with affinity(cpus):
                server = stack.enter_context(SSHServer())
        except SSHUnavailable as unavailable:
            raise Skipped(str(unavailable)) from unavailable
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            raise Skipped(f"sshd did not start: {error}") from error
        _log_in(server)
        yield (
            server,
            stack.enter_context(canned_servers(servers, 1, cpus, answer_after=answer_after)),
        )


def _log_in(server: Any) -> None:
    """Check that ssh logs in to ``server``; :class:`Skipped` saying why not."""
    argv = [*shlex.split(server.ssh_command), "-T", "-o", "BatchMode=yes", "127.0.0.1", "true"]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_LOG_IN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise Skipped(
            f"ssh to the private sshd did not log in within {_LOG_IN_TIMEOUT} s"
        ) from error
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1:] or ["nothing on stderr"]
        raise Skipped(f"ssh to the private sshd failed (exit {done.returncode}): {said[0]}")


def _run(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One measured process of :mod:`bench.remote_runs`; its JSON."""
    what = f"bench.remote_runs {' '.join(argv[:3])}"
    return run_measured("bench.remote_runs", argv, what, env, _RUN_TIMEOUT)


def _env(server: Any) -> dict[str, str]:
    return os.environ | {"MARIANNE_SSH_COMMAND": server.ssh_command}


def _plan(clients: tuple[str, ...], smoke: bool, notes: list[str]) -> dict[str, list[str]]:
    """Event loop → its paired run's ``CLIENT:VIA:OPENINGS`` arguments."""
    socat = shutil.which("socat") is not None
    if not socat:
        notes.append("socat is not installed: no floor through ssh + socat")
    plan: dict[str, list[str]] = {}
    for client in clients:
        if client in FLOORS:
            vias = ["ssh+socat"] if socat else []
            if client in BRIDGE_FLOOR_CLIENTS or not socat:
                vias.append("ssh+bridge")
        else:
            vias = list(SDK_VIAS)
        for via in vias:
            openings = _openings(client, via, smoke)
            plan.setdefault(LOOP_OF[client], []).append(f"{client}:{via}:{openings}")
    return {loop: plan[loop] for loop in _LOOPS if loop in plan}


def _openings(client: str, via: str, smoke: bool) -> int:
    if client in FLOORS and client not in BRIDGE_FLOOR_CLIENTS:
        return 0
    if smoke:
        return 1
    return LOCAL_OPENINGS if via == "local" else SSH_OPENINGS


def _paired_runs(
    clients: tuple[str, ...], smoke: bool, cpus: tuple[set[int] | None, set[int] | None]
) -> dict[str, Any]:
    """A paired run per event loop: its SDK client over ssh and local, and its floors over ssh."""
    server_cpus, client_cpus = cpus
    notes: list[str] = []
    plan = _plan(clients, smoke, notes)
    count = REMOTE_SMOKE_COUNT if smoke else REMOTE_COUNT
    slices = 1 if smoke else SLICES
    runs: dict[str, Any] = {}
    with remote_host(1, server_cpus) as (server, (socket_path,)), affinity(client_cpus):
        url = server.url(socket_path)
        for loop, kinds in plan.items():
            argv = ["paired", loop, str(count), str(slices), socket_path, url, *kinds]
            runs[loop] = _run(argv, _env(server))
            print(f"  remote: paired run on {loop} done", file=sys.stderr, flush=True)
    return {
        "paired": runs,
        "notes": notes,
        "count": count,
        "server_cpus": sorted(server_cpus) if server_cpus else None,
        "client_cpus": sorted(client_cpus) if client_cpus else None,
    }


def _fleets(clients: tuple[str, ...], smoke: bool) -> dict[str, Any]:
    """The fleet run of each of :data:`FLEET_CLIENTS`, wherever the OS puts the processes.

    Not on the placement's CPUs: a fan-out runs its targets at once only
    where there are CPUs to run them on; pinned to one, it would measure the
    sum of the targets' CPU.
    """
    result: dict[str, Any] = {}
    runs = (("fleet", 0.0, FLEET_CALLS), ("far_fleet", FAR_ROUND_TRIP, FAR_FLEET_CALLS))
    for key, round_trip, calls in runs:
        if smoke:
            calls = FLEET_SMOKE_CALLS
        with remote_host(max(FLEET_SIZES), None, round_trip) as (server, paths):
            urls = [server.url(path) for path in paths]
            result[key] = {
                client: _run(["fleet", client, str(calls), *urls], _env(server))
                for client in FLEET_CLIENTS
                if client in clients
            }
        print(f"  remote {key} runs done", file=sys.stderr, flush=True)
    return result | {"far_round_trip": FAR_ROUND_TRIP}


def run_remote(clients: tuple[str, ...], *, smoke: bool, placement: str) -> dict[str, Any]:
    """Every remote measure: ``{"paired": {...}, "fleet": {...}, ...}``.

    Or ``{"skipped": why}`` where sshd cannot run, or ``{"failed": what}``
    when a run failed (its error on standard error).
    """
    started = time.perf_counter()
    try:
        result = _paired_runs(clients, smoke, cpu_sets(placement))
        result |= _fleets(clients, smoke)
    except Skipped as skipped:
        return {"skipped": str(skipped)}
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        # The local rows, measured already, are still worth printing.
        print(error, file=sys.stderr)
        return {"failed": str(error).splitlines()[0]}
    return result | {
        "placement": placement,
        "cpus": os.cpu_count(),
        "seconds": time.perf_counter() - started,
        "workloads": [workload.name for workload in REMOTE_WORKLOADS],
    }
