from __future__ import annotations

import pytest
from telegram.constants import MessageLimit

from bot.domain.actions import Generate, SetDuration, StepDuration
from bot.domain.notices import Notice
from bot.domain.records import TaskState
from bot.domain.settings import GenerationSettings
from bot.i18n import Catalogues
from bot.telegram.callback_data import _CODECS, Scope, decode, encode
from bot.telegram.cards import card_text, video_caption
from bot.telegram.handlers import BUTTONS
from bot.telegram.handlers.card import expired_button
from bot.telegram.keyboards import card_keyboard, defaults_keyboard
from bot.text import truncate, utf16_len
from tests.factories import make_record, make_request
from tests.fakes.telegram_html import parse_html

T = Catalogues.load().translator("en")


def test_settings_clamp_and_validate() -> None:
    settings = GenerationSettings()
    assert settings.with_duration(1).duration == 2
    assert settings.with_duration(99).duration == 15
    with pytest.raises(ValueError):
        settings.with_resolution("4k")


def test_settings_from_stored_dict_tolerates_garbage() -> None:
    assert GenerationSettings.from_dict(None) == GenerationSettings()
    loaded = GenerationSettings.from_dict(
        {"resolution": "8k", "duration": "x", "audio": 1, "extra": True}
    )
    assert loaded == GenerationSettings()


@pytest.mark.parametrize(
    "data",
    ["v1:c:res:720", "v1:s:dur:15", "v1:c:dur:+", "v1:c:go", "v1:c:aud:0", "v1:c:retry", "v1:c:x"],
)
def test_callback_data_round_trips(data: str) -> None:
    decoded = decode(data)
    assert decoded is not None and encode(*decoded) == data


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "v0:c:res:720",
        "v1:c:res:4k",
        "v1:c:dur:16",
        "v1:c:dur:1",
        "v1:z:go",
        "v1:c:boom",
        "v1:c:go:now",
        "v1:s:go",
        "v1:c:lang:ru",
        "v1:c:tpl:nosuch",
        "junk",
    ],
)
def test_stale_or_foreign_callback_data_is_rejected(data: str | None) -> None:
    assert decode(data) is None


def all_buttons(markup) -> list:
    return [b for row in markup.inline_keyboard for b in row]


@pytest.mark.parametrize("state", list(TaskState))
def test_every_card_fits_telegram_limits(state: TaskState) -> None:
    rec = make_record(state=state, prompt="<&>" * 2000, error="x" * 500, notice=Notice.API_FAILED)
    text, _ = parse_html(card_text(T, rec))
    assert 0 < utf16_len(text) <= MessageLimit.MAX_TEXT_LENGTH
    markup = card_keyboard(T, rec)
    for button in all_buttons(markup) if markup else []:
        assert 1 <= len(button.callback_data.encode()) <= 64
        assert decode(button.callback_data) is not None


def test_draft_card_reaches_every_duration_and_marks_the_selection() -> None:
    rec = make_record(settings=GenerationSettings("1080p", 7, False))
    labels = [b.text for b in all_buttons(card_keyboard(T, rec))]
    assert "✓ 1080p" in labels and "720p" in labels and "✓ 🔇 Silent" in labels
    assert "⏱ 7 s" in labels
    reachable = set()
    for start in range(2, 16):
        buttons = {
            b.callback_data
            for b in all_buttons(
                card_keyboard(T, make_record(settings=GenerationSettings(duration=start)))
            )
        }
        for data in buttons:
            _, action = decode(data)
            if isinstance(action, SetDuration | StepDuration):
                reachable.add(action.apply(GenerationSettings(duration=start)).duration)
    assert reachable >= set(range(2, 16))


def test_defaults_keyboard_uses_its_own_scope() -> None:
    scopes = {
        decode(b.callback_data)[0] for b in all_buttons(defaults_keyboard(T, GenerationSettings()))
    }
    assert scopes == {Scope.DEFAULTS}
    assert encode(Scope.CARD, Generate()) == "v1:c:go"


