"""A delivered video as the start of more (issue 22): its last frame for ⏭ Continue, its story
joined into one video for 🎞 Join, the video as a round note for ⭕ Round.

Nothing but the last frame is kept: a clip comes back from Telegram by its id (a bot may
download up to 20 MB, more with a local Bot API server), or from the service's link while it
lasts. The media work runs in the converter's slots, one file at a time from disk, so memory
is bounded by one clip, never by a story.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.records import TaskRecord
from bot.domain.story import MAX_STORY_CLIPS, in_order
from bot.images import ImageConverter, PreparedImage
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.ports import ClipSource, ClipUnavailableError, VideoApi, VideoServiceError
from bot.lifecycle.tasklog import task_log
from bot.media import (
    JoinTooLargeError,
    MediaError,
    VideoNote,
    join_clips,
    last_frame,
    video_note,
)
from bot.mp4 import VideoMeta, read_video_meta
from bot.storage import Storage

log = logging.getLogger(__name__)

HEAVY_AT_ONCE = 2


@dataclass(frozen=True)
class Joined:
    path: Path  # the caller sends it, then deletes it
    clips: int
    meta: VideoMeta


@dataclass(frozen=True)
class Rounded:
    path: Path  # the caller sends it, then deletes it
    note: VideoNote


@dataclass(frozen=True)
class ClipMissing:
    """Clip `part` of the story can no longer be had (Telegram and the service's link both
    gone, or never delivered as a video)."""

    part: int


@dataclass(frozen=True)
class TooLarge:
    limit: int  # bytes: what the chat may receive


JoinResult = Joined | ClipMissing | TooLarge
RoundResult = Rounded | ClipMissing


@dataclass(kw_only=True)
class Clips:
    storage: Storage
    files: TaskFiles
    source: ClipSource
    media: ImageConverter  # joins and round notes: a slot of their own, photos never wait
    # Last frames (~0.2 s each) in the photos' slots: a delivery, which keeps its frame before
    # it ends, never waits behind someone's join or round note.
    frames: ImageConverter
    api: VideoApi  # the service's link, while it lasts
    upload_limit: int
    clock: Callable[[], float] = time.time
    # Users whose join or round note is being made: one at a time each, so nobody keeps the
    # video slot busy with a row of presses (a round note of a 1080p clip is seconds of CPU).
    _working: set[int] = field(default_factory=set)
    # Joins and round notes under way at once, across users, downloads included: each join
    # may hold ten clips on disk while it waits for the video slot.
    _heavy: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HEAVY_AT_ONCE))

    @contextlib.contextmanager
    def turn(self, user_id: int) -> Iterator[bool]:
        """True: the user's turn, until the block ends; False: one of theirs is under way."""
        if user_id in self._working:
            yield False
            return
        self._working.add(user_id)
        try:
            yield True
        finally:
            self._working.discard(user_id)

    async def keep_frame(self, record: TaskRecord, video: Path) -> None:
        """At delivery, with the file at hand: its last frame, kept for ⏭ Continue. A video
        that yields none is logged; Continue then takes it from Telegram, or says no."""
        try:
            frame = await self.frames.run(last_frame, video)
        except MediaError as exc:
            task_log(log, record).warning("no last frame kept: %s", exc)
            return
        self.files.save_frame(record, frame)

    async def frame(self, record: TaskRecord) -> PreparedImage | None:
        """The last frame of `record`'s video: kept on this disk, or taken again from the
        video on Telegram (delivered by another replica, or its frame not kept)."""
        kept = self.files.read_frame(record)
        if kept is not None or record.video_file_id is None:
            return kept
        frame = await self.frame_of_video(record.video_file_id, record.id)
        if frame is not None:
            self.files.save_frame(record, frame)
        return frame

    async def frame_of_video(self, video_file_id: str, name: str) -> PreparedImage | None:
        with self._scratch(f"{name}.{secrets.token_hex(4)}.frame.mp4") as path:
            try:
                await self.source.download(video_file_id, path)
                return await self.frames.run(last_frame, path)
            except (ClipUnavailableError, MediaError) as exc:
                log.warning("task %s: no last frame from Telegram: %s", name, exc)
                return None

    async def story(self, last: TaskRecord) -> list[TaskRecord]:
        """The clips `last` continues, and itself, from the first (fewer when one of them is
        no longer kept: RETENTION_DAYS)."""
        chain = [last]
        while (previous_id := chain[-1].continues) and len(chain) < MAX_STORY_CLIPS:
            previous = await self.storage.kept_task(previous_id)
            if previous is None or previous.user_id != last.user_id:
                break
            chain.append(previous)
        return in_order(chain)

    async def join(self, last: TaskRecord) -> JoinResult:
        """Every clip of `last`'s story up to it, in order, as one video: remuxed (no new
        generation, no charge), re-encoded only when the clips differ."""
        story = await self.story(last)
        if story[0].story_part != 1:
            return ClipMissing(story[0].story_part - 1)
        paths: list[Path] = []
        self.files.work_dir.mkdir(parents=True, exist_ok=True)
        # Each press its own files: the same clip joined from two messages at once.
        run = secrets.token_hex(4)
        out = self.files.work_dir / f"{last.id}.{run}.story.mp4"
        try:
            async with self._heavy:  # its downloads too: up to 10 clips on disk each
                for clip in story:
                    path = self.files.work_dir / f"{last.id}.{run}.part{clip.story_part}.mp4"
                    paths.append(path)
                    if not await self._fetch(clip, path):
                        return ClipMissing(clip.story_part)
                within = functools.partial(join_clips, max_bytes=self.upload_limit)
                joined = await self.media.run(within, paths, out)
        except JoinTooLargeError:
            return TooLarge(self.upload_limit)
        except MediaError as exc:
            task_log(log, last).warning("story not joined: %s", exc)
            return ClipMissing(last.story_part)
        finally:
            for path in paths:
                path.unlink(missing_ok=True)
        how = "re-encoded" if joined.reencoded else "remuxed"
        task_log(log, last).info("joined %s clips, %s bytes, %s", len(story), joined.size, how)
        return Joined(joined.path, len(story), read_video_meta(joined.path))

    async def round_note(self, record: TaskRecord) -> RoundResult:
        """The video again as a round note: cropped square, within Telegram's limits."""
        run = secrets.token_hex(4)
        out = self.files.work_dir / f"{record.id}.{run}.round.mp4"
        async with self._heavy:
            return await self._round_note(record, out, run)

    async def _round_note(self, record: TaskRecord, out: Path, run: str) -> RoundResult:
        with self._scratch(f"{record.id}.{run}.for-round.mp4") as path:
            if not await self._fetch(record, path):
                return ClipMissing(record.story_part)
            try:
                note = await self.media.run(video_note, path, out)
            except MediaError as exc:
                task_log(log, record).warning("no round note: %s", exc)  # `out` already gone
                return ClipMissing(record.story_part)
        return Rounded(out, note)

    async def _fetch(self, clip: TaskRecord, dest: Path) -> bool:
        """The clip's file at `dest`: from Telegram, else from the service while its link
        lasts. False when neither has it."""
        if clip.video_file_id is not None:
            try:
                await self.source.download(clip.video_file_id, dest)
                return True
            except ClipUnavailableError as exc:
                task_log(log, clip).info("clip not from Telegram: %s", exc)
        link_lasts = clip.expires_at is None or clip.expires_at > self.clock()
        if clip.video_url is None or not link_lasts:
            return False
        try:
            await self.api.download(clip.video_url, dest, max_bytes=self.upload_limit)
        except VideoServiceError as exc:
            task_log(log, clip).info("clip not from the service: %s", exc)
            return False
        return True

    @contextlib.contextmanager
    def _scratch(self, name: str) -> Iterator[Path]:
        self.files.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.files.work_dir / name
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
