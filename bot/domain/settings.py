"""Generation settings a user picks on the card, with the model's documented limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

RESOLUTIONS = ("720p", "1080p")
MIN_DURATION = 2
MAX_DURATION = 15
DURATION_PRESETS = (5, 10, 15)
SHOT_TYPES = ("single", "multi")
MAX_SEED = 2_147_483_647
MAX_NEGATIVE_PROMPT = 500


@dataclass(frozen=True)
class GenerationSettings:
    resolution: str = "720p"
    duration: int = 5
    audio: bool = True
    prompt_extend: bool = True
    shot_type: str = "single"
    watermark: bool = False
    seed: int | None = None  # None: random, not sent
    negative_prompt: str = ""

    def with_resolution(self, resolution: str) -> GenerationSettings:
        if resolution not in RESOLUTIONS:
            raise ValueError(f"unsupported resolution {resolution!r}")
        return replace(self, resolution=resolution)

    def with_duration(self, seconds: int) -> GenerationSettings:
        return replace(self, duration=clamp_duration(seconds))

    def with_audio(self, audio: bool) -> GenerationSettings:
        return replace(self, audio=audio)

    def with_prompt_extend(self, on: bool) -> GenerationSettings:
        """The API ignores shot_type without rewriting: turning it off returns to single."""
        return replace(self, prompt_extend=on, shot_type=self.shot_type if on else "single")

    def with_shot_type(self, shot_type: str) -> GenerationSettings:
        """Multi-shot works only with prompt rewriting, so choosing it turns rewriting on."""
        if shot_type not in SHOT_TYPES:
            raise ValueError(f"unsupported shot type {shot_type!r}")
        extend = True if shot_type == "multi" else self.prompt_extend
        return replace(self, shot_type=shot_type, prompt_extend=extend)

    def with_watermark(self, on: bool) -> GenerationSettings:
        return replace(self, watermark=on)

    def with_seed(self, seed: int | None) -> GenerationSettings:
        if seed is not None and not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be 0..{MAX_SEED}")
        return replace(self, seed=seed)

    def with_negative_prompt(self, text: str) -> GenerationSettings:
        if len(text) > MAX_NEGATIVE_PROMPT:
            raise ValueError(f"negative prompt is longer than {MAX_NEGATIVE_PROMPT}")
        return replace(self, negative_prompt=text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationSettings:
        """Tolerate records written by older releases: unknown keys dropped, bad values reset."""
        default = cls()
        if not data:
            return default

        def pick(name: str, kind: type, allowed: tuple | None = None) -> object:
            value = data.get(name, getattr(default, name))
            if type(value) is not kind or (allowed is not None and value not in allowed):
                return getattr(default, name)
            return value

        seed = data.get("seed")
        valid_seed = type(seed) is int and 0 <= seed <= MAX_SEED
        negative = pick("negative_prompt", str)
        loaded = cls(
            resolution=pick("resolution", str, RESOLUTIONS),  # type: ignore[arg-type]
            duration=clamp_duration(pick("duration", int)),  # type: ignore[arg-type]
            audio=pick("audio", bool),  # type: ignore[arg-type]
            prompt_extend=pick("prompt_extend", bool),  # type: ignore[arg-type]
            shot_type=pick("shot_type", str, SHOT_TYPES),  # type: ignore[arg-type]
            watermark=pick("watermark", bool),  # type: ignore[arg-type]
            seed=seed if valid_seed else None,
            negative_prompt=negative[:MAX_NEGATIVE_PROMPT],  # type: ignore[index]
        )
        # Re-apply the coupling rule in case an older record broke it.
        return loaded if loaded.prompt_extend else replace(loaded, shot_type="single")


def clamp_duration(seconds: int) -> int:
    return max(MIN_DURATION, min(MAX_DURATION, int(seconds)))


def is_duration(seconds: int) -> bool:
    return MIN_DURATION <= seconds <= MAX_DURATION


def parse_seed(text: str) -> int:
    """A seed as typed by the user (`42`); ValueError when it is not one."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_SEED:
        raise ValueError(f"a seed is a whole number from 0 to {MAX_SEED}")
    return int(text)
