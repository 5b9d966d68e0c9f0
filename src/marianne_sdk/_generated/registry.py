# Placeholder until `make generate` writes the real registry.
from __future__ import annotations

from typing import Any

from .._errors import DaemonError
from .._method import MethodInfo

METHODS: dict[str, MethodInfo[Any, Any]] = {}
ERROR_CLASS_BY_CODE: dict[int, type[DaemonError]] = {}
