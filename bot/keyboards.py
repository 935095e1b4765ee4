"""Inline keyboards for the card and the defaults card."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from .callback_data import CARD, DEFAULTS, Button
from .i18n import LANGUAGE_NAMES, Translator
from .records import RETRYABLE_STATES, TaskRecord, TaskState
from .settings import (
    DURATION_PRESETS,
    MAX_DURATION,
    MIN_DURATION,
    RESOLUTIONS,
    GenerationSettings,
)

MARK = "✓ "


def _button(label: str, scope: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=Button(scope, action, value).encode())


def settings_rows(
    t: Translator, settings: GenerationSettings, scope: str
) -> list[list[InlineKeyboardButton]]:
    def marked(label: str, selected: bool) -> str:
        return MARK + label if selected else label

    resolution_row = [
        _button(marked(res, settings.resolution == res), scope, "res", res.removesuffix("p"))
        for res in RESOLUTIONS
    ]
    preset_row = [
        _button(marked(t._("{n} s", n=n), settings.duration == n), scope, "dur", str(n))
        for n in DURATION_PRESETS
    ]
    step_row = [
        _button(t._("−1 s") if settings.duration > MIN_DURATION else "·", scope, "dur", "-"),
        _button(t._("⏱ {n} s", n=settings.duration), scope, "noop"),
        _button(t._("+1 s") if settings.duration < MAX_DURATION else "·", scope, "dur", "+"),
    ]
    audio_row = [
        _button(marked(t._("🔊 Audio on"), settings.audio), scope, "aud", "1"),
        _button(marked(t._("🔇 Silent"), not settings.audio), scope, "aud", "0"),
    ]
    return [resolution_row, preset_row, step_row, audio_row]


def card_keyboard(t: Translator, record: TaskRecord) -> InlineKeyboardMarkup | None:
    state = record.state
    if state is TaskState.DRAFT:
        rows = settings_rows(t, record.settings, CARD)
        rows.append([_button(t._("▶️ Generate"), CARD, "go"), _button(t._("✖️ Cancel"), CARD, "x")])
        return InlineKeyboardMarkup(rows)
    if state is TaskState.RUNNING:
        return InlineKeyboardMarkup([[_button(t._("✖️ Stop waiting"), CARD, "x")]])
    if state in RETRYABLE_STATES:
        return InlineKeyboardMarkup(
            [[_button(t._("🔁 Try again"), CARD, "retry"), _button(t._("✖️ Close"), CARD, "x")]]
        )
    return None


def defaults_keyboard(t: Translator, settings: GenerationSettings) -> InlineKeyboardMarkup:
    rows = settings_rows(t, settings, DEFAULTS)
    rows.append([_button(t._("✔️ Done"), DEFAULTS, "x")])
    return InlineKeyboardMarkup(rows)


def language_keyboard(locales: list[str], current: str) -> InlineKeyboardMarkup:
    """Each language named in itself, two to a row, the current one marked."""
    buttons = [
        _button(
            MARK + LANGUAGE_NAMES[loc] if loc == current else LANGUAGE_NAMES[loc],
            DEFAULTS,
            "lang",
            loc,
        )
        for loc in sorted(locales, key=list(LANGUAGE_NAMES).index)
        if loc in LANGUAGE_NAMES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
