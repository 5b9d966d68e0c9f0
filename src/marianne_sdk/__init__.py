"""Typed Python SDK for the Marianne conductor.

:class:`DaemonClient` is the asynchronous client (asyncio or trio); the
blocking one is :class:`marianne_sdk.sync.DaemonClient`, and a fake conductor
for tests is :class:`marianne_sdk.testing.FakeDaemon`. The result models and
the known values of open enumerations are importable from here.
"""

from typing import TYPE_CHECKING

from ._client import DaemonClient
from ._errors import (
    ConductorBusyError,
    ConnectionLostError,
    DaemonAlreadyRunningError,
    DaemonError,
    DaemonInternalError,
    DaemonNotRunningError,
    DaemonParseError,
    DaemonShuttingDownError,
    DaemonTimeoutError,
    InvalidParamsError,
    InvalidRequestError,
    JobSubmissionError,
    MethodNotFoundError,
    ProtocolError,
    RequestTooLargeError,
    ResourceExhaustedError,
    SSHConnectError,
    UntrustedDaemonError,
)
from ._generated import enums as _enums
from ._generated import models as _models
from ._generated.enums import *  # noqa: F403
from ._generated.models import *  # noqa: F403
from ._generated.registry import METHODS
from ._invoke import NOT_GIVEN, EventStream, NotGiven, Timeout
from ._method import MethodInfo
from ._streams import StreamGap

if TYPE_CHECKING:
    __version__: str
    """The installed distribution's version (from its metadata)."""


def __getattr__(name: str) -> str:
    # Read when asked for: importing importlib.metadata costs more than the rest of the SDK.
    if name == "__version__":
        from importlib.metadata import version

        return version("marianne-sdk")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METHODS",
    "NOT_GIVEN",
    "ConductorBusyError",
    "ConnectionLostError",
    "DaemonAlreadyRunningError",
    "DaemonClient",
    "DaemonError",
    "DaemonInternalError",
    "DaemonNotRunningError",
    "DaemonParseError",
    "DaemonShuttingDownError",
    "DaemonTimeoutError",
    "EventStream",
    "InvalidParamsError",
    "InvalidRequestError",
    "JobSubmissionError",
    "MethodInfo",
    "MethodNotFoundError",
    "NotGiven",
    "ProtocolError",
    "RequestTooLargeError",
    "ResourceExhaustedError",
    "SSHConnectError",
    "StreamGap",
    "Timeout",
    "UntrustedDaemonError",
]
__all__ += _models.__all__
__all__ += _enums.__all__
