"""The storage contract every backend keeps (tests/storage_contract.py checks it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.access import AccessLists
from bot.domain.billing import Movement
from bot.domain.groups import GroupSettings
from bot.domain.history import HistoryEntry
from bot.domain.records import (
    ACTIVE_STATES,
    ENDED_STATES,
    TaskRecord,
    TaskState,
    UserProfile,
)
from bot.domain.transitions import TaskChange
from bot.domain.usage import Stats, Usage


class StorageCorruptError(Exception):
    """The database exists but cannot be read; refusing to start over it."""


@dataclass(frozen=True)
class Snapshot:
    """A whole backend's content, to copy it into another one."""

    users: list[UserProfile]
    tasks: list[TaskRecord]
    access: AccessLists
    pruned_totals: Stats  # /stats totals of tasks no longer kept one by one
    # Every credit movement, in the order it was written (balances, holds, used refs).
    ledger: list[Movement] = field(default_factory=list)
    groups: list[GroupSettings] = field(default_factory=list)  # /groupsettings of each group


class Storage(Protocol):
    """Users, tasks and access lists. Every method is atomic on its own."""

    async def get_user(self, user_id: int) -> UserProfile:
        """The saved profile, or a fresh one with the default settings."""

    async def save_user(self, profile: UserProfile) -> None: ...

    async def add_task(self, record: TaskRecord) -> None: ...

    async def get_task(self, task_id: str) -> TaskRecord | None: ...

    async def forget_user(self, user_id: int) -> list[TaskRecord]:
        """Delete the user's profile, quota counters, place on groups' allowed lists and every
        task of theirs not in flight (history and backups included); returns the deleted
        tasks, whose files go too."""

    async def get_group(self, chat_id: int) -> GroupSettings:
        """A group's /groupsettings, or the defaults when its admins set none."""

    async def change_group(
        self, chat_id: int, change: Callable[[GroupSettings], GroupSettings]
    ) -> GroupSettings:
        """`change` applied to the group's settings as they are, atomically: two admins' presses
        at once (or a /forget) both land, on every replica. Returns the settings stored."""

    async def usage_in_chat(self, user_id: int, chat_id: int, since: float) -> int:
        """Seconds of video the user generated in this chat since `since` (charged, or being
        submitted): a group's daily allowance per member."""

    async def chat_history(self, chat_id: int, since: float) -> list[HistoryEntry]:
        """Every generation made in this chat since `since` (within RETENTION_DAYS)."""

    async def ledger_apply(self, movement: Movement) -> bool:
        """Add the movement if `bot.domain.billing.admissible` allows it against the user's
        ledger and no row anywhere has its (reason, ref): atomically, across processes."""

    async def ledger(self, user_id: int) -> list[Movement]: ...

    async def ledger_rows(self) -> list[Movement]:
        """Every movement of every user (for /stats)."""

    async def kept_task(self, task_id: str) -> TaskRecord | None:
        """Like get_task, ended tasks included for as long as RETENTION_DAYS keeps them
        (slower: for a button under an old video, never for the lifecycle)."""

    async def find_card(self, chat_id: int, card_message_id: int) -> TaskRecord | None:
        """The task whose card is this message."""

    async def history(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[list[HistoryEntry], int]:
        """A page of the user's generations, newest first, and how many there are in all
        (within RETENTION_DAYS; a draft never generated is none)."""

    async def tasks_in(
        self,
        states: Iterable[TaskState],
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> list[TaskRecord]:
        """Tasks in these states; ended ones only as long as the backend keeps them one by
        one (at least the day they ended)."""

    async def stats(self, now: float) -> Stats:
        """/stats: totals that survive pruning, plus the live tasks."""

    async def usage(self, user_id: int, since: float) -> Usage:
        """Active tasks (the user's and everyone's) and the user's seconds since `since`."""

    async def soundtrack_files(self, kept_since: float = 0.0) -> set[str]:
        """Served soundtracks still in use: on a task that has not ended, or on a profile
        that kept it at `kept_since` or later."""

    async def get_access(self) -> AccessLists: ...

    async def save_access(self, lists: AccessLists) -> None: ...

    async def update_task(
        self, task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        """Apply one transition (`bot.domain.transitions`): only from a state it may leave;
        with `expect_version`, only if nothing changed the task since that version was read.

        The check and the write are one atomic step: this is what makes a double-tap on
        Generate submit once. None when the task is missing or a condition did not hold.
        Every change raises the record's `version`.
        """

    def claims(self) -> AbstractAsyncContextManager[None]:
        """One claim at a time, across every process on this store: the limits a claim
        checks (per user, per day, for the whole bot) cannot change under it, since only a
        claim adds to them."""

    async def take_leases(
        self, owner: str, until: float, now: float, *, include_own: bool = False, limit: int = 100
    ) -> list[TaskRecord]:
        """Lease active tasks nobody holds (or whose lease ran out) to `owner`; with
        `include_own`, also those `owner` held before (a restart of the same owner).
        Two processes never get the same task."""

    async def renew_leases(self, owner: str, until: float) -> int:
        """Extend every lease `owner` holds on an active task; returns how many."""

    async def release_leases(self, owner: str) -> None:
        """Give up `owner`'s leases (a clean stop), so another process takes over at once."""

    async def prune(self, now: float) -> int:
        """Forget history older than the retention; returns how many pieces went."""

    async def close(self) -> None:
        """Wait for pending writes, then release the backend."""


def soundtracks_in_use(
    records: Iterable[TaskRecord], profiles: Iterable[UserProfile], kept_since: float = 0.0
) -> set[str]:
    """The `soundtrack_files` rule, shared by the backends."""
    on_tasks = {r.soundtrack_file for r in records if r.state not in ENDED_STATES}
    on_profiles = {
        p.soundtrack.file
        for p in profiles
        if p.soundtrack is not None and p.soundtrack.saved_at >= kept_since
    }
    return {name for name in on_tasks | on_profiles if name}


def may_take(record: TaskRecord, owner: str, now: float, include_own: bool) -> bool:
    """The `take_leases` rule, shared by the backends."""
    if record.state not in ACTIVE_STATES:
        return False
    if record.lease_owner == owner:
        return include_own
    return record.lease_owner is None or record.lease_until <= now


def belongs(record: TaskRecord, user_id: int | None, chat_id: int | None) -> bool:
    """The `tasks_in` filter: None matches anyone."""
    return (user_id is None or record.user_id == user_id) and (
        chat_id is None or record.chat_id == chat_id
    )
