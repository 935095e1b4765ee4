"""Task lifecycle: submit once, poll, deliver exactly once. Knows nothing about Telegram.

Telegram is reached through the Messenger protocol; scheduling belongs to the caller, which
gets back how long to wait before the next poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from bot.apimart import (
    ApimartAuthenticationError,
    ApimartClient,
    ApimartConnectionError,
    ApimartError,
    ApimartInsufficientBalanceError,
    ApimartInvalidRequestError,
    ApimartRateLimitError,
    DownloadGoneError,
    DownloadTooLargeError,
    GenerationRequest,
    SubmitOutcomeUnknownError,
    TaskStatus,
)
from bot.domain.access import LimitReached, Limits
from bot.domain.records import ACTIVE_STATES, RETRYABLE_STATES, TaskRecord, TaskState
from bot.domain.usage import usage_of
from bot.images import PreparedImage
from bot.mp4 import VideoMeta, read_video_meta
from bot.storage.tinydb import Storage

log = logging.getLogger(__name__)

MAX_POLL_BACKOFF = 300.0
TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024
LOCAL_UPLOAD_LIMIT = 2000 * 1024 * 1024  # a self-hosted Bot API server (--local)
ADMIN_ALERT_INTERVAL = 3600.0
# Over for good: the photo and any served soundtrack can go.
ENDED_STATES = frozenset({TaskState.DONE, TaskState.CANCELLED, TaskState.CLOSED})


class Notice:
    """Why a card shows a message; presentation turns these codes into translated text."""

    INVALID_REQUEST = "invalid_request"
    SERVICE_UNAVAILABLE = "service_unavailable"
    NO_BALANCE = "no_balance"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    API_FAILED = "api_failed"
    NO_VIDEO = "no_video"
    LINK_EXPIRED = "link_expired"
    TOO_LARGE = "too_large"
    TIMED_OUT = "timed_out"


class ChatUnreachableError(Exception):
    """The chat cannot receive messages any more (bot blocked, chat deleted)."""


class DeliveryRetryableError(Exception):
    """Sending failed for a passing reason; try again later."""


class Messenger(Protocol):
    async def show_card(self, record: TaskRecord) -> None:
        """Redraw the card for the record's state; a card that is gone is not an error."""

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> int:
        """Upload the video as a reply to the photo; return the new message's id."""

    async def send_link(self, record: TaskRecord) -> int:
        """Send the result link instead of the video; return the new message's id."""

    async def alert_admins(self, admin_ids: frozenset[int], notice: str) -> None:
        """Tell the operators about a problem only they can fix (key, balance)."""


