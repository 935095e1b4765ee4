"""The catalogues: complete, faithful to their placeholders and tags, and up to date."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.domain.notices import Notice
from bot.domain.records import TaskState
from bot.domain.settings import GenerationSettings
from bot.i18n import LANGUAGE_NAMES, Catalogues
from bot.telegram.callback_data import decode
from bot.telegram.cards import card_text, defaults_text
from bot.telegram.keyboards import card_keyboard, defaults_keyboard, language_keyboard
from bot.text import MESSAGE_LIMIT, utf16_len
from tests.factories import make_record
from tests.fakes.telegram_html import parse_html

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
REQUIRED = {"en", "ru", "zh_Hans", "es", "pt_BR", "id", "tr", "ar", "uk", "hi"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?[a-z-]+>")
# A label wider than this wraps or is cut on a phone when two or three share a row.
MAX_BUTTON_LABEL = 24


def template() -> list:
    with (LOCALES / "bot.pot").open("rb") as pot:
        return [m for m in read_po(pot) if m.id]


def catalogue(locale: str):
    with (LOCALES / locale / "LC_MESSAGES" / "bot.po").open("rb") as po:
        return read_po(po, locale=locale)


def test_every_required_language_has_a_catalogue() -> None:
    assert {p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/bot.po")} >= REQUIRED
    assert set(LANGUAGE_NAMES) >= REQUIRED


def test_template_matches_the_code() -> None:
    """A string added to the code without `make locales-update` fails here."""
    in_code = {
        msg[2] if isinstance(msg[2], str) else msg[2][:2]
        for msg in extract_from_dir(
            ROOT / "bot", keywords={"_": None, "ngettext": (1, 2), "N_": None}
        )
    }
    in_template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in template()}
    assert {m if isinstance(m, str) else tuple(m) for m in in_code} == in_template


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_catalogue_is_complete_and_keeps_placeholders_and_tags(locale: str) -> None:
    translated = catalogue(locale)
    for message in template():
        entry = translated.get(message.id)
        assert entry is not None, f"{locale}: missing {message.id!r}"
        assert not entry.fuzzy, f"{locale}: fuzzy {message.id!r}"
        source = message.id if isinstance(message.id, str) else message.id[-1]
        forms = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        assert len(forms) == (1 if isinstance(message.id, str) else translated.num_plurals)
        for form in forms:
            assert form, f"{locale}: empty translation of {message.id!r}"
            assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(source)), (
                f"{locale}: placeholders differ in {form!r}"
            )
            assert sorted(TAG.findall(form)) == sorted(TAG.findall(source)), (
                f"{locale}: HTML tags differ in {form!r}"
            )


def all_cards(locale: str) -> list[tuple[str, object]]:
    t = Catalogues.load().translator(locale)
    views: list[tuple[str, object]] = []
    for state in TaskState:
        for notice in (None, *Notice):
            for settings in (
                GenerationSettings(),
                GenerationSettings("1080p", 15, False),
                GenerationSettings(duration=2),
            ):
                record = make_record(
                    image_width=500,
                    image_height=500,
                    card_message_id=None,
                    prompt="x" * 1024,
                    state=state,
                    notice=notice,
                    error="e" * 300,
                    settings=settings,
                    progress=40,
                    api_status="processing",
                    submitted_at=1.0,
                )
                views.append((card_text(t, record), card_keyboard(t, record)))
    settings = GenerationSettings()
    views.append((defaults_text(t, settings), defaults_keyboard(t, settings)))
    views.append(("-", language_keyboard(Catalogues.load().locales, locale)))
    return views


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_translated_cards_and_buttons_fit_telegram(locale: str) -> None:
    for text, markup in all_cards(locale):
        plain, _ = parse_html(text)
        assert 0 < utf16_len(plain) <= MESSAGE_LIMIT
        for row in markup.inline_keyboard if markup else []:
            for button in row:
                assert 0 < utf16_len(button.text) <= MAX_BUTTON_LABEL, button.text
                assert len(button.callback_data.encode()) <= 64
                assert decode(button.callback_data) is not None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("pt-br", "pt_BR"),
        ("pt", "pt_BR"),
        ("zh-hans", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("uk", "uk"),
        ("ar", "ar"),
        ("xx", "en"),
        (None, "en"),
        ("es-419", "es"),
    ],
)
def test_language_code_resolution(code: str | None, expected: str) -> None:
    assert Catalogues.load().resolve(code) == expected


def test_saved_choice_wins_over_telegram_language() -> None:
    assert Catalogues.load().resolve("es", "ru") == "es"


def test_plural_forms_follow_each_language() -> None:
    catalogues = Catalogues.load()
    ru = catalogues.translator("ru")
    forms = [
        ru.ngettext("Dropped {n} unfinished card.", "Dropped {n} unfinished cards.", n)
        for n in (1, 3, 5, 21)
    ]
    assert forms == [
        "Отменена 1 незавершённая карточка.",
        "Отменены 3 незавершённые карточки.",
        "Отменено 5 незавершённых карточек.",
        "Отменена 21 незавершённая карточка.",
    ]


def test_rtl_values_are_isolated_so_numbers_keep_their_order() -> None:
    ar = Catalogues.load().translator("ar")
    text = ar._("🎞 Generating… {bar} {percent}%", bar="▓░", percent=40)
    assert "\u206840\u2069" in text


# -- no user-visible literal bypasses the catalogue -------------------------------------------
TEXT_METHODS = {
    "reply_text",
    "send_message",
    "edit_message_text",
    "answer",
    "reply",
    "edit_message_caption",
    "send_video",
    "InlineKeyboardButton",
    "BotCommand",
}
TEXT_KEYWORDS = {"text", "caption"}


def _is_literal_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_is_literal_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _is_literal_text(node.left) or _is_literal_text(node.right)
    return False


def test_no_user_visible_literal_skips_the_translator() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in TEXT_METHODS:
                continue
            # BotCommand's first argument is the command and reply()'s is the message.
            position = 1 if name in ("BotCommand", "reply") else 0
            args = list(node.args[position : position + 1])
            args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
            offenders += [f"{path.name}:{node.lineno}" for a in args if _is_literal_text(a)]
    assert offenders == []


# Where a text abbreviates seconds ("5 s", "+1 s", "(2–15 s)"), Hindi writes the unit out:
# «से» alone reads as "from/than" («5 से» is "from 5").
SECONDS_UNIT = re.compile(r"(\d|\}) s\b")


def test_hindi_writes_the_unit_of_seconds_out() -> None:
    hindi = catalogue("hi")
    checked = 0
    for message in template():
        if isinstance(message.id, str) and SECONDS_UNIT.search(message.id):
            translation = hindi.get(message.id).string
            assert "सेकंड" in translation, (message.id, translation)
            # «5 से», «(2–15 से)», «10 से का»; «{minimum} से {maximum}» ("from … to") is right
            assert not re.search(r"(\d|\})\s?से(\)|,|$| का)", translation), translation
            checked += 1
    assert checked >= 5
    texts = " ".join(str(m.string) for m in hindi if m.id)
    assert "खत्म" not in texts  # spelled ख़त्म
