"""Caption shortcuts (bot/domain/caption_flags.py) beyond tests/test_caption_flags.py: what
they do to a card's settings, which flags were used, and the errors they raise."""

from __future__ import annotations

import pytest

from bot.domain.caption_flags import FlagError, parse_caption
from bot.domain.settings import GenerationSettings

DEFAULTS = GenerationSettings(
    resolution="720p", duration=5, audio=True, shot_type="single", seed=42, negative_prompt="x"
)


def test_every_flag_overrides_its_setting_on_the_card() -> None:
    flags = parse_caption('a cat --1080p --10s --silent --multi --seed 7 --no "blurry"')
    assert flags.apply_to(DEFAULTS) == GenerationSettings(
        resolution="1080p",
        duration=10,
        audio=False,
        prompt_extend=True,
        shot_type="multi",
        seed=7,
        negative_prompt="blurry",
    )


def test_a_caption_without_flags_leaves_the_users_settings_alone() -> None:
    assert parse_caption("a cat").apply_to(DEFAULTS) == DEFAULTS


@pytest.mark.parametrize(
    ("caption", "field", "value"),
    [
        ("a cat --10s", "duration", 10),
        ("a cat --audio", "audio", True),
        ("a cat --silent", "audio", False),
        ("a cat --single", "shot_type", "single"),
        ("a cat --seed 0", "seed", 0),
        ('a cat --no ""', "negative_prompt", ""),
    ],
)
def test_one_flag_changes_its_setting_only(caption: str, field: str, value: object) -> None:
    settings = parse_caption(caption).apply_to(DEFAULTS.with_shot_type("multi"))
    assert getattr(settings, field) == value
    unchanged = {f: v for f, v in vars(DEFAULTS.with_shot_type("multi")).items() if f != field}
    assert {f: v for f, v in vars(settings).items() if f != field} == unchanged


def test_the_flags_used_are_listed_in_the_order_given() -> None:
    assert parse_caption("x --seed 5 --720p --SILENT").used == ("--seed", "--720p", "--SILENT")


def test_a_word_with_an_apostrophe_after_dashes_is_prose_before_the_flags() -> None:
    flags = parse_caption("a sign --it's fine --10s")
    assert (flags.prompt, flags.duration) == ("a sign --it's fine", 10)


def test_a_trailing_unknown_short_flag_is_reported() -> None:
    with pytest.raises(FlagError) as caught:
        parse_caption("a cat --q")
    assert (caught.value.flag, caught.value.unknown) == ("--q", True)


@pytest.mark.parametrize(
    ("caption", "flag", "why"),
    [
        ("x --seed", "--seed", "needs a value"),
        ("x --no", "--no", "needs a value"),
        ("x --20s", "--20s", "duration must be 2 to 15 s"),
        ("x --4k", "--4k", "unknown flag"),
        ("x --seed abc", "--seed", "a seed is a whole number from 0 to 2147483647"),
        (f'x --no "{"a" * 501}"', "--no", "at most 500 characters"),
    ],
)
def test_a_flag_error_names_the_flag_and_says_why(caption: str, flag: str, why: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse_caption(caption)
    assert (caught.value.flag, caught.value.reason) == (flag, why)
    assert str(caught.value) == f"{flag}: {why}"
