"""Small builders shared by the unit tests."""

from __future__ import annotations

from typing import Any

from bot.apimart import GenerationRequest
from bot.domain.records import TaskRecord
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import Accepted, Claim


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


def make_request(**overrides: Any) -> GenerationRequest:
    """A request with the default settings a new user has."""
    settings = GenerationSettings()
    values: dict[str, Any] = {
        "resolution": settings.resolution,
        "duration": settings.duration,
        "audio": settings.audio,
        "prompt_extend": settings.prompt_extend,
        "shot_type": settings.shot_type,
        "watermark": settings.watermark,
    }
    values.update(overrides)
    return GenerationRequest(**values)


def claim_change(**overrides: Any) -> Claim:
    """Generate's transition with plain values (for tests that walk a task's states)."""
    values: dict[str, Any] = {
        "attempt": 1,
        "seed_used": 1,
        "lease_owner": "local",
        "lease_until": 0.0,
        "callback_token": None,
        "reservation": None,
    }
    values.update(overrides)
    return Claim(**values)


def accepted_change(api_task_id: str = "api-1", at: float = 0.0) -> Accepted:
    return Accepted(apimart_task_id=api_task_id, submitted_at=at, shown_view="", shown_at=at)
