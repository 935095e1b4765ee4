"""Compact, versioned callback data (`v1:c:res:720`), so stale buttons are recognised.

Scopes: `c` is a video card (looked up by its message), `s` is the /settings defaults card.
Each typed action of `bot.domain.actions` has one code; a button from an older release that
no longer decodes is answered as expired instead of being misread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.actions import (
    Action,
    BuyPack,
    Cancel,
    ChooseEffect,
    ChooseLanguage,
    ClearNegative,
    CloseDefaults,
    ConfirmForget,
    EditAgain,
    Generate,
    HistoryPage,
    MakeAgain,
    MakeVariations,
    Noop,
    OpenHistory,
    Page,
    RandomSeed,
    RemoveSoundtrack,
    SetAudio,
    SetDuration,
    SetPromptExtend,
    SetResolution,
    SetShotType,
    SetWatermark,
    ShowPage,
    StepDuration,
)
from bot.domain.settings import RESOLUTIONS, SHOT_TYPES, is_duration
from bot.domain.templates import TEMPLATES

VERSION = "v1"


class Scope(StrEnum):
    CARD = "c"
    DEFAULTS = "s"
    VIDEO = "v"  # a delivered video: the value names its task
    HISTORY = "h"  # a /history message
    FORGET = "f"  # the /forget confirmation
    BUY = "b"  # a pack of /buy


_TASK_ID = re.compile(r"^[0-9a-f]{8,32}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_BOOL = {"1": True, "0": False}


@dataclass(frozen=True)
class _Codec:
    code: str
    kind: type
    write: Callable[[Any], str]
    read: Callable[[str], Action | None]


def _flag(kind: Callable[[bool], Action]) -> Callable[[str], Action | None]:
    return lambda value: kind(_BOOL[value]) if value in _BOOL else None


def _constant(action: Action, value: str = "") -> Callable[[str], Action | None]:
    return lambda raw: action if raw == value else None


def _read_duration(value: str) -> Action | None:
    return SetDuration(int(value)) if value.isdigit() and is_duration(int(value)) else None


def _read_page(value: str) -> Action | None:
    return ShowPage(Page(value)) if value in {p.value for p in Page} else None


def _read_effect(value: str) -> Action | None:
    if value == "-":
        return ChooseEffect(None)
    return ChooseEffect(value) if value in TEMPLATES else None


def _read_resolution(value: str) -> Action | None:
    return SetResolution(f"{value}p") if f"{value}p" in RESOLUTIONS else None


def _task(kind: Callable[[str], Action]) -> Callable[[str], Action | None]:
    return lambda value: kind(value) if _TASK_ID.match(value) else None


_CODECS = (
    _Codec("again", MakeAgain, lambda a: a.task_id, _task(MakeAgain)),
    _Codec("edit", EditAgain, lambda a: a.task_id, _task(EditAgain)),
    _Codec("x3", MakeVariations, lambda a: a.task_id, _task(MakeVariations)),
    _Codec(
        "pg",
        HistoryPage,
        lambda a: str(a.page),
        lambda v: HistoryPage(int(v)) if v.isdigit() and int(v) < 10_000 else None,
    ),
    _Codec("open", OpenHistory, lambda a: a.task_id, _task(OpenHistory)),
    _Codec(
        "pack",
        BuyPack,
        lambda a: str(a.stars),
        lambda v: BuyPack(int(v)) if v.isdigit() and 0 < int(v) <= 100_000 else None,
    ),
    _Codec("forget", ConfirmForget, lambda a: "1" if a.confirmed else "0", _flag(ConfirmForget)),
    _Codec("res", SetResolution, lambda a: a.resolution.removesuffix("p"), _read_resolution),
    _Codec("dur", SetDuration, lambda a: str(a.seconds), _read_duration),
    _Codec(
        "dur",
        StepDuration,
        lambda a: "+" if a.step > 0 else "-",
        lambda v: StepDuration({"+": 1, "-": -1}[v]) if v in ("+", "-") else None,
    ),
    _Codec("aud", SetAudio, lambda a: "1" if a.on else "0", _flag(SetAudio)),
    _Codec("ext", SetPromptExtend, lambda a: "1" if a.on else "0", _flag(SetPromptExtend)),
    _Codec(
        "shot",
        SetShotType,
        lambda a: a.shot_type,
        lambda v: SetShotType(v) if v in SHOT_TYPES else None,
    ),
    _Codec("wm", SetWatermark, lambda a: "1" if a.on else "0", _flag(SetWatermark)),
    _Codec("seed", RandomSeed, lambda a: "r", _constant(RandomSeed(), "r")),
    _Codec("neg", ClearNegative, lambda a: "-", _constant(ClearNegative(), "-")),
    _Codec("x", Cancel, lambda a: "", _constant(Cancel())),
    _Codec("noop", Noop, lambda a: "", _constant(Noop())),
    _Codec("page", ShowPage, lambda a: a.page.value, _read_page),
    _Codec("tpl", ChooseEffect, lambda a: a.template or "-", _read_effect),
    _Codec("snd", RemoveSoundtrack, lambda a: "-", _constant(RemoveSoundtrack(), "-")),
    _Codec("x", CloseDefaults, lambda a: "", _constant(CloseDefaults())),
    _Codec(
        "lang",
        ChooseLanguage,
        lambda a: a.locale,
        lambda v: ChooseLanguage(v) if _LOCALE.match(v) else None,
    ),
)
# Generate has two codes, so the "Try again" button of an old card still reads as such.
_GENERATE_CODES = {"go": Generate(), "retry": Generate(again=True)}
# The defaults card's "x" closes it; the video card's "x" cancels.
_SCOPE_ONLY: dict[type, Scope] = {
    Cancel: Scope.CARD,
    ShowPage: Scope.CARD,
    ChooseEffect: Scope.CARD,
    RemoveSoundtrack: Scope.CARD,
    Generate: Scope.CARD,
    CloseDefaults: Scope.DEFAULTS,
    ChooseLanguage: Scope.DEFAULTS,
    MakeAgain: Scope.VIDEO,
    EditAgain: Scope.VIDEO,
    MakeVariations: Scope.VIDEO,
    HistoryPage: Scope.HISTORY,
    OpenHistory: Scope.HISTORY,
    ConfirmForget: Scope.FORGET,
    BuyPack: Scope.BUY,
}
SETTING_CODES = ("res", "dur", "aud", "ext", "shot", "wm", "seed", "neg")
CARD_EDIT_CODES = ("page", "tpl", "snd")
VIDEO_CODES = ("again", "edit", "x3")
HISTORY_CODES = ("pg", "open")
FORGET_CODES = ("forget",)
BUY_CODES = ("pack",)


def encode(scope: Scope, action: Action) -> str:
    if isinstance(action, Generate):
        code, value = ("retry" if action.again else "go"), ""
    else:
        codec = next(c for c in _CODECS if c.kind is type(action))
        code, value = codec.code, codec.write(action)
    data = f"{VERSION}:{scope.value}:{code}"
    return f"{data}:{value}" if value else data


def decode(data: str | None) -> tuple[Scope, Action] | None:
    """The scope and action of a button, or None for another version or anything unknown."""
    parts = (data or "").split(":")
    if len(parts) not in (3, 4) or parts[0] != VERSION:
        return None
    try:
        scope = Scope(parts[1])
    except ValueError:
        return None
    code, value = parts[2], parts[3] if len(parts) == 4 else ""
    action = _read(scope, code, value)
    return None if action is None else (scope, action)


def _read(scope: Scope, code: str, value: str) -> Action | None:
    if code in _GENERATE_CODES:
        found: list[Action | None] = [_GENERATE_CODES[code] if not value else None]
    else:
        found = [codec.read(value) for codec in _CODECS if codec.code == code]
    return next(
        (a for a in found if a is not None and _SCOPE_ONLY.get(type(a), scope) is scope), None
    )


def pattern(scope: Scope, *codes: str) -> re.Pattern[str]:
    """Callback data of these codes in this scope, for a CallbackQueryHandler."""
    alternatives = "|".join(re.escape(code) for code in codes)
    return re.compile(rf"^{VERSION}:{scope.value}:(?:{alternatives})(?::[^:]*)?$")