@dataclass
class GenerationService:
    storage: Storage
    client: ApimartClient
    messenger: Messenger
    images_dir: Path
    work_dir: Path
    audio_dir: Path
    poll_interval: float = 10.0
    task_timeout: float = 3600.0
    limits: Limits = field(default_factory=Limits)
    upload_limit: int = TELEGRAM_UPLOAD_LIMIT
    progress_edit_interval: float = 0.0
    admin_ids: frozenset[int] = frozenset()
    clock: Callable[[], float] = time.time
    # When each kind of admin alert was last sent: one alert per problem, not one per user.
    _alerted: dict[str, float] = field(default_factory=dict)
    _claim_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def image_path(self, record: TaskRecord) -> Path:
        return self.images_dir / record.image_file

    def save_image(self, task_id: str, image: PreparedImage) -> str:
        self.images_dir.mkdir(parents=True, exist_ok=True)
        name = f"{task_id}.jpg"
        (self.images_dir / name).write_bytes(image.jpeg)
        return name

    async def claim(self, record: TaskRecord, *, admin: bool) -> TaskRecord | LimitReached | None:
        """Reserve the card for one paid submission, or say why not.

        None: another press got there first. The limits are checked and the state set under
        one lock, so two cards pressed at once cannot both slip past a limit.
        """
        async with self._claim_lock:
            current = await self.storage.get_task(record.id)
            if current is None or current.state not in {TaskState.DRAFT, *RETRYABLE_STATES}:
                return None
            usage = usage_of(await self.storage.all_tasks(), current.user_id, self.clock())
            verdict = self.limits.check(
                admin=admin,
                duration=current.settings.duration,
                user_active=usage.user_active,
                total_active=usage.total_active,
                used_today=usage.used_today,
            )
            if verdict is not None:
                log.info(
                    "task %s user %s chat %s: refused, %s",
                    current.id,
                    current.user_id,
                    current.chat_id,
                    verdict,
                )
                return verdict
            return await self.storage.update_task(
                current.id,
                expect={TaskState.DRAFT, *RETRYABLE_STATES},
                state=TaskState.SUBMITTING,
                attempt=current.attempt + 1,
                seed_used=current.settings.seed,
                notice="",
                error="",
                progress=0,
                api_status="",
            )

    async def submit(self, claimed: TaskRecord) -> TaskRecord | None:
        """POST the claimed card's generation; the returned record says what happened."""
        log.info(
            "task %s user %s chat %s: submitting attempt %s",
            claimed.id,
            claimed.user_id,
            claimed.chat_id,
            claimed.attempt,
        )
        await self.messenger.show_card(claimed)
        try:
            jpeg = self.image_path(claimed).read_bytes()
        except OSError:
            log.error(
                "task %s user %s chat %s: image file is missing",
                claimed.id,
                claimed.user_id,
                claimed.chat_id,
            )
            return await self._back_to_draft(claimed, Notice.INVALID_REQUEST, "image missing")
        request = GenerationRequest(
            image_data_url=PreparedImage(
                jpeg, claimed.image_width, claimed.image_height
            ).data_url(),
            prompt=claimed.prompt,
            resolution=claimed.settings.resolution,
            duration=claimed.settings.duration,
            audio=claimed.settings.audio,
            prompt_extend=claimed.settings.prompt_extend,
            shot_type=claimed.settings.shot_type,
            watermark=claimed.settings.watermark,
            seed=claimed.settings.seed,
            negative_prompt=claimed.settings.negative_prompt,
            audio_url=claimed.soundtrack_url,
            template=claimed.template,
        )
        try:
            api_task_id = await self.client.submit(
                request, idempotency_key=claimed.idempotency_key
            )
        except SubmitOutcomeUnknownError as exc:
            log.warning(
                "task %s user %s chat %s: submit outcome unknown: %s",
                claimed.id,
                claimed.user_id,
                claimed.chat_id,
                exc,
            )
            return await self._finish(claimed, TaskState.UNKNOWN, Notice.OUTCOME_UNKNOWN)
        except ApimartInvalidRequestError as exc:
            log.info(
                "task %s user %s chat %s: request refused: %s",
                claimed.id,
                claimed.user_id,
                claimed.chat_id,
                exc,
            )
            return await self._back_to_draft(claimed, Notice.INVALID_REQUEST, exc.message)
        except ApimartAuthenticationError as exc:
            log.critical(
                "apimart rejected the API key (HTTP %s): check APIMART_API_KEY", exc.status
            )
            await self._alert(Notice.SERVICE_UNAVAILABLE)
            return await self._back_to_draft(claimed, Notice.SERVICE_UNAVAILABLE)
        except ApimartInsufficientBalanceError:
            log.critical("apimart balance exhausted: top up the account")
            await self._alert(Notice.NO_BALANCE)
            return await self._back_to_draft(claimed, Notice.NO_BALANCE)
        except ApimartRateLimitError:
            log.warning(
                "task %s user %s chat %s: rate limited on submit",
                claimed.id,
                claimed.user_id,
                claimed.chat_id,
            )
            return await self._back_to_draft(claimed, Notice.BUSY)
        except ApimartError as exc:
            # Connection refused or 503 after retries: certainly not accepted.
            log.warning(
                "task %s user %s chat %s: submit failed: %s",
                claimed.id,
                claimed.user_id,
                claimed.chat_id,
                exc,
            )
            return await self._back_to_draft(claimed, Notice.UNREACHABLE)
        running = await self.storage.update_task(
            claimed.id,
            state=TaskState.RUNNING,
            apimart_task_id=api_task_id,
            api_status="submitted",
            submitted_at=self.clock(),
            poll_failures=0,
            # the "queued" view this transition draws
            shown_view=replace(claimed, api_status="submitted", progress=0).progress_view,
            shown_at=self.clock(),
        )
        assert running is not None
        log.info(
            "task %s user %s chat %s: submitted as %s",
            running.id,
            running.user_id,
            running.chat_id,
            api_task_id,
        )
        await self.messenger.show_card(running)
        return running

    async def cancel(self, record: TaskRecord) -> TaskRecord | None:
        """Stop waiting (there is no cancel endpoint) or discard a draft."""
        cancelled = await self._finish(
            record,
            TaskState.CANCELLED,
            expect={TaskState.DRAFT, TaskState.RUNNING, *RETRYABLE_STATES},
        )
        if cancelled is not None:
            log.info(
                "task %s user %s chat %s: cancelled from %s",
                record.id,
                record.user_id,
                record.chat_id,
                record.state,
            )
        return cancelled

    async def expire(self, max_age: float) -> int:
        """Close cards nobody came back to within `max_age` seconds (abandoned drafts, failed
        tasks never retried) and delete their photo and soundtrack, so disk use stays bounded.
        Returns how many were closed."""
        now = self.clock()
        closed = 0
        for record in await self.storage.tasks_in({TaskState.DRAFT, *RETRYABLE_STATES}):
            if now - (record.finished_at or record.created_at) < max_age:
                continue
            if await self._finish(record, TaskState.CLOSED, expect={record.state}):
                closed += 1
        if closed:
            log.info("closed %s cards left alone for more than %.0f hours", closed, max_age / 3600)
        return closed

    async def recover(self) -> list[TaskRecord]:
        """After a restart: settle interrupted submits, return the tasks to poll again."""
        to_poll: list[TaskRecord] = []
        for record in await self.storage.tasks_in(ACTIVE_STATES):
            if record.state is TaskState.SUBMITTING:
                # The POST may or may not have reached apimart: never resubmit on our own.
                log.warning(
                    "task %s user %s chat %s: restart during submit, outcome unknown",
                    record.id,
                    record.user_id,
                    record.chat_id,
                )
                await self._finish(record, TaskState.UNKNOWN, Notice.OUTCOME_UNKNOWN)
            else:
                log.info(
                    "task %s user %s chat %s: resuming (%s)",
                    record.id,
                    record.user_id,
                    record.chat_id,
                    record.state,
                )
                to_poll.append(record)
        return to_poll

    async def poll(self, task_id: str) -> float | None:
        """One polling step. Returns seconds until the next step, or None when done."""
        record = await self.storage.get_task(task_id)
        if record is None or record.state not in (TaskState.RUNNING, TaskState.DELIVERING):
            return None
        if record.state is TaskState.DELIVERING:
            return await self._deliver(record)
        started = record.submitted_at or record.created_at
        if self.clock() - started > self.task_timeout:
            log.warning(
                "task %s user %s chat %s: deadline passed",
                record.id,
                record.user_id,
                record.chat_id,
            )
            await self._finish(record, TaskState.TIMED_OUT, Notice.TIMED_OUT)
            return None
        assert record.apimart_task_id is not None
        try:
            status = await self.client.get_task(record.apimart_task_id, language=record.language)
        except ApimartError as exc:
            return await self._poll_failed(record, exc)
        return await self._apply_status(record, status)

    async def _apply_status(self, record: TaskRecord, status: TaskStatus) -> float | None:
        if status.status in ("failed", "cancelled"):
            message = status.error.message if status.error else ""
            log.info(
                "task %s user %s chat %s: %s upstream: %s",
                record.id,
                record.user_id,
                record.chat_id,
                status.status,
                message,
            )
            await self._finish(record, TaskState.FAILED, Notice.API_FAILED, message)
            return None
        if status.status == "completed":
            if not status.video_url:
                log.warning(
                    "task %s user %s chat %s: completed without a video",
                    record.id,
                    record.user_id,
                    record.chat_id,
                )
                await self._finish(record, TaskState.FAILED, Notice.NO_VIDEO)
                return None
            delivering = await self.storage.update_task(
                record.id,
                expect={TaskState.RUNNING},
                state=TaskState.DELIVERING,
                api_status=status.status,
                progress=100,
                video_url=status.video_url,
                expires_at=status.expires_at,
                seed_used=record.seed_used if status.seed is None else status.seed,
                poll_failures=0,
            )
            return await self._deliver(delivering) if delivering else None
        now = self.clock()
        polled = replace(record, api_status=status.status, progress=status.progress)
        view = polled.progress_view
        # Edit only when the view changes, and not more often than progress_edit_interval.
        redraw = view != record.shown_view and (
            now - record.shown_at >= self.progress_edit_interval
        )
        changes = {"shown_view": view, "shown_at": now} if redraw else {}
        updated = await self.storage.update_task(
            record.id,
            expect={TaskState.RUNNING},
            api_status=status.status,
            progress=status.progress,
            poll_failures=0,
            **changes,
        )
        if updated is None:
            return None
        if redraw:
            await self.messenger.show_card(updated)
        return self.poll_interval

    async def _poll_failed(self, record: TaskRecord, exc: ApimartError) -> float:
        failures = record.poll_failures + 1
        await self.storage.update_task(record.id, poll_failures=failures)
        if isinstance(exc, ApimartRateLimitError) and exc.retry_after is not None:
            delay = min(max(exc.retry_after, self.poll_interval), MAX_POLL_BACKOFF)
        else:
            delay = min(self.poll_interval * 2 ** min(failures, 10), MAX_POLL_BACKOFF)
        log.warning(
            "task %s user %s chat %s: status query failed (%s: %s), retry in %.0fs",
            record.id,
            record.user_id,
            record.chat_id,
            type(exc).__name__,
            exc,
            delay,
        )
        return delay

    async def _deliver(self, record: TaskRecord) -> float | None:
        assert record.video_url is not None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / f"{record.id}.mp4"
        try:
            try:
                await self.client.download(record.video_url, path, max_bytes=self.upload_limit)
            except DownloadTooLargeError:
                log.info(
                    "task %s user %s chat %s: result too large, sending the link",
                    record.id,
                    record.user_id,
                    record.chat_id,
                )
                await self.messenger.send_link(record)
                await self._finish(record, TaskState.DONE, Notice.TOO_LARGE)
                return None
            except DownloadGoneError as exc:
                log.warning(
                    "task %s user %s chat %s: result link gone (%s)",
                    record.id,
                    record.user_id,
                    record.chat_id,
                    exc,
                )
                await self._finish(record, TaskState.FAILED, Notice.LINK_EXPIRED)
                return None
            except ApimartError as exc:
                return await self._poll_failed(record, exc)
            meta = read_video_meta(path)
            message_id = await self.messenger.send_video(record, path, meta)
        except ChatUnreachableError as exc:
            log.warning(
                "task %s user %s chat %s: chat unreachable, closing: %s",
                record.id,
                record.user_id,
                record.chat_id,
                exc,
            )
            await self._finish(record, TaskState.CLOSED, redraw=False)
            return None
        except DeliveryRetryableError as exc:
            return await self._poll_failed(record, ApimartConnectionError(str(exc)))
        finally:
            path.unlink(missing_ok=True)
        await self._finish(record, TaskState.DONE, video_message_id=message_id)
        log.info(
            "task %s user %s chat %s: delivered as message %s",
            record.id,
            record.user_id,
            record.chat_id,
            message_id,
        )
        return None

    async def _alert(self, notice: str) -> None:
        now = self.clock()
        if not self.admin_ids or now - self._alerted.get(notice, -1e18) < ADMIN_ALERT_INTERVAL:
            return
        self._alerted[notice] = now
        await self.messenger.alert_admins(self.admin_ids, notice)

    async def _back_to_draft(self, record: TaskRecord, notice: str, error: str = "") -> TaskRecord:
        """The service certainly did not accept the task: let the user adjust and retry."""
        updated = await self.storage.update_task(
            record.id, state=TaskState.DRAFT, notice=notice, error=error
        )
        assert updated is not None
        await self.messenger.show_card(updated)
        return updated

    async def _finish(
        self,
        record: TaskRecord,
        state: TaskState,
        notice: str = "",
        error: str = "",
        *,
        expect: set[TaskState] | None = None,
        redraw: bool = True,
        **changes: object,
    ) -> TaskRecord | None:
        """Move the task to a final (or retryable) state; None when `expect` did not hold.

        Ended tasks free their files; `redraw=False` when the chat can no longer be reached.
        """
        updated = await self.storage.update_task(
            record.id,
            expect=expect,
            state=state,
            notice=notice,
            error=error,
            finished_at=self.clock(),
            **changes,
        )
        if updated is None:
            return None
        if state in ENDED_STATES:
            self._drop_image(updated)
        if redraw:
            await self.messenger.show_card(updated)
        return updated

    def _drop_image(self, record: TaskRecord) -> None:
        """The task is over: its photo and any soundtrack we served are no longer needed."""
        self.image_path(record).unlink(missing_ok=True)
        if record.soundtrack_file:
            (self.audio_dir / record.soundtrack_file).unlink(missing_ok=True)
