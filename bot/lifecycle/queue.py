"""The line of Generates that came while the bot was full: started by themselves, in fair
order, as slots free; nothing is submitted or counted as spent before that."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.access import LimitReached
from bot.domain.notices import Notice
from bot.domain.queue_order import fair_order
from bot.domain.records import TaskRecord, TaskState
from bot.lifecycle.submit import Submitter
from bot.lifecycle.tasklog import task_log

log = logging.getLogger(__name__)


@dataclass
class Line:
    submitter: Submitter
    _advancing: bool = False
    _again: bool = False

    async def advance(self) -> int:
        """Start queued tasks while there is room; redraw the places of the others. A user
        at their own limit of tasks in flight waits while others go ahead; one past the
        daily allowance gets the card back with that said. Returns how many started.

        One pass at a time: a call during a pass makes that pass run once more."""
        if self._advancing:
            self._again = True
            return 0
        self._advancing, started = True, 0
        try:
            while True:
                self._again = False
                while (next_up := await self._next()) is not None:
                    await self.submitter.submit(next_up)
                    started += 1
                await self._show_places()
                if not self._again:
                    return started
        finally:
            self._advancing = False

    async def _next(self) -> TaskRecord | None:
        storage = self.submitter.ending.storage
        for candidate in fair_order(await storage.tasks_in({TaskState.QUEUED})):
            claimed = await self.submitter.claim(candidate, from_queue=True)
            if claimed is LimitReached.GLOBAL_ACTIVE or (
                isinstance(claimed, TaskRecord) and claimed.state is TaskState.QUEUED
            ):
                return None  # full: everyone keeps their place
            if claimed is LimitReached.DAILY_QUOTA:
                await self._back_to_card(candidate)
            if isinstance(claimed, TaskRecord):
                task_log(log, claimed).info("left the line")
                return claimed
        return None

    async def _back_to_card(self, record: TaskRecord) -> None:
        """Its turn came past the day's allowance: the card comes back, saying so."""
        await self.submitter.ending.back_to_draft(record, Notice.QUOTA_LEFT_BEHIND)

    async def _show_places(self) -> None:
        ending = self.submitter.ending
        for place, record in enumerate(
            fair_order(await ending.storage.tasks_in({TaskState.QUEUED}))
        ):
            if record.queue_position == place:
                continue
            moved = await ending.storage.update_task(
                record.id, expect={TaskState.QUEUED}, queue_position=place
            )
            if moved is not None:
                # Only the newest place matters: dropped when the flood budget is busy.
                await ending.messenger.show_progress(moved)
