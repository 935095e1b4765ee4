"""Generation settings a user picks on the card, with the model's documented limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

RESOLUTIONS = ("720p", "1080p")
MIN_DURATION = 2
MAX_DURATION = 15
DURATION_PRESETS = (5, 10, 15)


@dataclass(frozen=True)
class GenerationSettings:
    resolution: str = "720p"
    duration: int = 5
    audio: bool = True

    def with_resolution(self, resolution: str) -> GenerationSettings:
        if resolution not in RESOLUTIONS:
            raise ValueError(f"unsupported resolution {resolution!r}")
        return replace(self, resolution=resolution)

    def with_duration(self, seconds: int) -> GenerationSettings:
        return replace(self, duration=clamp_duration(seconds))

    def with_audio(self, audio: bool) -> GenerationSettings:
        return replace(self, audio=audio)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationSettings:
        """Tolerate records written by older releases: unknown keys dropped, bad values reset."""
        default = cls()
        if not data:
            return default
        resolution = data.get("resolution", default.resolution)
        duration = data.get("duration", default.duration)
        audio = data.get("audio", default.audio)
        return cls(
            resolution=resolution if resolution in RESOLUTIONS else default.resolution,
            duration=clamp_duration(duration) if isinstance(duration, int) else default.duration,
            audio=audio if isinstance(audio, bool) else default.audio,
        )


def clamp_duration(seconds: int) -> int:
    return max(MIN_DURATION, min(MAX_DURATION, int(seconds)))
