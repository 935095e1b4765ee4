"""What the lifecycle needs from the outside, as protocols: Telegram, the video API, a timer.

The lifecycle never imports `telegram` or aiohttp; tests give it in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.apimart import GenerationRequest, TaskStatus
from bot.domain.notices import Notice
from bot.domain.records import TaskRecord
from bot.mp4 import VideoMeta


class ChatUnreachableError(Exception):
    """The chat cannot receive messages any more (bot blocked, chat deleted)."""


class DeliveryRetryableError(Exception):
    """Sending failed for a passing reason; try again later."""


@dataclass(frozen=True)
class SentVideo:
    message_id: int
    file_id: str | None = None  # Telegram's id of the uploaded video: re-sent without upload


class Messenger(Protocol):
    async def show_card(self, record: TaskRecord) -> None:
        """Redraw the card for the record's state; a card that is gone is not an error."""

    async def show_progress(self, record: TaskRecord) -> bool:
        """Redraw a running task's progress if the flood budget allows; False: skipped, so
        the next change of progress redraws it."""

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        """Upload the video as a reply to the photo, with its Again/Edit/×3 buttons."""

    async def send_link(self, record: TaskRecord) -> int:
        """Send the result link instead of the video; return the new message's id."""

    async def alert_admins(self, admin_ids: frozenset[int], notice: Notice) -> None:
        """Tell the operators about a problem only they can fix (key, balance)."""


class VideoApi(Protocol):
    """The part of `bot.apimart.ApimartClient` the lifecycle uses."""

    async def submit(self, request: GenerationRequest, *, idempotency_key: str) -> str: ...

    async def get_task(self, task_id: str, *, language: str = "en") -> TaskStatus: ...

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int: ...


class PollScheduler(Protocol):
    def schedule_poll(self, task_id: str, delay: float) -> None:
        """Run the task's next poll step in `delay` seconds, unless one is already due."""

    def poll_now(self, task_id: str) -> None:
        """Run the task's next poll step at once, instead of when it was due."""
