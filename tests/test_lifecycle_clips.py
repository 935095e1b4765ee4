"""bot.lifecycle.clips on fakes and real clips (tests/fakes/clips.py): which clips a story holds,
where each clip of a join or a round note comes from (Telegram, else the service's link while
it lasts), what the user is told when one is gone, and that no scratch file is left behind."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.records import TaskRecord, TaskState
from bot.domain.story import MAX_STORY_CLIPS
from bot.images import ImageConverter, PreparedImage
from bot.lifecycle.clips import ClipMissing, Clips, Joined, Rounded, TooLarge
from bot.lifecycle.ports import ClipUnavailableError, VideoServiceError
from bot.lifecycle.service import task_files
from bot.logs import TASK_PREFIX
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.fakes.clips import clip_bytes

NOW = 1_800_000_000.0
USER = 7
RED = (220, 30, 40)
CLIP = clip_bytes(320, 240, 1, 12, True, RED)


class Telegram:
    """Videos by file id; any other id is one Telegram no longer gives."""

    def __init__(self, videos: dict[str, bytes]) -> None:
        self.videos = videos
        self.asked: list[str] = []

    async def download(self, video_file_id: str, dest: Path) -> None:
        self.asked.append(video_file_id)
        if video_file_id not in self.videos:
            raise ClipUnavailableError(f"{video_file_id}: file is too big")
        dest.write_bytes(self.videos[video_file_id])


class Service:
    """The video service's links: a URL it still serves, or a failure."""

    def __init__(self, videos: dict[str, bytes]) -> None:
        self.videos = videos
        self.asked: list[tuple[str, int]] = []

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        self.asked.append((url, max_bytes))
        if url not in self.videos:
            raise VideoServiceError("404")
        dest.write_bytes(self.videos[url])
        return len(self.videos[url])


def make_clips(
    tmp_path: Path, telegram: Telegram, service: Service | None = None, limit: int = 50_000_000
) -> Clips:
    return Clips(
        storage=MemoryStorage(),
        files=task_files(tmp_path / "data"),  # made by the first join or frame: nothing else does
        source=telegram,
        media=ImageConverter(limit=1),
        frames=ImageConverter(limit=1),
        api=service or Service({}),
        upload_limit=limit,
        clock=lambda: NOW,
    )


async def story_of(clips: Clips, parts: int, **last: object) -> list[TaskRecord]:
    """Clips 1..parts of one story, each delivered with its Telegram file id `F<part>`."""
    records: list[TaskRecord] = []
    for part in range(1, parts + 1):
        record = make_record(
            f"c{part}",
            user_id=USER,
            state=TaskState.DONE,
            story_part=part,
            continues=records[-1].id if records else None,
            video_file_id=f"F{part}",
        )
        records.append(record)
    records[-1] = replace(records[-1], **last)  # type: ignore[arg-type]
    for record in records:
        await clips.storage.add_task(record)
    return records


def scratch(tmp_path: Path) -> list[str]:
    """What is left in the work folder (the result of a join or a note excepted)."""
    work = tmp_path / "data" / "tmp"
    return sorted(p.name for p in work.iterdir()) if work.is_dir() else []


def logged(caplog: pytest.LogCaptureFixture, record: TaskRecord | None = None) -> list[str]:
    """The clips' log lines, about `record` when given (without its prefix)."""
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.lifecycle.clips"]
    if record is None:
        return lines
    prefix = TASK_PREFIX.format(task=record.id, user=record.user_id, chat=record.chat_id)
    return [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]


# story


async def test_a_story_is_its_chain_of_clips_from_the_first(tmp_path: Path) -> None:
    clips = make_clips(tmp_path, Telegram({}))
    records = await story_of(clips, 3)
    assert [r.id for r in await clips.story(records[-1])] == ["c1", "c2", "c3"]
    assert [r.id for r in await clips.story(records[0])] == ["c1"]


async def test_a_story_stops_at_a_clip_not_kept_or_of_another_user(tmp_path: Path) -> None:
    clips = make_clips(tmp_path, Telegram({}))
    records = await story_of(clips, 3)
    await clips.storage.add_task(replace(records[1], user_id=USER + 1))  # c2 not theirs
    assert [r.id for r in await clips.story(records[-1])] == ["c3"]
    gone = replace(records[-1], id="c4", continues="no-such-task", story_part=4)
    assert [r.id for r in await clips.story(gone)] == ["c4"]


async def test_a_story_holds_at_most_its_last_ten_clips(tmp_path: Path) -> None:
    clips = make_clips(tmp_path, Telegram({}))
    records = await story_of(clips, MAX_STORY_CLIPS + 2)
    story = await clips.story(records[-1])
    assert len(story) == MAX_STORY_CLIPS == 10
    assert [r.story_part for r in story] == list(range(3, 13))


# join


