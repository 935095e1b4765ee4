"""What the bot keeps about a user, seen and forgotten: /history and /forget."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from bot.domain.history import PAGE_SIZE, HistoryEntry, shareable
from bot.domain.records import ACTIVE_STATES, ENDED_STATES, TaskRecord
from bot.lifecycle.billing import Billing
from bot.lifecycle.files import TaskFiles
from bot.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forgotten:
    tasks: int
    still_running: int


@dataclass(kw_only=True)
class Privacy:
    storage: Storage
    files: TaskFiles
    billing: Billing | None = None

    async def history_page(self, user_id: int, page: int) -> tuple[list[HistoryEntry], int]:
        """One page of the user's generations, newest first, and how many there are."""
        return await self.storage.history(user_id, page * PAGE_SIZE, PAGE_SIZE)

    async def shareable(self, user_id: int, typed: str) -> list[HistoryEntry]:
        """Inline mode: the user's own delivered videos, newest first, that match what they
        typed after @bot. Nobody else's: the user is the one Telegram says is asking."""
        everything, _ = await self.storage.history(user_id, 0, sys.maxsize)
        return shareable(everything, typed)

    async def kept(self, task_id: str) -> TaskRecord | None:
        """A task by id, ended ones included while the retention keeps them (for a button
        under an old video)."""
        return await self.storage.kept_task(task_id)

    async def forget(self, user_id: int) -> Forgotten:
        """/forget: everything kept about the user goes (profile, cards, history, photos,
        soundtracks); videos still being made stay until they are delivered. Credits held
        by a card in line go back: nothing was made for them."""
        profile = await self.storage.get_user(user_id)
        if profile.soundtrack is not None:
            await self.files.delete_soundtrack(profile.soundtrack.file)
        gone = await self.storage.forget_user(user_id)
        for record in gone:
            if self.billing is not None and record.state not in ENDED_STATES:
                await self.billing.release(record)
            self.files.forget_photo(record)
            await self.files.delete_soundtrack(record.soundtrack_file)
        running = await self.storage.tasks_in(ACTIVE_STATES, user_id=user_id)
        log.info(
            "user %s: forgot %s tasks, %s still in flight",
            user_id,
            len({r.id for r in gone}),
            len(running),
        )
        return Forgotten(len({r.id for r in gone}), len(running))
