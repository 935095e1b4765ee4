"""The line of Generates that came while the bot was full: started by themselves, in fair
order, as slots free; nothing is submitted or counted as spent before that."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.access import LimitReached
from bot.domain.notices import Notice
from bot.domain.queue_order import fair_order
from bot.domain.records import TaskRecord, TaskState
from bot.domain.transitions import MovedInLine
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.ports import Messenger
from bot.lifecycle.submit import Claimed, InLine, Refused, Submitter
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Line:
    storage: Storage
    messenger: Messenger
    submitter: Submitter
    ending: TaskEnding  # cards back from the line
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
        storage = self.storage
        for candidate in fair_order(await storage.tasks_in({TaskState.QUEUED})):
            claimed = await self.submitter.claim(candidate, from_queue=True)
            if isinstance(claimed, InLine):
                return None  # full: everyone keeps their place
            # Only a user at their own limit of tasks in flight waits; any other refusal
            # (an allowance used meanwhile, credits gone) sends the card back, its hold
            # returned: a card left in line would keep the credits held for good.
            if isinstance(claimed, Refused) and claimed.limit is not LimitReached.USER_ACTIVE:
                await self._back_to_card(candidate, claimed.limit)
            if isinstance(claimed, Claimed):
                task_log(log, claimed.record).info("left the line")
                return claimed.record
        return None

    async def _back_to_card(self, record: TaskRecord, why: LimitReached) -> None:
        """Its turn came past the day's allowance, the user's or the group's (or its hold was
        gone and the balance no longer covers it): the card comes back, saying so."""
        past_allowance = why in (LimitReached.DAILY_QUOTA, LimitReached.GROUP_ALLOWANCE)
        notice = Notice.QUOTA_LEFT_BEHIND if past_allowance else None
        await self.ending.back_to_draft(record, notice)

    async def _show_places(self) -> None:
        for place, record in enumerate(
            fair_order(await self.storage.tasks_in({TaskState.QUEUED}))
        ):
            if record.queue_position == place:
                continue
            moved = await self.storage.update_task(record.id, MovedInLine(queue_position=place))
            if moved is not None:
                # Only the newest place matters: dropped when the flood budget is busy.
                await self.messenger.show_progress(moved)
