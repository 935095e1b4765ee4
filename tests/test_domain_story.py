"""Stories (issue 22) and what inline mode shares, as rules: each edge pinned by a case."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.history import HistoryEntry, entry_of, shareable
from bot.domain.records import TaskState
from bot.domain.soundtrack import SoundtrackError, check_length
from bot.domain.story import MAX_STORY_CLIPS, can_continue, can_join, in_order
from bot.lifecycle.files import TaskFiles
from bot.storage.soundtracks import DiskSoundtracks
from tests.test_storage_contract import make_record


@pytest.mark.parametrize(
    ("part", "continues", "joins"),
    [(1, True, False), (2, True, True), (9, True, True), (10, False, True)],
)
def test_a_story_continues_up_to_ten_clips_and_joins_from_the_second(
    part: int, continues: bool, joins: bool
) -> None:
    clip = replace(make_record("c1"), story_part=part)
    assert (can_continue(clip), can_join(clip)) == (continues, joins)
    assert MAX_STORY_CLIPS == 10


def test_clips_are_put_in_story_order_whatever_order_they_were_read_in() -> None:
    clips = [replace(make_record(f"c{n}"), story_part=n) for n in (3, 1, 2)]
    assert [c.story_part for c in in_order(clips)] == [1, 2, 3]


def delivered(task_id: str, prompt: str, *, file_id: str | None = "F") -> HistoryEntry:
    record = replace(
        make_record(task_id), prompt=prompt, state=TaskState.DONE, attempt=1, video_file_id=file_id
    )
    return entry_of(record)


def test_inline_mode_shares_delivered_videos_whose_prompt_has_every_word() -> None:
    entries = [
        delivered("a", "A Red Fox in the snow"),
        delivered("b", "a red car"),
        delivered("c", "a red fox, never delivered", file_id=None),
        entry_of(replace(make_record("d"), prompt="red fox", state=TaskState.FAILED, attempt=1)),
    ]

    def ids(typed: str) -> list[str]:
        return [entry.id for entry in shareable(entries, typed)]

    assert ids("") == ["a", "b"]
    assert ids("  red   FOX ") == ["a"]  # any case, any spacing, every word
    assert ids("fox car") == []
    assert ids("ca") == ["b"]  # a word may be the start of one


@pytest.mark.parametrize(("seconds", "ok"), [(2.9, False), (3, True), (30, True), (30.1, False)])
def test_a_soundtrack_lasts_three_to_thirty_seconds(seconds: float, ok: bool) -> None:
    if ok:
        check_length(seconds)
        return
    with pytest.raises(SoundtrackError) as refused:
        check_length(seconds)
    assert refused.value.kind == "duration" and refused.value.details == {"seconds": seconds}


def test_the_scratch_folder_loses_what_a_stop_left_an_hour_ago(tmp_path: Path) -> None:
    """A join or a round note cut short by a stop (or a crash) leaves its file in the scratch
    folder; start-up and the daily housekeeping delete what is older than an hour."""
    files = TaskFiles(tmp_path / "images", DiskSoundtracks(tmp_path / "audio"), tmp_path / "tmp")
    assert files.sweep_work(time.time()) == 0  # no folder yet
    (tmp_path / "tmp" / "sub").mkdir(parents=True)
    old, fresh = tmp_path / "tmp" / "a.round.mp4", tmp_path / "tmp" / "sub" / "b.part1.mp4"
    for path in (old, fresh):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert files.sweep_work(time.time() - 3600) == 1
    assert not old.exists() and fresh.exists()
