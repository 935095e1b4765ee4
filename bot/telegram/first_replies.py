"""First replies before heavy work: twenty photos at once all get their instant answer before
any of them is downloaded and converted (which would otherwise hold the event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FirstReplies:
    def __init__(self) -> None:
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """Around everything up to and including a first reply."""
        self._pending += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def settled(self) -> None:
        """Return once no first reply is waiting to be sent."""
        await self._idle.wait()
