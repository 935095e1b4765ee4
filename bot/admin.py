"""What the operators' commands read and change: access lists and statistics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.access import AccessLists, AccessPolicy
from bot.domain.usage import Stats
from bot.storage import Storage


@dataclass
class AdminService:
    storage: Storage
    policy: AccessPolicy
    clock: Callable[[], float] = time.time

    def is_admin(self, user_id: int) -> bool:
        return self.policy.is_admin(user_id)

    async def may_use(self, user_id: int, chat_id: int) -> bool:
        return self.policy.may_use(user_id, chat_id, await self.storage.get_access())

    async def change_access(self, user_id: int, *, allow: bool) -> AccessLists:
        """Allow or deny `user_id` from now on; returns the lists as they were before."""
        lists = await self.storage.get_access()
        await self.storage.save_access(lists.allow(user_id) if allow else lists.deny(user_id))
        return lists

    async def stats(self) -> Stats:
        return await self.storage.stats(self.clock())
