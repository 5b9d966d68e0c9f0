"""Typed Python SDK for the Marianne conductor."""

from ._errors import (
    ConnectionLostError,
    DaemonAlreadyRunningError,
    DaemonError,
    DaemonInternalError,
    DaemonNotRunningError,
    DaemonParseError,
    DaemonShuttingDownError,
    InvalidParamsError,
    InvalidRequestError,
    JobSubmissionError,
    MethodNotFoundError,
    ProtocolError,
    RequestTooLargeError,
    ResourceExhaustedError,
)
from ._generated.enums import *  # noqa: F403
from ._generated.models import *  # noqa: F403
from ._generated.registry import METHODS
from ._method import MethodInfo

__all__ = [
    "METHODS",
    "ConnectionLostError",
    "DaemonAlreadyRunningError",
    "DaemonError",
    "DaemonInternalError",
    "DaemonNotRunningError",
    "DaemonParseError",
    "DaemonShuttingDownError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JobSubmissionError",
    "MethodInfo",
    "MethodNotFoundError",
    "ProtocolError",
    "RequestTooLargeError",
    "ResourceExhaustedError",
]
