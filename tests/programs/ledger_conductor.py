"""A conductor-like server that keeps a ledger of what reached it, connection by connection.

``python -m tests.programs.ledger_conductor SOCKET`` serves the connection
handshake, ``daemon.health``, ``job.submit`` and ``test.whoami`` (params
``{"pid": ...}``: the caller's process id) on SOCKET, prints ``ready`` once it
listens, and serves until terminated. ``test.ledger`` answers with what it
has received: the ``job.submit`` count, and for every ``test.whoami`` the
connection's number, the pid of the process that opened that connection
(SO_PEERCRED, read at accept) and the pid the caller said it has.

A separate process with blocking sockets and a thread per connection, so
that it goes on serving while the client's event loop is blocked.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
from typing import Any

_UCRED = struct.Struct("3i")
_lock = threading.Lock()
_connections = itertools.count(1)
_ledger: dict[str, Any] = {"job.submit": 0, "whoami": []}


def _result(method: str, params: dict[str, Any], connection: int, peer_pid: int) -> Any:
    if method == "daemon.health":
        return {"status": "ok", "pid": os.getpid(), "shutting_down": False, "uptime_seconds": 1.0}
    if method == "job.submit":
        _ledger["job.submit"] += 1
        return {"job_id": "ledger", "status": "accepted", "message": None}
    if method == "test.whoami":
        _ledger["whoami"].append([connection, peer_pid, params["pid"]])
        return params["pid"]
    if method == "test.ledger":
        return _ledger
    raise KeyError(method)


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        peer_pid, _, _ = _UCRED.unpack(
            self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        )
        connection = next(_connections)
        for line in self.rfile:
            if not line.strip():
                reply: dict[str, Any] = {"code": -32700, "message": "Parse error"}
                self._send({"jsonrpc": "2.0", "error": reply, "id": None})
                continue
            request = json.loads(line)
            with _lock:
                try:
                    result = _result(
                        request["method"], request.get("params") or {}, connection, peer_pid
                    )
                except KeyError:
                    error = {"code": -32601, "message": f"Method not found: {request['method']}"}
                    self._send({"jsonrpc": "2.0", "error": error, "id": request.get("id")})
                    continue
            if "id" in request:
                self._send({"jsonrpc": "2.0", "result": result, "id": request["id"]})

    def _send(self, message: dict[str, Any]) -> None:
        self.wfile.write(json.dumps(message).encode() + b"\n")
        self.wfile.flush()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(path: str) -> None:
    signal.signal(signal.SIGTERM, _stop)  # so that the socket file goes with the server
    with _Server(path, _Handler) as server:
        print("ready", flush=True)
        try:
            server.serve_forever()
        finally:
            os.unlink(path)


if __name__ == "__main__":
    main(sys.argv[1])
