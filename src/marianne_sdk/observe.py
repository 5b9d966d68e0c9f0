"""Observers: be told of every call and stream a client makes, for metrics, logs or traces.

Subclass :class:`Observer`, override the methods you need, and register an
instance for every client with :func:`add_observer`, or for one client with
``DaemonClient(observers=[...])`` (the blocking client takes it too)::

    from marianne_sdk.observe import Call, Observer, add_observer

    class SlowCalls(Observer):
        def call_ended(self, call: Call) -> None:
            if call.duration > 1.0:
                print(f"{call.method} took {call.duration:.1f} s")

    add_observer(SlowCalls())

With no observer registered, a call tests one attribute and pays nothing
else. :class:`marianne_sdk.instrumentation.MarianneInstrumentor` is built on
this interface.
"""

from ._observing import Call, Observer, Stream, add_observer, remove_observer

__all__ = ["Call", "Observer", "Stream", "add_observer", "remove_observer"]
