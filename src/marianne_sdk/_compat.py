"""Whether a conductor's reported version is one the schema describes.

The schema declares the conductor versions it was written for as a specifier
list (``info.x-conductor-versions``, e.g. ``">=0.1.0,<0.2"``). Only release
numbers are compared; a pre-release or local suffix is ignored. This is a
courtesy check: the result is logged, never raised.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_CLAUSE = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(\S+)\s*")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def release(version: str) -> tuple[int, ...] | None:
    """``"0.1.0rc1"`` → ``(0, 1)``: the release numbers, trailing zeros dropped."""
    match = _RELEASE.match(version.strip().removeprefix("v"))
    if match is None:
        return None
    numbers = [int(part) for part in match.group().split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def is_supported(version: str, specifiers: str) -> bool | None:
    """True or False when ``version`` does or does not match; None when it cannot be told."""
    reported = release(version)
    if reported is None or not specifiers.strip():
        return None
    for clause in specifiers.split(","):
        match = _CLAUSE.fullmatch(clause)
        bound = release(match.group(2)) if match else None
        if match is None or bound is None:
            return None
        if not _OPERATORS[match.group(1)](reported, bound):
            return False
    return True
