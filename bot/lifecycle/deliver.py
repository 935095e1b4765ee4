"""Deliver exactly once: download the result, upload it to the chat, record that it is done."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord, TaskState
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.failures import Failure
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.ports import (
    ChatUnreachableError,
    Messenger,
    ResultGoneError,
    ResultTooLargeError,
    VideoApi,
)
from bot.lifecycle.tasklog import task_log
from bot.mp4 import read_video_meta

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Deliverer:
    messenger: Messenger
    files: TaskFiles
    api: VideoApi
    ending: TaskEnding  # failures and the end
    upload_limit: int  # the largest video the messenger can send (LifecycleSettings)

    async def deliver(self, record: TaskRecord) -> None:
        """Send the video of a DELIVERING task and end it.

        A passing failure (VideoServiceError, DeliveryRetryableError) propagates: the caller
        retries later, and the task stays DELIVERING until then.
        """
        assert record.video_url is not None  # DELIVERING always has one
        path = self.files.download_path(record)
        try:
            await self.api.download(record.video_url, path, max_bytes=self.upload_limit)
            sent = await self.messenger.send_video(record, path, read_video_meta(path))
        except ResultTooLargeError:
            task_log(log, record).info("result too large, sending the link")
            await self._send_link(record)
            return
        except ResultGoneError as exc:
            await self.ending.fail(record, Failure.LINK_GONE, exc)
            return
        except ChatUnreachableError as exc:
            await self.ending.fail(record, Failure.CHAT_GONE, exc)
            return
        finally:
            path.unlink(missing_ok=True)
        await self.ending.finish(record, TaskState.DONE, sent=sent)
        task_log(log, record).info("delivered as message %s", sent.message_id)

    async def _send_link(self, record: TaskRecord) -> None:
        try:
            await self.messenger.send_link(record)
        except ChatUnreachableError as exc:
            await self.ending.fail(record, Failure.CHAT_GONE, exc)
            return
        await self.ending.finish(record, TaskState.DONE, Notice.TOO_LARGE)
