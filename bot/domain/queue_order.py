"""The fair order of the line: every user's first waiting video before anyone's second, so
one user's ten presses do not starve the others; within a round, first come, first served."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from bot.domain.records import TaskRecord


def fair_order(queued: Iterable[TaskRecord]) -> list[TaskRecord]:
    by_user: dict[int, list[TaskRecord]] = defaultdict(list)
    for record in sorted(queued, key=_arrival):
        by_user[record.user_id].append(record)
    ranked = [(rank, _arrival(r), r) for mine in by_user.values() for rank, r in enumerate(mine)]
    return [record for _, _, record in sorted(ranked, key=lambda item: item[:2])]


def _arrival(record: TaskRecord) -> tuple[float, str]:
    return (record.queued_at or record.created_at, record.id)
