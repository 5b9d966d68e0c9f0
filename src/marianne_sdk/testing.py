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

import contextlib
import enum
import errno
import inspect
import json
import os
import socket
import stat
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import msgspec
from anyio.abc import TaskGroup, TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectSendStream

from ._backends import BackgroundTask
from ._fake_jobs import FakeRpcError, JobBook, most_recent
from ._transport import MAX_LINE_BYTES, receive_some, send_now

__all__ = [
    "FakeDaemon",
    "FakeRpcError",
    "Fault",
    "ReceivedRequest",
    "SocketInUseError",
    "ThreadedFakeDaemon",
]

T = TypeVar("T")

Handler = Callable[[dict[str, Any]], Any]
"""Takes the request's params (``{}`` when none) and returns the result.

May be a plain or an ``async`` function. Returning None answers ``null`` (a
conductor handler returning None would not answer at all). An async generator
function makes a streaming method: each item it yields is pushed as a
notification, and the request is answered (``null`` result) when it ends.
Raise :class:`FakeRpcError` to answer with an error; ``TypeError``,
``ValueError`` and ``KeyError`` answer -32602 and any other exception -32603,
as on the conductor.
"""

VERSION = "0.1.0"
_MONITOR_BUFFER = 100  # events a slow monitor stream may lag behind before new ones are dropped
_BACKLOG = 100  # asyncio's default, which the conductor keeps
_encoder = msgspec.json.Encoder()


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write all of ``data`` to the non-blocking ``sock``."""
    view = memoryview(data)
    while view:
        view = view[send_now(sock, view) :]
        if view:
            await anyio.wait_writable(sock)


class Fault(enum.StrEnum):
    """What :meth:`FakeDaemon.inject` does to a matching request.

    The request is recorded as received (except with ``CLOSE_BEFORE_READ``),
    then the injection's ``delay`` passes, then the fault acts. Faults never
    apply to blank lines (the SDK's connection handshake).
    """

    DELAY = "delay"
    """Answer normally, after the delay."""
    CLOSE_BEFORE_READ = "close_before_read"
    """Close the connection; the request is neither recorded nor run."""
    CLOSE_AFTER_READ = "close_after_read"
    """Record the request, then close the connection without running it."""
    CLOSE_AFTER_HANDLE = "close_after_handle"
    """Run the request, then close the connection without answering."""
    GARBAGE = "garbage"
    """Run the request and answer with a line that is not JSON."""
    WRONG_ID = "wrong_id"
    """Run the request and answer with another request's id."""
    OVERSIZE = "oversize"
    """Run the request and answer with a line longer than 16 MiB."""
    TRUNCATED = "truncated"
    """Run the request, send half its answer, then close the connection."""
    SILENCE = "silence"
    """Record the request and never answer, nor read that connection again."""


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as the fake read it (``id`` None for a notification)."""

    method: str
    params: Any
    id: int | str | None


@dataclass(slots=True)
class _Injection:
    fault: Fault
    method: str | None
    remaining: int | None
    delay: float


class SocketInUseError(OSError):
    """Something already listens on the socket path a :class:`FakeDaemon` was given.

    A fake never takes a live socket's place (it could be a real conductor's);
    only a stale socket file, one nobody listens on, is replaced.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            "something is already listening on this socket, and a FakeDaemon never takes "
            "over a live one (stop the other server or choose another path)",
            path,
        )


class _Invalid(Exception):
    """A request envelope the conductor refuses with -32600."""


class _Unanswerable(Exception):
    """A request the conductor drops the connection for (an unusable id, invalid UTF-8)."""


