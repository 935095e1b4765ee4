"""Compact, versioned callback data (`v1:c:res:720`), so stale buttons are recognised.

Scopes: `c` is a video card (looked up by its message), `s` is the /settings defaults card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.settings import GenerationSettings
from bot.domain.templates import TEMPLATES

VERSION = "v1"
CARD = "c"
DEFAULTS = "s"
SCOPES = (CARD, DEFAULTS)
ACTIONS = {
    "res": {"720", "1080"},
    "dur": None,  # a number 2..15, or "-"/"+"
    "aud": {"0", "1"},
    "go": {""},
    "x": {""},
    "retry": {""},
    "noop": {""},
    "lang": None,  # a catalogue name such as ru or zh_Hans
    "page": {"main", "more", "effects"},
    "ext": {"0", "1"},
    "shot": {"single", "multi"},
    "wm": {"0", "1"},
    "seed": {"r"},
    "neg": {"-"},
    "snd": {"-"},
    "tpl": {"-", *TEMPLATES},
}
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")


@dataclass(frozen=True)
class Button:
    scope: str
    action: str
    value: str = ""

    def apply_to(self, settings: GenerationSettings) -> GenerationSettings:
        """The settings after this button; buttons that are not settings change nothing."""
        value = self.value
        match self.action:
            case "res":
                return settings.with_resolution(f"{value}p")
            case "aud":
                return settings.with_audio(value == "1")
            case "dur":
                step = {"-": settings.duration - 1, "+": settings.duration + 1}
                return settings.with_duration(step.get(value) or int(value))
            case "ext":
                return settings.with_prompt_extend(value == "1")
            case "shot":
                return settings.with_shot_type(value)
            case "wm":
                return settings.with_watermark(value == "1")
            case "seed":
                return settings.with_seed(None)
            case "neg":
                return settings.with_negative_prompt("")
        return settings

    def encode(self) -> str:
        data = f"{VERSION}:{self.scope}:{self.action}"
        return f"{data}:{self.value}" if self.value else data


def parse(data: str | None) -> Button | None:
    """Return the button, or None for anything from another version or not understood."""
    if not data:
        return None
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != VERSION or parts[1] not in SCOPES:
        return None
    action, value = parts[2], parts[3] if len(parts) == 4 else ""
    if action not in ACTIONS:
        return None
    allowed = ACTIONS[action]
    if action == "lang":
        if not _LOCALE.match(value):
            return None
    elif allowed is None:
        if value not in ("-", "+") and not (value.isdigit() and 2 <= int(value) <= 15):
            return None
    elif value not in allowed:
        return None
    return Button(parts[1], action, value)
