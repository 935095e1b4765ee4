"""Compact, versioned callback data (`v1:c:res:720`), so stale buttons are recognised.

Scopes: `c` is a video card (looked up by its message), `s` is the /settings defaults card.
Each typed action of `bot.domain.actions` has one row in `_CODECS`: its code, the scopes it
belongs to, how its value is written and read. A button from an older release that no longer
decodes is answered as expired instead of being misread. `decode` runs once per press, in
`bot.telegram.routing.ButtonRouter`.
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
    ContinueStory,
    EditAgain,
    Generate,
    HistoryPage,
    JoinStory,
    MakeAgain,
    MakeRound,
    MakeVariations,
    Noop,
    OpenHistory,
    Page,
    PaySelf,
    RandomSeed,
    RemoveSoundtrack,
    SetAudio,
    SetDuration,
    SetGroupRule,
    SetPromptExtend,
    SetResolution,
    SetShotType,
    SetWatermark,
    ShowPage,
    StepDuration,
)
from bot.domain.groups import GROUP_RULES
from bot.domain.settings import RESOLUTIONS, SHOT_TYPES, is_duration
from bot.domain.templates import TEMPLATES
from bot.text import is_number

VERSION = "v1"


class Scope(StrEnum):
    CARD = "c"
    DEFAULTS = "s"
    VIDEO = "v"  # a delivered video: the value names its task
    HISTORY = "h"  # a /history message
    FORGET = "f"  # the /forget confirmation
    BUY = "b"  # a pack of /buy
    GROUP = "g"  # /groupsettings: a group's rules, for its admins


_TASK_ID = re.compile(r"^[0-9a-f]{8,32}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_BOOL = {"1": True, "0": False}


_CARD, _DEFAULTS = frozenset({Scope.CARD}), frozenset({Scope.DEFAULTS})
_VIDEO, _HISTORY = frozenset({Scope.VIDEO}), frozenset({Scope.HISTORY})
_FORGET, _BUY = frozenset({Scope.FORGET}), frozenset({Scope.BUY})
_GROUP = frozenset({Scope.GROUP})
# Setting actions and the duration label exist on a video card and on the defaults card.
_SETTINGS = _CARD | _DEFAULTS


@dataclass(frozen=True)
class _Codec:
    code: str
    kind: type
    scopes: frozenset[Scope]
    write: Callable[[Any], str]
    read: Callable[[str], Action | None]


def _flag(kind: Callable[[bool], Action]) -> Callable[[str], Action | None]:
    return lambda value: kind(_BOOL[value]) if value in _BOOL else None


def _constant(action: Action, value: str = "") -> Callable[[str], Action | None]:
    return lambda raw: action if raw == value else None


def _read_duration(value: str) -> Action | None:
    return SetDuration(int(value)) if is_number(value) and is_duration(int(value)) else None


def _read_page(value: str) -> Action | None:
    return ShowPage(Page(value)) if value in {p.value for p in Page} else None


def _read_effect(value: str) -> Action | None:
    if value == "-":
        return ChooseEffect(None)
    return ChooseEffect(value) if value in TEMPLATES else None


def _read_resolution(value: str) -> Action | None:
    return SetResolution(f"{value}p") if f"{value}p" in RESOLUTIONS else None


def _read_group_rule(value: str) -> Action | None:
    rule, _, setting = value.partition("=")
    return SetGroupRule(rule, setting) if rule in GROUP_RULES and setting else None


def _task(kind: Callable[[str], Action]) -> Callable[[str], Action | None]:
    return lambda value: kind(value) if _TASK_ID.match(value) else None


# One row per code: what it reads, in which scopes, and how its value is written and read.
_CODECS = (
    # A video card's buttons; "retry" is the "Try again" of a failed card.
    _Codec("go", Generate, _CARD, lambda a: "", _constant(Generate())),
    _Codec("retry", Generate, _CARD, lambda a: "", _constant(Generate(again=True))),
    _Codec("x", Cancel, _CARD, lambda a: "", _constant(Cancel())),
    _Codec("page", ShowPage, _CARD, lambda a: a.page.value, _read_page),
    _Codec("tpl", ChooseEffect, _CARD, lambda a: a.template or "-", _read_effect),
    _Codec("snd", RemoveSoundtrack, _CARD, lambda a: "-", _constant(RemoveSoundtrack(), "-")),
    _Codec("pay", PaySelf, _CARD, lambda a: "1" if a.on else "0", _flag(PaySelf)),
    # The settings, on a video card and on the defaults card.
    _Codec(
        "res", SetResolution, _SETTINGS, lambda a: a.resolution.removesuffix("p"), _read_resolution
    ),
    _Codec("dur", SetDuration, _SETTINGS, lambda a: str(a.seconds), _read_duration),
    _Codec(
        "dur",
        StepDuration,
        _SETTINGS,
        lambda a: "+" if a.step > 0 else "-",
        lambda v: StepDuration({"+": 1, "-": -1}[v]) if v in ("+", "-") else None,
    ),
    _Codec("aud", SetAudio, _SETTINGS, lambda a: "1" if a.on else "0", _flag(SetAudio)),
    _Codec(
        "ext", SetPromptExtend, _SETTINGS, lambda a: "1" if a.on else "0", _flag(SetPromptExtend)
    ),
    _Codec(
        "shot",
        SetShotType,
        _SETTINGS,
        lambda a: a.shot_type,
        lambda v: SetShotType(v) if v in SHOT_TYPES else None,
    ),
    _Codec("wm", SetWatermark, _SETTINGS, lambda a: "1" if a.on else "0", _flag(SetWatermark)),
    _Codec("seed", RandomSeed, _SETTINGS, lambda a: "r", _constant(RandomSeed(), "r")),
    _Codec("neg", ClearNegative, _SETTINGS, lambda a: "-", _constant(ClearNegative(), "-")),
    _Codec("noop", Noop, _SETTINGS, lambda a: "", _constant(Noop())),
    # The defaults card's own: its "x" closes it (a video card's cancels).
    _Codec("x", CloseDefaults, _DEFAULTS, lambda a: "", _constant(CloseDefaults())),
    _Codec(
        "lang",
        ChooseLanguage,
        _DEFAULTS,
        lambda a: a.locale,
        lambda v: ChooseLanguage(v) if _LOCALE.match(v) else None,
    ),
    # Under a delivered video.
    _Codec("again", MakeAgain, _VIDEO, lambda a: a.task_id, _task(MakeAgain)),
    _Codec("edit", EditAgain, _VIDEO, lambda a: a.task_id, _task(EditAgain)),
    _Codec("x3", MakeVariations, _VIDEO, lambda a: a.task_id, _task(MakeVariations)),
    _Codec("next", ContinueStory, _VIDEO, lambda a: a.task_id, _task(ContinueStory)),
    _Codec("join", JoinStory, _VIDEO, lambda a: a.task_id, _task(JoinStory)),
    _Codec("round", MakeRound, _VIDEO, lambda a: a.task_id, _task(MakeRound)),
    # /groupsettings: "who=admins", "allowance=60", …
    _Codec("set", SetGroupRule, _GROUP, lambda a: f"{a.rule}={a.value}", _read_group_rule),
    # A /history message.
    _Codec(
        "pg",
        HistoryPage,
        _HISTORY,
        lambda a: str(a.page),
        lambda v: HistoryPage(int(v)) if is_number(v) and int(v) < 10_000 else None,
    ),
    _Codec("open", OpenHistory, _HISTORY, lambda a: a.task_id, _task(OpenHistory)),
    # The /forget question and the packs of /buy.
    _Codec(
        "forget",
        ConfirmForget,
        _FORGET,
        lambda a: "1" if a.confirmed else "0",
        _flag(ConfirmForget),
    ),
    _Codec(
        "pack",
        BuyPack,
        _BUY,
        lambda a: str(a.stars),
        lambda v: BuyPack(int(v)) if is_number(v) and 0 < int(v) <= 100_000 else None,
    ),
)


def encode(scope: Scope, action: Action) -> str:
    codec = _codec_of(action)
    value = codec.write(action)
    data = f"{VERSION}:{scope.value}:{codec.code}"
    return f"{data}:{value}" if value else data


def _codec_of(action: Action) -> _Codec:
    """The row that writes `action`: of its type and, where a type has two codes (Generate's
    "go" and "retry"), the one that reads back what it wrote."""
    rows = [codec for codec in _CODECS if codec.kind is type(action)]
    return next((c for c in rows if c.read(c.write(action)) == action), rows[0])


def decode(data: str | None) -> tuple[Scope, Action] | None:
    """The scope and action of a button, or None for another version or anything unknown."""
    parts = (data or "").split(":")
    if len(parts) not in (3, 4) or parts[0] != VERSION:
        return None
    try:
        scope = Scope(parts[1])
    except ValueError:
        return None
    action = _read(scope, parts[2], parts[3] if len(parts) == 4 else "")
    return None if action is None else (scope, action)


def _read(scope: Scope, code: str, value: str) -> Action | None:
    """The first row of this code and scope that reads the value ("dur" has two)."""
    for codec in _CODECS:
        if codec.code == code and scope in codec.scopes:
            action = codec.read(value)
            if action is not None:
                return action
    return None
