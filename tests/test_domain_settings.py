"""What a user picks on a card and who may pick at all (bot/domain/settings.py, actions.py,
access.py): the buttons' effects, the model's limits, and settings read back from storage."""

from __future__ import annotations

import pytest

from bot.domain.access import AccessLists, AccessPolicy, Limits
from bot.domain.actions import (
    ClearNegative,
    RandomSeed,
    SetAudio,
    SetDuration,
    SetPromptExtend,
    SetResolution,
    SetShotType,
    SettingAction,
    SetWatermark,
    StepDuration,
)
from bot.domain.settings import (
    MAX_NEGATIVE_PROMPT,
    MAX_SEED,
    GenerationSettings,
    is_duration,
    parse_seed,
)

CUSTOM = GenerationSettings(
    resolution="1080p",
    duration=10,
    audio=False,
    prompt_extend=True,
    shot_type="multi",
    watermark=True,
    seed=0,
    negative_prompt="blurry",
)


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        (SetResolution("1080p"), "resolution", "1080p"),
        (SetDuration(10), "duration", 10),
        (StepDuration(+1), "duration", 6),
        (StepDuration(-1), "duration", 4),
        (SetAudio(False), "audio", False),
        (SetPromptExtend(False), "prompt_extend", False),
        (SetShotType("multi"), "shot_type", "multi"),
        (SetWatermark(True), "watermark", True),
        (RandomSeed(), "seed", None),
        (ClearNegative(), "negative_prompt", ""),
    ],
)
def test_each_button_changes_what_it_says_on_a_card(
    action: SettingAction, field: str, value: object
) -> None:
    card = GenerationSettings(seed=42, negative_prompt="text")  # 5 s, audio on, rewriting on
    assert getattr(action.apply(card), field) == value


def test_turning_rewriting_on_keeps_a_multi_shot_choice_and_off_returns_to_single() -> None:
    multi = GenerationSettings().with_shot_type("multi")
    assert multi.with_prompt_extend(True).shot_type == "multi"
    assert multi.with_prompt_extend(False).shot_type == "single"


def test_choosing_single_shots_leaves_rewriting_as_the_user_set_it() -> None:
    plain = GenerationSettings().with_prompt_extend(False)
    assert plain.with_shot_type("single").prompt_extend is False
    assert plain.with_shot_type("multi").prompt_extend is True


@pytest.mark.parametrize("seed", [0, 1, MAX_SEED, None])
def test_every_seed_the_model_takes_can_be_fixed(seed: int | None) -> None:
    assert GenerationSettings(seed=7).with_seed(seed).seed == seed


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_a_seed_outside_the_models_range_is_refused(seed: int) -> None:
    with pytest.raises(ValueError, match=str(MAX_SEED)):
        GenerationSettings().with_seed(seed)


def test_a_negative_prompt_may_use_the_whole_limit_and_not_one_character_more() -> None:
    longest = "a" * MAX_NEGATIVE_PROMPT
    assert GenerationSettings().with_negative_prompt(longest).negative_prompt == longest
    with pytest.raises(ValueError, match=str(MAX_NEGATIVE_PROMPT)):
        GenerationSettings().with_negative_prompt(longest + "a")


def test_an_unsupported_choice_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'4k'"):
        GenerationSettings().with_resolution("4k")
    with pytest.raises(ValueError, match="'panorama'"):
        GenerationSettings().with_shot_type("panorama")


@pytest.mark.parametrize(("text", "seed"), [("0", 0), ("42", 42), (str(MAX_SEED), MAX_SEED)])
def test_a_typed_seed_is_read_up_to_the_largest_the_model_takes(text: str, seed: int) -> None:
    assert parse_seed(text) == seed


@pytest.mark.parametrize("text", ["-1", "4.2", "abc", "", str(MAX_SEED + 1)])
def test_a_typed_seed_that_is_none_says_what_a_seed_is(text: str) -> None:
    with pytest.raises(ValueError, match=f"0 to {MAX_SEED}"):
        parse_seed(text)


def test_the_shortest_and_longest_durations_are_durations() -> None:
    assert [s for s in range(0, 20) if is_duration(s)] == list(range(2, 16))


