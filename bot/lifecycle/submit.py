"""Submit once: claim the card under the limits, then POST exactly one generation."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace

from bot.domain.access import LimitReached, Limits
from bot.domain.billing import hold_ref
from bot.domain.groups import GroupVerdict
from bot.domain.queue_order import fair_order
from bot.domain.records import RETRYABLE_STATES, TaskRecord, TaskState
from bot.domain.settings import MAX_SEED
from bot.domain.transitions import CLAIMABLE, Accepted, Claim, Enqueue, UndoClaim
from bot.domain.usage import start_of_day
from bot.images import PreparedImage
from bot.lifecycle.billing import Billing
from bot.lifecycle.clips import Clips
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.failures import Failure, submit_failure
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.groups import Groups
from bot.lifecycle.ports import (
    Messenger,
    Metrics,
    NoMetrics,
    PhotoSource,
    PhotoUnavailableError,
    PollScheduler,
    VideoApi,
    VideoServiceError,
    error_kind,
)
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage
from bot.storage.errors import is_unreachable

log = logging.getLogger(__name__)

# How long a write the provider's answer depends on is tried again while the store is out of
# reach (a PostgreSQL restart), and the pauses in between.
WRITE_PATIENCE = 300.0


def retry_pauses() -> Iterator[float]:
    return itertools.chain((0.2, 0.5, 1.0, 2.0), itertools.repeat(5.0))


# Edits that land between a claim's read and its compare-and-set make it read again; past
# this many the press is dropped (a card edited that fast was not meant to go yet).
CLAIM_TRIES = 5


@dataclass(frozen=True)
class Claimed:
    """The card is this process's to submit now (SUBMITTING)."""

    record: TaskRecord


@dataclass(frozen=True)
class InLine:
    """The bot is full (or others wait): the card is QUEUED and starts by itself."""

    record: TaskRecord


@dataclass(frozen=True)
class Refused:
    """One of the user's own limits, or their credits, says no; nothing was held."""

    limit: LimitReached


@dataclass(frozen=True)
class Taken:
    """Another press got there first, or the card is no longer one that can be claimed."""


ClaimResult = Claimed | InLine | Refused | Taken


@dataclass(frozen=True)
class _Go:
    to_line: bool
    line: list[TaskRecord] | None = None  # who waits, when the verdict had to read it
    payer: int | None = None  # a group's wallet pays (its rules said so); None: the user


class _Edited:
    """The card changed between the claim's read and its compare-and-set."""


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


