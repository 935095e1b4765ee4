"""Poll: ask apimart how a running task is doing, redraw progress, hand completions over."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.domain.poll_schedule import next_poll_delay
from bot.domain.records import TaskRecord, TaskState
from bot.domain.transitions import Completed, PollFailed, Progressed, Redrawn
from bot.lifecycle.deliver import Deliverer
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.failures import Failure
from bot.lifecycle.ports import (
    DeliveryRetryableError,
    Messenger,
    Metrics,
    NoMetrics,
    ServiceBusyError,
    VideoApi,
    VideoServiceError,
    VideoStatus,
    error_kind,
)
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage

log = logging.getLogger(__name__)

MAX_POLL_BACKOFF = 300.0
BACKOFF_BASE = 5.0
CALLBACK_FALLBACK_FACTOR = 3.0  # with webhook completion, poll this much more sparsely
MAX_FALLBACK_DELAY = 90.0  # the first retry after a failed query, when no POLL_INTERVAL is set


@dataclass(kw_only=True)
class Poller:
    storage: Storage
    messenger: Messenger
    api: VideoApi
    ending: TaskEnding  # failures
    deliverer: Deliverer
    clock: Callable[[], float] = time.time
    poll_interval: float | None = None  # None: adaptive (bot/domain/poll_schedule.py)
    task_timeout: float = 3600.0
    progress_edit_interval: float = 0.0
    owner: str = "local"
    metrics: Metrics = field(default_factory=NoMetrics)

    async def step(self, task_id: str) -> float | None:
        """One polling step. Returns seconds until the next step, or None when done."""
        record = await self.storage.get_task(task_id)
        if record is None or record.state not in (TaskState.RUNNING, TaskState.DELIVERING):
            return None
        if record.leased_by_other(self.owner, self.clock()):
            return None  # another process works on it now
        if record.state is TaskState.DELIVERING:
            return await self._deliver(record)
        started = record.submitted_at or record.created_at
        if self.clock() - started > self.task_timeout:
            await self.ending.fail(record, Failure.DEADLINE)
            return None
        assert record.apimart_task_id is not None  # RUNNING always has one
        self.metrics.status_queried()
        try:
            status = await self.api.get_task(record.apimart_task_id, language=record.language)
        except VideoServiceError as exc:
            self.metrics.service_error(error_kind(exc))
            return await self.failed(record, exc)
        return await self._apply(record, status)

    async def take_over(self, leased: list[TaskRecord]) -> list[TaskRecord]:
        """Tasks just leased to this process (after a restart, or from a process that died):
        settle interrupted submits, return the tasks to poll."""
        to_poll: list[TaskRecord] = []
        for record in leased:
            if record.state is TaskState.SUBMITTING:
                # The POST may or may not have reached apimart: never resubmit on our own.
                await self.ending.fail(record, Failure.RESTARTED_IN_SUBMIT)
            else:
                task_log(log, record).info("resuming (%s)", record.state)
                to_poll.append(record)
        return to_poll

    async def failed(self, record: TaskRecord, exc: Exception) -> float:
        """A passing failure: back off (honouring Retry-After) and try again."""
        failures = record.poll_failures + 1
        await self.storage.update_task(record.id, PollFailed(poll_failures=failures))
        base = self.poll_interval or BACKOFF_BASE
        if isinstance(exc, ServiceBusyError) and exc.retry_after is not None:
            delay = min(max(exc.retry_after, base), MAX_POLL_BACKOFF)
        else:
            delay = min(base * 2 ** min(failures, 10), MAX_POLL_BACKOFF)
        task_log(log, record).warning(
            "status query failed (%s: %s), retry in %.0fs", type(exc).__name__, exc, delay
        )
        return delay

    async def _deliver(self, record: TaskRecord) -> float | None:
        try:
            await self.deliverer.deliver(record)
        except (VideoServiceError, DeliveryRetryableError) as exc:
            if isinstance(exc, VideoServiceError):  # the download; a passing Telegram error is not
                self.metrics.service_error(error_kind(exc))
            return await self.failed(record, exc)
        return None

    async def _apply(self, record: TaskRecord, status: VideoStatus) -> float | None:
        if status.status in ("failed", "cancelled"):
            message = status.error
            await self.ending.fail(
                record, Failure.FAILED_UPSTREAM, f"{status.status}: {message}", error=message
            )
            return None
        if status.status == "completed":
            return await self._completed(record, status)
        if not await self._progress(record, status):
            return None
        if self.poll_interval is not None:
            delay = self.poll_interval  # POLL_INTERVAL set: a fixed schedule, as asked
        else:
            elapsed = self.clock() - (record.submitted_at or record.created_at)
            delay = next_poll_delay(elapsed, status.progress, status.estimated_time)
        if record.callback_token:  # the end is announced: polling is only the fallback
            delay = min(delay * CALLBACK_FALLBACK_FACTOR, MAX_FALLBACK_DELAY)
        return delay

    async def _completed(self, record: TaskRecord, status: VideoStatus) -> float | None:
        if not status.video_url:
            await self.ending.fail(record, Failure.NO_VIDEO)
            return None
        delivering = await self.storage.update_task(
            record.id,
            Completed(
                api_status=status.status,
                video_url=status.video_url,
                expires_at=status.expires_at,
                seed_used=record.seed_used if status.seed is None else status.seed,
            ),
        )
        return await self._deliver(delivering) if delivering else None

    async def _progress(self, record: TaskRecord, status: VideoStatus) -> bool:
        """Record the progress; False when the task stopped running meanwhile."""
        now = self.clock()
        view = replace(record, api_status=status.status, progress=status.progress).progress_view
        # Edit only when the view changes, and not more often than progress_edit_interval.
        redraw = view != record.shown_view and (
            now - record.shown_at >= self.progress_edit_interval
        )
        unchanged = (status.status, status.progress, 0) == (
            record.api_status,
            record.progress,
            record.poll_failures,
        )
        if unchanged and not redraw:
            return True  # nothing to record: a poll that changed nothing writes nothing
        progressed = Progressed(api_status=status.status, progress=status.progress)
        if redraw:
            progressed = replace(progressed, shown_view=view, shown_at=now)
        updated = await self.storage.update_task(record.id, progressed)
        if updated is not None and redraw and not await self.messenger.show_progress(updated):
            # Dropped to keep the flood budget for others: the next poll tries again.
            await self.storage.update_task(
                record.id, Redrawn(shown_view=record.shown_view, shown_at=record.shown_at)
            )
        return updated is not None
