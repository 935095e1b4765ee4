"""The transition table (bot/domain/transitions.py): each change leaves only the states it
names, enters the one it names, sets only its own fields, and raises the version."""

from __future__ import annotations

from dataclasses import fields
from typing import get_args

import pytest

from bot.domain.notices import Notice
from bot.domain.records import TaskState
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import (
    CLAIMED_FIELDS,
    ENDINGS,
    TRANSITIONS,
    BackToDraft,
    EditCard,
    Ended,
    MovedInLine,
    PollFailed,
    Progressed,
    Redrawn,
    TaskChange,
    UndoClaim,
    apply_change,
    transition_of,
)
from tests.factories import accepted_change, claim_change, make_record


def examples() -> list[TaskChange]:
    return [
        EditCard(prompt="p"),
        claim_change(),
        BackToDraft(notice=Notice.BUSY),
        accepted_change(),
        Progressed(api_status="processing", progress=5),
        Redrawn(shown_view="v", shown_at=1.0),
        PollFailed(poll_failures=1),
        MovedInLine(queue_position=2),
        *(Ended(state=state, finished_at=1.0) for state in ENDINGS),
    ]


@pytest.mark.parametrize("change", examples(), ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("state", list(TaskState))
def test_a_change_applies_exactly_from_the_states_it_may_leave(
    change: TaskChange, state: TaskState
) -> None:
    record = make_record("t", state=state)
    transition = transition_of(change)
    applied = apply_change(record, change)
    if state not in transition.sources:
        assert applied is None
        return
    assert applied is not None and applied.version == record.version + 1
    assert applied.state is (transition.target or state)
    changed = {
        f.name for f in fields(record) if getattr(record, f.name) != getattr(applied, f.name)
    }
    assert changed <= {f.name for f in fields(change)} | {"state", "version"}


def test_every_change_type_is_in_the_table() -> None:
    assert set(get_args(TaskChange)) == set(TRANSITIONS) | {Ended}
    # every state but the draft and the ones in between is reached by an ending
    assert set(ENDINGS) == set(TaskState) - {
        TaskState.DRAFT,
        TaskState.QUEUED,
        TaskState.SUBMITTING,
        TaskState.RUNNING,
        TaskState.DELIVERING,
    }


def test_a_version_read_before_a_change_refuses_the_next_one() -> None:
    record = make_record("t")
    edited = apply_change(record, EditCard(settings=GenerationSettings(duration=15)))
    assert edited is not None
    assert apply_change(edited, claim_change(), expect_version=record.version) is None
    assert apply_change(edited, claim_change(), expect_version=edited.version) is not None


def test_undoing_a_claim_puts_the_card_back_as_it_was() -> None:
    before = make_record("t", state=TaskState.FAILED, attempt=2, submitted_at=5.0, error="x")
    claimed = apply_change(before, claim_change(attempt=3, reservation="t:3:ab"))
    assert claimed is not None and claimed.state is TaskState.SUBMITTING
    undone = apply_change(claimed, UndoClaim(before=before))
    assert undone is not None
    assert {name: getattr(undone, name) for name in CLAIMED_FIELDS} == {
        name: getattr(before, name) for name in CLAIMED_FIELDS
    }
    assert undone.version == claimed.version + 1


def test_keep_leaves_a_field_alone() -> None:
    record = make_record("t", prompt="waves", settings=GenerationSettings(duration=9))
    edited = apply_change(record, EditCard(prompt="rain"))
    assert edited is not None and edited.settings == record.settings and edited.prompt == "rain"
