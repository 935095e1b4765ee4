"""Small builders shared by the unit tests."""

from __future__ import annotations

from typing import Any

from bot.domain.records import TaskRecord


def make_record(task_id: str = "t1", *, user_id: int = 1, **overrides: Any) -> TaskRecord:
    """A task record with a card, in the user's private chat, unless told otherwise."""
    values: dict[str, Any] = {
        "id": task_id,
        "user_id": user_id,
        "chat_id": user_id,
        "source_message_id": 1,
        "image_file": f"{task_id}.jpg",
        "image_width": 640,
        "image_height": 480,
        "card_message_id": 2,
    }
    values.update(overrides)
    return TaskRecord(**values)
