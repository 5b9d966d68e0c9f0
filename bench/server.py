"""A deliberately cheap conductor stand-in: canned answers over raw asyncio streams.

It runs in a process of its own (``python -m bench.server SOCKET EVENTS``) and
does as little as it can per request, so that the benchmark measures clients,
not the server. Like the conductor it serves each connection strictly
sequentially, echoes request ids, answers a blank line with a ``-32700`` error
whose id is null, and streams ``monitor.event`` notifications for
``daemon.monitor.stream``. Unlike the conductor, it ends a stream after
``EVENTS`` notifications with a final response carrying the request's id, so
that a client's iteration over the stream ends cleanly, and it serves any
number of connections at once.

It prints ``ready`` once it listens and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import msgspec

from bench.payloads import BIG_JOB, MONITOR_EVENT, big_job_state, recorded_results

MAX_LINE = 16 * 1024 * 1024
PARSE_ERROR = (
    b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":null},"id":null}\n'
)
_EVENT_BATCH = 1000


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


class CannedConductor:
    """Pre-encoded answers, looked up by method (and ``job_id`` for ``job.status``)."""

    def __init__(self, monitor_events: int) -> None:
        results = recorded_results()
        self._heads = {method: _result_head(result) for method, result in results.items()}
        self._big_status = _result_head(big_job_state(results["job.status"]))
        self._monitor_events = monitor_events
        # The conductor writes notifications with json.dumps' default separators.
        event = {"jsonrpc": "2.0", "method": "monitor.event", "params": MONITOR_EVENT}
        self._event_batch = (json.dumps(event) + "\n").encode() * _EVENT_BATCH

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection's requests in order until the client closes it."""
        try:
            while line := await reader.readline():
                await self._answer(line, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
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


async def run(socket_path: str, monitor_events: int) -> None:
    """Serve on ``socket_path`` until SIGTERM or SIGINT."""
    conductor = CannedConductor(monitor_events)
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


def main() -> None:
    """``python -m bench.server SOCKET EVENTS``."""
    socket_path, events = sys.argv[1], int(sys.argv[2])
    try:
        asyncio.run(run(socket_path, events))
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(socket_path).unlink()


if __name__ == "__main__":
    main()