def test_stored_settings_come_back_as_they_were_saved() -> None:
    assert GenerationSettings.from_dict(CUSTOM.to_dict()) == CUSTOM
    largest = GenerationSettings(seed=MAX_SEED)
    assert GenerationSettings.from_dict(largest.to_dict()) == largest


@pytest.mark.parametrize(
    ("stored", "field", "value"),
    [
        ({"resolution": "4k"}, "resolution", "720p"),
        ({"resolution": 1080}, "resolution", "720p"),
        ({"shot_type": "panorama"}, "shot_type", "single"),
        ({"shot_type": 2}, "shot_type", "single"),
        ({"duration": "10"}, "duration", 5),
        ({"duration": 99}, "duration", 15),
        ({"audio": "no"}, "audio", True),
        ({"watermark": 1}, "watermark", False),
        ({"seed": -1}, "seed", None),
        ({"seed": MAX_SEED + 1}, "seed", None),
        ({"seed": "42"}, "seed", None),
        ({"seed": True}, "seed", None),
        ({"negative_prompt": 5}, "negative_prompt", ""),
        ({"negative_prompt": "x" * 600}, "negative_prompt", "x" * MAX_NEGATIVE_PROMPT),
        ({"prompt_extend": False, "shot_type": "multi"}, "shot_type", "single"),
    ],
)
def test_a_bad_stored_value_falls_back_to_a_valid_one(
    stored: dict[str, object], field: str, value: object
) -> None:
    assert getattr(GenerationSettings.from_dict({**CUSTOM.to_dict(), **stored}), field) == value


def test_an_allowed_user_comes_off_the_denied_list_and_back() -> None:
    lists = AccessLists().deny(1).deny(2).allow(1)
    assert (lists.allowed, lists.denied) == ({1}, {2})
    lists = AccessLists().allow(1).allow(2).deny(1)
    assert (lists.allowed, lists.denied) == ({2}, {1})


NOBODY = AccessLists()


def test_with_no_allowlist_everyone_may_use_the_bot_but_the_denied() -> None:
    policy = AccessPolicy(admins=frozenset({9}))
    assert policy.may_use(5, 5, NOBODY)
    assert not policy.may_use(5, 5, NOBODY.deny(5))
    assert not policy.may_use(9, 9, NOBODY.deny(9))  # denied loses, even for an admin


def test_an_allowlist_lets_in_its_users_the_allowed_and_the_admins_only() -> None:
    policy = AccessPolicy(allowed_users=frozenset({5}), admins=frozenset({9}))
    assert policy.may_use(5, 5, NOBODY)
    assert policy.may_use(9, 9, NOBODY)
    assert policy.may_use(6, 6, NOBODY.allow(6))
    assert policy.may_use(5, 5, NOBODY.allow(6))  # /allow adds to the list, replaces nothing
    assert not policy.may_use(7, 7, NOBODY)
    assert policy.is_admin(9) and not policy.is_admin(5)


def test_a_listed_group_lets_in_everyone_in_it_and_nobody_elsewhere() -> None:
    policy = AccessPolicy(allowed_chats=frozenset({-100}))
    assert policy.may_use(7, -100, NOBODY)
    assert not policy.may_use(7, 7, NOBODY)
    assert not policy.may_use(7, -200, NOBODY)
    with_users = AccessPolicy(allowed_users=frozenset({5}), allowed_chats=frozenset({-100}))
    assert with_users.may_use(5, 5, NOBODY)  # a listed user, in a private chat
    assert with_users.may_use(7, -100, NOBODY)


def test_the_card_shows_the_seconds_left_today_only_where_a_quota_applies() -> None:
    quota = Limits(daily_seconds_per_user=60)
    assert quota.seconds_left(admin=False, used_today=20) == 40
    assert quota.seconds_left(admin=False, used_today=60) == 0
    assert quota.seconds_left(admin=False, used_today=75) == 0  # never below zero
    assert quota.seconds_left(admin=True, used_today=20) is None
    assert Limits().seconds_left(admin=False, used_today=20) is None
