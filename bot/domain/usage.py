"""Counting what users have spent, from task records (no Telegram, no storage)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.domain.pricing import PriceTable, kind_of
from bot.domain.records import ACTIVE_STATES, TaskRecord, TaskState


def start_of_day(now: float) -> float:
    """Quotas reset at midnight UTC."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def is_charged(record: TaskRecord) -> bool:
    """Accepted by apimart: billed whatever happened after."""
    return record.apimart_task_id is not None


@dataclass(frozen=True)
class Usage:
    user_active: int
    total_active: int
    used_today: int


def usage_of(records: Iterable[TaskRecord], user_id: int, since: float) -> Usage:
    """What `user_id` and everyone have running, and the user's seconds since `since`."""
    user_active = total_active = used_today = 0
    for record in records:
        active = record.state in ACTIVE_STATES
        total_active += active
        if record.user_id != user_id:
            continue
        user_active += active
        if counts_since(record, since):
            used_today += record.settings.duration
    return Usage(user_active, total_active, used_today)


def counts_since(record: TaskRecord, since: float) -> bool:
    """Whether the task's seconds count against an allowance starting at `since`: charged
    since then, or being submitted right now (it is about to be charged)."""
    submitting = record.state is TaskState.SUBMITTING
    return submitting or (is_charged(record) and (record.submitted_at or 0) >= since)


def seconds_in_chat(
    records: Iterable[TaskRecord], user_id: int, chat_id: int, since: float
) -> int:
    """The user's seconds of video in one chat since `since`, counted as `usage_of` does."""
    return sum(
        record.settings.duration
        for record in records
        if record.user_id == user_id and record.chat_id == chat_id and counts_since(record, since)
    )


def day_of(timestamp: float) -> str:
    """The UTC day a timestamp falls on, as YYYY-MM-DD (quotas and /stats count by it)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


@dataclass
class Stats:
    """/stats: `today` counts the tasks created on `day` (UTC)."""

    users: int = 0
    day: str = ""
    today: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    seconds_by_resolution: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    # Seconds the API charged, by price kind ("1080p+audio"), priced when shown.
    charged_seconds: Counter[str] = field(default_factory=Counter)
    legacy_usd: float = 0.0  # a spend an older release summed up in dollars itself

    def spend(self, prices: PriceTable) -> float:
        return prices.cost(self.charged_seconds) + self.legacy_usd

    def count(self, record: TaskRecord, sign: int = 1) -> None:
        """Add one task in its current state (drafts are not tasks yet); -1 takes it out."""
        if record.state is TaskState.DRAFT:
            return
        state = record.state.value
        self.total[state] += sign
        if day_of(record.created_at) == self.day:
            self.today[state] += sign
        settings = record.settings
        if record.state is TaskState.DONE:
            self.seconds_by_resolution[settings.resolution] += sign * settings.duration
        if record.state in (TaskState.FAILED, TaskState.UNKNOWN, TaskState.TIMED_OUT):
            self.failures[record.notice or state] += sign
        if is_charged(record):
            self.charged_seconds[kind_of(settings)] += sign * settings.duration

    def on(self, day: str) -> Stats:
        """The same totals, with `today` meaning `day` (empty when it is another day)."""
        today = Counter(self.today) if day == self.day else Counter()
        return replace(
            self,
            day=day,
            today=today,
            total=Counter(self.total),
            seconds_by_resolution=Counter(self.seconds_by_resolution),
            failures=Counter(self.failures),
            charged_seconds=Counter(self.charged_seconds),
        )

    def to_dict(self) -> dict[str, Any]:
        # not asdict(): it rebuilds a Counter from (key, value) pairs, counting the pairs
        return {
            "users": self.users,
            "day": self.day,
            "today": dict(self.today),
            "total": dict(self.total),
            "seconds_by_resolution": dict(self.seconds_by_resolution),
            "failures": dict(self.failures),
            "charged_seconds": dict(self.charged_seconds),
            "legacy_usd": self.legacy_usd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Stats:
        data = data or {}
        return cls(
            users=int(data.get("users", 0)),
            day=str(data.get("day", "")),
            today=Counter(data.get("today") or {}),
            total=Counter(data.get("total") or {}),
            seconds_by_resolution=Counter(data.get("seconds_by_resolution") or {}),
            failures=Counter(data.get("failures") or {}),
            charged_seconds=Counter(data.get("charged_seconds") or {}),
            # totals written before prices were configurable were dollars already
            legacy_usd=float(data.get("legacy_usd", data.get("estimated_usd", 0.0))),
        )


def stats_of(
    records: Iterable[TaskRecord], users: int, now: float, base: Stats | None = None
) -> Stats:
    """`base` holds the totals of tasks no longer kept one by one (they survive pruning)."""
    stats = (base or Stats()).on(day_of(now))
    stats.users = users
    for record in records:
        stats.count(record)
    return stats
