"""OpenTelemetry: a CLIENT span per call and per stream, from an instrumentor that patches nothing."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.sshd import SSHServer
from tests.support import LogWatch

from marianne_sdk import ConnectionLostError, DaemonClient, DaemonError, JobRequest
from marianne_sdk.instrumentation import CONNECTION_WAIT, MarianneInstrumentor
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

BOUND = 30.0


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider()


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    MarianneInstrumentor().instrument(tracer_provider=provider)
    yield exporter
    MarianneInstrumentor().uninstrument()


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(BOUND):
        while not condition():  # noqa: ASYNC110 - the fake's counters have no event
            await anyio.sleep(0.01)


async def test_a_span_per_call_with_the_json_rpc_attributes(
    fake: FakeDaemon, spans: InMemorySpanExporter
) -> None:
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        await client.status()
        await client.submit_job(JobRequest(config_path="/scores/traced.yaml"))
        await client.list_jobs()
    status, submit, listing = finished(spans)
    assert [span.name for span in finished(spans)] == ["daemon.status", "job.submit", "job.list"]
    for span, request in zip((status, submit, listing), fake.requests, strict=True):
        assert span.kind is SpanKind.CLIENT
        assert span.status.status_code is StatusCode.UNSET
        attributes = dict(span.attributes or {})
        wait = attributes.pop(CONNECTION_WAIT)
        assert isinstance(wait, float)
        assert wait > 0
        assert attributes == {
            "rpc.system": "jsonrpc",
            "rpc.method": request.method,
            "rpc.jsonrpc.version": "2.0",
            "rpc.jsonrpc.request_id": str(request.id),
            "server.address": fake.socket_path,
            "network.transport": "unix",
        }


async def test_a_call_over_ssh_names_the_url_and_tcp(
    fake: FakeDaemon, spans: InMemorySpanExporter, sshd: SSHServer
) -> None:
    url = sshd.url(fake.socket_path)
    async with DaemonClient(url, timeout=BOUND) as client:
        await client.health()
    [span] = finished(spans)
    attributes = dict(span.attributes or {})
    assert (span.name, attributes["server.address"], attributes["network.transport"]) == (
        "daemon.health",
        url,
        "tcp",
    )
    assert fake.count("daemon.health") == 1


async def test_a_rejected_call_has_error_status_and_its_exception(
    fake: FakeDaemon, spans: InMemorySpanExporter
) -> None:
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        with pytest.raises(DaemonError) as rejected:
            await client.get_job_status("missing")
    [span] = finished(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["rpc.jsonrpc.error_code"] == rejected.value.code
    assert span.attributes["rpc.jsonrpc.error_message"] == rejected.value.message
    assert span.attributes["error.type"] == type(rejected.value).__qualname__
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"].endswith(type(rejected.value).__name__)


async def test_a_call_span_is_a_child_of_the_current_span(
    fake: FakeDaemon, spans: InMemorySpanExporter, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("the application")
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        with tracer.start_as_current_span("outer"):
            await client.health()
    call, outer = finished(spans)
    assert call.parent is not None
    assert outer.context is not None
    assert call.parent.span_id == outer.context.span_id


async def test_a_stream_is_one_span_with_an_event_per_gap_and_loss(
    socket_path: Path, spans: InMemorySpanExporter
) -> None:
    async with DaemonClient(socket_path, heartbeat=None) as client:
        async with FakeDaemon(socket_path) as first:
            resuming = client.monitor(reconnect=True)
            ending = client.monitor(idle_timeout=BOUND, reconnect=False)
            await resuming.__aenter__()
            await until(lambda: first.monitor_subscribers == 1)
        async with FakeDaemon(socket_path) as second:
            with anyio.fail_after(BOUND):
                await anext(resuming)  # the gap
            await until(lambda: second.monitor_subscribers == 1)
            await ending.__aenter__()  # shares no feed: reconnect is part of the request
            await until(lambda: second.monitor_subscribers == 2)
        with anyio.fail_after(BOUND), pytest.raises(ConnectionLostError):
            await anext(ending)
        await resuming.aclose()
    # The resuming stream probes daemon.health before it subscribes again: those are calls.
    streams = [
        span
        for span in finished(spans)
        if span.kind is SpanKind.CLIENT and span.name == "daemon.monitor.stream"
    ]
    resumed, lost = sorted(streams, key=lambda span: len(span.events))
    assert [event.name for event in resumed.events] == ["gap"]
    assert resumed.status.status_code is StatusCode.UNSET
    assert [event.name for event in lost.events] == ["loss", "exception"]
    assert lost.status.status_code is StatusCode.ERROR
    for span in (lost, resumed):
        assert span.name == "daemon.monitor.stream"
        assert span.kind is SpanKind.CLIENT


async def test_no_spans_after_uninstrument(fake: FakeDaemon, spans: InMemorySpanExporter) -> None:
    async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
        await client.status()
        MarianneInstrumentor().uninstrument()
        await client.status()
        async with client.monitor() as events:
            await until(lambda: fake.monitor_subscribers == 1)
            fake.emit("untraced")
            with anyio.fail_after(BOUND):
                await anext(events)
    assert [span.name for span in finished(spans)] == ["daemon.status"]
    assert client._observers.active is False


class _FailingTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        raise RuntimeError("the tracer is broken")


class _FailingProvider(trace.NoOpTracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _FailingTracer()


async def test_a_broken_tracer_never_breaks_a_call(fake: FakeDaemon, sdk_log: LogWatch) -> None:
    MarianneInstrumentor().instrument(tracer_provider=_FailingProvider())
    try:
        async with DaemonClient(fake.socket_path, timeout=BOUND) as client:
            assert (await client.status()).pid == os.getpid()
            with pytest.raises(DaemonError):
                await client.get_job_status("missing")
    finally:
        MarianneInstrumentor().uninstrument()
    assert any("failed in call_started" in message for message in sdk_log.messages)


def test_the_entry_point_names_the_instrumentor() -> None:
    [entry_point] = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry_point.name == "marianne_sdk"
    ]
    assert entry_point.load() is MarianneInstrumentor


def test_importing_the_sdk_imports_no_opentelemetry() -> None:
    program = (
        "import sys, marianne_sdk, marianne_sdk.observe, marianne_sdk.sync, marianne_sdk.testing\n"
        "print([name for name in sys.modules if name.startswith('opentelemetry')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_opentelemetry_instrument_turns_it_on(socket_path: Path) -> None:
    """``opentelemetry-instrument`` finds the instrumentor by its entry point, and instruments."""
    program = (
        "import sys\n"
        "from marianne_sdk.instrumentation import MarianneInstrumentor\n"
        "from marianne_sdk.sync import DaemonClient\n"
        "from marianne_sdk.testing import FakeDaemon\n"
        "with FakeDaemon.in_thread(sys.argv[1]) as fake, DaemonClient(sys.argv[1]) as client:\n"
        "    client.status()\n"
        "    tracing = MarianneInstrumentor().is_instrumented_by_opentelemetry\n"
        "    print(tracing, client._client._observers.active)\n"
    )
    command = Path(sys.executable).with_name("opentelemetry-instrument")
    result = subprocess.run(
        [str(command), sys.executable, "-c", program, str(socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == "True True\n"