class FakeDaemon:
    """A conductor double on the Unix socket ``socket_path``.

    ``max_served_connections`` caps the connections served at once, as the
    conductor's ``socket.backlog`` does (5 by default; None: no cap): further
    connections are accepted and left unread until one closes, so tests see
    the slots a program holds (:attr:`served_connections`). ``step_seconds`` is how long each
    simulated sheet runs. With ``check_config_files``, ``job.submit`` rejects
    a ``config_path`` that does not exist, as the conductor does; by default
    any path is accepted and never read.

    Jobs: a submitted job's id is its config file's stem. It is queued, runs
    after one step, completes one sheet per step (3 sheets unless
    :meth:`plan_job` says otherwise) and completes, or fails at the planned
    sheet. ``job.status`` answers job metadata until the job first runs and
    the full checkpoint after. Events go to ``daemon.monitor.stream``
    subscribers: ``job.started``, ``job.resuming``, ``sheet.started``,
    ``sheet.completed``, ``sheet.failed``, ``job.completed``, ``job.failed``,
    ``observer.process_spawned`` and ``observer.process_exited``.

    A method with neither a built-in nor a registered handler is answered
    with the conductor's -32601 error, whose message names the method and
    says how to give it one: ``fake.register("the.method", handler)``. So
    after adding a method to the schema, the fake answers it only once a
    test registers its handler.

    Serving refuses with :class:`SocketInUseError` when something listens on
    ``socket_path`` already; a stale socket file there is replaced.

    Like the conductor, the fake notices that a client closed a stream only
    when it next writes to it: a closed ``daemon.monitor.stream`` subscription
    keeps its connection slot until the next event (:meth:`emit`, or a job's).
    Unlike the conductor, ``daemon.shutdown`` only marks the fake as shutting
    down: call :meth:`stop`.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str],
        *,
        max_served_connections: int | None = 5,
        step_seconds: float = 0.05,
        check_config_files: bool = False,
    ) -> None:
        self._path = os.fspath(socket_path)
        self._max_served = max_served_connections
        self.requests: list[ReceivedRequest] = []
        """Every request read, in order (blank lines and refused envelopes excluded)."""
        self.open_connections: int = 0
        """Connections accepted and not yet closed, served or waiting for a slot."""
        self.served_connections: int = 0
        """Connections being served now (at most ``max_served_connections``)."""
        self.accepted_connections: int = 0
        """Connections accepted since the fake started."""
        self.shutting_down: bool = False
        """Set by ``daemon.shutdown``: health reports it, new jobs are rejected."""
        self._counts: Counter[str] = Counter()
        self._custom: dict[str, tuple[Handler, str | None]] = {}
        self._injections: list[_Injection] = []
        self._subscribers: set[MemoryObjectSendStream[dict[str, Any]]] = set()
        self._rate_limits: dict[str, float] = {}
        self._rate_limit_events: list[float] = []
        self._changed: anyio.Event | None = None
        self._semaphore: anyio.Semaphore | None = None
        self._task_group: TaskGroup | None = None
        self._accepting: anyio.CancelScope | None = None
        self._connection_scopes: dict[socket.socket, anyio.CancelScope] = {}
        self._silent = False
        self._stopped: anyio.Event | None = None
        self._background: BackgroundTask | None = None
        self._started_at = time.monotonic()
        self._jobs = JobBook(
            self._spawn,
            self._publish,
            step_seconds=step_seconds,
            check_config_files=check_config_files,
            is_shutting_down=lambda: self.shutting_down,
        )
        self._builtin: dict[str, tuple[Handler, str | None]] = {
            "job.submit": (self._jobs.submit, None),
            "job.status": (self._jobs.status, None),
            "job.pause": (self._jobs.pause, None),
            "job.resume": (self._jobs.resume, None),
            "job.modify": (self._jobs.modify, None),
            "job.cancel": (self._jobs.cancel, None),
            "job.list": (self._jobs.list_jobs, None),
            "job.clear": (self._jobs.clear, None),
            "job.errors": (self._jobs.errors, None),
            "job.diagnose": (self._jobs.diagnose, None),
            "job.history": (self._jobs.history, None),
            "job.recover": (self._jobs.recover, None),
            "daemon.status": (self._status, None),
            "daemon.shutdown": (self._shutdown, None),
            "daemon.config": (self._config, None),
            "daemon.health": (self._health, None),
            "daemon.ready": (self._ready, None),
            "daemon.top": (self._top, None),
            "daemon.top.stream": (self._top_stream, None),
            "daemon.events": (self._events, None),
            "daemon.monitor.stream": (self._monitor, "monitor.event"),
            "daemon.observer_events": (self._observer_events, None),
            "daemon.rate_limits": (self._rate_limits_result, None),
            "daemon.clear_rate_limits": (self._clear_rate_limits, None),
            "daemon.learning.patterns": (self._learning_patterns, None),
        }

    # ---- lifecycle ----------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        """The socket the fake listens on."""
        return self._path

    def __repr__(self) -> str:
        serving = "serving" if self._task_group is not None else "not serving"
        cap = "no cap" if self._max_served is None else f"at most {self._max_served}"
        return (
            f"<FakeDaemon {self._path!r} {serving}: {self.served_connections} connection(s) "
            f"served ({cap}), {self.open_connections} open, {len(self.requests)} request(s) read>"
        )

    async def __aenter__(self) -> Self:
        # In a task of its own, not around the caller's block: the block's
        # errors leave it as themselves, and it may end in another task.
        self._background = await BackgroundTask.start(self.serve)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        background, self._background = self._background, None
        if background is not None:
            await background.stop()

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until :meth:`stop` or cancellation; then remove the socket file.

        For ``await task_group.start(fake.serve)``: the socket accepts
        connections once that returns.
        """
        self._stopped = anyio.Event()
        self._started_at = time.monotonic()
        if self._max_served is not None:
            self._semaphore = anyio.Semaphore(self._max_served)
        listener = _listen(self._path)
        listening = True
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                task_status.started()
                with anyio.CancelScope() as self._accepting:
                    while True:
                        await anyio.wait_readable(listener)
                        with contextlib.suppress(BlockingIOError):
                            connection, _ = listener.accept()
                            connection.setblocking(False)
                            task_group.start_soon(self._handle_connection, connection)
                # Stopping as the conductor does: nothing listens; the open
                # connections are served until their clients close them.
                _close(listener)
                listening = False
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path)
                for sock, scope in list(self._connection_scopes.items()):
                    task_group.start_soon(_cancel_when_closed, sock, scope)
        finally:
            self._accepting = None
            self._task_group = None
            if listening:
                _close(listener)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            self._stopped.set()
            self._notify()

    async def stop(self) -> None:
        """Stop serving: close every connection, end every job, remove the socket file."""
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()
        if self._stopped is not None:
            await self._stopped.wait()

    async def stop_like_conductor(self, *, grace: float | None = None) -> None:
        """Stop as conductor 0.1.0 stops on SIGTERM (protocol §1.8).

        ``daemon.health`` reports ``shutting_down`` and new jobs are rejected;
        then the listener closes (the socket file goes, nothing can connect),
        and the fake waits for every open connection to be closed by its
        client, as the conductor's ``Server.wait_closed()`` does. A monitor
        block that never closes its stream would keep it waiting forever:
        ``grace`` seconds bound the wait, after which :meth:`stop` closes them.
        """
        self.shutting_down = True
        self._notify()
        if self._accepting is not None:
            self._accepting.cancel()
        with anyio.move_on_after(grace):
            while self.open_connections:
                changed = self._changed = self._changed or anyio.Event()
                await changed.wait()
        await self.stop()

    async def restart(self, *, keep_jobs: bool = True) -> None:
        """Stop (as :meth:`stop` does), then serve again on the same socket path.

        A conductor restarted with its registry knows the jobs it had; with
        ``keep_jobs=False`` the fake forgets them. Faults, handlers and plans stay.
        """
        await self.__aexit__(None, None, None)
        if not keep_jobs:
            self._jobs.forget()
        self.shutting_down = False
        await self.__aenter__()

    def go_silent(self) -> None:
        """Accept and read as before, but answer nothing (not even the handshake) from now on."""
        self._silent = True

    def resume_answering(self) -> None:
        """Answer again after :meth:`go_silent` (what was read meanwhile stays unanswered)."""
        self._silent = False

    # ---- configuration --------------------------------------------------------------

    def register(self, method: str, handler: Handler, *, notification: str | None = None) -> None:
        """Answer ``method`` with ``handler`` (see :data:`Handler`), replacing any built-in.

        ``notification`` names the notifications of a streaming handler (an
        async generator function); it defaults to ``"<method>.event"``.
        """
        if inspect.isasyncgenfunction(handler):
            self._custom[method] = (handler, notification or f"{method}.event")
        else:
            self._custom[method] = (handler, None)

    def inject(
        self,
        fault: Fault | str,
        method: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` requests (of ``method``, or of any method) suffer ``fault``.

        ``times`` None applies the fault to every matching request from now
        on. Injections are matched in the order they were made.
        """
        self._injections.append(_Injection(Fault(fault), method, times, delay))

    def plan_job(self, job_id: str, *, sheets: int = 3, fail_at_sheet: int | None = None) -> None:
        """How the job ``job_id`` will run when submitted: its sheets, and the one that fails."""
        self._jobs.plan(job_id, sheets, fail_at_sheet)

    def set_rate_limit(self, backend: str, seconds: float) -> None:
        """Report ``backend`` as rate limited for ``seconds`` (``daemon.rate_limits``)."""
        self._rate_limits[backend] = time.monotonic() + seconds
        self._rate_limit_events.append(time.monotonic())

    def emit(
        self,
        event: str,
        *,
        job_id: str = "",
        sheet_num: int = 0,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Push an ``ObserverEvent`` to every ``daemon.monitor.stream`` subscriber."""
        self._publish(event, job_id, sheet_num, data)

    # ---- for blocking code ------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def in_thread(
        cls, socket_path: str | os.PathLike[str], *, backend: str = "asyncio", **options: Any
    ) -> Iterator[ThreadedFakeDaemon]:
        """A fake serving from an event loop in a thread of its own, for blocking code.

        ``options`` are :class:`FakeDaemon`'s; ``backend`` is the thread's
        async library (``"asyncio"`` or ``"trio"``). Use as ``with
        FakeDaemon.in_thread(path) as fake:``. The fake is serving once the
        block is entered, and stopped (socket file removed) when it is left.

        A fake on the test's own event loop cannot serve a blocking client
        used from that loop: the client's call blocks the loop the fake needs
        to answer, until the call times out. In a thread of its own it can.
        """
        with start_blocking_portal(backend) as portal:
            # Built on its own loop, where it lives: nothing of it belongs to the caller's.
            fake = portal.call(partial(cls, socket_path, **options))
            with portal.wrap_async_context_manager(fake):
                yield ThreadedFakeDaemon(portal, fake)

    # ---- observation --------------------------------------------------------------

    @property
    def methods(self) -> frozenset[str]:
        """The methods the fake answers: its built-in ones and those :meth:`register` added."""
        return frozenset(self._builtin) | frozenset(self._custom)

    def count(self, method: str) -> int:
        """How many requests of ``method`` the fake has read."""
        return self._counts[method]

    def job_status(self, job_id: str) -> str | None:
        """The status of the job ``job_id`` (``"running"``, ``"completed"``, ...), None if unknown."""
        return self._jobs.status_of(job_id)

    @property
    def monitor_subscribers(self) -> int:
        """Open ``daemon.monitor.stream`` subscriptions."""
        return len(self._subscribers)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true.

        It is checked again at each change of the fake's state (connections,
        requests, jobs, events, subscriptions), not by polling; bound the wait
        with ``anyio.fail_after``.
        """
        while not predicate():
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # ---- the wire --------------------------------------------------------------------

    async def _handle_connection(self, sock: socket.socket) -> None:
        self.accepted_connections += 1
        self.open_connections += 1
        self._notify()
        try:
            with anyio.CancelScope() as self._connection_scopes[sock]:
                if self._semaphore is None:
                    await self._serve_connection(sock)
                else:
                    async with self._semaphore:
                        await self._serve_connection(sock)
        except OSError:
            pass  # the client went away while we wrote
        finally:
            del self._connection_scopes[sock]
            _close(sock)
            self.open_connections -= 1
            self._notify()

    async def _serve_connection(self, sock: socket.socket) -> None:
        self.served_connections += 1
        self._notify()
        reader = _LineReader(sock)
        try:
            while (line := await reader.receive_line()) is not None:
                if not await self._process(sock, line):
                    return
        finally:
            self.served_connections -= 1
            self._notify()

    async def _process(self, sock: socket.socket, line: bytes) -> bool:
        """Handle one line as the conductor does; False to close the connection."""
        if self._silent:
            return True
        try:
            request_id, method, params = self._parse(line)
        except _Unanswerable:
            return False
        except _Invalid as invalid:
            code, message, request_id = invalid.args
            await _send(sock, _error_response(code, message, request_id))
            return True
        injection = self._take_injection(method)
        fault = injection.fault if injection else None
        if fault is not Fault.CLOSE_BEFORE_READ:
            self.requests.append(ReceivedRequest(method, params, request_id))
            self._counts[method] += 1
            self._notify()
        if injection is not None and injection.delay:
            await anyio.sleep(injection.delay)
        if fault in (Fault.CLOSE_BEFORE_READ, Fault.CLOSE_AFTER_READ):
            return False
        if fault is Fault.SILENCE:
            await _wait_closed(sock)
            return False
        entry = self._custom.get(method) or self._builtin.get(method)
        if entry is None:
            if request_id is None:
                return True
            response = _error_response(
                -32601,
                f"Method not found: {method} (FakeDaemon has no handler for it: "
                f"register one with fake.register({method!r}, handler))",
                request_id,
                {"method": method},
            )
        elif entry[1] is not None:
            return await self._stream(sock, entry[0], entry[1], params, request_id)
        else:
            response = await _answer(entry[0], params, request_id)
        self._notify()
        if request_id is None:
            return True
        return await self._respond(sock, response, fault)

    def _parse(self, line: bytes) -> tuple[int | str | None, str, dict[str, Any]]:
        """``(id, method, params)`` of a request line, or why the conductor refuses it."""
        if len(line) >= MAX_LINE_BYTES or not line.strip():
            raise _Invalid(-32700, "Parse error: malformed JSON", None)
        try:
            message = json.loads(line)
        except UnicodeDecodeError:
            raise _Unanswerable from None
        except ValueError:
            raise _Invalid(-32700, "Parse error: malformed JSON", None) from None
        if not isinstance(message, dict) or "method" not in message:
            request_id = _request_id(message.get("id")) if isinstance(message, dict) else None
            raise _Invalid(-32600, "Invalid request: missing 'method' field", request_id)
        request_id = _request_id(message.get("id"))
        method, params = message["method"], message.get("params")
        if message.get("jsonrpc", "2.0") != "2.0":
            raise _Invalid(-32600, "Invalid request: jsonrpc must be '2.0'", request_id)
        if not isinstance(method, str):
            raise _Invalid(-32600, "Invalid request: method must be a string", request_id)
        if params is not None and not isinstance(params, dict):
            raise _Invalid(-32600, "Invalid request: params must be an object", request_id)
        return request_id, method, params or {}

    def _take_injection(self, method: str) -> _Injection | None:
        for injection in self._injections:
            if injection.method in (None, method):
                if injection.remaining is not None:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                return injection
        return None

    async def _respond(
        self, sock: socket.socket, response: dict[str, Any], fault: Fault | None
    ) -> bool:
        if fault is Fault.CLOSE_AFTER_HANDLE:
            return False
        if fault is Fault.WRONG_ID:
            request_id = response["id"]
            response["id"] = request_id + 1_000_000 if isinstance(request_id, int) else "other"
        data = _encoder.encode(response) + b"\n"
        if fault is Fault.GARBAGE:
            data = b"this is not JSON\n"
        elif fault is Fault.OVERSIZE:
            data = b'{"jsonrpc":"2.0","result":"%s","id":%s}\n' % (
                b"x" * MAX_LINE_BYTES,
                _encoder.encode(response["id"]),
            )
        elif fault is Fault.TRUNCATED:
            await send_all(sock, data[: len(data) // 2])
            return False
        await send_all(sock, data)
        return True

    async def _stream(
        self,
        sock: socket.socket,
        handler: Handler,
        notification: str,
        params: dict[str, Any],
        request_id: int | str | None,
    ) -> bool:
        """Push the handler's items until it ends (then answer) or a write finds the client gone."""
        response: dict[str, Any] = {"jsonrpc": "2.0", "result": None, "id": request_id}
        try:
            async with contextlib.aclosing(handler(params)) as items:
                async for item in items:
                    message = {"jsonrpc": "2.0", "method": notification, "params": item}
                    await _send(sock, message)
        except OSError:
            return False  # the client left: nobody to answer
        except FakeRpcError as error:
            response = _error_response(error.code, error.message, request_id, error.data)
        except Exception as error:
            response = _error_response(-32603, f"Internal error: {error}", request_id)
        if request_id is not None:
            await _send(sock, response)
        return True

    def _spawn(self, function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self._task_group is None:
            raise RuntimeError("the FakeDaemon is not serving")
        self._task_group.start_soon(function, *args)

    def _publish(
        self, event: str, job_id: str, sheet_num: int, data: dict[str, Any] | None
    ) -> None:
        message = {
            "job_id": job_id,
            "sheet_num": sheet_num,
            "event": event,
            "data": data,
            "timestamp": time.time(),
        }
        for subscriber in self._subscribers:
            with contextlib.suppress(anyio.WouldBlock):
                subscriber.send_nowait(message)
        self._notify()

    # ---- daemon.* methods -------------------------------------------------------------

    def _uptime(self) -> float:
        return round(time.monotonic() - self._started_at, 1)

    def _status(self, params: dict[str, Any]) -> dict[str, Any]:
        running = self._jobs.running_jobs()
        return {
            "pid": os.getpid(),
            "uptime_seconds": self._uptime(),
            "running_jobs": running,
            "total_jobs_active": running,
            "memory_usage_mb": 64.0,
            "version": VERSION,
        }

    def _shutdown(self, params: dict[str, Any]) -> dict[str, Any]:
        self.shutting_down = True
        return {"shutting_down": True}

    def _health(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_seconds": self._uptime(),
            "shutting_down": self.shutting_down,
        }

    def _ready(self, params: dict[str, Any]) -> dict[str, Any]:
        ready = not self.shutting_down
        return {
            "status": "ready" if ready else "not_ready",
            "running_jobs": self._jobs.running_jobs(),
            "memory_mb": 64.0,
            "child_processes": self._jobs.active_sheets(),
            "accepting_work": ready,
            "shutting_down": self.shutting_down,
            "failure_rate_elevated": False,
            "notifications_degraded": False,
            "uptime_seconds": self._uptime(),
        }

    def _config(self, params: dict[str, Any]) -> dict[str, Any]:
        return _daemon_config(self._path, self._max_served or 5)

    def _top(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "timestamp": time.time(),
            "daemon_pid": os.getpid(),
            "system_memory_total_mb": 16384.0,
            "system_memory_available_mb": 12288.0,
            "system_memory_used_mb": 4096.0,
            "daemon_rss_mb": 64.0,
            "load_avg_1": 0.5,
            "load_avg_5": 0.4,
            "load_avg_15": 0.3,
            "processes": [],
            "gpus": [],
            "pressure_level": "none",
            "running_jobs": self._jobs.running_jobs(),
            "active_sheets": self._jobs.active_sheets(),
            "zombie_count": 0,
            "zombie_pids": [],
            "job_progress": self._jobs.progress(),
            "conductor_uptime_seconds": time.monotonic() - self._started_at,
        }

    def _top_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonl_path": os.path.expanduser("~/.marianne/monitor.jsonl")}

    def _events(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"events": most_recent(list(self._jobs.process_events), params.get("limit", 50))}

    async def _monitor(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](_MONITOR_BUFFER)
        self._subscribers.add(send)
        self._notify()
        try:
            with receive:
                async for event in receive:
                    yield event
        finally:
            self._subscribers.discard(send)
            send.close()
            self._notify()

    def _observer_events(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"events": self._jobs.observer_events(params.get("job_id"), params.get("limit", 50))}

    def _rate_limits_result(self, params: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        active = {name: until - now for name, until in self._rate_limits.items() if until > now}
        return {
            "backends": {
                name: {"seconds_remaining": round(left, 1)} for name, left in active.items()
            },
            "active_limits": len(active),
            "recent_events_count": sum(now - at < 3600 for at in self._rate_limit_events),
        }

    def _clear_rate_limits(self, params: dict[str, Any]) -> dict[str, Any]:
        instrument = params.get("instrument")
        cleared = [name for name in self._rate_limits if instrument in (None, name)]
        for name in cleared:
            del self._rate_limits[name]
        return {"cleared": len(cleared), "instrument": instrument}

    def _learning_patterns(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"patterns": []}


class ThreadedFakeDaemon:
    """A :class:`FakeDaemon` serving in a thread of its own: see :meth:`FakeDaemon.in_thread`.

    The same configuration and observations, called from the test's thread.
    Configuration runs on the fake's event loop (it waits for that); the
    observations read the fake's current state. Registered handlers run on
    the fake's loop, in its thread.
    """

    def __init__(self, portal: BlockingPortal, fake: FakeDaemon) -> None:
        self._portal = portal
        self._fake = fake

    @property
    def socket_path(self) -> str:
        """The socket the fake listens on."""
        return self._fake.socket_path

    def __repr__(self) -> str:
        return f"<in a thread: {self._fake!r}>"

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on the fake's event loop and return its result.

        ``function`` may be a coroutine function.
        """

        async def run() -> T:
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                awaited: T = await result
                return awaited
            return result

        return self._portal.call(run)

    def stop_like_conductor(self, *, grace: float | None = None) -> None:
        """See :meth:`FakeDaemon.stop_like_conductor`."""
        self._portal.call(partial(self._fake.stop_like_conductor, grace=grace))

    def restart(self, *, keep_jobs: bool = True) -> None:
        """See :meth:`FakeDaemon.restart`."""
        self._portal.call(partial(self._fake.restart, keep_jobs=keep_jobs))

    def go_silent(self) -> None:
        """See :meth:`FakeDaemon.go_silent`."""
        self.call(self._fake.go_silent)

    def resume_answering(self) -> None:
        """See :meth:`FakeDaemon.resume_answering`."""
        self.call(self._fake.resume_answering)

    # ---- configuration (see FakeDaemon) ---------------------------------------

    def register(self, method: str, handler: Handler, *, notification: str | None = None) -> None:
        """See :meth:`FakeDaemon.register`; the handler runs in the fake's thread."""
        self.call(self._fake.register, method, handler, notification=notification)

    def inject(
        self,
        fault: Fault | str,
        method: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> None:
        """See :meth:`FakeDaemon.inject`."""
        self.call(self._fake.inject, fault, method, times, delay)

    def plan_job(self, job_id: str, *, sheets: int = 3, fail_at_sheet: int | None = None) -> None:
        """See :meth:`FakeDaemon.plan_job`."""
        self.call(self._fake.plan_job, job_id, sheets=sheets, fail_at_sheet=fail_at_sheet)

    def set_rate_limit(self, backend: str, seconds: float) -> None:
        """See :meth:`FakeDaemon.set_rate_limit`."""
        self.call(self._fake.set_rate_limit, backend, seconds)

    def emit(
        self,
        event: str,
        *,
        job_id: str = "",
        sheet_num: int = 0,
        data: dict[str, Any] | None = None,
    ) -> None:
        """See :meth:`FakeDaemon.emit`."""
        self.call(self._fake.emit, event, job_id=job_id, sheet_num=sheet_num, data=data)

    # ---- observation (see FakeDaemon) ------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A copy of :attr:`FakeDaemon.requests`: every request read so far, in order."""
        return list(self._fake.requests)

    @property
    def open_connections(self) -> int:
        """See :attr:`FakeDaemon.open_connections`."""
        return self._fake.open_connections

    @property
    def served_connections(self) -> int:
        """See :attr:`FakeDaemon.served_connections`."""
        return self._fake.served_connections

    @property
    def accepted_connections(self) -> int:
        """See :attr:`FakeDaemon.accepted_connections`."""
        return self._fake.accepted_connections

    @property
    def shutting_down(self) -> bool:
        """See :attr:`FakeDaemon.shutting_down`."""
        return self._fake.shutting_down

    @property
    def monitor_subscribers(self) -> int:
        """See :attr:`FakeDaemon.monitor_subscribers`."""
        return self._fake.monitor_subscribers

    @property
    def methods(self) -> frozenset[str]:
        """See :attr:`FakeDaemon.methods`."""
        return self._fake.methods

    def count(self, method: str) -> int:
        """See :meth:`FakeDaemon.count`."""
        return self._fake.count(method)

    def job_status(self, job_id: str) -> str | None:
        """See :meth:`FakeDaemon.job_status`."""
        return self._fake.job_status(job_id)

    def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 30.0) -> None:
        """Block until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` seconds.

        ``predicate`` runs on the fake's loop at each change of its state, as
        with :meth:`FakeDaemon.wait_for`; it may read this object's observations.
        """

        async def wait() -> None:
            with anyio.move_on_after(timeout) as scope:
                await self._fake.wait_for(predicate)
            if scope.cancelled_caught:
                raise TimeoutError(f"the FakeDaemon's state did not match within {timeout} s")

        self._portal.call(wait)


class _LineReader:
    """Lines as the conductor reads them: ``None`` ends the connection.

    A line longer than 16 MiB cannot be read at all, and the conductor then
    drops the connection; one of exactly 16 MiB is read (and refused later).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    async def receive_line(self) -> bytes | None:
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end >= 0:
                if end > MAX_LINE_BYTES:
                    return None
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE_BYTES:
                return None
            searched = len(self._buffer)
            try:
                chunk = await receive_some(self._sock)
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk


async def _cancel_when_closed(sock: socket.socket, scope: anyio.CancelScope) -> None:
    """End a connection's handler once its client has closed it (a stream's, which writes only)."""
    await _wait_closed(sock)
    scope.cancel()


async def _wait_closed(sock: socket.socket) -> None:
    """Return when the client closes ``sock``, without reading what it sends.

    If the client sends more instead, the close can no longer be seen without
    reading, and this waits forever (the conductor would not read either).
    """
    while True:
        await anyio.wait_readable(sock)
        try:
            pending = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError:
            return
        if not pending:
            return
        await anyio.sleep_forever()


def _request_id(value: Any) -> int | str | None:
    """The id as the conductor echoes it (pydantic's lax coercion), or :class:`_Unanswerable`."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Unanswerable


async def _answer(
    handler: Handler, params: dict[str, Any], request_id: int | str | None
) -> dict[str, Any]:
    """The response to a request, with the conductor's mapping of handler failures."""
    try:
        result = handler(params)
        if inspect.isawaitable(result):
            result = await result
    except FakeRpcError as error:
        return _error_response(error.code, error.message, request_id, error.data)
    except (TypeError, ValueError, KeyError) as error:
        return _error_response(-32602, f"Invalid params: {error}", request_id)
    except Exception as error:
        return _error_response(-32603, f"Internal error: {error}", request_id)
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def _error_response(
    code: int, message: str, request_id: int | str | None, data: Any = None
) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": code, "message": message, "data": data},
        "id": request_id,
    }


