"""A task's record as it is stored and listed (bot/domain/records.py, history.py, notices.py,
queue_order.py, transitions.py): what comes back from storage, what /history shows, the
line's order, and the changes the transition table refuses."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from bot.domain.actions import Page
from bot.domain.history import entry_from_row, entry_of, in_history, newest_first
from bot.domain.notices import Notice
from bot.domain.queue_order import fair_order
from bot.domain.records import Soundtrack, TaskRecord, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import EditCard, Ended, apply_change
from bot.storage.base import may_take
from tests.factories import make_record

SETTINGS = GenerationSettings(resolution="1080p", duration=10, audio=False, seed=3)


def delivered(task_id: str = "t1", **overrides: object) -> TaskRecord:
    values: dict[str, object] = {
        "prompt": "a cat " * 20,
        "settings": SETTINGS,
        "state": TaskState.DONE,
        "attempt": 2,
        "apimart_task_id": "api-1",
        "notice": Notice.TOO_LARGE,
        "seed_used": 77,
        "template": "squish",
        "video_file_id": "file-1",
        "page": Page.EFFECTS,
        "created_at": 1000.0,
        "submitted_at": 1001.0,
    }
    values.update(overrides)
    return make_record(task_id, **values)


def test_a_task_comes_back_from_its_stored_form_as_it_was() -> None:
    record = delivered()
    stored = json.loads(json.dumps(record.to_dict()))
    assert TaskRecord.from_dict(stored) == record


def test_the_stored_form_is_one_plain_value_per_field() -> None:
    """Enums as their values and no notice as "" (the PostgreSQL stats read it so)."""
    stored = make_record().to_dict()
    assert set(stored) == {f.name for f in fields(TaskRecord)}
    assert (stored["state"], stored["notice"], stored["page"]) == ("draft", "", "main")
    assert stored["settings"] == GenerationSettings().to_dict()
    assert json.loads(json.dumps(stored)) == stored


def test_a_row_an_older_release_wrote_loads_with_defaults() -> None:
    row = {k: v for k, v in delivered().to_dict().items() if k not in ("state", "page")}
    row["retired_field"] = 1
    record = TaskRecord.from_dict(row)
    assert (record.state, record.page, record.settings) == (TaskState.DRAFT, Page.MAIN, SETTINGS)
    assert TaskRecord.from_dict({**row, "page": "gallery"}).page is Page.MAIN


def test_a_profile_comes_back_with_its_soundtrack() -> None:
    profile = UserProfile(7, SETTINGS, "uk", Soundtrack("https://x/a.mp3", "a.mp3", "A", 5.0))
    assert UserProfile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    bare = UserProfile(8)
    assert UserProfile.from_dict(bare.to_dict()) == bare
    assert UserProfile.from_dict({"user_id": 9, "soundtrack": "x"}).soundtrack is None


def test_a_lease_that_ends_now_is_free_for_any_replica() -> None:
    record = make_record(state=TaskState.RUNNING, lease_owner="a", lease_until=100.0)
    assert record.leased_by_other("b", 99.9)
    assert not record.leased_by_other("b", 100.0)
    assert may_take(record, "b", 100.0, include_own=False)  # storage agrees
    assert not record.leased_by_other("a", 99.9)


@pytest.mark.parametrize(
    "record",
    [
        delivered(),
        delivered(prompt="", template="dance1", notice=None, seed_used=None),
        delivered(state=TaskState.FAILED, apimart_task_id=None, video_file_id=None),
        delivered(state=TaskState.QUEUED, attempt=0, apimart_task_id=None),
    ],
)
def test_history_reads_the_same_entry_from_a_stored_row_as_from_the_record(
    record: TaskRecord,
) -> None:
    entry = entry_of(record)
    assert entry_from_row(json.loads(json.dumps(record.to_dict()))) == entry
    assert record.prompt.startswith(entry.prompt.removesuffix("…"))
    assert (entry.notice, entry.seed, entry.template) == (
        record.notice,
        record.seed_used,
        record.template,
    )
    assert entry.charged == (record.apimart_task_id is not None)


def test_a_card_is_in_history_once_generated_or_waiting_in_line() -> None:
    assert in_history(make_record(attempt=1))
    assert in_history(make_record(state=TaskState.QUEUED))
    assert not in_history(make_record())
    assert not in_history(make_record(state=TaskState.CLOSED))
    assert entry_from_row(make_record().to_dict()) is None
    old = {"id": "t9", "user_id": 1, "attempt": 1}  # no state, settings or times stored
    entry = entry_from_row(old)
    assert entry is not None and (entry.state, entry.prompt) == (TaskState.DRAFT, "")


def test_history_lists_the_newest_first_and_ties_by_id() -> None:
    a, b, c = (
        entry_of(delivered(i, created_at=t)) for i, t in (("a", 5.0), ("b", 9.0), ("c", 5.0))
    )
    assert [e.id for e in newest_first([a, b, c])] == ["b", "c", "a"]


@pytest.mark.parametrize("value", [None, "", "no_such_notice", 3])
def test_a_missing_or_unknown_stored_notice_reads_as_none(value: object) -> None:
    assert Notice.parse(value) is None
    assert Notice.parse("busy") is Notice.BUSY


def test_the_line_is_fair_and_first_come_counts_from_generate() -> None:
    def queued(task_id: str, user: int, created: float, at: float) -> TaskRecord:
        return make_record(
            task_id, user_id=user, state=TaskState.QUEUED, created_at=created, queued_at=at
        )

    # Bob's card is older, but Ann pressed Generate first; Ann's second waits for Carl's first.
    ann1, ann2 = queued("a1", 1, 50.0, 10.0), queued("a2", 1, 51.0, 11.0)
    bob, carl = queued("b1", 2, 1.0, 20.0), queued("c1", 3, 60.0, 30.0)
    assert fair_order([carl, ann2, bob, ann1]) == [ann1, bob, carl, ann2]
    twins = [queued(i, 4, 1.0, 5.0) for i in ("y", "x")]  # the same moment: by id
    assert [r.id for r in fair_order(twins)] == ["x", "y"]


def test_a_change_prints_the_fields_it_leaves_alone_as_keep() -> None:
    assert "settings=KEEP" in repr(EditCard(prompt="p"))


@pytest.mark.parametrize("state", [TaskState.DRAFT, TaskState.QUEUED, TaskState.RUNNING])
def test_an_ending_into_a_state_that_ends_nothing_is_refused(state: TaskState) -> None:
    for current in TaskState:
        assert (
            apply_change(make_record(state=current), Ended(state=state, finished_at=1.0)) is None
        )
