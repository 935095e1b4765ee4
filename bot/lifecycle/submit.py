"""Submit once: claim the card under the limits, then POST exactly one generation."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field, replace

from bot.apimart import ApimartError, GenerationRequest
from bot.domain.access import LimitReached, Limits
from bot.domain.queue_order import fair_order
from bot.domain.records import RETRYABLE_STATES, TaskRecord, TaskState
from bot.domain.settings import MAX_SEED
from bot.domain.usage import start_of_day
from bot.images import PreparedImage
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.failures import Failure, submit_failure
from bot.lifecycle.ports import PollScheduler, VideoApi
from bot.lifecycle.tasklog import task_log

log = logging.getLogger(__name__)

CLAIMABLE_STATES = frozenset({TaskState.DRAFT, *RETRYABLE_STATES})


def generation_request(
    record: TaskRecord, image: PreparedImage, callback_base: str | None = None
) -> GenerationRequest:
    """The body is exactly what the card shows (and, with a public address, where to call
    back: an unguessable per-attempt path, never a secret of ours)."""
    settings = record.settings
    return GenerationRequest(
        image_data_url=image.data_url(),
        prompt=record.prompt,
        resolution=settings.resolution,
        duration=settings.duration,
        audio=settings.audio,
        prompt_extend=settings.prompt_extend,
        shot_type=settings.shot_type,
        watermark=settings.watermark,
        seed=record.seed_used,
        negative_prompt=settings.negative_prompt,
        audio_url=record.soundtrack_url,
        template=record.template,
        webhook=callback_url(callback_base, record.callback_token),
    )


def seed_for(record: TaskRecord) -> int:
    """The card's fixed seed; "random" is drawn here (the API never reports the seed it drew,
    and a video whose seed is known can be made again). "Try again" sends the same one."""
    if record.settings.seed is not None:
        return record.settings.seed
    if record.state in (*RETRYABLE_STATES, TaskState.QUEUED) and record.seed_used is not None:
        return record.seed_used
    return secrets.randbelow(MAX_SEED + 1)


def callback_url(base: str | None, token: str | None) -> str | None:
    """`<base>/hooks/<token>`; the service appends `/callback`."""
    return f"{base.rstrip('/')}/hooks/{token}" if base and token else None


@dataclass
class Submitter:
    ending: TaskEnding
    api: VideoApi
    scheduler: PollScheduler
    limits: Limits = field(default_factory=Limits)
    first_poll_delay: float = 10.0
    owner: str = "local"
    lease_seconds: float = 30.0
    callback_base: str | None = None  # PUBLIC_BASE_URL: webhook completion when set
    _claim_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def claim(
        self, record: TaskRecord, *, from_queue: bool = False
    ) -> TaskRecord | LimitReached | None:
        """Reserve the card for one paid submission, put it in line, or say why not.

        Returns the SUBMITTING record, or the QUEUED one when the bot is full (or others are
        already waiting: a new press never jumps the line); a LimitReached of the user's own
        limits; None when another press got there first. The limits are checked and the
        state set under one lock, so two cards pressed at once cannot both slip past a limit.
        """
        storage = self.ending.storage
        async with self._claim_lock:
            current = await storage.get_task(record.id)
            wanted = {TaskState.QUEUED} if from_queue else CLAIMABLE_STATES
            if current is None or current.state not in wanted:
                return None
            usage = await storage.usage(current.user_id, start_of_day(self.ending.clock()))
            verdict = self.limits.check(
                admin=current.user_id in self.ending.admin_ids,
                duration=current.settings.duration,
                usage=usage,
            )
            joins_line = verdict is LimitReached.GLOBAL_ACTIVE or (
                verdict is None and not from_queue and await storage.tasks_in({TaskState.QUEUED})
            )
            if joins_line and from_queue:
                return current  # still full: it keeps its place
            if verdict is not None and not joins_line:
                task_log(log, current).info("refused, %s", verdict)
                return verdict
            reservation = await self._reserve(current)
            if reservation is None:
                return LimitReached.NO_CREDITS
            if joins_line:
                return await self._enqueue(current, reservation)
            claimed = await storage.update_task(
                current.id,
                expect={current.state},
                reservation=reservation or None,
                state=TaskState.SUBMITTING,
                attempt=current.attempt + 1,
                seed_used=seed_for(current),
                notice=None,
                error="",
                progress=0,
                api_status="",
                # from now on this process alone may act on the task
                lease_owner=self.owner,
                lease_until=self.ending.clock() + self.lease_seconds,
                callback_token=secrets.token_urlsafe(24) if self.callback_base else None,
            )
            if claimed is None and reservation and self.ending.billing is not None:
                await self.ending.billing.release(current, reservation)  # lost the race
            return claimed

    async def _reserve(self, current: TaskRecord) -> str | None:
        """The credits of this attempt (BILLING=stars): its ledger ref, "" when nothing is
        to be held (billing off, an admin), None when the balance is too small."""
        billing = self.ending.billing
        if billing is None or current.user_id in self.ending.admin_ids:
            return ""
        if current.state is TaskState.QUEUED and current.reservation:
            return current.reservation  # held since it joined the line
        if current.state is TaskState.UNKNOWN and current.reservation:
            await billing.spend(current)  # tried again: the unknown attempt counts as made
        # One ref per hold: a card back from the line (or refused) may be pressed again.
        ref = f"{current.id}:{current.attempt + 1}:{secrets.token_hex(3)}"
        return ref if await billing.reserve(current, ref) else None

    async def _enqueue(self, current: TaskRecord, reservation: str = "") -> TaskRecord | None:
        storage, now = self.ending.storage, self.ending.clock()
        line = await storage.tasks_in({TaskState.QUEUED})
        joining = replace(current, state=TaskState.QUEUED, queued_at=now)
        queued = await storage.update_task(
            current.id,
            expect={current.state},
            state=TaskState.QUEUED,
            queued_at=now,
            queue_position=fair_order([*line, joining]).index(joining),
            reservation=reservation or None,
            notice=None,
            error="",
        )
        if queued is not None:
            task_log(log, queued).info("queued: the bot is at its limit of tasks in flight")
        return queued

    async def submit(self, claimed: TaskRecord) -> TaskRecord | None:
        """POST the claimed card's generation; the returned record says what happened."""
        task_log(log, claimed).info("submitting attempt %s", claimed.attempt)
        await self.ending.messenger.show_card(claimed)
        try:
            image = self.ending.files.read_image(claimed)
        except OSError:
            return await self.ending.fail(claimed, Failure.IMAGE_MISSING, error="image missing")
        try:
            api_task_id = await self.api.submit(
                generation_request(claimed, image, self.callback_base),
                idempotency_key=claimed.idempotency_key,
            )
        except ApimartError as exc:
            failure = submit_failure(exc)
            shown = failure in (Failure.REFUSED, Failure.PROMPT_TOO_LONG)
            error = exc.message if shown else ""
            return await self.ending.fail(claimed, failure, exc, error=error)
        return await self._running(claimed, api_task_id)

    async def _running(self, claimed: TaskRecord, api_task_id: str) -> TaskRecord | None:
        now = self.ending.clock()
        running = await self.ending.storage.update_task(
            claimed.id,
            state=TaskState.RUNNING,
            apimart_task_id=api_task_id,
            api_status="submitted",
            submitted_at=now,
            poll_failures=0,
            # the "queued" view this transition draws
            shown_view=replace(claimed, api_status="submitted", progress=0).progress_view,
            shown_at=now,
        )
        if running is None:
            return None
        task_log(log, running).info("submitted as %s", api_task_id)
        await self.ending.messenger.show_card(running)
        self.scheduler.schedule_poll(running.id, self.first_poll_delay)
        return running
