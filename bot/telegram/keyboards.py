"""Inline keyboards for the card and the defaults card."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

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
    JoinStory,
    MakeAgain,
    MakeRound,
    MakeVariations,
    Noop,
    Page,
    PaySelf,
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
from bot.domain.records import RETRYABLE_STATES, TaskRecord, TaskState
from bot.domain.settings import (
    DURATION_PRESETS,
    MAX_DURATION,
    MIN_DURATION,
    RESOLUTIONS,
    GenerationSettings,
)
from bot.domain.story import can_continue, can_join
from bot.domain.templates import TEMPLATES
from bot.i18n import LANGUAGE_NAMES, Translator
from bot.telegram.callback_data import Scope, encode

MARK = "✓ "
# Two effect names a row: three leave about 11 characters each on a phone, and «Хрустальная
# роза» would show as «Хрустальная р…» (tests/test_locales.py checks every row's width).
EFFECTS_PER_ROW = 2


CARD, DEFAULTS, VIDEO = Scope.CARD, Scope.DEFAULTS, Scope.VIDEO


def _button(label: str, scope: Scope, action: Action) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(scope, action))


def settings_rows(
    t: Translator, settings: GenerationSettings, scope: Scope
) -> list[list[InlineKeyboardButton]]:
    resolution_row = [
        _button(marked(t, res, settings.resolution == res), scope, SetResolution(res))
        for res in RESOLUTIONS
    ]
    preset_row = [
        _button(marked(t, t._("{n} s", n=n), settings.duration == n), scope, SetDuration(n))
        for n in DURATION_PRESETS
    ]
    step_row = [
        _button(t._("−1 s") if settings.duration > MIN_DURATION else "·", scope, StepDuration(-1)),
        _button(t._("⏱ {n} s", n=settings.duration), scope, Noop()),
        _button(t._("+1 s") if settings.duration < MAX_DURATION else "·", scope, StepDuration(1)),
    ]
    audio_row = [
        _button(marked(t, t._("🔊 Audio on"), settings.audio), scope, SetAudio(True)),
        _button(marked(t, t._("🔇 Silent"), not settings.audio), scope, SetAudio(False)),
    ]
    return [resolution_row, preset_row, step_row, audio_row]


def advanced_rows(
    t: Translator, settings: GenerationSettings, scope: Scope
) -> list[list[InlineKeyboardButton]]:
    """Prompt rewriting, shot type, watermark and seed: the second page of settings."""
    rows = [
        [
            _button(
                t._("✍️ Rewriting: on") if settings.prompt_extend else t._("✍️ Rewriting: off"),
                scope,
                SetPromptExtend(not settings.prompt_extend),
            ),
        ],
        [
            _button(
                marked(t, t._("Single shot"), settings.shot_type == "single"),
                scope,
                SetShotType("single"),
            ),
            _button(
                marked(t, t._("Multi-shot"), settings.shot_type == "multi"),
                scope,
                SetShotType("multi"),
            ),
        ],
        [
            _button(
                t._("💧 Watermark: on") if settings.watermark else t._("💧 Watermark: off"),
                scope,
                SetWatermark(not settings.watermark),
            ),
        ],
    ]
    extra = []
    if settings.seed is not None:
        extra.append(_button(t._("🎲 Random seed"), scope, RandomSeed()))
    if settings.negative_prompt:
        extra.append(_button(t._("🚫 Clear “avoid”"), scope, ClearNegative()))
    if extra:
        rows.append(extra)
    return rows


def card_keyboard(
    t: Translator, record: TaskRecord, *, billing_on: bool = False
) -> InlineKeyboardMarkup | None:
    state = record.state
    if state is TaskState.DRAFT:
        rows = _draft_rows(t, record)
        if billing_on and record.group_wallet and record.page is Page.MAIN:
            # In a group with its wallet on: it pays within the member's allowance, or they do.
            rows.insert(-1, _payer_row(t, record))
        return InlineKeyboardMarkup(rows)
    if state is TaskState.RUNNING:
        return InlineKeyboardMarkup([[_button(t._("✖️ Stop waiting"), CARD, Cancel())]])
    if state is TaskState.QUEUED:  # nothing is submitted yet: cancelling costs nothing
        return InlineKeyboardMarkup([[_button(t._("✖️ Cancel"), CARD, Cancel())]])
    if state in RETRYABLE_STATES:
        return InlineKeyboardMarkup(
            [
                [
                    _button(t._("🔁 Try again"), CARD, Generate(again=True)),
                    _button(t._("✖️ Close"), CARD, Cancel()),
                ]
            ]
        )
    return None


def _draft_rows(t: Translator, record: TaskRecord) -> list[list[InlineKeyboardButton]]:
    go_row = [
        _button(t._("▶️ Generate"), CARD, Generate()),
        _button(t._("✖️ Cancel"), CARD, Cancel()),
    ]
    back = _button(t._("◂ Back"), CARD, ShowPage(Page.MAIN))
    if record.page is Page.MORE:
        return [*advanced_rows(t, record.settings, CARD), [back], go_row]
    if record.page is Page.EFFECTS:
        effects = list(TEMPLATES.items())
        rows = [
            [
                _button(
                    marked(t, t._(effect.name), record.template == template),
                    CARD,
                    ChooseEffect(template),
                )
                for template, effect in effects[i : i + EFFECTS_PER_ROW]
            ]
            for i in range(0, len(effects), EFFECTS_PER_ROW)
        ]
        if record.template:
            rows.append([_button(t._("✖️ No effect"), CARD, ChooseEffect(None))])
        return [*rows, [back], go_row]
    rows = settings_rows(t, record.settings, CARD)
    if record.template:  # the way back to a normal, prompt-driven video
        rows.append([_button(t._("✖️ No effect"), CARD, ChooseEffect(None))])
    if record.soundtrack_url and record.settings.audio:
        rows.append([_button(t._("🎵 Remove soundtrack"), CARD, RemoveSoundtrack())])
    rows.append(
        [
            _button(t._("⚙️ More ▸"), CARD, ShowPage(Page.MORE)),
            _button(t._("✨ Effects"), CARD, ShowPage(Page.EFFECTS)),
        ]
    )
    rows.append(go_row)
    return rows


def _payer_row(t: Translator, record: TaskRecord) -> list[InlineKeyboardButton]:
    return [
        _button(marked(t, t._("👥 Group pays"), not record.pays_self), CARD, PaySelf(False)),
        _button(marked(t, t._("👤 I pay"), record.pays_self), CARD, PaySelf(True)),
    ]


def marked(t: Translator, label: str, selected: bool) -> str:
    """The chosen one, marked first in the reading order: a label that reads left to right
    ("720p") would put the mark on the left of an Arabic row, so it opens with a mark."""
    if not selected:
        return label
    return ("\u200f" if t.rtl else "") + MARK + label


def video_keyboard(t: Translator, record: TaskRecord) -> InlineKeyboardMarkup:
    """Under a delivered video: make it again, change it, or three variations; go on from
    its last frame, join its story so far, or send it as a round video note."""
    clips = [_button(t._("⭕ Round"), VIDEO, MakeRound(record.id))]
    if can_continue(record):
        clips.insert(0, _button(t._("⏭ Continue"), VIDEO, ContinueStory(record.id)))
    if can_join(record):
        clips.insert(-1, _button(t._("🎞 Join"), VIDEO, JoinStory(record.id)))
    return InlineKeyboardMarkup(
        [
            [
                _button(t._("🔁 Again"), VIDEO, MakeAgain(record.id)),
                _button(t._("✏️ Edit"), VIDEO, EditAgain(record.id)),
                _button(t._("🎲 ×3"), VIDEO, MakeVariations(record.id)),
            ],
            clips,
        ]
    )


def again_keyboard(t: Translator, task_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t._("🔁 Again"), VIDEO, MakeAgain(task_id))]])


def packs_keyboard(t: Translator, offers: list[tuple[int, int]]) -> InlineKeyboardMarkup:
    """/buy: one button per pack, Stars → credits."""
    return InlineKeyboardMarkup(
        [
            [
                _button(
                    t.ngettext(
                        "⭐ {stars} → {n} credit", "⭐ {stars} → {n} credits", credits, stars=stars
                    ),
                    Scope.BUY,
                    BuyPack(stars),
                )
            ]
            for stars, credits in offers
        ]
    )


def forget_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(t._("🗑 Delete everything"), Scope.FORGET, ConfirmForget(True)),
                _button(t._("Keep it"), Scope.FORGET, ConfirmForget(False)),
            ]
        ]
    )


def defaults_keyboard(t: Translator, settings: GenerationSettings) -> InlineKeyboardMarkup:
    rows = settings_rows(t, settings, DEFAULTS) + advanced_rows(t, settings, DEFAULTS)
    rows.append([_button(t._("✔️ Done"), DEFAULTS, CloseDefaults())])
    return InlineKeyboardMarkup(rows)


def language_keyboard(locales: list[str], current: str) -> InlineKeyboardMarkup:
    """Each language named in itself, two to a row, the current one marked."""
    buttons = [
        _button(
            MARK + LANGUAGE_NAMES[loc] if loc == current else LANGUAGE_NAMES[loc],
            DEFAULTS,
            ChooseLanguage(loc),
        )
        for loc in sorted(locales, key=list(LANGUAGE_NAMES).index)
        if loc in LANGUAGE_NAMES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
