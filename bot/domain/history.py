"""A user's past generations, as /history lists them: small, so a big history fits in memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.text import truncate

PAGE_SIZE = 5
PROMPT_EXCERPT = 60


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: str
    user_id: int
    created_at: float
    prompt: str
    settings: GenerationSettings
    state: TaskState
    notice: Notice | None
    seed: int | None
    template: str | None
    video_file_id: str | None
    charged: bool
    story_part: int = 1  # a continued clip's place in its story (issue 22)
    chat_id: int = 0  # where it was made: a group's /groupstats (issue 23)

    @property
    def delivered(self) -> bool:
        return self.state is TaskState.DONE and self.video_file_id is not None


def entry_of(record: TaskRecord) -> HistoryEntry:
    return HistoryEntry(
        id=record.id,
        user_id=record.user_id,
        created_at=record.created_at,
        prompt=truncate(record.prompt, PROMPT_EXCERPT),
        settings=record.settings,
        state=record.state,
        notice=record.notice,
        seed=record.seed_used,
        template=record.template,
        video_file_id=record.video_file_id,
        charged=record.apimart_task_id is not None,
        story_part=record.story_part,
        chat_id=record.chat_id,
    )


def entry_from_row(row: dict[str, Any]) -> HistoryEntry | None:
    """The entry of a stored task row, without building the whole record (a big history
    is read this way once); None for a row that is no generation."""
    state = TaskState(row.get("state", "draft"))
    if not _is_generation(int(row.get("attempt") or 0), state):
        return None
    return HistoryEntry(
        id=str(row["id"]),
        user_id=int(row["user_id"]),
        created_at=float(row.get("created_at") or 0.0),
        prompt=truncate(str(row.get("prompt") or ""), PROMPT_EXCERPT),
        settings=GenerationSettings.from_dict(row.get("settings")),
        state=state,
        notice=Notice.parse(row.get("notice")),
        seed=row.get("seed_used"),
        template=row.get("template"),
        video_file_id=row.get("video_file_id"),
        charged=row.get("apimart_task_id") is not None,
        story_part=int(row.get("story_part") or 1),
        chat_id=int(row.get("chat_id") or 0),
    )


def in_history(record: TaskRecord) -> bool:
    """A generation the user asked for: submitted at least once, or waiting in line (a card
    dropped or closed before its Generate is no generation)."""
    return _is_generation(record.attempt, record.state)


def _is_generation(attempt: int, state: TaskState) -> bool:
    return attempt > 0 or state is TaskState.QUEUED


def newest_first(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    return sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)


def shareable(entries: list[HistoryEntry], typed: str) -> list[HistoryEntry]:
    """The delivered videos among `entries` (newest first) whose prompt, as /history shows
    it, has every word typed after @bot (any case); all of them when nothing is typed."""
    words = typed.casefold().split()
    return [
        entry
        for entry in entries
        if entry.delivered and all(word in entry.prompt.casefold() for word in words)
    ]