async def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    await send_all(sock, _encoder.encode(message) + b"\n")


def _listen(path: str) -> socket.socket:
    """A listening socket at ``path``, replacing a stale socket file as the conductor does.

    Raises :class:`SocketInUseError` if something listens there, and
    ``FileExistsError`` if ``path`` is not a socket.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(mode):
            raise FileExistsError(errno.EEXIST, "exists and is not a socket", path)
        if _is_listening(path):
            raise SocketInUseError(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.setblocking(False)
        listener.bind(path)
        os.chmod(path, 0o660)
        listener.listen(_BACKLOG)
    except OSError as error:
        listener.close()
        if error.errno is None or error.filename is not None:
            raise
        raise type(error)(error.errno, error.strerror, path) from None  # say which path
    except BaseException:
        listener.close()
        raise
    return listener


def _is_listening(path: str) -> bool:
    """Whether a server accepts connections on the socket file ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)  # a server with a full backlog answers EAGAIN, not a wait
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except BlockingIOError:
            return True
        return True


def _close(sock: socket.socket) -> None:
    anyio.notify_closing(sock)
    sock.close()


def _daemon_config(socket_path: str, backlog: int) -> dict[str, Any]:
    """``daemon.config``: the conductor's defaults (protocol §5.10), with this socket."""
    return {
        "socket": {"path": socket_path, "permissions": 432, "backlog": backlog},
        "pid_file": "/tmp/marianne.pid",
        "max_concurrent_jobs": 15,
        "max_concurrent_sheets": 25,
        "resource_limits": {
            "max_memory_mb": 8192,
            "max_processes": 50,
            "max_api_calls_per_minute": 60,
        },
        "state_backend_type": "sqlite",
        "state_db_path": "~/.marianne/daemon-state.db",
        "log_level": "info",
        "log_file": None,
        "job_timeout_seconds": 86400.0,
        "shutdown_timeout_seconds": 300.0,
        "monitor_interval_seconds": 15.0,
        "max_job_history": 1000,
        "default_thinking_method": None,
        "observer": {
            "enabled": True,
            "watch_interval_seconds": 2.0,
            "snapshot_ttl_hours": 168,
            "max_queue_size": 1000,
            "persist_events": True,
            "exclude_patterns": [".git/", "__pycache__/", "node_modules/", ".venv/", "*.pyc"],
            "coalesce_window_seconds": 2.0,
            "max_timeline_bytes": 10485760,
        },
        "learning": {
            "enabled": True,
            "backend": {
                "type": "anthropic_api",
                "skip_permissions": True,
                "disable_mcp": True,
                "output_format": "text",
                "cli_model": None,
                "allowed_tools": None,
                "system_prompt_file": None,
                "working_directory": None,
                "timeout_seconds": 120.0,
                "timeout_overrides": {},
                "sheet_overrides": {},
                "cli_extra_args": [],
                "max_output_capture_bytes": 51200,
                "model": "claude-sonnet-4-5-20250929",
                "api_key_env": "ANTHROPIC_API_KEY",
                "max_tokens": 4096,
                "temperature": 0.3,
                "recursive_light": {
                    "endpoint": "http://localhost:8080",
                    "user_id": None,
                    "timeout": 30.0,
                },
                "ollama": {
                    "base_url": "http://localhost:11434",
                    "model": "llama3.1:8b",
                    "num_ctx": 32768,
                    "dynamic_tools": True,
                    "compression_level": "moderate",
                    "timeout_seconds": 300.0,
                    "keep_alive": "5m",
                    "max_tool_iterations": 10,
                    "health_check_timeout": 10.0,
                },
            },
            "analyze_on": ["success", "failure"],
            "max_concurrent_analyses": 3,
            "entropy_threshold": 0.1,
            "exploration_budget": 0.15,
            "entropy_check_interval_seconds": 3600.0,
        },
        "profiler": {
            "enabled": True,
            "interval_seconds": 5.0,
            "strace_enabled": False,
            "strace_full_on_demand": True,
            "gpu_enabled": False,
            "storage_path": "~/.marianne/monitor.db",
            "jsonl_path": "~/.marianne/monitor.jsonl",
            "jsonl_max_bytes": 52428800,
            "retention": {"full_resolution_hours": 24, "downsampled_days": 7, "events_days": 30},
            "anomaly": {
                "memory_spike_threshold": 1.5,
                "memory_spike_window_seconds": 30.0,
                "runaway_cpu_threshold": 90.0,
                "runaway_duration_seconds": 60.0,
            },
            "correlation": {"interval_minutes": 30, "min_sample_size": 5},
        },
        "preflight": {"token_warning_threshold": 50000, "token_error_threshold": 150000},
        "config_file": None,
        "mcp_pool": {"servers": {}},
        "keyring": {"instruments": {}},
    }