def test_caption_is_cut_to_telegram_limit() -> None:
    caption = video_caption(T, make_record(prompt="😀" * 2000))
    assert utf16_len(caption) <= MessageLimit.CAPTION_LENGTH and caption.endswith("…")


def test_truncate_counts_utf16_units() -> None:
    assert truncate("abc", 3) == "abc"
    assert utf16_len(truncate("😀😀😀", 4)) <= 4


def test_shot_type_and_prompt_rewriting_are_coupled() -> None:
    settings = GenerationSettings(prompt_extend=False)
    multi = settings.with_shot_type("multi")
    assert (multi.prompt_extend, multi.shot_type) == (True, "multi")
    off = multi.with_prompt_extend(False)
    assert (off.prompt_extend, off.shot_type) == (False, "single")
    assert (
        GenerationSettings.from_dict({"prompt_extend": False, "shot_type": "multi"}).shot_type
        == "single"
    )


def test_request_body_never_carries_a_soundtrack_when_silent() -> None:
    body = make_request(
        image_data_url="data:,", audio=False, audio_url="https://x/a.mp3"
    ).to_json()
    assert "audio_url" not in body and body["audio"] is False
    loud = make_request(
        image_data_url="data:,",
        audio_url="https://x/a.mp3",
        prompt_extend=False,
        shot_type="multi",
    ).to_json()
    assert loud["audio_url"] == "https://x/a.mp3" and loud["shot_type"] == "single"


def test_soundtrack_checks_and_served_names(tmp_path) -> None:
    from bot.domain.soundtrack import (
        AudioFile,
        SoundtrackError,
        check_audio,
        is_audio_link,
        is_served_name,
        new_served_name,
    )

    assert check_audio(AudioFile("a.MP3", None, 1000, 10)) == ".mp3"
    assert check_audio(AudioFile("", "audio/x-wav", 1000, None)) == ".wav"
    for bad, kind in [
        (AudioFile("a.ogg", "audio/ogg", 10, 10), "format"),
        (AudioFile("a.mp3", None, 16 * 1024 * 1024, 10), "size"),
        (AudioFile("a.mp3", None, 10, 2), "duration"),
        (AudioFile("a.mp3", None, 10, 31), "duration"),
    ]:
        with pytest.raises(SoundtrackError) as caught:
            check_audio(bad)
        assert caught.value.kind == kind
    name = new_served_name(".mp3")
    assert is_served_name(name)
    assert not is_served_name("../../etc/passwd") and not is_served_name("short.mp3")
    assert not is_served_name("a" * 24 + ".mp3/../x") and not is_served_name("a" * 24 + ".ogg")
    assert is_audio_link("https://example.com/a/b.mp3?x=1") and not is_audio_link("hello")


def test_every_button_reaches_a_handler_of_its_own() -> None:
    """Each code, in each scope it belongs to, is taken by a row of the routing table other
    than the expired one: a new button without a handler fails here."""
    for codec in _CODECS:
        for scope in codec.scopes:
            rows = [
                b for b in BUTTONS if issubclass(codec.kind, b.kinds) and b.scope in (None, scope)
            ]
            assert rows and rows[0].callback is not expired_button, (codec.code, scope)


def test_a_chosen_setting_is_marked_first_in_the_reading_order() -> None:
    """ "✓ 720p" reads left to right: on an Arabic keyboard the mark sat left of the size
    while "✓ 5 ث" had it on the right. A right-to-left mark opens every chosen label there."""
    catalogues = Catalogues.load()
    record = make_record("t1")
    for locale, opening in (("ar", "\u200f✓ "), ("en", "✓ ")):
        keyboard = card_keyboard(catalogues.translator(locale), record)
        chosen = [b.text for row in keyboard.inline_keyboard for b in row if "✓" in b.text]
        assert len(chosen) >= 3 and all(label.startswith(opening) for label in chosen), chosen
