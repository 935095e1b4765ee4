"""Edges the mutation run (`make mutants`) found untested after issues 22 and 23: each case
tells a behaviour apart from a one-character change of the rule (docs/benchmarks.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.billing import Movement, Reason, hold_ref, spent_by_task
from bot.domain.history import entry_from_row, entry_of
from bot.domain.poll_schedule import AIM_MARGIN, AIM_WITHIN, next_poll_delay
from bot.domain.records import TaskState
from bot.domain.soundtrack import SoundtrackError, check_length
from bot.domain.usage import seconds_in_chat
from tests.test_storage_contract import make_record

DAY, GROUP = 11 * 86400.0, -100555


def test_a_members_seconds_in_a_group_count_what_is_being_submitted_and_from_midnight() -> None:
    records = [
        make_record("a", chat_id=GROUP, state=TaskState.SUBMITTING),  # about to be charged
        make_record("b", chat_id=GROUP, state=TaskState.DRAFT),  # a card: nothing yet
        make_record("c", chat_id=GROUP, state=TaskState.DONE, apimart_task_id="x",
                    submitted_at=DAY),  # at midnight exactly: today
        make_record("d", chat_id=GROUP, state=TaskState.DONE, apimart_task_id="y",
                    submitted_at=DAY - 0.5),  # just before: yesterday
    ]  # fmt: skip
    assert seconds_in_chat(records, 1, GROUP, DAY) == 10


def test_a_story_part_and_the_chat_come_with_a_history_entry_and_default_when_missing() -> None:
    record = replace(make_record("a", chat_id=GROUP, attempt=1), story_part=3)
    entry = entry_of(record)
    assert (entry.story_part, entry.chat_id) == (3, GROUP)
    row = record.to_dict()
    read = entry_from_row(row)
    assert read is not None and (read.story_part, read.chat_id) == (3, GROUP)
    older = {k: v for k, v in row.items() if k not in ("story_part", "chat_id")}
    read = entry_from_row(older)  # a row an older release wrote
    assert read is not None and (read.story_part, read.chat_id) == (1, 0)


def test_a_soundtrack_too_long_is_told_to_a_tenth_of_a_second() -> None:
    with pytest.raises(SoundtrackError) as refused:
        check_length(30.04)
    assert refused.value.details == {"seconds": 30.0}


def test_a_task_spent_the_sum_of_every_attempt_it_was_billed_for() -> None:
    """An attempt whose outcome was unknown counts as made; its retry made the video too."""
    unknown, retry = hold_ref("t1", 1, "aa"), hold_ref("t1", 2, "bb")
    rows = [
        Movement(7, -25, Reason.RESERVE, unknown),
        Movement(7, 0, Reason.SPEND, unknown),
        Movement(7, -38, Reason.RESERVE, retry),
        Movement(7, 0, Reason.SPEND, retry),
    ]
    assert spent_by_task(rows) == {"t1": 63}


@pytest.mark.parametrize(
    ("remaining", "delay"),
    [
        (AIM_WITHIN, AIM_WITHIN + AIM_MARGIN),  # at the edge: aimed just after the end
        (1.0, 1.0 + AIM_MARGIN),  # a second away: not clamped to the minimum
    ],
)
def test_near_the_end_the_next_look_is_just_after_it(remaining: float, delay: float) -> None:
    elapsed = 100.0
    assert next_poll_delay(elapsed, 0, int(elapsed + remaining)) == pytest.approx(delay)
