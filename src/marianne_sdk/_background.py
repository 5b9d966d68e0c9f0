"""Background tasks of the SDK's async context managers.

The client (its pool's housekeeping) and the FakeDaemon (its server) each run
one task for as long as their ``async with`` block lasts, and their
``__aenter__`` must return only once that task has started.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import TaskGroup


async def start_in_task_group(task: Callable[..., Coroutine[Any, Any, None]]) -> TaskGroup:
    """An entered task group running ``task``, returned once ``task`` reports it started.

    The caller exits the group (``__aexit__``) when its block ends. If ``task``
    fails to start, the group is exited here and the error raised.
    """
    group = anyio.create_task_group()
    await group.__aenter__()
    try:
        await group.start(task)
    except BaseException as exc:
        await group.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    return group
