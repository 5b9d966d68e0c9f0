"""A fake Marianne conductor, for testing code that uses the SDK.

:class:`FakeDaemon` serves JSON-RPC on a real Unix socket the way the
conductor's IPC layer does (protocol §1): one JSON object per line, each
connection served strictly in order, at most ``max_served_connections``
connections served at once (others are accepted and left unread, as the
conductor leaves them), the 16 MiB line limit, blank lines answered with a
parse error, notifications run without an answer, and handler failures mapped
to error codes as the conductor maps them. Every method of conductor 0.1.0 answers
with results of the conductor's exact shape, driven by a small simulated job
lifecycle; :meth:`FakeDaemon.register` replaces or adds methods, and
:meth:`FakeDaemon.inject` makes requests fail on the wire::

    async with FakeDaemon(tmp_dir / "conductor.sock") as fake:
        async with DaemonClient(fake.socket_path) as client:
            await client.submit_job(JobRequest(config_path="/scores/demo.yaml"))
            await fake.wait_for(lambda: fake.count("job.submit") == 1)

It stops as the conductor stops (:meth:`FakeDaemon.stop_like_conductor`),
restarts on its socket (:meth:`FakeDaemon.restart`), goes silent on request
(:meth:`FakeDaemon.go_silent`), and replays a recorded session
(``FakeDaemon(path, recording=...)``).

It runs on asyncio and trio alike, inside the caller's task group
(``await task_group.start(fake.serve)``) or as an async context manager. For
blocking code (the blocking client, a CLI in a subprocess), it serves from an
event loop in a thread of its own, reachable from the test's thread::

    with FakeDaemon.in_thread(tmp_dir / "conductor.sock") as fake:
        with marianne_sdk.sync.DaemonClient(fake.socket_path) as client:
            client.submit_job(JobRequest(config_path="/scores/demo.yaml"))
        fake.wait_for(lambda: fake.count("job.submit") == 1)

The package's pytest plugin has both forms ready as fixtures
(:mod:`marianne_sdk.pytest_plugin`).
"""

from __future__ import annotations

from ._envelopes import FakeRpcError, Handler, ReceivedRequest
from ._faults import Fault
from ._replay import RecordedCall
from ._server import FakeDaemon
from ._threaded import ThreadedFakeDaemon
from ._wire import SocketInUseError

__all__ = [
    "FakeDaemon",
    "FakeRpcError",
    "Fault",
    "Handler",
    "ReceivedRequest",
    "RecordedCall",
    "SocketInUseError",
    "ThreadedFakeDaemon",
]
