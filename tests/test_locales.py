"""The catalogues: complete, faithful to their placeholders and tags, and up to date."""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import replace
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

# Thousands of updates, interleavings or strings through lines other tests cover: not
# traced by coverage (Makefile), which would double their time.
pytestmark = pytest.mark.no_cover

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
REQUIRED = {"en", "ru", "zh_Hans", "es", "pt_BR", "id", "tr", "ar", "uk", "hi"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?[a-z-]+>")
# Plural forms that say their number in words, so may leave {n} out: Arabic's zero, one, two.
NUMBER_IN_WORDS = {"ar": (0, 1, 2)}
# A label wider than this wraps or is cut on a phone when two or three share a row.
MAX_BUTTON_LABEL = 24


@functools.cache  # read-only below; each parse is ~10 ms and the checks ask hundreds of times
def template() -> list:
    with (LOCALES / "bot.pot").open("rb") as pot:
        return [m for m in read_po(pot) if m.id]


@functools.cache
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


def test_arabic_plural_header_keeps_cldrs_order() -> None:
    """Form 4 is 11-99 ("many": «11 ثانيةً», the accusative) and form 5 is 100-102… ("other":
    «100 ثانية»), as in CLDR, GNU gettext and Babel ≥ 2.19. Older Babel wrote them the other way
    round: every plural entry is checked against the header, so a swap in one cannot pass."""
    arabic = catalogue("ar")
    assert arabic.plural_expr == (
        "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5)"
    )
    t = Catalogues.load().translator("ar")

    def left(n: int) -> str:
        return t.ngettext("⏳ Left for today: {n} second of video", "…", n)

    assert "ثوانٍ" in left(5) and "ثانيةً" in left(11) and "ثانيةً" in left(99)
    assert "ثانيةً" not in left(100) and "ثانيةً" not in left(102) and "ثانيةً" in left(111)
    assert "{n}" not in left(2) and "ثانيتان" in left(2)
    checked = 0
    for message in arabic:
        if message.id and not isinstance(message.id, str):
            many, other = message.string[4], message.string[5]
            if many != other:  # «11 يومًا», «100 يوم»: the tanwin fath is the accusative's
                assert many.count("\u064b") > other.count("\u064b"), (many, other)
                checked += 1
    assert checked >= 5


# Left-to-right runs a right-to-left text would show mirrored or out of order: commands
# ("/video" as "video/"), flags, dimensions (1024×768 as 768×1024), quotes, code.
# A parenthesis inside a Latin word ("http(s)") resolves to the Arabic side on one end only and
# shows as "(http(s".
LTR_RUN = re.compile(
    r'(?<![<\w])/[a-z]|×|--|"|<code>[^<]*[A-Za-z][^<]*</code>|[A-Za-z]\(|\)[A-Za-z]'
)
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


# -- every keyboard row fits a phone ------------------------------------------------------------
# A phone about 390 pt wide shows about 44 "units" across an inline keyboard row, a unit being
# what a Latin or Cyrillic letter takes (an emoji or a CJK character takes two, a combining mark
# or a direction mark none). Telegram gives every button of a row the same share, and each loses
# about two units to its padding: a label in a row of n buttons has 44 / n − 2 units, 20 in a row
# of two and 12 in a row of three, or it is cut («Хрустальная р…»). The check is per row, each
# label against its share of that row: a short neighbour lends a long label no room.
PHONE_ROW_UNITS = 44
BUTTON_PADDING_UNITS = 2


def label_units(label: str) -> int:
    import unicodedata

    units = 0
    for index, ch in enumerate(label):
        category = unicodedata.category(ch)
        if category in ("Mn", "Me", "Cf") or ch == "\ufe0f":
            continue  # a combining mark, a variation selector, an isolate: no width of its own
        emoji = label[index + 1 : index + 2] == "\ufe0f"
        wide = unicodedata.east_asian_width(ch) in "WF" or emoji
        units += 2 if wide else 1
    return units


def row_fits(labels: list[str]) -> bool:
    share = PHONE_ROW_UNITS // len(labels) - BUTTON_PADDING_UNITS
    return all(label_units(label) <= share for label in labels)


def every_keyboard(locale: str) -> list[object]:
    """Every keyboard a user can see, with each choice marked in turn (the mark widens it)."""
    from bot.domain.actions import Page
    from bot.domain.groups import ALLOWANCES, Delivery, GroupSettings, WhoGenerates
    from bot.domain.templates import TEMPLATES
    from bot.telegram.group_view import group_keyboard
    from bot.telegram.history_view import history_keyboard
    from bot.telegram.keyboards import (
        forget_keyboard,
        packs_keyboard,
        video_keyboard,
    )

    t = Catalogues.load().translator(locale)
    keyboards = [markup for _, markup in all_cards(locale)]
    for page in Page:
        for template in (None, *TEMPLATES):
            for settings in (GenerationSettings(), GenerationSettings("1080p", 15, False)):
                record = make_record(page=page, template=template, settings=settings)
                keyboards.append(card_keyboard(t, record))
    # A group's cards: each choice marked in turn (a ✓ widens its button), the payer row.
    for choice in range(3):
        group = GroupSettings(
            -1,
            list(WhoGenerates)[choice],
            allowance=ALLOWANCES[choice + 2],
            resolution=("720p", "1080p", None)[choice],
            duration=(5, 15, None)[choice],
            audio=(True, False, None)[choice],
            delivery=list(Delivery)[choice % 2],
            wallet=bool(choice % 2),
        )
        keyboards.append(group_keyboard(t, group, billing_on=True))
        for pays_self in (False, True):
            in_group = make_record(chat_id=-1, pays_self=pays_self)
            keyboards.append(card_keyboard(t, in_group, billing_on=True))
    keyboards += [
        video_keyboard(t, replace(make_record(), story_part=2)),  # Continue, Join, Round
        video_keyboard(t, make_record()),
        forget_keyboard(t),
        packs_keyboard(t, [(50, 50), (2500, 2750)]),
        history_keyboard([], 0, 0),
    ]
    for current in LANGUAGE_NAMES:
        keyboards.append(language_keyboard(Catalogues.load().locales, current))
    return [k for k in keyboards if k is not None]


def test_the_row_budget_catches_what_a_phone_cuts() -> None:
    assert not row_fits(["Хрустальная роза", "Сердце руками", "Обнимашки"])  # three a row
    assert row_fits(["✓ Хрустальная роза", "Обнимашки"])  # two a row
    assert label_units("✖️ 取消") == 7 and label_units("हिन्दी") == 5  # the virama: none


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_every_keyboard_row_fits_a_phone(locale: str) -> None:
    from bot.telegram.keyboards import EFFECTS_PER_ROW

    assert EFFECTS_PER_ROW == 2  # effect names are long in most languages
    for markup in every_keyboard(locale):
        for row in markup.inline_keyboard:
            labels = [button.text for button in row]
            assert row_fits(labels), (locale, [(label, label_units(label)) for label in labels])


# -- right-to-left: what a tap copies, and the caption example -----------------------------------
BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
CODE = re.compile(r"<code>([^<]*)</code>")


@pytest.mark.parametrize("locale", RTL_LOCALES)
def test_no_direction_mark_is_copied_with_a_code_entity(locale: str) -> None:
    """A tap on <code> copies it: an isolate inside it ("/allow ⁨123⁩") breaks the command.
    Neither the catalogue nor the values the Translator isolates may put one there."""
    t = Catalogues.load().translator(locale)
    checked = 0
    for message in template():
        entry = catalogue(locale).get(message.id)
        forms = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        for form in forms:
            for code in CODE.findall(form):
                assert not BIDI_CONTROLS.search(code), (locale, form)
                checked += 1
        if isinstance(message.id, str) and "<code>" in message.id and "{" in message.id:
            values = {name: "123" for name in PLACEHOLDER.findall(message.id)}
            for code in CODE.findall(t._(message.id, **values)):
                assert not BIDI_CONTROLS.search(code), (locale, code)
                checked += 1
    assert checked >= 8


def test_the_arabic_caption_example_keeps_its_flags_left_to_right_and_parses_back() -> None:
    """«مثال: القطة ترقص --1080p …»: the flags are one left-to-right isolate of their own, so
    no Arabic letter comes before "--1080p" in its run (1080 would turn into an Arabic number
    and the line would show "1080-- ‹القطة ترقص›p"); a copy of the example still parses."""
    from bot.domain.caption_flags import parse_caption
    from bot.telegram.handlers.common import help_text

    text = help_text(Catalogues.load().translator("ar"))
    [example] = [line for line in text.splitlines() if "--1080p" in line and "<code>" in line]
    [copied] = CODE.findall(example)
    flags = copied[copied.index("\u2066") :]
    assert flags.startswith("\u2066--1080p") and flags.endswith("\u2069")
    assert not re.search(r"[\u0600-\u06ff]\s*--", flags)  # nothing Arabic before a flag
    assert re.match("[^<]*\u2068<code>", example)  # isolated from outside the entity
    parsed = parse_caption(copied)
    assert parsed.prompt == "القطة ترقص" and parsed.negative_prompt == "ضبابي"
    assert (parsed.resolution, parsed.duration, parsed.seed) == ("1080p", 10, 42)


# -- ru, es, pt_BR, zh_Hans: register, one term per concept, plurals (native review 2026-11) ---
REVIEWED_LOCALES = ("ru", "es", "pt_BR", "zh_Hans")
SECOND_REVIEW = ("ar", "hi", "id", "tr", "uk")  # the other native review


def translated_forms(locale: str) -> list[tuple[object, str]]:
    """(msgid, form) for every translated string of a catalogue, plural forms included."""
    pairs = []
    for message in catalogue(locale):
        if message.id:
            forms = [message.string] if isinstance(message.string, str) else message.string
            pairs += [(message.id, form) for form in forms]
    return pairs


# The register each catalogue keeps, as the words that would break it: ru formal «вы», es Latin
# American «tú» (no vosotros, no usted), pt_BR «você», zh «你» (never «您»).
WRONG_REGISTER = {
    "ru": r"\b(ты|тебя|тебе|тобой|твой|твоя|твоё|твои|твоих)\b",
    "es": (
        r"\b(vosotros|vosotras|os|vuestr\w*|usted|ustedes|\w+(áis|éis))\b"
        r"|\b(envíe|elija|vuelva|responda|espere|inténtelo|escriba|revise|recargue|use)\b"
    ),
    "pt_BR": r"\b(tu|teu|tua|teus|tuas|vós|vosso\w*|vossa\w*)\b",
    "zh_Hans": "您",
}


@pytest.mark.parametrize("locale", REVIEWED_LOCALES)
def test_each_catalogue_keeps_its_register(locale: str) -> None:
    wrong = re.compile(WRONG_REGISTER[locale], re.IGNORECASE)
    offenders = [form for _, form in translated_forms(locale) if wrong.search(form)]
    assert offenders == [], (locale, offenders)


# Latin American Spanish: agregar, vencer/expirar, “comillas”, empezar con, mensajes de voz; and
# «a el»/«de el» contract («escribe a el operador» was the default /paysupport reply).
SPAIN_OR_UNGRAMMATICAL_SPANISH = re.compile(
    r"vídeo|añad|caduc|[«»]|empiece por|empieza por|notas? de voz|\b(a|de) el\b", re.IGNORECASE
)


def test_spanish_stays_latin_american_and_contracts_a_el() -> None:
    offenders = [
        form for _, form in translated_forms("es") if SPAIN_OR_UNGRAMMATICAL_SPANISH.search(form)
    ]
    assert offenders == []


# One word per concept, as the review chose it; the pattern is the word that must not return.
ONE_TERM = {
    "ru": {
        "Telegram Stars are «звёзды» (the Latin word takes no case endings)": r"\bStars\b",
        "caption shortcuts are «параметры» («флаг» is jargon, or a banner)": r"флаг",
        "the video service is «видеосервис»": r"[Сс]ервис\w* видео",
        "the bot's operator is «администратор»": r"оператор|владел",
        "a hold is «резерв» («удержано» reads as deducted)": r"удерж",
        "an outcome is «результат»": r"исход",
    },
    "es": {
        "Telegram Stars are «Estrellas»": r"\bStars\b",
        "a caption is «texto»": r"descripci[óo]n",
    },
    "pt_BR": {
        "Telegram Stars are «Estrelas»": r"\bStars\b",
        "shots are «cenas» («tomada» is also a power socket)": r"tomada",
    },
    "zh_Hans": {
        "an offer to buy is 购买选项 (优惠 is a discount)": "优惠",
        "a delivered video is 送达 (交付 is business jargon)": "交付",
        "the daily allowance is 额度": "限额",
        "today is 今日": "今天",
        "«not yours» is 这不是你的… (属于 is translationese)": "属于",
        "money rain is 金钱雨 (撒钱 is squandering)": "撒钱",
    },
}


@pytest.mark.parametrize("locale", REVIEWED_LOCALES)
def test_one_term_per_concept(locale: str) -> None:
    forms = translated_forms(locale)
    for rule, pattern in ONE_TERM[locale].items():
        offenders = [form for _, form in forms if re.search(pattern, form)]
        assert offenders == [], (locale, rule, offenders)


def test_russian_ledger_rows_are_operations() -> None:
    """/balance lists «операции»; «движения» are physical movements (the caption's «движение»
    of the photo is right)."""
    ru, checked = catalogue("ru"), 0
    for message in template():
        if isinstance(message.id, str) and "movements" in message.id:
            translation = ru.get(message.id).string
            assert "операци" in translation and "движени" not in translation, translation
            checked += 1
    assert checked >= 2


def test_russian_on_and_off_are_abbreviated_alike() -> None:
    """«вкл.» and «вкл» side by side on one card: the period is part of the abbreviation."""
    for message in catalogue("ru"):
        source = message.id if isinstance(message.id, str) else (message.id or ("",))[0]
        if message.id and source.endswith((": on", ": off")):
            forms = [message.string] if isinstance(message.string, str) else message.string
            for form in forms:
                assert form.endswith(("вкл.", "выкл.")), form


def test_a_bot_that_sends_is_not_uploading() -> None:
    """A video "too large to upload" is the bot's sending: «загрузка» and 上传 read as the
    user's own action."""
    wrong = {"ru": "загруз", "zh_Hans": "上传"}
    for locale, word in wrong.items():
        translated = catalogue(locale)
        for message in template():
            if isinstance(message.id, str) and "too large to upload" in message.id:
                assert word not in translated.get(message.id).string, (locale, message.id)


# Plural entries whose first two forms may be the same: ru «видео» is indeclinable, so where
# nothing in the sentence agrees with the number, one wording serves every number.
SAME_PLURAL_FORMS = {
    "ru": {"⏳ In line: {n} video ahead of yours. It starts by itself."},
    "pt_BR": set(),
}


@pytest.mark.parametrize("locale", sorted(SAME_PLURAL_FORMS))
def test_plural_forms_differ_where_the_grammar_does(locale: str) -> None:
    """A plural entry whose forms copy the singular («2 видео ещё делается: оно придёт»)."""
    translated, allowed = catalogue(locale), SAME_PLURAL_FORMS[locale]
    plurals = [m for m in template() if not isinstance(m.id, str)]
    assert allowed <= {m.id[0] for m in plurals}, "an allowed entry no longer exists"
    assert len(plurals) >= 10
    for message in plurals:
        forms = list(translated.get(message.id).string)
        if message.id[0] not in allowed:
            assert forms[0] != forms[1], (locale, forms)


def test_russian_forget_and_queue_agree_with_every_number() -> None:
    t = Catalogues.load().translator("ru")
    forget = (
        "🗑 Done. {n} video is still being made: it arrives as usual and stays in /history "
        "until you use /forget again.",
        "🗑 Done. {n} videos are still being made: they arrive as usual and stay in /history "
        "until you use /forget again.",
    )
    for n in (1, 21):
        assert "видео ещё делается: оно придёт" in t.ngettext(*forget, n)
    for n in (2, 5, 11, 22):
        text = t.ngettext(*forget, n)
        assert "делаются: они придут" in text and "останутся" in text, text
    queue = (
        "⏳ In line: {n} video ahead of yours. It starts by itself.",
        "⏳ In line: {n} videos ahead of yours. It starts by itself.",
    )
    for n in (1, 2, 5, 21):
        text = t.ngettext(*queue, n)
        assert f"перед вами {n} видео" in text and "вашим" not in text, text


@pytest.mark.parametrize("locale", [*REVIEWED_LOCALES, *SECOND_REVIEW])
def test_an_effect_is_not_described_by_its_own_name(locale: str) -> None:
    """The effects page shows «• name: description»: «水晶玫瑰：水晶玫瑰» says nothing."""
    from bot.domain.templates import TEMPLATES

    t = Catalogues.load().translator(locale)
    for effect in TEMPLATES.values():
        assert t._(effect.name).casefold() != t._(effect.about).casefold(), t._(effect.name)


# The quotes a button's name may stand in, in running text (the second review allowed no
# straight quotes).
NAME_QUOTES = {locale: ("“”", "«»", '""') for locale in REVIEWED_LOCALES} | {
    locale: ("“”", "«»") for locale in SECOND_REVIEW
}


@pytest.mark.parametrize("locale", sorted(NAME_QUOTES))
def test_button_names_in_running_text_are_quoted(locale: str) -> None:
    """«para De novo, Editar», «फिर से, बदलें और /history के लिए»: a button named inside a
    sentence is marked as a name."""
    translated = catalogue(locale)
    photos = next(
        m.id for m in template() if not isinstance(m.id, str) and "for Again, Edit" in m.id[0]
    )
    names = [
        re.sub(r"^\W+\s", "", translated.get(label).string) for label in ("🔁 Again", "✏️ Edit")
    ]
    for form in translated.get(photos).string:
        for name in names:
            quoted = any(f"{a}{name}{b}" in form for a, b in NAME_QUOTES[locale])
            assert quoted, (locale, name, form)


# -- ar, hi, uk, id, tr: register, one term per concept, plurals (native review 2026-11) ---

# The register each catalogue keeps, as the words that would break it: uk formal «ви»; hi «आप»
# with imperatives in -एँ («कल फिर आइए» beside «कल आएँ»); id formal «Anda» and the bot's «saya»
# (the card said «Video Anda» beside «saldomu», the bot «saya» beside «kukirim»); tr «siz».
# Arabic keeps one masculine-singular voice and needs no pronoun rule.
BREAKS_THE_REGISTER = {
    "hi": (
        r"(?<!\S)(तुम|तुम्हारा|तुम्हारी|तुम्हारे|तुम्हें|तू|तेरा|तेरी|तेरे)(?!\S)"
        r"|आइए|भेजिए|चुनिए|दबाइए|रुकिए|करिए"
    ),
    "id": (
        r"\b([Kk]amu|[Kk]au|[Ee]ngkau|[Aa]ku|anda)\b|-mu\b"
        r"|\b(?!(?:ilmu|tamu|jamu|semu|\w*temu)\b)\w+mu\b|\b[Kk]u(?!cing|nci)[a-z]+"
    ),
    "tr": r"\b([Ss]en|[Ss]eni|[Ss]ana|[Ss]enin|[Ss]ende|[Ss]enden|[Ss]eninle)\b",
    "uk": r"\b([Тт]и|[Тт]ебе|[Тт]обі|[Тт]обою|[Тт]вій|[Тт]воя|[Тт]воє|[Тт]вої|[Тт]вого)\b",
}
# The command menu speaks in one form: ar verbal nouns («شراء…», not «اشترِ…»), tr bare
# imperatives («…satın al», not «…satın alın»).
BREAKS_THE_MENU = {
    "ar": r"^(اشترِ|احذف|ابدأ|اختر|ثبّت|أرسل|اعرف|امسح|ألغِ|اعرض)(?!\S)",
    "tr": r"(?<!iç)[ıiuü]n(ız|iz|uz|üz)?$",
}
# A Turkish sentence to the user says «gönderin», «dokunun»: the bare imperative is for buttons
# and the menu (a button's name in <b> keeps its own words).
TURKISH_BARE_IMPERATIVE = re.compile(
    r"\b(gönder|dokun|seç|dene|bekle|kullan|yaz|sil|kaydet|temizle|sabitle|gir)\b"
)


@pytest.mark.parametrize("locale", SECOND_REVIEW)
def test_each_of_these_catalogues_keeps_its_register(locale: str) -> None:
    from bot.telegram.handlers import COMMANDS

    wrong = re.compile(BREAKS_THE_REGISTER.get(locale, "(?!)"))
    offenders = [form for _, form in translated_forms(locale) if wrong.search(form)]
    assert offenders == [], (locale, offenders)
    translated, menu = catalogue(locale), re.compile(BREAKS_THE_MENU.get(locale, "(?!)"))
    about = [translated.get(c.about).string for c in COMMANDS if c.about]
    assert len(about) >= 10 and [a for a in about if menu.search(a)] == [], (locale, about)
    if locale == "tr":
        for message in template():
            if isinstance(message.id, str) and message.id.endswith("."):
                text = re.sub(r"<b>[^<]*</b>", "", translated.get(message.id).string)
                assert not TURKISH_BARE_IMPERATIVE.search(text), text


# One word per concept, as the review chose it: (rule, the English words of the entries it
# covers, the word each of them must use, the word that must not come back). A rule without
# English words covers every entry; one with them only those entries (uk «рух» is right for the
# photo's motion, ar «رصيد» for a balance). Commands, <code> and placeholders are no wrong words.
ONE_TERM_TOO = {
    "ar": [
        ("daily allowance: «حصة اليوم»", r"allowance", "حصة", "رصيد"),
        ("a balance of credits: «رصيد»", r"(?<!/)\bbalance\b", "رصيد", "حصة"),
        ("ledger rows: «العمليات»", r"movements", "عمليات", "حركات"),
        ("the bot's operator: «مدير البوت» («مشغّل» is a player)", None, None, "مشغّل"),
        ("off: «معطّل» («متوقف» is halted)", r": off$", "معطّل", "متوقف"),
        ("the carousel: one ride, «دوّامة الخيل»", r"[Cc]arousel", "دوّامة الخيل", "أرجوحة"),
    ],
    "hi": [
        ("More: «और विकल्प» (a bare «और» is “and”)", r"\bMore\b", "और विकल्प", "⚙️ और(?! विकल्प)"),
        ("a seed: «सीड»", r"(?<!\{)\bseed\b", "सीड", r"\bseed\b"),
        ("prompt rewriting: «प्रॉम्प्ट सुधार»", r"[Rr]ewriting", "प्रॉम्प्ट सुधार", "री-राइटिंग"),
        ("to tap: «दबाएँ»", None, None, "टैप"),
        ("usage: «उपयोग»", r"^Usage:", "उपयोग:", "इस्तेमाल:"),
        ("/cancel cancels cards («रद्द»)", r"unfinished card", "रद्द", "कार्ड हटा"),
    ],
    "id": [
        ("ledger rows: «mutasi»", r"movements", "[Mm]utasi", "[Pp]ergerakan"),
        ("a video shot: «adegan», not a photo's", r"\b[Ss]hots?\b", "[Aa]degan", "bidikan"),
        ("on and off: «aktif», «nonaktif»", r": o(n|ff)$", "aktif", r"\b(nyala|mati)\b"),
        ("/cancel cancels cards («batalkan»)", r"unfinished card", "[Bb]atal", r"buang"),
    ],
    "tr": [
        ("a soundtrack: «müzik», not a score", r"[Ss]oundtrack", "[Mm]üzi", "(?i)film müzi"),
        ("a prompt: «istem»", r"\bprompt", "[İi]stem", r"\b[Pp]rompt"),
        ("the video service: «servis»", None, None, "hizmet"),
        ("/cancel cancels cards («iptal»)", r"unfinished card", "iptal", r"kart\w* sil"),
    ],
    "uk": [
        ("ledger rows: «операції» («рухи» are physical)", r"movements", "операці", "рух"),
        ("default settings: «типові»", None, None, "за замовчуванням"),
        ("the bot's owner: «власник»", None, None, "оператор"),
        ("to choose: «оберіть»", None, None, r"[Вв]ибер"),
        ("Telegram Stars: «зірки» (Latin takes no case endings)", None, None, r"\bStars\b"),
        ("the queue counts the videos «попереду»", r"ahead of yours", "попереду", "перед вашим"),
    ],
}
NOT_WORDS = re.compile(r"<code>[^<]*</code>|/\w+|\{\w+\}")


@pytest.mark.parametrize("locale", SECOND_REVIEW)
def test_one_term_per_concept_too(locale: str) -> None:
    pairs = translated_forms(locale)
    for rule, scope, term, wrong in ONE_TERM_TOO[locale]:
        covered = [
            form
            for msgid, form in pairs
            if scope is None or re.search(scope, msgid if isinstance(msgid, str) else msgid[0])
        ]
        assert covered, (locale, rule, "covers no entry")
        words = [NOT_WORDS.sub(" ", form) for form in covered]
        assert [w for w in words if re.search(wrong, w)] == [], (locale, rule)
        if term:
            assert [f for f in covered if not re.search(term, f)] == [], (locale, rule)


# Plural entries whose forms may all read the same, as nothing in them agrees with the number:
# uk «відео» is indeclinable («попереду 3 відео»); hi «दिन» and «सेकंड» keep one form in the
# direct case («5 दिन»). id and tr have one plural form: their nouns stay singular after a number.
SAME_FOR_EVERY_NUMBER = {
    "ar": set(),
    "hi": {
        "Resolution: {resolution} · Duration: {n} second · Audio: off",
        "Resolution: {resolution} · Duration: {n} second · Audio: on",
        "This video is older than {n} day: its photo is no longer kept. Send the photo again.",
        "• Your photos (converted to JPEG), for Again, Edit and /history: {n} day.",
        "• Your videos' prompts, settings and status (/history): {n} day.",
        "{n} credit",  # «5 क्रेडिट»: a loanword, one form in the direct case
        "⭐ {stars} → {n} credit",
    },
    "uk": {"⏳ In line: {n} video ahead of yours. It starts by itself."},
}
ONE_PLURAL_FORM = ("id", "tr")


@pytest.mark.parametrize("locale", SECOND_REVIEW)
def test_a_plural_entry_does_not_copy_its_singular(locale: str) -> None:
    """«2 відео ще робиться: воно прийде»: forms that copy the singular say "it" of several."""
    translated = catalogue(locale)
    plurals = [m for m in template() if not isinstance(m.id, str)]
    assert len(plurals) >= 10
    if locale in ONE_PLURAL_FORM:
        assert (translated.num_plurals, translated.plural_expr) == (1, "0")
        return
    allowed = SAME_FOR_EVERY_NUMBER[locale]
    assert allowed <= {m.id[0] for m in plurals}, "an allowed entry no longer exists"
    forms = Catalogues.load().translator(locale).catalogue
    for message in plurals:
        if message.id[0] not in allowed:
            one = forms.ngettext(*message.id, 1)
            for n in (2, 5, 11, 100):
                assert forms.ngettext(*message.id, n) != one, (locale, n, one)


def test_forget_agrees_with_every_number_in_ukrainian_and_arabic() -> None:
    forget = (
        "🗑 Done. {n} video is still being made: it arrives as usual and stays in /history "
        "until you use /forget again.",
        "🗑 Done. {n} videos are still being made: they arrive as usual and stay in /history "
        "until you use /forget again.",
    )
    uk, ar = (Catalogues.load().translator(locale) for locale in ("uk", "ar"))
    for n in (1, 21):
        assert "відео ще створюється: воно прийде" in uk.ngettext(*forget, n)
    for n in (2, 5, 11, 22):
        text = uk.ngettext(*forget, n)
        assert "створюються: вони прийдуть" in text and "залишаться" in text, text
    assert "سيصل كالمعتاد ويبقى" in ar.ngettext(*forget, 1)
    assert "سيصلان كالمعتاد ويبقيان" in ar.ngettext(*forget, 2)
    for n in (3, 11, 100):
        assert "ستصل كالمعتاد وتبقى" in ar.ngettext(*forget, n), n


@pytest.mark.parametrize("locale", SECOND_REVIEW)
def test_on_and_off_are_written_alike_to_the_period(locale: str) -> None:
    """«Звук: увімк.» beside «💧 Водяний знак: увімк»: a period is part of an abbreviation."""
    words: dict[str, set[str]] = {": on": set(), ": off": set()}
    for msgid, form in translated_forms(locale):
        source = msgid if isinstance(msgid, str) else msgid[0]
        for suffix, found in words.items():
            if source.endswith(suffix):
                word = re.split(r"[:：]\s*", form)[-1]
                found.add(word.removesuffix("ة") if locale == "ar" else word)
    assert len(words[": on"]) == 1 and len(words[": off"]) == 1, words


@pytest.mark.parametrize("locale", sorted(REQUIRED))
def test_texts_name_the_more_page_and_the_avoid_line_as_their_buttons_do(locale: str) -> None:
    """hi «(कार्ड का ⚙️ और पेज)» named the ⚙️ More button "and"; the "Clear “avoid”" button
    quotes the card's «🚫 Avoid:» line in its own words."""
    translated = catalogue(locale)

    def text(msgid: str) -> str:
        return translated.get(msgid).string

    more = text("⚙️ More ▸").removeprefix("⚙️ ").removesuffix(" ▸").removesuffix(" ◂")  # ◂: RTL
    page = text(
        "⚙️ <b>More options</b> (the card's ⚙️ More page): prompt rewriting, single or "
        "multi-shot, watermark, seed. ✨ Effects animates the photo with a template."
    )
    assert f"⚙️ {more}" in page.split("</b>", 1)[1], (locale, more, page)
    avoid = re.split(r"[:：]\s*", text("🚫 Avoid: {text}").removeprefix("🚫 "))[0]
    assert avoid.casefold() in text("🚫 Clear “avoid”").casefold(), (locale, avoid)


def test_arabic_labels_isolate_only_their_numbers() -> None:
    """«‎+1 ث» (a label opened by U+200E) runs left to right as a whole, the unit on the other
    side from «ث 5» on the next row; only the signed number is isolated."""
    arabic = catalogue("ar")
    for _, form in translated_forms("ar"):
        assert not form.startswith(("\u200e", "\u200f")), form
    assert arabic.get("+1 s").string == "\u2066+1\u2069 ث"
    assert arabic.get("−1 s").string == "\u2066−1\u2069 ث"


def test_ukrainian_apostrophes_are_typographic() -> None:
    """«з'являється» beside «п’яти»: one apostrophe, U+2019."""
    ascii_apostrophe = re.compile(r"(?i)[а-щьюяєіїґ]'[а-щьюяєіїґ]")
    offenders = [form for _, form in translated_forms("uk") if ascii_apostrophe.search(form)]
    assert offenders == []


def test_a_signed_amount_keeps_its_sign_in_front_in_arabic() -> None:
    from bot.domain.billing import Movement, Reason
    from bot.i18n import Catalogues
    from bot.telegram.handlers.billing import _movement_line

    catalogues = Catalogues.load()
    line = _movement_line(catalogues.translator("ar"), Movement(1, -12, Reason.RESERVE, "r"))
    assert line.startswith("\u2068-12\u2069")  # first-strong: no letter, so left to right
    english = _movement_line(catalogues.translator("en"), Movement(1, -12, Reason.RESERVE, "r"))
    assert english.startswith("-12 ·")
