"""A conductor stand-in: canned answers over raw asyncio streams.

It runs in a process of its own (``python -m bench.server SOCKET EVENTS
[--conductor]``). By default it does as little as it can per request, so that
the benchmark measures clients, not the server. Like the conductor it serves
each connection strictly sequentially, echoes request ids, answers a blank
line with a ``-32700`` error whose id is null, and streams ``monitor.event``
notifications for ``daemon.monitor.stream``. Unlike the conductor, it ends a
stream after ``EVENTS`` notifications with a final response carrying the
request's id, so that a client's iteration over the stream ends cleanly, and
it serves any number of connections at once.

With ``--conductor`` it is closer to a running conductor where the pool size
matters: it spends the conductor's CPU on each request
(:data:`CONDUCTOR_CPU_SECONDS`) and serves at most :data:`CONDUCTOR_SLOTS`
connections at once, leaving further ones unread until one closes.

It prints ``ready`` once it listens and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.payloads import BIG_JOB, MONITOR_EVENT, big_job_state, recorded_results

MAX_LINE = 16 * 1024 * 1024
PARSE_ERROR = (
    b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":null},"id":null}\n'
)
_EVENT_BATCH = 1000
_SHUTDOWN_TICKS = 100

CONDUCTOR_CPU_SECONDS = {"daemon.health": 100e-6, "job.list": 200e-6}
"""CPU a running conductor spends on a request, beyond reading and writing it.

On a conductor 0.1.0 with one connection (requests one at a time), 8 callers
made about 6,500 ``daemon.health`` and 3,800 ``job.list`` calls/s: about 150
and 260 µs per call in all, so ``job.list`` costs about 100 µs more."""

CONDUCTOR_SLOTS = 5
"""Connections a conductor serves at once (``socket.backlog``, default 5)."""


class _Request(msgspec.Struct):
    method: str
    id: msgspec.Raw = msgspec.Raw(b"null")
    params: msgspec.Raw = msgspec.Raw(b"null")


class _StatusParams(msgspec.Struct):
    job_id: str = ""


_decode_request = msgspec.json.Decoder(_Request).decode
_decode_status_params = msgspec.json.Decoder(_StatusParams).decode


def _result_head(result: Any) -> bytes:
    """A success response up to its id, encoded as compactly as the conductor does."""
    body = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return b'{"jsonrpc":"2.0","result":' + body.encode() + b',"id":'


def _spend_cpu(seconds: float) -> None:
    """Keep this thread's CPU busy for ``seconds`` of its own CPU time (not of the clock)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


class CannedConductor:
    """Pre-encoded answers, looked up by method (and ``job_id`` for ``job.status``).

    ``cpu_seconds`` is the CPU spent on a request, by method; ``slots`` how
    many connections are served at once (None: any number).
    """

    def __init__(
        self,
        monitor_events: int,
        cpu_seconds: dict[str, float] | None = None,
        slots: int | None = None,
        answer_after: float = 0.0,
    ) -> None:
        self._cpu_seconds = cpu_seconds or {}
        # A host farther away than this one: the network's round trip, spent waiting.
        self._answer_after = answer_after
        # As the conductor's: taken once a connection is accepted, before it is read.
        self._slots = asyncio.Semaphore(slots) if slots is not None else None
        results = recorded_results()
        self._heads = {method: _result_head(result) for method, result in results.items()}
        self._big_status = _result_head(big_job_state(results["job.status"]))
        self._monitor_events = monitor_events
        # The conductor writes notifications with json.dumps' default separators.
        event = {"jsonrpc": "2.0", "method": "monitor.event", "params": MONITOR_EVENT}
        self._event_batch = (json.dumps(event) + "\n").encode() * _EVENT_BATCH
        self.open_connections: set[asyncio.StreamWriter] = set()
        """Connections being served: closed when the server stops, which ends their tasks."""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection's requests in order until the client closes it."""
        self.open_connections.add(writer)
        try:
            async with self._slots or contextlib.nullcontext():
                while line := await reader.readline():
                    await self._answer(line, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.open_connections.discard(writer)
            writer.close()

    async def _answer(self, line: bytes, writer: asyncio.StreamWriter) -> None:
        try:
            request = _decode_request(line)
        except msgspec.DecodeError:
            writer.write(PARSE_ERROR)  # a blank line included: the SDK's handshake
            await writer.drain()
            return
        if request.method == "daemon.monitor.stream":
            await self._stream(writer)
            head = b'{"jsonrpc":"2.0","result":null,"id":'
        else:
            head = self._result_head(request)
            if cpu := self._cpu_seconds.get(request.method):
                _spend_cpu(cpu)
            if self._answer_after:
                await asyncio.sleep(self._answer_after)
        writer.writelines((head, request.id, b"}\n"))
        await writer.drain()

    def _result_head(self, request: _Request) -> bytes:
        if (
            request.method == "job.status"
            and _decode_status_params(request.params).job_id == BIG_JOB
        ):
            return self._big_status
        head = self._heads.get(request.method)
        if head is None:
            error = {
                "code": -32601,
                "message": f"Method not found: {request.method}",
                "data": {"method": request.method},
            }
            body = json.dumps(error, separators=(",", ":"), ensure_ascii=False)
            return b'{"jsonrpc":"2.0","error":' + body.encode() + b',"id":'
        return head

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        whole, rest = divmod(self._monitor_events, _EVENT_BATCH)
        for _ in range(whole):
            writer.write(self._event_batch)
            await writer.drain()
        writer.write(self._event_batch[: len(self._event_batch) // _EVENT_BATCH * rest])


async def run(
    socket_path: str, monitor_events: int, *, like_conductor: bool = False, answer_after: float = 0
) -> None:
    """Serve on ``socket_path`` until SIGTERM or SIGINT."""
    if like_conductor:
        conductor = CannedConductor(
            monitor_events, CONDUCTOR_CPU_SECONDS, CONDUCTOR_SLOTS, answer_after=answer_after
        )
    else:
        conductor = CannedConductor(monitor_events, answer_after=answer_after)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncio.start_unix_server(conductor.serve, socket_path, limit=MAX_LINE)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        # Clients still connected (an ssh bridge that has not seen its end yet): end
        # their tasks by closing them, rather than have asyncio.run cancel the tasks.
        for writer in list(conductor.open_connections):
            writer.close()
        for _ in range(_SHUTDOWN_TICKS):
            if not conductor.open_connections:
                break
            await asyncio.sleep(0.01)


def main() -> None:
    """``python -m bench.server SOCKET EVENTS [--conductor]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("socket")
    parser.add_argument("events", type=int, help="monitor.event notifications per stream")
    parser.add_argument(
        "--conductor",
        action="store_true",
        help="spend the conductor's CPU per request and serve as few connections at once",
    )
    parser.add_argument(
        "--answer-after",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before each answer, as a host across a network would take",
    )
    args = parser.parse_args()
    try:
        asyncio.run(
            run(
                args.socket,
                args.events,
                like_conductor=args.conductor,
                answer_after=args.answer_after,
            )
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(args.socket).unlink()


if __name__ == "__main__":
    main()
