"""Caption shortcuts such as `--1080p --10s --silent --seed 42 --no "blurry, text"`.

Flags are read only from the end of the caption. A `--` in prose ("wait -- what") leaves the
caption alone; a trailing `--word` that is not a known flag is reported, never sent as prompt.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.domain.settings import (
    MAX_DURATION,
    MAX_NEGATIVE_PROMPT,
    MIN_DURATION,
    GenerationSettings,
    is_duration,
    parse_seed,
)
from bot.text import strip_direction_marks

VALID_FLAGS = (
    "--720p",
    "--1080p",
    "--<2-15>s",
    "--silent",
    "--audio",
    "--multi",
    "--single",
    "--seed <number>",
    '--no "<text>"',
)
_CANDIDATE = re.compile(r"(?:^|\s)(--[A-Za-z0-9])")
_DURATION = re.compile(r"^--(\d+)s$")


class FlagError(ValueError):
    """A flag is unknown or out of range; `flag` names it for the user."""

    def __init__(self, flag: str, reason: str, *, unknown: bool = False) -> None:
        super().__init__(f"{flag}: {reason}")
        self.flag = flag
        self.reason = reason
        self.unknown = unknown


@dataclass(frozen=True)
class CaptionFlags:
    prompt: str
    resolution: str | None = None
    duration: int | None = None
    audio: bool | None = None
    shot_type: str | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    used: tuple[str, ...] = field(default=())

    def apply_to(self, settings: GenerationSettings) -> GenerationSettings:
        """Caption shortcuts override the defaults for this card only."""
        if self.resolution:
            settings = settings.with_resolution(self.resolution)
        if self.duration:
            settings = settings.with_duration(self.duration)
        if self.audio is not None:
            settings = settings.with_audio(self.audio)
        if self.shot_type:
            settings = settings.with_shot_type(self.shot_type)
        if self.seed is not None:
            settings = settings.with_seed(self.seed)
        if self.negative_prompt is not None:
            settings = settings.with_negative_prompt(self.negative_prompt)
        return settings


# Flags without a value: what each sets.
_SWITCHES: dict[str, tuple[str, object]] = {
    "--720p": ("resolution", "720p"),
    "--1080p": ("resolution", "1080p"),
    "--silent": ("audio", False),
    "--audio": ("audio", True),
    "--multi": ("shot_type", "multi"),
    "--single": ("shot_type", "single"),
}


def parse_caption(caption: str) -> CaptionFlags:
    """Split `caption` into prompt and flags; raises FlagError for a bad trailing flag."""
    # A right-to-left catalogue's direction marks come along when a user copies an example.
    text = strip_direction_marks(caption).strip()
    for match in _CANDIDATE.finditer(text):
        start = match.start(1)
        try:
            tokens = shlex.split(text[start:])
        except ValueError:
            continue  # an unbalanced quote: prose, not flags
        if not tokens or not tokens[0].startswith("--"):
            continue
        parsed = _parse_tokens(text[:start].rstrip(), tokens)
        if parsed is not None:
            return parsed
    return CaptionFlags(prompt=text)


def _parse_tokens(prompt: str, tokens: list[str]) -> CaptionFlags | None:
    """All tokens must be flags (with their values); None when prose follows a flag."""
    values: dict[str, object] = {}
    used: list[str] = []
    rest = list(tokens)
    while rest:
        flag = rest.pop(0)
        if not flag.startswith("--") or len(flag) < 3:
            return None
        name = flag.lower()
        if name in ("--seed", "--no"):
            if not rest:
                raise FlagError(flag, "needs a value")
            values.update(_valued_flag(flag, rest.pop(0)))
        else:
            values.update(_switch(flag))
        used.append(flag)
    return CaptionFlags(prompt=prompt, used=tuple(used), **values)  # type: ignore[arg-type]


def _switch(flag: str) -> dict[str, object]:
    name = flag.lower()
    if name in _SWITCHES:
        field_name, value = _SWITCHES[name]
        return {field_name: value}
    if match := _DURATION.match(name):
        seconds = int(match.group(1))
        if not is_duration(seconds):
            raise FlagError(flag, f"duration must be {MIN_DURATION} to {MAX_DURATION} s")
        return {"duration": seconds}
    raise FlagError(flag, "unknown flag", unknown=True)


def _valued_flag(flag: str, value: str) -> dict[str, object]:
    if flag.lower() == "--seed":
        try:
            return {"seed": parse_seed(value)}
        except ValueError as exc:
            raise FlagError(flag, str(exc)) from None
    if len(value) > MAX_NEGATIVE_PROMPT:
        raise FlagError(flag, f"at most {MAX_NEGATIVE_PROMPT} characters")
    return {"negative_prompt": value}
