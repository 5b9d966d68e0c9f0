"""What a call to many conductors returns: each target's result or its error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from ._errors import DaemonError

R = TypeVar("R")


class FleetResult(Generic[R]):
    """The outcome of one call fanned out to every target of a fleet.

    ``ok`` maps each target that answered to its typed result, ``failed`` each
    other target to the :class:`DaemonError` it raised; both keep the order in
    which the targets were given.
    """

    __slots__ = ("failed", "ok")

    def __init__(self, ok: Mapping[str, R], failed: Mapping[str, DaemonError]) -> None:
        self.ok: Mapping[str, R] = ok
        self.failed: Mapping[str, DaemonError] = failed

    @property
    def all_ok(self) -> bool:
        """Whether every target answered."""
        return not self.failed

    def __repr__(self) -> str:
        return f"<FleetResult ok={list(self.ok)} failed={list(self.failed)}>"
