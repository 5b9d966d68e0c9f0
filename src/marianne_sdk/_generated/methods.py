# Placeholder until `make generate` writes the real wrappers.
from __future__ import annotations

from .._invoke import AsyncInvoker, SyncInvoker


class AsyncMethods(AsyncInvoker):
    pass


class SyncMethods(SyncInvoker):
    pass
