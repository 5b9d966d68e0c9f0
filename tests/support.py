"""Helpers shared by the connection-layer tests."""

from __future__ import annotations

import logging

import anyio


class LogWatch(logging.Handler):
    """The SDK's log records, with a way to wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._arrived: anyio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self._arrived is not None:
            self._arrived.set()

    async def wait_for(self, text: str) -> None:
        while not any(text in message for message in self.messages):
            self._arrived = anyio.Event()
            await self._arrived.wait()
