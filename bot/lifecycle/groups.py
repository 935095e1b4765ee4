"""A group's rules applied (issue 23): who may generate there, each member's daily allowance,
the group's defaults on new cards, and the group's wallet. The admins are Telegram's
(`GroupRoles`, asked through the Bot API and kept briefly), never a list of the bot's."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.access import LimitReached
from bot.domain.groups import GroupSettings, GroupVerdict, in_group, paying
from bot.domain.history import HistoryEntry
from bot.domain.records import TaskRecord
from bot.domain.usage import start_of_day
from bot.lifecycle.ports import GroupRoles
from bot.storage import Storage

WEEK = 7 * 86400.0


@dataclass(kw_only=True)
class Groups:
    storage: Storage
    roles: GroupRoles
    billing_on: bool = False
    clock: Callable[[], float] = time.time

    async def settings(self, chat_id: int) -> GroupSettings:
        return await self.storage.get_group(chat_id)

    async def change(
        self, chat_id: int, change: Callable[[GroupSettings], GroupSettings]
    ) -> GroupSettings:
        """`change` applied to the group's rules as they are now (storage.change_group)."""
        return await self.storage.change_group(chat_id, change)

    async def week(self, chat_id: int) -> list[HistoryEntry]:
        """/groupstats: the generations made in the group in the last 7 days."""
        return await self.storage.chat_history(chat_id, self.clock() - WEEK)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        return await self.roles.is_admin(chat_id, user_id)

    async def who_refuses(self, record: TaskRecord) -> LimitReached | None:
        """Whether this member may generate in the card's group at all (None in private).
        Asked before a claim: Telegram is never waited for while claims are held."""
        return await self.member_refused(record.chat_id, record.user_id)

    async def member_refused(self, chat_id: int, user_id: int) -> LimitReached | None:
        """The same for a member about to open a card there (/video)."""
        if not in_group(chat_id):
            return None
        group = await self.storage.get_group(chat_id)
        if not group.who_refuses(user_id, admin=False):
            return None
        admin = await self.roles.is_admin(chat_id, user_id)
        return group.who_refuses(user_id, admin=admin)

    async def paying(self, record: TaskRecord) -> GroupVerdict:
        """Within a claim: the member's allowance there today, and who pays."""
        if not in_group(record.chat_id):
            return GroupVerdict()
        group = await self.storage.get_group(record.chat_id)
        used = await self.storage.usage_in_chat(
            record.user_id, record.chat_id, start_of_day(self.clock())
        )
        return paying(
            group,
            used_today=used,
            duration=record.settings.duration,
            billing_on=self.billing_on,
            pays_self=record.pays_self,
        )