async def test_a_join_fetches_every_clip_from_telegram_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telegram = Telegram({f"F{n}": CLIP for n in range(1, 4)})
    clips = make_clips(tmp_path, telegram)
    records = await story_of(clips, 3)
    joined = await clips.join(records[-1])
    assert isinstance(joined, Joined)
    assert joined.clips == 3 and telegram.asked == ["F1", "F2", "F3"]
    assert (joined.meta.width, joined.meta.height) == (320, 240)
    assert joined.meta.duration == 3
    assert scratch(tmp_path) == [joined.path.name]  # the parts are gone, the result is not
    assert joined.path.name.startswith("c3.") and joined.path.name.endswith(".story.mp4")
    size = joined.path.stat().st_size
    assert logged(caplog, records[-1]) == [f"joined 3 clips, {size} bytes, remuxed"]


async def test_clips_of_other_sizes_are_re_encoded_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clips = make_clips(tmp_path, Telegram({"F1": CLIP, "F2": clip_bytes(160, 120, 1)}))
    records = await story_of(clips, 2)
    joined = await clips.join(records[-1])
    assert isinstance(joined, Joined) and (joined.meta.width, joined.meta.height) == (320, 240)
    size = joined.path.stat().st_size
    assert logged(caplog, records[-1]) == [f"joined 2 clips, {size} bytes, re-encoded"]


async def test_two_joins_of_one_story_at_once_each_get_their_own_files(tmp_path: Path) -> None:
    clips = make_clips(tmp_path, Telegram({"F1": CLIP, "F2": CLIP}))
    records = await story_of(clips, 2)
    first, second = await asyncio.gather(clips.join(records[-1]), clips.join(records[-1]))
    assert isinstance(first, Joined) and isinstance(second, Joined)
    assert first.path != second.path
    assert sorted(scratch(tmp_path)) == sorted([first.path.name, second.path.name])


async def test_a_story_whose_first_clip_is_gone_names_the_clip_before_it(tmp_path: Path) -> None:
    telegram = Telegram({f"F{n}": CLIP for n in range(1, 5)})
    clips = make_clips(tmp_path, telegram)
    records = await story_of(clips, 4)
    await clips.storage.add_task(replace(records[1], user_id=USER + 1))  # clip 2 not theirs
    assert await clips.join(records[-1]) == ClipMissing(2)
    assert telegram.asked == []  # nothing fetched for a story that cannot be whole


async def test_a_clip_telegram_no_longer_gives_comes_from_the_services_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telegram = Telegram({"F2": CLIP})
    service = Service({"https://cdn.example/c1.mp4": CLIP})
    clips = make_clips(tmp_path, telegram, service, limit=40_000_000)
    records = await story_of(clips, 2)
    first = replace(records[0], video_url="https://cdn.example/c1.mp4", expires_at=NOW + 60)
    await clips.storage.add_task(first)
    joined = await clips.join(records[-1])
    assert isinstance(joined, Joined) and joined.clips == 2
    assert telegram.asked == ["F1", "F2"]
    assert service.asked == [("https://cdn.example/c1.mp4", 40_000_000)]
    assert logged(caplog, first) == ["clip not from Telegram: F1: file is too big"]