@dataclass(kw_only=True)
class Submitter:
    storage: Storage
    messenger: Messenger
    files: TaskFiles
    api: VideoApi
    scheduler: PollScheduler
    ending: TaskEnding  # failures
    billing: Billing | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    admin_ids: frozenset[int] = frozenset()
    limits: Limits = field(default_factory=Limits)
    first_poll_delay: float = 10.0
    owner: str = "local"
    lease_seconds: float = 30.0
    callback_base: str | None = None  # PUBLIC_BASE_URL: webhook completion when set
    metrics: Metrics = field(default_factory=NoMetrics)
    photos: PhotoSource | None = None  # Telegram: a photo kept on another replica's disk
    clips: Clips | None = None  # a continued card's last frame, taken again
    groups: Groups | None = None  # a group's rules: who generates, allowances, its wallet

    async def claim(self, record: TaskRecord, *, from_queue: bool = False) -> ClaimResult:
        """Take the card for one paid submission, put it in line, or say why not.

        A new press never jumps the line: with others waiting it joins them. One claim at a
        time on the whole store (every replica), so the limits cannot change under it. The
        compare-and-set that takes the card expects the version that was checked, so what is
        submitted is exactly that (an edit in between makes the claim look again); the
        credits are held after it, for the claimed card's price, under the ref it wrote.
        """
        if self.groups is not None and not from_queue:  # asked once, before any claim
            refused = await self.groups.who_refuses(record)
            if refused is not None:
                task_log(log, record).info("refused by the group's rules, %s", refused)
                return Refused(refused)
        async with self.storage.claims():
            for _ in range(CLAIM_TRIES):
                current = await self.storage.get_task(record.id)
                wanted = {TaskState.QUEUED} if from_queue else CLAIMABLE
                if current is None or current.state not in wanted:
                    return Taken()
                verdict = await self._verdict(current, from_queue)
                if not isinstance(verdict, _Go):
                    return verdict
                taken = await self._take(current, verdict)
                if not isinstance(taken, _Edited):
                    return taken
            return Taken()  # edited faster than it could be claimed: the next press will do

    async def _verdict(self, current: TaskRecord, from_queue: bool) -> _Go | InLine | Refused:
        """Whether the card may go now, must join (or stay in) the line, or why not."""
        storage = self.storage
        usage = await storage.usage(current.user_id, start_of_day(self.clock()))
        verdict = self.limits.check(
            admin=current.user_id in self.admin_ids,
            duration=current.settings.duration,
            usage=usage,
        )
        line = None
        if verdict is None and not from_queue:  # others waiting: a new press joins them
            line = await storage.tasks_in({TaskState.QUEUED})
        joins_line = verdict is LimitReached.GLOBAL_ACTIVE or bool(line)
        if joins_line and from_queue:
            return InLine(current)  # still full: it keeps its place
        if verdict is not None and not joins_line:
            task_log(log, current).info("refused, %s", verdict)
            return Refused(verdict)
        group = await self.groups.paying(current) if self.groups is not None else GroupVerdict()
        if group.refused is not None:
            task_log(log, current).info("refused, %s", group.refused)
            return Refused(group.refused)
        return _Go(joins_line, line, group.payer)

    async def _take(self, current: TaskRecord, go: _Go) -> ClaimResult | _Edited:
        """The compare-and-set on the version checked, then the hold under its ref."""
        ref, held = await self._hold_ref(current)
        # A card back from the line keeps the payer its credits are held on.
        payer = current.payer if held else go.payer
        change = (
            await self._enqueue(current, ref, go.line, payer)
            if go.to_line
            else self._claim(current, ref, payer)
        )
        storage = self.storage
        taken = await storage.update_task(current.id, change, expect_version=current.version)
        if taken is None:
            return _Edited()
        if ref and not held:
            if not await self._hold(taken, ref):
                return await self._undone(current, taken)
            # Only a card in line can be cancelled (or forgotten) before its hold exists; a
            # submitting one is this process's alone.
            if taken.state is TaskState.QUEUED and not await self._still_holds(taken, ref):
                return Taken()  # cancelled or forgotten meanwhile: the hold went back
        if taken.state is TaskState.QUEUED:
            task_log(log, taken).info("queued: the bot is at its limit of tasks in flight")
            return InLine(taken)
        return Claimed(taken)

    async def _undone(self, current: TaskRecord, taken: TaskRecord) -> Refused:
        """A claim whose credits could not be held: the card goes back as it was."""
        await self.storage.update_task(
            taken.id, UndoClaim(before=current), expect_version=taken.version
        )
        if taken.payer is not None:
            return Refused(LimitReached.GROUP_NO_CREDITS)  # the group's wallet, not the member's
        return Refused(LimitReached.NO_CREDITS)

    async def _accept(self, claimed: TaskRecord, accepted: Accepted) -> TaskRecord | None:
        """The provider's task id written down. A write whose answer was lost (the database
        went away after its commit) finds, when tried again, the task already RUNNING with
        that id: that is the write, done, and the task must still be polled."""
        running = await self.storage.update_task(claimed.id, accepted)
        if running is not None:
            return running
        stored = await self.storage.get_task(claimed.id)
        if stored is None or stored.state is not TaskState.RUNNING:
            return None
        return stored if stored.apimart_task_id == accepted.apimart_task_id else None

    async def _until_written(
        self, record: TaskRecord, write: Callable[[], Awaitable[TaskRecord | None]]
    ) -> TaskRecord | None:
        waited = 0.0
        for pause in retry_pauses():
            try:
                return await write()
            except Exception as exc:
                if not is_unreachable(exc) or waited >= WRITE_PATIENCE:
                    raise
                task_log(log, record).warning(
                    "accepted, but the store is out of reach (%s): trying again",
                    type(exc).__name__,
                )
            await self.sleep(pause)
            waited += pause
        raise AssertionError("unreachable")  # retry_pauses never ends

    async def _hold_ref(self, current: TaskRecord) -> tuple[str, bool]:
        """The ledger ref of this attempt's credits (BILLING=stars) and whether it is held
        already: "" when nothing is to be held (billing off, an admin)."""
        billing = self.billing
        if billing is None or current.user_id in self.admin_ids:
            return "", False
        if current.state is TaskState.QUEUED and current.reservation:
            if await billing.holds(current, current.reservation):
                return current.reservation, True  # held since it joined the line
        elif current.state in RETRYABLE_STATES:
            await billing.before_retry(current)
        # One ref per hold: a card back from the line (or refused) may be pressed again.
        return hold_ref(current.id, current.attempt + 1, secrets.token_hex(3)), False

    async def _hold(self, taken: TaskRecord, ref: str) -> bool:
        billing = self.billing
        return billing is not None and await billing.reserve(taken, ref)

    async def _still_holds(self, taken: TaskRecord, ref: str) -> bool:
        """A cancel (or /forget) that won the race right after the compare-and-set found no
        hold to return yet: return it now."""
        now = await self.storage.get_task(taken.id)
        if now is not None and now.reservation == ref and now.state is taken.state:
            return True
        assert self.billing is not None
        await self.billing.release(now or taken, ref)
        return False

    def _claim(self, current: TaskRecord, ref: str, payer: int | None) -> Claim:
        return Claim(
            payer=payer if ref else None,
            attempt=current.attempt + 1,
            seed_used=seed_for(current),
            # from now on this process alone may act on the task
            lease_owner=self.owner,
            lease_until=self.clock() + self.lease_seconds,
            callback_token=secrets.token_urlsafe(24) if self.callback_base else None,
            reservation=ref or None,
        )

    async def _enqueue(
        self, current: TaskRecord, ref: str, line: list[TaskRecord] | None, payer: int | None
    ) -> Enqueue:
        now = self.clock()
        if line is None:
            line = await self.storage.tasks_in({TaskState.QUEUED})
        joining = replace(current, state=TaskState.QUEUED, queued_at=now)
        return Enqueue(
            queued_at=now,
            queue_position=fair_order([*line, joining]).index(joining),
            reservation=ref or None,
            payer=payer if ref else None,
        )

    async def _photo(self, claimed: TaskRecord) -> PreparedImage | None:
        """The card's photo: kept here, or (its card opened on another replica, or an Again
        on a photo this one never saw) fetched again from Telegram and kept from now on."""
        try:
            return self.files.read_image(claimed)
        except OSError:
            if claimed.frame_of_video is not None and self.clips is not None:
                return await self._frame_again(claimed, claimed.frame_of_video, self.clips)
            if self.photos is None or claimed.photo_file_id is None:
                return None
        try:
            image = await self.photos.fetch(claimed.photo_file_id)
        except PhotoUnavailableError as exc:
            task_log(log, claimed).warning("photo not kept here and not fetched: %s", exc)
            return None
        self.files.keep_image(claimed, image)
        task_log(log, claimed).info("photo fetched again from Telegram")
        return image

    async def _frame_again(
        self, claimed: TaskRecord, video_file_id: str, clips: Clips
    ) -> PreparedImage | None:
        """A continued card opened on another replica: the last frame taken again from the
        video it continues."""
        frame = await clips.frame_of_video(video_file_id, claimed.id)
        if frame is not None:
            self.files.keep_image(claimed, frame)
            task_log(log, claimed).info("last frame taken again from Telegram")
        return frame

    async def submit(self, claimed: TaskRecord) -> TaskRecord | None:
        """POST the claimed card's generation; the returned record says what happened."""
        task_log(log, claimed).info("submitting attempt %s", claimed.attempt)
        await self.messenger.show_card(claimed)
        image = await self._photo(claimed)
        if image is None:
            return await self.ending.fail(claimed, Failure.IMAGE_MISSING, error="image missing")
        try:
            api_task_id = await self.api.submit(
                claimed,
                image,
                webhook=callback_url(self.callback_base, claimed.callback_token),
                idempotency_key=claimed.idempotency_key,
            )
        except VideoServiceError as exc:
            self.metrics.service_error(error_kind(exc))
            failure = submit_failure(exc)
            shown = failure in (Failure.REFUSED, Failure.PROMPT_TOO_LONG)
            error = exc.message if shown else ""
            return await self.ending.fail(claimed, failure, exc, error=error)
        return await self._running(claimed, api_task_id)

    async def _running(self, claimed: TaskRecord, api_task_id: str) -> TaskRecord | None:
        now = self.clock()
        accepted = Accepted(
            apimart_task_id=api_task_id,
            submitted_at=now,
            # the "queued" view this transition draws
            shown_view=replace(claimed, api_status="submitted", progress=0).progress_view,
            shown_at=now,
        )
        # The provider took (and bills) the task: its id must be written down, also while
        # the database restarts. The write is a compare-and-set from SUBMITTING, so trying
        # again can never apply it twice.
        running = await self._until_written(claimed, lambda: self._accept(claimed, accepted))
        if running is None:
            return None
        task_log(log, running).info("submitted as %s", api_task_id)
        await self.messenger.show_card(running)
        self.scheduler.schedule_poll(running.id, self.first_poll_delay)
        return running
