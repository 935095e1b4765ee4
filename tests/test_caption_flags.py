from __future__ import annotations

import pytest

from bot.domain.caption_flags import FlagError, parse_caption


def test_flags_at_the_end_are_parsed_and_removed() -> None:
    flags = parse_caption('the cat waves --1080p --10s --silent --seed 42 --no "blurry, text"')
    assert flags.prompt == "the cat waves"
    assert (flags.resolution, flags.duration, flags.audio, flags.seed) == ("1080p", 10, False, 42)
    assert flags.negative_prompt == "blurry, text"


@pytest.mark.parametrize(
    "caption",
    [
        "wait -- what happened",
        "a--b",
        "em—dash -- and -- more",
        'he said "--no" loudly',
        "foo --720p bar",
        "100 -- 200",
        "--",
        "the -- end --",
    ],
)
def test_prose_with_dashes_stays_the_prompt(caption: str) -> None:
    assert parse_caption(caption).prompt == caption.strip()
    assert parse_caption(caption).used == ()


def test_only_the_trailing_run_counts() -> None:
    flags = parse_caption("jump --1080p high --multi --audio")
    assert flags.prompt == "jump --1080p high"
    assert (flags.shot_type, flags.audio, flags.resolution) == ("multi", True, None)


@pytest.mark.parametrize(
    ("caption", "flag", "unknown"),
    [
        ("x --4k", "--4k", True),
        ("x --20s", "--20s", False),
        ("x --1s", "--1s", False),
        ("x --seed -5", "--seed", False),
        ("x --seed 2147483648", "--seed", False),
        ("x --seed", "--seed", False),
        ("x --no", "--no", False),
        ("x --720p --bogus", "--bogus", True),
    ],
)
def test_bad_flags_raise(caption: str, flag: str, unknown: bool) -> None:
    with pytest.raises(FlagError) as caught:
        parse_caption(caption)
    assert (caught.value.flag, caught.value.unknown) == (flag, unknown)


def test_negative_prompt_limit() -> None:
    parse_caption(f'x --no "{"a" * 500}"')
    with pytest.raises(FlagError):
        parse_caption(f'x --no "{"a" * 501}"')


def test_flags_only_caption_gives_an_empty_prompt() -> None:
    flags = parse_caption("--15s --audio")
    assert (flags.prompt, flags.duration) == ("", 15)
