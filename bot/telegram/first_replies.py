"""First replies before heavy work: twenty photos at once all get their instant answer before
any of them is downloaded and converted (which would otherwise hold the event loop)."""

from __future__ import annotations

import asyncio
import contextlib
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

    async def settled(self, max_wait: float = 0.5) -> None:
        """Return once no first reply is waiting to be sent, or after `max_wait` seconds: a
        steady stream of new photos (or a rate-limited burst) must not starve the others."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), max_wait)
