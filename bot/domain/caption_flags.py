"""Caption shortcuts such as `--1080p --10s --silent --seed 42 --no "blurry, text"`.

Flags are read only from the end of the caption. A `--` in prose ("wait -- what") leaves the
caption alone; a trailing `--word` that is not a known flag is reported, never sent as prompt.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.domain.settings import MAX_DURATION, MAX_NEGATIVE_PROMPT, MAX_SEED, MIN_DURATION

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


def parse_caption(caption: str) -> CaptionFlags:
    """Split `caption` into prompt and flags; raises FlagError for a bad trailing flag."""
    text = caption.strip()
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
    i = 0
    while i < len(tokens):
        flag = tokens[i]
        if not flag.startswith("--") or len(flag) < 3:
            return None
        name = flag.lower()
        needs_value = name in ("--seed", "--no")
        if needs_value:
            if i + 1 >= len(tokens):
                raise FlagError(flag, "needs a value")
            value = tokens[i + 1]
            i += 2
        else:
            value = ""
            i += 1
        if name in ("--720p", "--1080p"):
            values["resolution"] = name[2:]
        elif name in ("--silent", "--audio"):
            values["audio"] = name == "--audio"
        elif name in ("--multi", "--single"):
            values["shot_type"] = name[2:]
        elif name == "--seed":
            if not value.isdigit() or int(value) > MAX_SEED:
                raise FlagError(flag, f"must be a whole number from 0 to {MAX_SEED}")
            values["seed"] = int(value)
        elif name == "--no":
            if len(value) > MAX_NEGATIVE_PROMPT:
                raise FlagError(flag, f"at most {MAX_NEGATIVE_PROMPT} characters")
            values["negative_prompt"] = value
        elif match := _DURATION.match(name):
            seconds = int(match.group(1))
            if not MIN_DURATION <= seconds <= MAX_DURATION:
                raise FlagError(flag, f"duration must be {MIN_DURATION} to {MAX_DURATION} s")
            values["duration"] = seconds
        else:
            raise FlagError(flag, "unknown flag", unknown=True)
        used.append(flag)
    return CaptionFlags(prompt=prompt, used=tuple(used), **values)  # type: ignore[arg-type]
