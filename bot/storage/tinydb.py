"""The embedded backend: one TinyDB file, writes serialised and atomic.

Only this module knows TinyDB; it keeps the contract of `bot.storage.base.Storage`.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from tinydb import Query, TinyDB
from tinydb.storages import Storage as TinyStorage
from tinydb.table import Document

from bot.domain.access import AccessLists
from bot.domain.records import TaskRecord, TaskState, UserProfile
from bot.domain.usage import Usage, usage_of
from bot.storage.base import StorageCorruptError, belongs, changed, soundtracks_in_use

T = TypeVar("T")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def check_readable(path: Path) -> None:
    """StorageCorruptError when the file exists but cannot be read."""
    AtomicJSONStorage(str(path)).read()


def repair(path: Path) -> str:
    """Set a damaged database file aside and restore the last good copy; say what was done."""
    try:
        AtomicJSONStorage(str(path)).read()
        return f"{path} is readable: nothing to repair."
    except StorageCorruptError:
        pass
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    os.replace(path, aside)
    backup = backup_path(path)
    try:
        data = AtomicJSONStorage(str(backup)).read() if backup.exists() else None
    except StorageCorruptError:
        data = None
    if data is None:
        return (
            f"{path} was damaged and no good backup exists; it was moved to {aside}. "
            "The bot will start with empty storage."
        )
    AtomicJSONStorage(str(path)).write(data)
    return (
        f"{path} was damaged: moved to {aside} and restored from {backup} (at most the "
        "last change is lost)."
    )


class AtomicJSONStorage(TinyStorage):
    """JSON written to a temporary file, fsynced and renamed: a kill never leaves half a file.

    The process owns the file, so the last document read or written is kept in memory and
    reads cost no disk I/O (bench/RESULTS.md has the numbers).
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._cached: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        if self._cached is None:
            self._cached = self._load()
        return self._cached

    def _load(self) -> dict[str, Any] | None:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StorageCorruptError(f"{self._path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise StorageCorruptError(f"{self._path} does not hold a TinyDB document")
        return data

    def write(self, data: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".db-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            self._keep_backup()
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            self._cached = None  # TinyDB edited it in place: reload what the disk really holds
            raise
        self._cached = data

    def close(self) -> None:
        pass

    def _keep_backup(self) -> None:
        """The current file becomes `<name>.bak` (a hard link: no copy, never half-written),
        so `python -m bot --repair` can go back one write if the file is ever damaged."""
        if not self._path.exists():
            return
        link = self._path.with_name(self._path.name + ".bak.tmp")
        link.unlink(missing_ok=True)
        os.link(self._path, link)
        os.replace(link, backup_path(self._path))


class TinyDBStorage:
    """Users and tasks. One instance per process; every call holds the same lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = TinyDB(str(path), storage=AtomicJSONStorage)
        self._db.tables()  # read now, so a corrupt file stops start-up instead of a handler
        self._users = self._db.table("users", cache_size=0)
        self._tasks = self._db.table("tasks", cache_size=0)
        self._access = self._db.table("access", cache_size=0)
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        self._db.close()

    async def _run(self, operation: Callable[[], T]) -> T:
        """Run one TinyDB operation in a worker thread, one at a time.

        A write rewrites the whole file; off the event loop, a large file slows only storage.
        """
        async with self._lock:
            return await asyncio.to_thread(operation)

    async def get_user(self, user_id: int) -> UserProfile:
        row = await self._run(lambda: self._users.get(Query().user_id == user_id))
        return UserProfile.from_dict(row) if row else UserProfile(user_id)

    async def save_user(self, profile: UserProfile) -> None:
        await self._run(
            lambda: self._users.upsert(profile.to_dict(), Query().user_id == profile.user_id)
        )

    async def add_task(self, record: TaskRecord) -> None:
        await self._run(lambda: self._tasks.insert(record.to_dict()))

    async def get_task(self, task_id: str) -> TaskRecord | None:
        row = await self._run(lambda: self._tasks.get(Query().id == task_id))
        return TaskRecord.from_dict(row) if row else None

    async def find_card(self, chat_id: int, card_message_id: int) -> TaskRecord | None:
        task = Query()
        row = await self._run(
            lambda: self._tasks.get(
                (task.chat_id == chat_id) & (task.card_message_id == card_message_id)
            )
        )
        return TaskRecord.from_dict(row) if row else None

    async def tasks_in(
        self,
        states: Iterable[TaskState],
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> list[TaskRecord]:
        wanted = [state.value for state in states]
        rows = await self._run(lambda: self._tasks.search(Query().state.one_of(wanted)))
        records = [TaskRecord.from_dict(row) for row in rows]
        return [r for r in records if belongs(r, user_id, chat_id)]

    async def all_tasks(self) -> list[TaskRecord]:
        rows = await self._run(self._tasks.all)
        return [TaskRecord.from_dict(row) for row in rows]

    async def usage(self, user_id: int, since: float) -> Usage:
        return usage_of(await self.all_tasks(), user_id, since)

    async def user_ids(self) -> set[int]:
        rows = await self._run(self._users.all)
        return {int(row["user_id"]) for row in rows}

    async def soundtrack_files(self) -> set[str]:
        tasks, users = await self._run(lambda: (self._tasks.all(), self._users.all()))
        return soundtracks_in_use(
            (TaskRecord.from_dict(row) for row in tasks),
            (UserProfile.from_dict(row) for row in users),
        )

    async def get_access(self) -> AccessLists:
        row = await self._run(lambda: self._access.get(doc_id=1))
        if not row:
            return AccessLists()
        return AccessLists(frozenset(row.get("allowed", [])), frozenset(row.get("denied", [])))

    async def save_access(self, lists: AccessLists) -> None:
        document = {"allowed": sorted(lists.allowed), "denied": sorted(lists.denied)}
        await self._run(lambda: self._access.upsert(Document(document, doc_id=1)))

    async def update_task(
        self,
        task_id: str,
        *,
        expect: Iterable[TaskState] | None = None,
        **changes: Any,
    ) -> TaskRecord | None:
        expected = set(expect) if expect is not None else None

        def compare_and_set() -> TaskRecord | None:
            row = self._tasks.get(Query().id == task_id)
            current = TaskRecord.from_dict(row) if row else None
            updated = changed(current, expected, changes)
            if updated is not None:
                self._tasks.update(updated.to_dict(), Query().id == task_id)
            return updated

        return await self._run(compare_and_set)
