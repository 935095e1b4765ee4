"""Typed requests and responses of the apimart video API (see shared/api/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODEL = "wan2.6-i2v-flash"
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class GenerationRequest:
    image_data_url: str = field(repr=False)
    prompt: str = ""
    resolution: str = "720p"
    duration: int = 5
    audio: bool = True
    prompt_extend: bool = True
    shot_type: str = "single"
    watermark: bool = False
    seed: int | None = None
    negative_prompt: str = ""
    audio_url: str | None = None
    template: str | None = None

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
        progress = data.get("progress")
        url, expires_at = _first_video(data.get("result"))
        raw_error = data.get("error")
        error = None
        if isinstance(raw_error, dict):
            error = TaskError(
                message=str(raw_error.get("message") or ""),
                code=str(raw_error.get("code") or ""),
                type=str(raw_error.get("type") or ""),
            )
        elif isinstance(raw_error, str) and raw_error:
            error = TaskError(message=raw_error)
        estimated = data.get("estimated_time")
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        seed = data.get("seed", result.get("seed"))
        return cls(
            task_id=str(data.get("id") or task_id),
            status=status,
            progress=max(0, min(100, int(progress))) if isinstance(progress, int | float) else 0,
            video_url=url,
            expires_at=expires_at,
            estimated_time=int(estimated) if isinstance(estimated, int | float) else None,
            error=error,
            seed=seed if type(seed) is int and seed >= 0 else None,
        )


def _first_video(result: Any) -> tuple[str | None, int | None]:
    """`url` has been seen both as a list of strings and as a plain string."""
    if not isinstance(result, dict):
        return None, None
    videos = result.get("videos")
    if not isinstance(videos, list):
        return None, None
    for video in videos:
        if not isinstance(video, dict):
            continue
        url = video.get("url")
        if isinstance(url, list):
            url = next((u for u in url if isinstance(u, str) and u), None)
        if isinstance(url, str) and url:
            expires = video.get("expires_at")
            return url, int(expires) if isinstance(expires, int | float) else None
    return None, None
