"""The registry entry type: what the SDK knows about one conductor method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R")


@dataclass(frozen=True, slots=True, eq=False)
class MethodInfo(Generic[P, R]):
    """One method of the conductor, as declared in ``schema/marianne.openrpc.json``.

    Each method has one entry, compared by identity: hashing it by its
    fields would cost a call more than the lookups it keys.
    ``result_type`` is anything ``msgspec.convert`` accepts as a target type.
    ``notification`` and ``notification_type`` are set only for the streaming
    method: the JSON-RPC notification it pushes and the type of its params.
    """

    name: str
    python_name: str
    params_type: type[P]
    result_type: Any
    idempotent: bool
    streaming: bool
    errors: tuple[int, ...]
    summary: str
    notification: str | None = None
    notification_type: Any = None
