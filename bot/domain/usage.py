"""Counting what users have spent, from task records (no Telegram, no storage)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain.pricing import estimated_cost
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
        # A task being submitted right now counts too: it is about to be charged.
        submitting = record.state is TaskState.SUBMITTING
        if submitting or (is_charged(record) and (record.submitted_at or 0) >= since):
            used_today += record.settings.duration
    return Usage(user_active, total_active, used_today)


@dataclass
class Stats:
    users: int = 0
    today: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    seconds_by_resolution: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    estimated_usd: float = 0.0


def stats_of(records: Iterable[TaskRecord], user_ids: set[int], now: float) -> Stats:
    """Users are everyone with saved settings or at least one card."""
    since = start_of_day(now)
    stats = Stats()
    users = set(user_ids)
    for record in records:
        users.add(record.user_id)
        if record.state is TaskState.DRAFT:
            continue
        state = record.state.value
        stats.total[state] += 1
        if record.created_at >= since:
            stats.today[state] += 1
        if record.state is TaskState.DONE:
            stats.seconds_by_resolution[record.settings.resolution] += record.settings.duration
        if record.state in (TaskState.FAILED, TaskState.UNKNOWN, TaskState.TIMED_OUT):
            stats.failures[record.notice or state] += 1
        if is_charged(record):
            settings = record.settings
            stats.estimated_usd += estimated_cost(
                settings.resolution, settings.audio, settings.duration
            )
    stats.users = len(users)
    return stats
