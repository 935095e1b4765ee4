"""The catalogues: complete, faithful to their placeholders and tags, and up to date."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from telegram.constants import MessageLimit

from bot.domain.notices import Notice
from bot.domain.records import TaskState
from bot.domain.settings import GenerationSettings
from bot.i18n import LANGUAGE_NAMES, Catalogues
from bot.telegram.callback_data import decode
from bot.telegram.cards import card_text, defaults_text
from bot.telegram.keyboards import card_keyboard, defaults_keyboard, language_keyboard
from bot.text import utf16_len
from tests.factories import make_record
from tests.fakes.telegram_html import parse_html

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
REQUIRED = {"en", "ru", "zh_Hans", "es", "pt_BR", "id", "tr", "ar", "uk", "hi"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?[a-z-]+>")
# Plural forms that say their number in words, so may leave {n} out: Arabic's zero, one, two.
NUMBER_IN_WORDS = {"ar": (0, 1, 2)}
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
        for index, form in enumerate(forms):
            assert form, f"{locale}: empty translation of {message.id!r}"
            found, wanted = set(PLACEHOLDER.findall(form)), set(PLACEHOLDER.findall(source))
            if index in NUMBER_IN_WORDS.get(locale, ()):
                found |= {"n"} & wanted  # «ثانيتان», "two seconds": the word is the number
            assert found == wanted, f"{locale}: placeholders differ in {form!r}"
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
        assert 0 < utf16_len(plain) <= MessageLimit.MAX_TEXT_LENGTH
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


def test_arabic_plural_header_keeps_babels_order() -> None:
    """Forms 4 and 5 are 100-102 ("other": «100 ثانية») and 11-99 ("many": «11 ثانيةً») in
    Babel's header, the reverse of GNU gettext's: a header regenerated by another tool would
    silently swap them, so it is pinned here and the forms are checked against it."""
    arabic = catalogue("ar")
    assert arabic.plural_expr == (
        "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
        "n%100>=0 && n%100<=2 ? 4 : 5)"
    )
    t = Catalogues.load().translator("ar")

    def left(n: int) -> str:
        return t.ngettext("⏳ Left for today: {n} second of video", "…", n)

    assert "ثوانٍ" in left(5) and "ثانيةً" in left(11) and "ثانيةً" not in left(100)
    assert "{n}" not in left(2) and "ثانيتان" in left(2)


# Left-to-right runs a right-to-left text would show mirrored or out of order: commands
# ("/video" as "video/"), flags, dimensions (1024×768 as 768×1024), quotes, code.
LTR_RUN = re.compile(r'(?<![<\w])/[a-z]|×|--|"|<code>[^<]*[A-Za-z][^<]*</code>')
LTR_ISOLATE = re.compile("\u2066[^\u2066\u2069]*\u2069")
RTL_LOCALES = ("ar",)


@pytest.mark.parametrize("locale", RTL_LOCALES)
def test_rtl_catalogues_isolate_every_left_to_right_run(locale: str) -> None:
    for message in catalogue(locale):
        forms = [message.string] if isinstance(message.string, str) else message.string
        for form in forms if message.id else ():
            outside = PLACEHOLDER.sub("0", LTR_ISOLATE.sub("", form))  # values come isolated
            assert not LTR_RUN.search(outside), (locale, form)


def button_labels() -> dict[str, str]:
    """English button label without its emoji → the label's msgid."""
    labels = {}
    for message in template():
        short = isinstance(message.id, str) and len(message.id) <= 30 and "{" not in message.id
        if short and (match := re.match(r"^\W+\s(\w.*)$", message.id)):
            labels[match.group(1)] = message.id
    return labels


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_a_text_names_a_button_as_the_button_says_it(locale: str) -> None:
    """'Tap <b>Generate</b>' must name the Generate button with its translated words."""
    translated, labels, checked = catalogue(locale), button_labels(), 0
    for message in template():
        if not isinstance(message.id, str):
            continue
        for name in re.findall(r"<b>([^<{]+)</b>", message.id):
            if name in labels:
                button = translated.get(labels[name]).string
                words = re.sub(r"^\W+\s", "", button)
                text = translated.get(message.id).string
                assert f"<b>{words}</b>" in text, (locale, button, text)
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_one_word_for_on_and_one_for_off(locale: str) -> None:
    """A card that says "Sound: on" and "Watermark: yes" makes the user wonder what differs."""
    words: dict[str, set[str]] = {": on": set(), ": off": set()}
    for message in catalogue(locale):
        source = message.id if isinstance(message.id, str) else (message.id or ("",))[0]
        for suffix, found in words.items():
            if message.id and source.endswith(suffix):
                forms = [message.string] if isinstance(message.string, str) else message.string
                for form in forms:
                    word = re.split(r"[:：]\s*", form)[-1].rstrip(".")
                    found.add(word.removesuffix("ة") if locale == "ar" else word)  # gender
    assert len(words[": on"]) == 1 and len(words[": off"]) == 1, words


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


def test_spanish_keeps_one_regional_norm() -> None:
    """Latin American Spanish throughout: «video», not Spain's «vídeo»; tú, not vosotros."""
    texts = " ".join(str(m.string) for m in catalogue("es") if m.id)
    assert "vídeo" not in texts.lower() and "vosotros" not in texts
    assert not re.search(r"\b\w+(áis|éis)\b", texts)


def test_ukrainian_says_upload_and_download_apart() -> None:
    """«завантажити» is to download; sending a video to the chat is «надіслати»."""
    uk = catalogue("uk")
    for message in template():
        source = message.id if isinstance(message.id, str) else message.id[0]
        if "upload" in source.lower() and "download" not in source.lower():
            translation = str(uk.get(message.id).string)
            assert "завантаж" not in translation, translation
    texts = " ".join(str(m.string) for m in uk if m.id)
    assert "прапор" not in texts  # "checkboxes": the caption shortcuts are «скорочення»
