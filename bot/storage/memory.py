"""A backend in memory: nothing survives the process. For tests, benchmarks and dry runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from bot.domain.access import AccessLists
from bot.domain.billing import Movement, admissible
from bot.domain.groups import GroupSettings
from bot.domain.history import HistoryEntry, entry_of, in_history, newest_first
from bot.domain.records import ACTIVE_STATES, TaskRecord, TaskState, UserProfile
from bot.domain.transitions import TaskChange, apply_change
from bot.domain.usage import Stats, Usage, seconds_in_chat, stats_of, usage_of
from bot.storage.base import belongs, may_take, soundtracks_in_use


class MemoryStorage:
    """Keeps the Storage contract; every method completes without awaiting, so it is atomic."""

    def __init__(self) -> None:
        self._claims = asyncio.Lock()
        self._users: dict[int, UserProfile] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._access = AccessLists()
        self._ledger: list[Movement] = []
        self._ledger_keys: set[tuple[str, str]] = set()
        self._groups: dict[int, GroupSettings] = {}

    async def get_user(self, user_id: int) -> UserProfile:
        return self._users.get(user_id) or UserProfile(user_id)

    async def save_user(self, profile: UserProfile) -> None:
        self._users[profile.user_id] = profile

    async def add_task(self, record: TaskRecord) -> None:
        self._tasks[record.id] = record

    async def get_task(self, task_id: str) -> TaskRecord | None:
        return self._tasks.get(task_id)

    async def kept_task(self, task_id: str) -> TaskRecord | None:
        return self._tasks.get(task_id)

    async def ledger_apply(self, movement: Movement) -> bool:
        if movement.key in self._ledger_keys or not admissible(
            await self.ledger(movement.user_id), movement
        ):
            return False
        self._ledger.append(movement)
        self._ledger_keys.add(movement.key)
        return True

    async def ledger(self, user_id: int) -> list[Movement]:
        return [m for m in self._ledger if m.user_id == user_id]

    async def ledger_rows(self) -> list[Movement]:
        return list(self._ledger)

    async def forget_user(self, user_id: int) -> list[TaskRecord]:
        gone = [
            r
            for r in self._tasks.values()
            if r.user_id == user_id and r.state not in ACTIVE_STATES
        ]
        for record in gone:
            del self._tasks[record.id]
        self._users.pop(user_id, None)
        for group in list(self._groups.values()):
            self._groups[group.chat_id] = group.allowing(user_id, False)
        return gone

    async def get_group(self, chat_id: int) -> GroupSettings:
        return self._groups.get(chat_id) or GroupSettings(chat_id)

    async def change_group(
        self, chat_id: int, change: Callable[[GroupSettings], GroupSettings]
    ) -> GroupSettings:
        group = change(self._groups.get(chat_id) or GroupSettings(chat_id))
        self._groups[chat_id] = group
        return group

    async def usage_in_chat(self, user_id: int, chat_id: int, since: float) -> int:
        return seconds_in_chat(self._tasks.values(), user_id, chat_id, since)

    async def chat_history(self, chat_id: int, since: float) -> list[HistoryEntry]:
        return [
            entry_of(r)
            for r in self._tasks.values()
            if r.chat_id == chat_id and r.created_at >= since and in_history(r)
        ]

    async def history(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[list[HistoryEntry], int]:
        mine = [
            entry_of(r) for r in self._tasks.values() if r.user_id == user_id and in_history(r)
        ]
        return newest_first(mine)[offset : offset + limit], len(mine)

    async def find_card(self, chat_id: int, card_message_id: int) -> TaskRecord | None:
        return next(
            (
                r
                for r in self._tasks.values()
                if r.chat_id == chat_id and r.card_message_id == card_message_id
            ),
            None,
        )

    async def tasks_in(
        self,
        states: Iterable[TaskState],
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> list[TaskRecord]:
        wanted = set(states)
        return [
            r for r in self._tasks.values() if r.state in wanted and belongs(r, user_id, chat_id)
        ]

    async def stats(self, now: float) -> Stats:
        users = set(self._users) | {r.user_id for r in self._tasks.values()}
        return stats_of(self._tasks.values(), len(users), now)

    async def take_leases(
        self, owner: str, until: float, now: float, *, include_own: bool = False, limit: int = 100
    ) -> list[TaskRecord]:
        taken = [r for r in self._tasks.values() if may_take(r, owner, now, include_own)][:limit]
        for record in taken:
            self._tasks[record.id] = replace(record, lease_owner=owner, lease_until=until)
        return [self._tasks[r.id] for r in taken]

    async def renew_leases(self, owner: str, until: float) -> int:
        mine = [
            r for r in self._tasks.values() if r.lease_owner == owner and r.state in ACTIVE_STATES
        ]
        for record in mine:
            self._tasks[record.id] = replace(record, lease_until=until)
        return len(mine)

    async def release_leases(self, owner: str) -> None:
        await self.renew_leases(owner, 0.0)

    async def prune(self, now: float) -> int:
        return 0

    async def usage(self, user_id: int, since: float) -> Usage:
        return usage_of(self._tasks.values(), user_id, since)

    async def soundtrack_files(self, kept_since: float = 0.0) -> set[str]:
        return soundtracks_in_use(self._tasks.values(), self._users.values(), kept_since)

    async def get_access(self) -> AccessLists:
        return self._access

    async def save_access(self, lists: AccessLists) -> None:
        self._access = lists

    async def update_task(
        self, task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        updated = apply_change(self._tasks.get(task_id), change, expect_version)
        if updated is not None:
            self._tasks[task_id] = updated
        return updated

    def claims(self) -> AbstractAsyncContextManager[None]:
        return self._claims

    async def close(self) -> None:
        pass