@pytest.mark.parametrize(
    ("url", "expires_at"),
    [
        ("https://cdn.example/c1.mp4", NOW - 1),  # the link has expired
        ("https://cdn.example/c1.mp4", NOW),  # ...this very second
        (None, None),  # never had one
        ("https://cdn.example/gone.mp4", None),  # the service fails it
    ],
)
async def test_a_clip_neither_telegram_nor_the_service_gives_is_named(
    tmp_path: Path, url: str | None, expires_at: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    service = Service({"https://cdn.example/c1.mp4": CLIP})
    clips = make_clips(tmp_path, Telegram({"F2": CLIP}), service)
    records = await story_of(clips, 2)
    await clips.storage.add_task(replace(records[0], video_url=url, expires_at=expires_at))
    assert await clips.join(records[-1]) == ClipMissing(1)
    expired = expires_at is not None and expires_at <= NOW
    assert service.asked == ([] if url is None or expired else [(url, 50_000_000)])
    assert scratch(tmp_path) == []
    refused = [] if url is None or expired else ["clip not from the service: 404"]
    assert logged(caplog, records[0]) == ["clip not from Telegram: F1: file is too big", *refused]


async def test_a_link_without_an_end_is_tried(tmp_path: Path) -> None:
    service = Service({"https://cdn.example/c1.mp4": CLIP})
    clips = make_clips(tmp_path, Telegram({}), service)
    (record,) = await story_of(clips, 1, video_url="https://cdn.example/c1.mp4", expires_at=None)
    assert isinstance(await clips.join(record), Joined)


async def test_a_join_past_the_upload_limit_is_too_large_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    clips = make_clips(tmp_path, Telegram({"F1": CLIP, "F2": CLIP}), limit=len(CLIP))
    records = await story_of(clips, 2)
    assert await clips.join(records[-1]) == TooLarge(len(CLIP))
    assert scratch(tmp_path) == []


async def test_a_clip_that_is_no_video_fails_the_join_on_the_last_part(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clips = make_clips(tmp_path, Telegram({"F1": CLIP, "F2": b"not a video"}))
    records = await story_of(clips, 2)
    assert await clips.join(records[-1]) == ClipMissing(2)
    assert scratch(tmp_path) == []
    (line,) = logged(caplog, records[-1])
    assert re.fullmatch(r"story not joined: c2\.[0-9a-f]+\.part2\.mp4: .+", line), line


# round note


async def test_a_round_note_is_the_video_squared(tmp_path: Path) -> None:
    telegram = Telegram({"F1": CLIP})
    clips = make_clips(tmp_path, telegram)
    (record,) = await story_of(clips, 1)
    rounded = await clips.round_note(record)
    assert isinstance(rounded, Rounded)
    assert rounded.note.side == 240 and rounded.note.seconds == 1
    assert rounded.path == rounded.note.path and rounded.path.exists()
    assert scratch(tmp_path) == [rounded.path.name]
    assert rounded.path.name.startswith("c1.") and rounded.path.name.endswith(".round.mp4")


async def test_a_round_note_of_a_clip_gone_or_broken_names_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clips = make_clips(tmp_path, Telegram({"F2": b"not a video"}))
    records = await story_of(clips, 2)
    assert await clips.round_note(records[0]) == ClipMissing(1)
    assert await clips.round_note(records[1]) == ClipMissing(2)
    assert scratch(tmp_path) == []
    (line,) = logged(caplog, records[1])
    assert re.fullmatch(r"no round note: c2\.[0-9a-f]+\.for-round\.mp4: .+", line), line


# the last frame


async def test_the_frame_kept_at_delivery_is_used_without_asking_telegram(tmp_path: Path) -> None:
    telegram = Telegram({})
    clips = make_clips(tmp_path, telegram)
    (record,) = await story_of(clips, 1)
    video = tmp_path / "delivered.mp4"
    video.write_bytes(CLIP)
    await clips.keep_frame(record, video)
    frame = await clips.frame(record)
    assert isinstance(frame, PreparedImage) and (frame.width, frame.height) == (320, 240)
    assert telegram.asked == []


async def test_a_delivery_keeps_its_frame_while_a_join_holds_the_video_slot(
    tmp_path: Path,
) -> None:
    """A delivery keeps its last frame before it ends: behind someone's round note or
    ten-clip join (seconds of encoding in the video slot) it would wait for all of it."""
    clips = make_clips(tmp_path, Telegram({}))
    (record,) = await story_of(clips, 1)
    video = tmp_path / "delivered.mp4"
    video.write_bytes(CLIP)
    started, release = threading.Event(), threading.Event()

    def encoding() -> None:
        started.set()
        release.wait(30)

    join = asyncio.ensure_future(clips.media.run(encoding))
    try:
        await asyncio.to_thread(started.wait, 10)
        await asyncio.wait_for(clips.keep_frame(record, video), 10)
        assert clips.files.read_frame(record) is not None
        assert not join.done()  # the "join" still holds the video slot
    finally:
        release.set()
        await join


async def test_without_a_kept_frame_it_is_taken_from_telegram_once(tmp_path: Path) -> None:
    telegram = Telegram({"F1": CLIP})
    clips = make_clips(tmp_path, telegram)
    (record,) = await story_of(clips, 1)
    first = await clips.frame(record)
    again = await clips.frame(record)
    assert first is not None and again == first
    assert telegram.asked == ["F1"]  # kept the first time
    assert scratch(tmp_path) == []


async def test_no_frame_from_a_video_gone_broken_or_never_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = Telegram({"F2": b"not a video"})
    clips = make_clips(tmp_path, telegram)
    records = await story_of(clips, 2)
    assert await clips.frame(records[0]) is None  # Telegram no longer has it
    assert await clips.frame(records[1]) is None  # not a video
    assert await clips.frame(replace(records[0], id="x", video_file_id=None)) is None
    assert telegram.asked == ["F1", "F2"]
    assert await clips.frame(records[0]) is None and telegram.asked[-1] == "F1"  # not kept
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    await clips.keep_frame(records[1], broken)  # logged, nothing kept, nothing raised
    assert clips.files.read_frame(records[1]) is None
    assert scratch(tmp_path) == []
    lines = logged(caplog)
    assert lines[0] == "task c1: no last frame from Telegram: F1: file is too big"
    assert re.fullmatch(
        r"task c2: no last frame from Telegram: c2\.[0-9a-f]+\.frame\.mp4: .+", lines[1]
    )
    assert logged(caplog, records[1])[-1].startswith("no last frame kept: broken.mp4: ")


# one at a time


def test_a_user_has_one_turn_at_a_time() -> None:
    clips = Clips(
        storage=MemoryStorage(),
        files=task_files(Path("/nonexistent")),
        source=Telegram({}),
        media=ImageConverter(limit=1),
        frames=ImageConverter(limit=1),
        api=Service({}),
        upload_limit=1,
    )
    with clips.turn(1) as mine:
        assert mine
        with clips.turn(1) as again, clips.turn(2) as other:
            assert not again and other
        with clips.turn(1) as still:
            assert not still  # the refused turn did not end the first one
    with clips.turn(1) as later:
        assert later
