"""What the lifecycle needs from the outside, in its own terms: Telegram, the video service,
a timer — protocols, and the errors each may raise.

The lifecycle never imports `telegram`, aiohttp or the apimart client: adapters do
(`bot/telegram/messenger.py`, `bot/adapters/apimart_video.py`); tests give it in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.domain.notices import Notice
from bot.domain.records import TaskRecord
from bot.images import PreparedImage
from bot.mp4 import VideoMeta


class ChatUnreachableError(Exception):
    """The chat cannot receive messages any more (bot blocked, chat deleted)."""


class DeliveryRetryableError(Exception):
    """Sending failed for a passing reason; try again later."""


class DeliveryUncertainError(Exception):
    """The upload's answer was lost (a timeout, a dropped connection): Telegram may have
    taken the video. Sending it again could deliver it twice."""


@dataclass(frozen=True)
class SentVideo:
    message_id: int
    file_id: str | None = None  # Telegram's id of the uploaded video: re-sent without upload
    in_private: bool = False  # sent to the member in private (their group's rule)


class PhotoUnavailableError(Exception):
    """Telegram no longer gives the photo (or it is no longer usable)."""


class PhotoSource(Protocol):
    async def fetch(self, photo_file_id: str) -> PreparedImage:
        """The photo again, prepared for the API, by Telegram's id of it; raises
        PhotoUnavailableError."""


class GroupRoles(Protocol):
    """Who a group's admins are, as Telegram says (kept briefly: a demoted admin's rights end
    within that time)."""

    async def is_admin(self, chat_id: int, user_id: int) -> bool: ...


class ClipUnavailableError(Exception):
    """Telegram no longer gives this video (or not to a bot: over its download limit)."""


class ClipSource(Protocol):
    """A delivered video again, by Telegram's id of it: for its last frame on a replica that
    did not deliver it, for a join, for a round note."""

    async def download(self, video_file_id: str, dest: Path) -> None:
        """Written to `dest`; raises ClipUnavailableError."""


class SoundtrackStore(Protocol):
    """Uploaded soundtracks the bot serves at /audio/<name>: on this disk (one process), or
    in PostgreSQL, where every replica serves every one (the provider's fetch may land on
    any replica behind the proxy)."""

    async def save(self, name: str, data: bytes) -> None: ...

    async def read(self, name: str) -> bytes | None:
        """None when there is no such soundtrack (any more)."""

    async def delete(self, name: str) -> None: ...

    async def sweep(self, in_use: set[str]) -> int:
        """Delete those nothing refers to; returns how many."""


class Messenger(Protocol):
    async def post_card(self, record: TaskRecord) -> int | None:
        """Send the card as a new message replying to the photo; its id, or None when the
        chat cannot get it (blocked, gone)."""

    async def show_card(self, record: TaskRecord) -> None:
        """Redraw the card for the record's state; a card that is gone is not an error."""

    async def show_progress(self, record: TaskRecord) -> bool:
        """Redraw a running task's progress if the flood budget allows; False: skipped, so
        the next change of progress redraws it."""

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        """Upload the video as a reply to the photo, with its Again/Edit/×3 buttons."""

    async def send_link(self, record: TaskRecord, *, maybe_sent: bool = False) -> int:
        """Send the result link instead of the video (`maybe_sent`: after an upload whose
        answer was lost, saying so); return the new message's id."""

    async def alert_admins(self, admin_ids: frozenset[int], notice: Notice) -> None:
        """Tell the operators about a problem only they can fix (key, balance)."""


# -- the video service -------------------------------------------------------------------


class VideoServiceError(Exception):
    """The video service failed; `message` is its own text when it sent one."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class SubmitRefusedError(VideoServiceError):
    """The service will not make this request as it is (the message says why)."""


class ServiceKeyError(VideoServiceError):
    """The operator's key was rejected: only the operator can fix it."""


class ServiceBalanceError(VideoServiceError):
    """The operator's balance with the service is exhausted."""


class ServiceBusyError(VideoServiceError):
    """Rate limited; `retry_after` is the service's hint in seconds, when it gave one."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnreachableError(VideoServiceError):
    """No answer, or a passing server error: a submission certainly was not accepted."""


class SubmitOutcomeUnknownError(VideoServiceError):
    """A submission was sent but whether it was accepted is unknown: never resubmit it."""


class ResultGoneError(VideoServiceError):
    """The result link expired or was removed."""


class ResultTooLargeError(VideoServiceError):
    """The result is larger than may be uploaded."""


@dataclass(frozen=True)
class VideoStatus:
    """How a task is doing, as the lifecycle reads it."""

    status: str  # "submitted", "processing", "completed", "failed", "cancelled", …
    progress: int = 0
    video_url: str | None = None
    expires_at: int | None = None
    estimated_time: int | None = None
    error: str = ""  # the service's reason for a failure, in the user's language
    seed: int | None = None  # the seed the service reports it used, if it does


class VideoApi(Protocol):
    """The video service: submit a card's generation, ask how it is doing, fetch the result.
    Raises `VideoServiceError`s only."""

    async def submit(
        self,
        record: TaskRecord,
        image: PreparedImage,
        *,
        webhook: str | None,
        idempotency_key: str,
    ) -> str:
        """Ask for exactly what the card shows; returns the service's task id."""

    async def get_task(self, task_id: str, *, language: str = "en") -> VideoStatus: ...

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int: ...


class PricingApi(Protocol):
    async def get_pricing(self) -> object:
        """The service's raw price list (raises `VideoServiceError`)."""


class PollScheduler(Protocol):
    def schedule_poll(self, task_id: str, delay: float) -> None:
        """Run the task's next poll step in `delay` seconds, unless one is already due."""

    def poll_now(self, task_id: str) -> None:
        """Run the task's next poll step at once, instead of when it was due."""


# -- what an operator counts -------------------------------------------------------------


class Metrics(Protocol):
    """Events the lifecycle reports for the operator's numbers (bot/telegram/metrics.py);
    each is reported at the one place it happens."""

    def generation_ended(self, outcome: str) -> None:
        """A generation ended: done, failed, unknown, refused, timed_out, cancelled, closed."""

    def status_queried(self) -> None:
        """One status query to the video service, answered or not."""

    def video_delivered(self, delay: float) -> None:
        """A result reached the chat, `delay` seconds after its completion was seen."""

    def service_error(self, kind: str) -> None:
        """The video service failed a call (kind: busy, unreachable, refused, key, …)."""


class NoMetrics:
    """The default: nothing is counted."""

    def generation_ended(self, outcome: str) -> None:
        pass

    def status_queried(self) -> None:
        pass

    def video_delivered(self, delay: float) -> None:
        pass

    def service_error(self, kind: str) -> None:
        pass


_ERROR_KINDS: tuple[tuple[type[VideoServiceError], str], ...] = (
    (SubmitOutcomeUnknownError, "outcome_unknown"),
    (SubmitRefusedError, "refused"),
    (ServiceKeyError, "key"),
    (ServiceBalanceError, "balance"),
    (ServiceBusyError, "busy"),
    (ServiceUnreachableError, "unreachable"),
    (ResultGoneError, "result_gone"),
    (ResultTooLargeError, "too_large"),
)


def error_kind(error: VideoServiceError) -> str:
    """The `kind` label of `wanbot_apimart_errors_total` for an error."""
    return next((kind for cls, kind in _ERROR_KINDS if isinstance(error, cls)), "other")
