"""The fake conductor's server: :class:`FakeDaemon`, its lifecycle, configuration and observations."""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from functools import partial
from types import TracebackType
from typing import Any, Self

import anyio
import msgspec
from anyio.abc import TaskGroup, TaskStatus
from anyio.from_thread import start_blocking_portal

from .._backends import BackgroundTask
from ._conductor import Conductor
from ._envelopes import (
    Handler,
    Invalid,
    ReceivedRequest,
    RequestId,
    Unanswerable,
    answer,
    error_response,
    failure_response,
    parse_request,
    result_response,
)
from ._faults import Fault, Injections, answer_line
from ._replay import MONITOR, RecordedCall, Replay, Replayable, answers_itself
from ._threaded import ThreadedFakeDaemon
from ._wire import LineReader, accept, close, listen, remove_socket_file, send_all, wait_closed

_encoder = msgspec.json.Encoder()
_REPLAY_MISS = -32603  # the conductor's code for a failure of its own


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

    With ``recording`` (a file written by ``marianne-sdk record``), requests
    are answered from the recording instead: see the testing guide's
    "Replaying a recorded session". A request the recording lacks gets an
    error response saying so, or, with ``fallback=True``, the simulation's
    answer; :meth:`unused` lists the recorded requests never replayed. A
    recorded monitor event goes to the replayed subscription matching the one
    it was recorded on, in recorded order, once the answer it followed is
    sent again, or when that subscription arrives if it comes later.
    ``daemon.health``, which a client sends on its own when a stream is quiet
    for its ``heartbeat``, gets the recorded answers while any are left, then
    the fake's own answer, even without ``fallback``: an answer of its own
    takes nothing from the recording (:meth:`unused` does not change).

    Serving refuses with :class:`SocketInUseError` when something listens on
    ``socket_path`` already; a stale socket file there is replaced.

    Like the conductor, the fake notices that a client closed a stream only
    when it next writes to it: a closed ``daemon.monitor.stream`` subscription
    keeps its connection slot until the next event (:meth:`emit`, or a job's).
    Unlike the conductor, ``daemon.shutdown`` only marks the fake as shutting
    down: call :meth:`stop_like_conductor` or :meth:`stop`.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str],
        *,
        max_served_connections: int | None = 5,
        step_seconds: float = 0.05,
        check_config_files: bool = False,
        recording: str | os.PathLike[str] | None = None,
        fallback: bool = False,
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
        """Connections accepted since the fake was made (each numbered by this count)."""
        self._counts: Counter[str] = Counter()
        self._custom: dict[str, tuple[Handler, str | None]] = {}
        self._injections = Injections()
        self._replay = None if recording is None else Replay(recording)
        self._fallback = fallback
        self._silent = False
        self._changed: anyio.Event | None = None
        self._semaphore: anyio.Semaphore | None = None
        self._task_group: TaskGroup | None = None  # the connections'
        self._jobs_group: TaskGroup | None = None
        self._accepting: anyio.CancelScope | None = None
        self._draining = anyio.Event()
        self._restart: bool | None = None  # keep_jobs, while a restart is under way
        self._stop_requested = False
        self._restarted: anyio.Event | None = None
        self._stopped: anyio.Event | None = None
        self._background: BackgroundTask | None = None
        self._conductor = Conductor(
            self._spawn,
            self._notify,
            step_seconds=step_seconds,
            check_config_files=check_config_files,
        )
        self._conductor.socket_path = self._path
        self._conductor.backlog = max_served_connections or 5

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
        connections once that returns. A :meth:`restart` serves again from here.
        """
        self._stopped = anyio.Event()
        self._stop_requested = False
        try:
            await self._serve_once(task_status.started)
            while (keep_jobs := self._restart) is not None and not self._stop_requested:
                self._restart = None
                if not keep_jobs:
                    self._conductor.jobs.forget()
                self.shutting_down = False
                await self._serve_once(self._announce_restarted)
        finally:
            self._stopped.set()
            self._announce_restarted()  # a restart that failed: it wakes to see so
            self._notify()

    def _announce_restarted(self) -> None:
        if self._restarted is not None:
            self._restarted.set()

    async def _serve_once(self, started: Callable[[], None]) -> None:
        """Serve until stopped: the listener, the connections, the jobs."""
        self._conductor.started_at = time.monotonic()
        self._draining = anyio.Event()
        if self._max_served is not None:
            self._semaphore = anyio.Semaphore(self._max_served)
        listener = listen(self._path)
        try:
            async with anyio.create_task_group() as connections:
                self._task_group = connections
                if self._stop_requested:  # while it restarted
                    connections.cancel_scope.cancel()
                async with anyio.create_task_group() as jobs:
                    self._jobs_group = jobs
                    started()
                    with anyio.CancelScope() as self._accepting:
                        while True:
                            connections.start_soon(self._handle_connection, await accept(listener))
                    # Stopping as the conductor does: its jobs end, nothing listens, and the
                    # open connections are served until their clients close them.
                    jobs.cancel_scope.cancel()
                    self._close_listener(listener)
                    self._draining.set()
                    self._notify()
        finally:
            self._accepting = self._jobs_group = self._task_group = None
            self._close_listener(listener)

    def _close_listener(self, listener: socket.socket) -> None:
        if listener.fileno() >= 0:
            close(listener)
            remove_socket_file(self._path)

    async def stop(self) -> None:
        """Stop serving: close every connection, end every job, remove the socket file."""
        self._stop_requested = True
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()
        if self._stopped is not None:
            await self._stopped.wait()

    async def stop_like_conductor(self, *, grace: float | None = None) -> None:
        """Stop as conductor 0.1.0 stops on SIGTERM (protocol §1.8).

        ``daemon.health`` and ``daemon.ready`` report ``shutting_down`` and
        ``job.submit`` rejects new jobs ("Daemon is shutting down"); the jobs
        end; then the listener closes (the socket file goes, nothing can
        connect), and the fake goes on serving the open connections until
        their clients close them, as the conductor's ``Server.wait_closed()``
        waits for them: it returns once every one is closed. A client that
        never closes its connection would keep it waiting forever: ``grace``
        seconds bound the wait, after which the fake closes what is left, as
        :meth:`stop` does. To see what a client does while the conductor
        only reports that it shuts down, set :attr:`shutting_down` first.
        """
        self.shutting_down = True
        if self._accepting is None:
            await self.stop()  # not serving, or stopping already
            return
        self._accepting.cancel()
        with anyio.move_on_after(grace):
            await self.wait_for(lambda: self._draining.is_set() and not self.open_connections)
        await self.stop()

    async def restart(self, *, keep_jobs: bool = True) -> None:
        """Stop (as :meth:`stop` does), then serve again on the same socket path.

        A conductor restarted with its registry knows the jobs it had, with
        the statuses they had when it stopped (a running job's run does not
        go on: cancel or resume it); one restarted without it knows none:
        ``keep_jobs=False``. The new conductor is not shutting down, its
        uptime starts again; faults, handlers, plans, the recording and the
        observations (:attr:`requests`, the counts) stay. Returns once the fake
        accepts connections again.
        """
        if self._task_group is None:
            raise RuntimeError("the FakeDaemon is not serving: there is nothing to restart")
        self._restart = keep_jobs
        restarted = self._restarted = anyio.Event()
        self._task_group.cancel_scope.cancel()
        await restarted.wait()
        if self._task_group is None:
            raise RuntimeError(f"the FakeDaemon could not serve again on {self._path}")

    def go_silent(self) -> None:
        """Accept and read as before, but write nothing from now on.

        Requests are read and recorded (:attr:`requests`, :meth:`count`) but
        not run nor answered, not even the handshake; open streams push
        nothing (their events are dropped): a conductor that stopped answering.
        """
        self._silent = self._conductor.dropping_events = True

    def resume_answering(self) -> None:
        """Answer again after :meth:`go_silent` (what was read meanwhile stays unanswered)."""
        self._silent = self._conductor.dropping_events = False

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
        self._injections.add(Fault(fault), method, times, delay)

    def plan_job(self, job_id: str, *, sheets: int = 3, fail_at_sheet: int | None = None) -> None:
        """How the job ``job_id`` will run when submitted: its sheets, and the one that fails."""
        self._conductor.jobs.plan(job_id, sheets, fail_at_sheet)

    def set_rate_limit(self, backend: str, seconds: float) -> None:
        """Report ``backend`` as rate limited for ``seconds`` (``daemon.rate_limits``)."""
        self._conductor.set_rate_limit(backend, seconds)

    def emit(
        self,
        event: str,
        *,
        job_id: str = "",
        sheet_num: int = 0,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Push an ``ObserverEvent`` to every ``daemon.monitor.stream`` subscriber."""
        self._conductor.publish(event, job_id, sheet_num, data)

    @property
    def shutting_down(self) -> bool:
        """Whether the fake reports that it shuts down (``daemon.health``, ``daemon.ready``).

        Set by ``daemon.shutdown`` and :meth:`stop_like_conductor`; a test may
        set it to stand for a conductor that waits for its jobs before it
        stops: new jobs are rejected, and everything else is served.
        """
        return self._conductor.shutting_down

    @shutting_down.setter
    def shutting_down(self, value: bool) -> None:
        self._conductor.shutting_down = value
        self._notify()

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
        return frozenset(self._conductor.handlers) | frozenset(self._custom)

    def count(self, method: str, *, connection: int | None = None) -> int:
        """How many requests of ``method`` the fake has read (on ``connection``, if given).

        Connections are numbered from 1 in the order the fake accepted them,
        as :attr:`ReceivedRequest.connection` says.
        """
        if connection is None:
            return self._counts[method]
        return sum(r.method == method and r.connection == connection for r in self.requests)

    def job_status(self, job_id: str) -> str | None:
        """The status of the job ``job_id`` (``"running"``, ``"completed"``, ...), None if unknown."""
        return self._conductor.jobs.status_of(job_id)

    @property
    def monitor_subscribers(self) -> int:
        """Open ``daemon.monitor.stream`` subscriptions."""
        return self._conductor.monitor_subscribers

    def unused(self) -> list[RecordedCall]:
        """The recorded requests (each with its recorded answer) not replayed yet, in order.

        Empty when the fake replays no recording. A test asserts with it that
        the program did all it did when the session was recorded.
        """
        return [] if self._replay is None else self._replay.unused()

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

    def _spawn(self, function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self._jobs_group is None:
            raise RuntimeError("the conductor is shutting down")
        self._jobs_group.start_soon(function, *args)

    # ---- the wire --------------------------------------------------------------------

    async def _handle_connection(self, sock: socket.socket) -> None:
        self.accepted_connections += 1
        number = self.accepted_connections
        self.open_connections += 1
        self._notify()
        try:
            if self._semaphore is None:
                await self._serve_connection(sock, number)
            else:
                async with self._semaphore:
                    await self._serve_connection(sock, number)
        except OSError:
            pass  # the client went away while we wrote
        finally:
            close(sock)
            self.open_connections -= 1
            self._notify()

    async def _serve_connection(self, sock: socket.socket, number: int) -> None:
        self.served_connections += 1
        self._notify()
        reader = LineReader(sock)
        try:
            while (line := await reader.receive_line()) is not None:
                if not await self._process(sock, line, number):
                    return
        finally:
            self.served_connections -= 1
            self._notify()

    async def _process(self, sock: socket.socket, line: bytes, connection: int) -> bool:
        """Handle one line as the conductor does; False to close the connection."""
        try:
            request_id, method, params = parse_request(line)
        except Unanswerable:
            return False
        except Invalid as invalid:
            if not self._silent:
                await _send(sock, error_response(*invalid.args))
            return True
        if self._silent:
            self._record(ReceivedRequest(method, params, request_id, connection))
            return True
        injection = self._injections.take(method)
        fault = injection.fault if injection else None
        if fault is not Fault.CLOSE_BEFORE_READ:
            self._record(ReceivedRequest(method, params, request_id, connection))
        if injection is not None and injection.delay:
            await anyio.sleep(injection.delay)
        if fault in (Fault.CLOSE_BEFORE_READ, Fault.CLOSE_AFTER_READ):
            return False
        if fault is Fault.SILENCE:
            await wait_closed(sock)
            return False
        if self._replay is not None:
            replayed = self._replay.take(method, params)
            if replayed is not None:
                return await self._replay_call(sock, replayed, request_id, fault)
            if not (self._fallback or answers_itself(method)):
                message = self._replay.miss_message(method, params)
                data = {"method": method, "params": params}
                response = error_response(_REPLAY_MISS, message, request_id, data)
                return await self._respond(sock, response, fault)
        entry = self._custom.get(method) or self._conductor.handlers.get(method)
        if entry is None:
            response = error_response(
                -32601,
                f"Method not found: {method} (FakeDaemon has no handler for it: "
                f"register one with fake.register({method!r}, handler))",
                request_id,
                {"method": method},
            )
        elif entry[1] is not None:
            return await self._stream(sock, entry[0](params), entry[1], request_id)
        else:
            response = await answer(entry[0], params, request_id)
            self._notify()
        return await self._respond(sock, response, fault)

    def _record(self, request: ReceivedRequest) -> None:
        self.requests.append(request)
        self._counts[request.method] += 1
        self._notify()

    async def _replay_call(
        self, sock: socket.socket, replayed: Replayable, request_id: RequestId, fault: Fault | None
    ) -> bool:
        """Answer as recorded, with this request's id; then push the events that followed."""
        recorded, replay = replayed.call.answer, self._replay
        assert replay is not None
        if recorded is None:
            if replayed.call.method != MONITOR:
                return True  # the conductor had not answered it either
            async with replay.subscribed(replayed, self._conductor.monitor) as events:
                self._push(replay.due(replayed))
                return await self._stream(sock, events, "monitor.event", request_id)
        if "error" in recorded:
            response = {"jsonrpc": "2.0", "error": recorded["error"], "id": request_id}
        else:
            response = result_response(recorded.get("result"), request_id)
        keep_open = await self._respond(sock, response, fault)
        self._push(replay.due(replayed))
        return keep_open

    def _push(self, events: list[Any]) -> None:
        for event in events:
            self._conductor.broadcast(event)

    async def _respond(
        self, sock: socket.socket, response: dict[str, Any], fault: Fault | None
    ) -> bool:
        """Send ``response`` (not to a notification), as ``fault`` says; False to close."""
        if response["id"] is None:
            return True  # a notification: run, never answered
        if fault is Fault.CLOSE_AFTER_HANDLE:
            return False
        await send_all(sock, answer_line(response, fault))
        return fault is not Fault.TRUNCATED

    async def _stream(
        self,
        sock: socket.socket,
        items: AsyncGenerator[Any, None],
        notification: str,
        request_id: RequestId,
    ) -> bool:
        """Push ``items`` until they end (then answer) or the client is gone; False to close.

        The client's close is noticed at the next write, as the conductor
        notices it, and at once while stopping as the conductor does.
        """
        response = result_response(None, request_id)
        client_closed = anyio.Event()
        client_gone = False  # found at a write

        async def end_at_close_while_draining() -> None:
            await self._draining.wait()
            await wait_closed(sock)
            client_closed.set()
            watch.cancel_scope.cancel()

        async with anyio.create_task_group() as watch:
            watch.start_soon(end_at_close_while_draining)
            try:
                async with contextlib.aclosing(items):
                    async for item in items:
                        if not self._silent:
                            message = {"jsonrpc": "2.0", "method": notification, "params": item}
                            await _send(sock, message)
            except OSError:
                client_gone = True
            except Exception as failure:
                response = failure_response(failure, request_id)
            watch.cancel_scope.cancel()
        if client_gone or client_closed.is_set():
            return False  # nobody to answer
        if request_id is not None:
            await _send(sock, response)
        return True


async def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    await send_all(sock, _encoder.encode(message) + b"\n")
