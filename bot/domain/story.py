"""Stories (issue 22): clips made one after another, each from the last frame of the one
before. A story is the chain of clips a clip continues, so two Continues of one clip make two
stories that share their beginning."""

from __future__ import annotations

from bot.domain.records import TaskRecord

MAX_STORY_CLIPS = 10


def can_continue(record: TaskRecord) -> bool:
    """A delivered clip that leaves room in its story for one more."""
    return record.story_part < MAX_STORY_CLIPS


def can_join(record: TaskRecord) -> bool:
    """A continued clip: there is something to join."""
    return record.story_part > 1


def in_order(clips: list[TaskRecord]) -> list[TaskRecord]:
    """The clips of a story from its first, whatever order they were read in."""
    return sorted(clips, key=lambda clip: clip.story_part)
