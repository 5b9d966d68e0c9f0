"""OpenTelemetry tracing of every client: :class:`MarianneInstrumentor` (the ``otel`` extra).

``MarianneInstrumentor().instrument(tracer_provider=...)`` gives every call of
every client (asynchronous or blocking) a CLIENT span named by its JSON-RPC
method, and every stream subscription a span with an event per gap; the
``opentelemetry-instrument`` command turns it on by itself, through the
``opentelemetry_instrumentor`` entry point. It is an observer
(:mod:`marianne_sdk.observe`): nothing is patched, and an error of the tracer
is logged, never raised into the call. ``import marianne_sdk`` does not
import OpenTelemetry; this module does.

Span attributes follow the OpenTelemetry semantic conventions for JSON-RPC:
``rpc.system`` (``jsonrpc``), ``rpc.method``, ``rpc.jsonrpc.version``,
``rpc.jsonrpc.request_id`` (absent for a notification),
``rpc.jsonrpc.error_code`` and ``rpc.jsonrpc.error_message`` of an error
response, ``server.address`` (the conductor's socket path) and
``network.transport`` (``unix``); and :data:`CONNECTION_WAIT`, the seconds
the call waited for a connection. A call that raises a
:class:`~marianne_sdk.DaemonError` has ERROR status and the exception recorded;
a cancelled one ends with a ``cancelled`` event.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

try:
    from opentelemetry import trace

    # That module is `# type: ignore`d by its authors: mypy sees BaseInstrumentor as Any.
    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the installation
    if not (_missing.name or "").startswith("opentelemetry"):
        raise
    raise ImportError(
        "marianne_sdk.instrumentation needs OpenTelemetry: pip install 'marianne-sdk[otel]'"
    ) from _missing

from ._errors import ConnectionLostError
from ._observing import Call, Observer, Stream, add_observer, remove_observer
from ._ssh import is_ssh_target
from ._streams import StreamGap

__all__ = ["CONNECTION_WAIT", "MarianneInstrumentor"]

CONNECTION_WAIT = "marianne.connection_wait"
"""The span attribute of the seconds a call waited for a connection (a float)."""


class MarianneInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces every marianne-sdk client: ``instrument(tracer_provider=...)``, ``uninstrument()``.

    Without ``tracer_provider``, the global one. A single instance, as every
    OpenTelemetry instrumentor: instrumenting twice does nothing the second time.
    """

    _observer: _Tracing | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """None: it instruments this package itself."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        """Register the tracing observer, with a tracer of ``kwargs["tracer_provider"]``."""
        from . import __version__

        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))
        self._observer = _Tracing(tracer)
        add_observer(self._observer)

    def _uninstrument(self, **kwargs: Any) -> None:
        """Unregister the tracing observer: calls under way still end their spans."""
        if self._observer is not None:
            remove_observer(self._observer)
            self._observer = None


def _attributes(method: str, request_id: int | None, target: str) -> dict[str, str]:
    attributes = {
        "rpc.system": "jsonrpc",
        "rpc.method": method,
        "rpc.jsonrpc.version": "2.0",
        "server.address": target,
        # An ssh:// target's bytes cross the network inside ssh's TCP connection.
        "network.transport": "tcp" if is_ssh_target(target) else "unix",
    }
    if request_id is not None:
        attributes["rpc.jsonrpc.request_id"] = str(request_id)
    return attributes


def _fail(span: trace.Span, error: BaseException) -> None:
    if not isinstance(error, Exception):  # a cancellation: the caller's doing, no error
        span.add_event("cancelled")
        return
    code = getattr(error, "code", None)
    if isinstance(code, int):
        span.set_attribute("rpc.jsonrpc.error_code", code)
        span.set_attribute("rpc.jsonrpc.error_message", getattr(error, "message", str(error)))
    span.set_attribute("error.type", type(error).__qualname__)
    span.record_exception(error)
    span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"))


class _Tracing(Observer):
    """The instrumentor's observer: a span per call and per stream."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._calls: dict[Call, trace.Span] = {}
        self._streams: dict[Stream, trace.Span] = {}

    def call_started(self, call: Call) -> None:
        self._calls[call] = self._tracer.start_span(
            call.method,
            kind=trace.SpanKind.CLIENT,
            attributes=_attributes(call.method, call.request_id, call.target),
        )

    def call_ended(self, call: Call) -> None:
        span = self._calls.pop(call, None)
        if span is not None:
            span.set_attribute(CONNECTION_WAIT, call.connection_wait)
            span.end()

    def call_failed(self, call: Call, error: BaseException) -> None:
        span = self._calls.pop(call, None)
        if span is not None:
            span.set_attribute(CONNECTION_WAIT, call.connection_wait)
            _fail(span, error)
            span.end()

    def stream_opened(self, stream: Stream) -> None:
        self._streams[stream] = self._start_stream(stream)

    def stream_gap(self, stream: Stream, gap: StreamGap) -> None:
        span = self._streams.get(stream)
        if span is not None:
            span.add_event(
                "gap",
                {
                    "marianne.gap.reason": gap.reason,
                    "marianne.gap.seconds": gap.resumed_at - gap.broken_at,
                },
            )

    def stream_ended(self, stream: Stream, error: BaseException | None) -> None:
        # A stream that could not open has a span too, as long as its end.
        span = self._streams.pop(stream, None) or self._start_stream(stream)
        if isinstance(error, ConnectionLostError):
            span.add_event("loss", {"marianne.loss.reason": str(error)})
        if error is not None:
            _fail(span, error)
        span.end()

    def _start_stream(self, stream: Stream) -> trace.Span:
        return self._tracer.start_span(
            stream.method,
            kind=trace.SpanKind.CLIENT,
            attributes=_attributes(stream.method, stream.request_id, stream.target),
        )
