"""Typed requests and responses of the apimart video API (see shared/api/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODEL = "wan2.6-i2v-flash"
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """The caller decides every setting; only what may be left out has a default."""

    image_data_url: str = field(repr=False)
    resolution: str
    duration: int
    audio: bool
    prompt_extend: bool
    shot_type: str
    watermark: bool
    prompt: str = ""
    seed: int | None = None
    negative_prompt: str = ""
    audio_url: str | None = None
    template: str | None = None
    webhook: str | None = None  # the service POSTs the final status to `<webhook>/callback`

    def to_json(self) -> dict[str, Any]:
        """The body exactly as the card shows it: optional fields only when they are set."""
        body: dict[str, Any] = {
            "model": MODEL,
            "image_urls": [self.image_data_url],
            "resolution": self.resolution,
            "duration": self.duration,
            "audio": self.audio,
            "prompt_extend": self.prompt_extend,
            "shot_type": self.shot_type if self.prompt_extend else "single",
            "watermark": self.watermark,
        }
        optional = {
            "prompt": self.prompt or None,
            "negative_prompt": self.negative_prompt or None,
            "seed": self.seed,
            # audio off wins over a soundtrack, so a silent request never carries one
            "audio_url": self.audio_url if self.audio else None,
            "template": self.template,
            "webhook": self.webhook,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body


@dataclass(frozen=True)
class TaskError:
    message: str = ""
    code: str = ""
    type: str = ""


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    status: str
    progress: int = 0
    video_url: str | None = None
    expires_at: int | None = None
    estimated_time: int | None = None
    error: TaskError | None = None
    seed: int | None = None  # undocumented; kept when the service reports the seed it used

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, task_id: str, data: dict[str, Any]) -> TaskStatus:
        """Parse `data` from GET /v1/tasks/{id}; every field but status is optional."""
        status = str(data.get("status") or "").lower()
        if not status:
            raise ValueError("task status is missing")
        progress = _number(data.get("progress"))
        url, expires_at = _first_video(data.get("result"))
        return cls(
            task_id=str(data.get("id") or task_id),
            status=status,
            progress=max(0, min(100, progress)) if progress is not None else 0,
            video_url=url,
            expires_at=expires_at,
            estimated_time=_number(data.get("estimated_time")),
            error=_error(data.get("error")),
            seed=_seed(data),
        )


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _error(raw: Any) -> TaskError | None:
    """The error has been seen both as an object and as a plain string."""
    if isinstance(raw, dict):
        return TaskError(
            message=str(raw.get("message") or ""),
            code=str(raw.get("code") or ""),
            type=str(raw.get("type") or ""),
        )
    if isinstance(raw, str) and raw:
        return TaskError(message=raw)
    return None


def _seed(data: dict[str, Any]) -> int | None:
    """Undocumented: `seed` at the top or in `result`, when the service reports it."""
    result = data.get("result")
    seed = data.get("seed", result.get("seed") if isinstance(result, dict) else None)
    return seed if type(seed) is int and seed >= 0 else None


def _first_video(result: Any) -> tuple[str | None, int | None]:
    """`url` has been seen both as a list of strings and as a plain string."""
    videos = result.get("videos") if isinstance(result, dict) else None
    for video in videos if isinstance(videos, list) else []:
        url = _video_url(video.get("url")) if isinstance(video, dict) else None
        if url:
            return url, _number(video.get("expires_at"))
    return None, None


def _video_url(url: Any) -> str | None:
    if isinstance(url, list):
        url = next((u for u in url if isinstance(u, str) and u), None)
    return url if isinstance(url, str) and url else None
