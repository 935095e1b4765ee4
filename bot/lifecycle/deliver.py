"""Deliver exactly once: download the result, upload it to the chat, record that it is done."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord, TaskState
from bot.domain.transitions import UploadStarted
from bot.lifecycle.clips import Clips
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.failures import Failure
from bot.lifecycle.files import TaskFiles, discard
from bot.lifecycle.ports import (
    ChatUnreachableError,
    DeliveryUncertainError,
    Messenger,
    Metrics,
    NoMetrics,
    ResultGoneError,
    ResultTooLargeError,
    SentVideo,
    VideoApi,
    error_kind,
)
from bot.lifecycle.tasklog import task_log
from bot.mp4 import read_video_meta
from bot.storage import Storage

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Deliverer:
    storage: Storage
    messenger: Messenger
    files: TaskFiles
    api: VideoApi
    ending: TaskEnding  # failures and the end
    upload_limit: int  # the largest video the messenger can send (LifecycleSettings)
    clock: Callable[[], float] = time.time
    metrics: Metrics = field(default_factory=NoMetrics)
    clips: Clips | None = None  # keeps each video's last frame
    # When this process first tried to deliver each task: the poll step that sees it
    # completed delivers at once, so this is when the completion was seen (after a restart,
    # when the delivery was taken over). The delivery delay is measured from it.
    _since: dict[str, float] = field(default_factory=dict)
    _uploads: set[asyncio.Future[None]] = field(default_factory=set)

    async def deliver(self, record: TaskRecord) -> None:
        """Send the video of a DELIVERING task and end it.

        A passing failure (VideoServiceError, DeliveryRetryableError) propagates: the caller
        retries later, and the task stays DELIVERING until then.
        """
        assert record.video_url is not None  # DELIVERING always has one
        self._since.setdefault(record.id, self.clock())
        if record.upload_started_at is not None:
            # An upload that may have reached the chat (its answer lost, or a stop in the
            # middle of it): never sent again, the link follows instead.
            await self._send_link(record, Notice.MAYBE_SENT)
            return
        path = self.files.download_path(record)
        handed_over = False
        try:
            await self.api.download(record.video_url, path, max_bytes=self.upload_limit)
            handed_over = True
            # A stop cancels the poll job, not the upload under way: that one ends, and is
            # recorded, while the stop waits for it (`finish_uploads`). Cut, it would reach
            # the chat unrecorded and the next start could only send its link.
            await self._shielded(self._send_and_finish(record, path))
        except ResultTooLargeError:
            task_log(log, record).info("result too large, sending the link")
            await self._send_link(record, Notice.TOO_LARGE)
            return
        except DeliveryUncertainError as exc:
            task_log(log, record).warning("upload unconfirmed (%s): the link follows", exc)
            await self._send_link(record, Notice.MAYBE_SENT)
            return
        except ResultGoneError as exc:
            self.metrics.service_error(error_kind(exc))
            self._since.pop(record.id, None)
            await self.ending.fail(record, Failure.LINK_GONE, exc)
            return
        except ChatUnreachableError as exc:
            self._since.pop(record.id, None)
            await self.ending.fail(record, Failure.CHAT_GONE, exc)
            return
        finally:
            if not handed_over:
                path.unlink(missing_ok=True)

    async def _send_and_finish(self, record: TaskRecord, path: Path) -> None:
        try:
            sent = await self._upload(record, path)
            # The file is at hand: its last frame, for Continue. Kept before the task ends, so
            # a /forget right after the delivery finds it (an ended task's files go with it).
            if self.clips is not None:
                await self.clips.keep_frame(record, path)
            self._delivered(record)
            await self.ending.finish(record, TaskState.DONE, sent=sent)
            task_log(log, record).info("delivered as message %s", sent.message_id)
        finally:
            discard(path)

    async def _shielded(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._uploads.add(task)
        task.add_done_callback(self._uploads.discard)
        await asyncio.shield(task)

    async def finish_uploads(self, within: float) -> int:
        """At a stop, after the jobs were cancelled: wait up to `within` seconds for the
        uploads under way to end and be recorded. Returns how many there were."""
        under_way = set(self._uploads)
        if under_way:
            done, cut = await asyncio.wait(under_way, timeout=within)
            log.info("stop: %s uploads ended, %s cut short", len(done), len(cut))
        return len(under_way)

    def _delivered(self, record: TaskRecord) -> None:
        since = self._since.pop(record.id, None)
        if since is not None:
            self.metrics.video_delivered(max(0.0, self.clock() - since))

    async def _upload(self, record: TaskRecord, path: Path) -> SentVideo:
        """Upload under a mark that survives a stop: once set, the video is never sent again
        (cleared when Telegram's answer says it did not take it)."""
        await self.storage.update_task(record.id, UploadStarted(upload_started_at=self.clock()))
        try:
            return await self.messenger.send_video(record, path, read_video_meta(path))
        except DeliveryUncertainError:
            raise
        except Exception:
            await self.storage.update_task(record.id, UploadStarted(upload_started_at=None))
            raise

    async def _send_link(self, record: TaskRecord, notice: Notice) -> None:
        try:
            await self.messenger.send_link(record, maybe_sent=notice is Notice.MAYBE_SENT)
        except ChatUnreachableError as exc:
            self._since.pop(record.id, None)
            await self.ending.fail(record, Failure.CHAT_GONE, exc)
            return
        self._delivered(record)
        await self.ending.finish(record, TaskState.DONE, notice)
