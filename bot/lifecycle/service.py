"""The task lifecycle, stage by stage: submit once, poll, deliver exactly once, expire.

Knows nothing about Telegram: it reaches the chat through `Messenger`, the video service
through `VideoApi` and the timer through `PollScheduler` (bot/lifecycle/ports.py).
"""

from __future__ import annotations

import hmac
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.access import Limits
from bot.domain.poll_schedule import FIRST_PROBE
from bot.domain.records import ENDED_STATES, TaskRecord, TaskState
from bot.domain.soundtrack import PROFILE_TTL
from bot.images import ImageConverter
from bot.lifecycle.billing import Billing
from bot.lifecycle.clips import Clips
from bot.lifecycle.deliver import Deliverer
from bot.lifecycle.drafts import DraftService
from bot.lifecycle.ending import TaskEnding
from bot.lifecycle.expire import CARD_MAX_AGE, expire_cards
from bot.lifecycle.files import TaskFiles
from bot.lifecycle.groups import Groups
from bot.lifecycle.poll import Poller
from bot.lifecycle.ports import (
    ClipSource,
    GroupRoles,
    Messenger,
    Metrics,
    NoMetrics,
    PhotoSource,
    PollScheduler,
    SoundtrackStore,
    VideoApi,
)
from bot.lifecycle.privacy import Privacy
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.queue import Line
from bot.lifecycle.submit import Claimed, ClaimResult, InLine, Submitter
from bot.lifecycle.tasklog import task_log
from bot.storage import Storage
from bot.storage.errors import is_unreachable
from bot.storage.soundtracks import DiskSoundtracks

log = logging.getLogger(__name__)

# Nothing the bot makes in its scratch folder (downloads, joins, round notes) takes an hour.
SCRATCH_SECONDS = 3600.0
UPLOAD_GRACE = 3.0  # seconds a stop waits for uploads under way (a stop takes < 5 s)

# What `secrets.token_urlsafe(24)` gives each attempt (submit.py): 32 URL-safe characters.
CALLBACK_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass
class LifecycleSettings:
    poll_interval: float | None = None  # None: adaptive; set: a fixed schedule
    task_timeout: float = 3600.0
    progress_edit_interval: float = 0.0
    # The largest video the messenger can send; past it, a link. None of the lifecycle's
    # own: the composition root passes the messenger's (Telegram's, in bot/application.py).
    upload_limit: int = sys.maxsize
    limits: Limits = field(default_factory=Limits)
    admin_ids: frozenset[int] = frozenset()
    # Tasks resumed per second after a restart: a backlog must not stampede both APIs
    # while new updates wait.
    resume_rate: float = 20.0
    # Who this process is, and how long its claim on a task lasts without renewal: a killed
    # process's tasks are taken over by another within `lease_seconds`.
    owner: str = "local"
    lease_seconds: float = 30.0
    callback_base: str | None = None  # PUBLIC_BASE_URL: apimart calls back there
    retention_days: int = 30  # kept photos (for Again/Edit) and history


class GenerationService:
    """One object for the handlers and the jobs; each stage lives in its own module."""

    def __init__(
        self,
        *,
        storage: Storage,
        api: VideoApi,
        messenger: Messenger,
        scheduler: PollScheduler,
        files: TaskFiles,
        settings: LifecycleSettings | None = None,
        clock: Callable[[], float] = time.time,
        billing: Billing | None = None,
        metrics: Metrics | None = None,
        photos: PhotoSource | None = None,
        clip_source: ClipSource | None = None,
        media: ImageConverter | None = None,
        frames: ImageConverter | None = None,
        group_roles: GroupRoles | None = None,
    ) -> None:
        settings = settings or LifecycleSettings()
        self.settings = settings
        self.storage, self.messenger, self.clock = storage, messenger, clock
        self.billing = billing
        self.metrics = metrics = metrics or NoMetrics()
        self.ending = TaskEnding(
            storage, messenger, files, settings.admin_ids, clock, billing, metrics
        )
        # A group's rules (issue 23), with a way to know its admins.
        self.groups = (
            Groups(storage=storage, roles=group_roles, billing_on=billing is not None, clock=clock)
            if group_roles is not None
            else None
        )
        # ⏭ Continue, 🎞 Join, ⭕ Round: with a way to get delivered videos back.
        self.clips = (
            Clips(
                storage=storage,
                files=files,
                source=clip_source,
                media=media or ImageConverter(),
                frames=frames or ImageConverter(),
                api=api,
                upload_limit=settings.upload_limit,
                clock=clock,
            )
            if clip_source is not None
            else None
        )
        self.deliverer = Deliverer(
            storage=storage,
            messenger=messenger,
            files=files,
            api=api,
            ending=self.ending,
            upload_limit=settings.upload_limit,
            clock=clock,
            metrics=metrics,
            clips=self.clips,
        )
        self.submitter = Submitter(
            storage=storage,
            messenger=messenger,
            files=files,
            api=api,
            scheduler=scheduler,
            ending=self.ending,
            billing=billing,
            clock=clock,
            admin_ids=settings.admin_ids,
            limits=settings.limits,
            first_poll_delay=settings.poll_interval or FIRST_PROBE,
            owner=settings.owner,
            lease_seconds=settings.lease_seconds,
            callback_base=settings.callback_base,
            metrics=metrics,
            photos=photos,
            clips=self.clips,
            groups=self.groups,
        )
        self.poller = Poller(
            storage=storage,
            messenger=messenger,
            api=api,
            ending=self.ending,
            deliverer=self.deliverer,
            clock=clock,
            poll_interval=settings.poll_interval,
            task_timeout=settings.task_timeout,
            progress_edit_interval=settings.progress_edit_interval,
            owner=settings.owner,
            metrics=metrics,
        )
        self.line = Line(
            storage=storage, messenger=messenger, submitter=self.submitter, ending=self.ending
        )
        self.scheduler = scheduler
        self._stepping: set[str] = set()
        self._look_again: set[str] = set()

    @property
    def files(self) -> TaskFiles:
        return self.ending.files

    def privacy(self) -> Privacy:
        return Privacy(storage=self.storage, files=self.files, billing=self.billing)

    def drafts(self, limits: Limits, profiles: Profiles) -> DraftService:
        """The cards' service on the same ports."""
        return DraftService(
            storage=self.storage,
            profiles=profiles,
            messenger=self.messenger,
            files=self.files,
            ending=self.ending,
            admin_ids=self.settings.admin_ids,
            limits=limits,
            clock=self.clock,
            photos_elsewhere=self.submitter.photos is not None,
            clips=self.clips,
            groups=self.groups,
        )

    async def claim(self, record: TaskRecord) -> ClaimResult:
        """Claimed: submit it now (`submit`, or `start` does both); InLine: it waits, and its
        card says so."""
        claimed = await self.submitter.claim(record)
        if isinstance(claimed, InLine):
            await self.messenger.show_card(claimed.record)
            await self.line.advance()  # a slot may have freed since the check
        return claimed

    async def start(self, record: TaskRecord) -> ClaimResult:
        """Claim the card and, when it may go now, submit it."""
        claimed = await self.claim(record)
        if isinstance(claimed, Claimed):
            await self.submit(claimed.record)
        return claimed

    async def submit(self, claimed: TaskRecord) -> TaskRecord | None:
        submitted = await self.submitter.submit(claimed)
        if submitted is None or submitted.state is not TaskState.RUNNING:
            await self.line.advance()  # refused or failed at once: its slot is free again
        return submitted

    async def advance_line(self) -> int:
        return await self.line.advance()

    async def poll(self, task_id: str) -> None:
        """One step of a running task; schedules the next one when there is one.

        One step per task at a time: a callback's "look now" during a step makes that step
        look again at once when it ends (two steps at once could deliver twice).
        """
        if task_id in self._stepping:
            self._look_again.add(task_id)
            return
        self._stepping.add(task_id)
        try:
            delay = await self.poller.step(task_id)
        except Exception as exc:
            # Neither a bug nor a database restart may strand a paid task: keep it alive.
            if is_unreachable(exc):
                log.warning(
                    "task %s: storage out of reach (%s), retrying", task_id, type(exc).__name__
                )
            else:
                log.exception("task %s: unexpected error while polling", task_id)
            delay = (self.settings.poll_interval or FIRST_PROBE) * 3
        finally:
            self._stepping.discard(task_id)
        if task_id in self._look_again:
            self._look_again.discard(task_id)
            delay = None if delay is None else 0.0
        if delay is not None:
            self.scheduler.schedule_poll(task_id, delay)
        else:
            await self.line.advance()  # the task ended: its slot goes to the next in line

    async def hint(self, token: str) -> bool:
        """apimart called back on a task's secret path. Only a hint: the next poll step asks
        the API itself before anything is delivered. False for a path no task has."""
        if not CALLBACK_TOKEN.fullmatch(token):
            return False  # not a path we hand out: no storage read for a forged one
        active = await self.storage.tasks_in({TaskState.RUNNING, TaskState.DELIVERING})
        record = next(
            (r for r in active if hmac.compare_digest(r.callback_token or "", token)), None
        )
        if record is None:
            return False
        task_log(log, record).info("callback received: checking now")
        self.scheduler.poll_now(record.id)
        return True

    async def resume(self) -> int:
        """After a restart: take this owner's tasks and any nobody holds, settle interrupted
        submits, poll the rest again at a bounded rate, and start whoever waits in line."""
        await self.reconcile()
        resumed = await self._take_over(include_own=True)
        await self.line.advance()
        return resumed

    async def reconcile(self) -> int:
        """Settle holds a stop left open (at start-up, and daily for any left then)."""
        if self.billing is None:
            return 0
        return await self.billing.reconcile(
            self.storage.kept_task, grace=2 * self.settings.lease_seconds
        )

    async def keep_leases(self) -> int:
        """Every lease_seconds/3: renew this process's leases and take over the tasks of a
        process that stopped renewing its own. Returns how many were taken over."""
        await self.storage.renew_leases(self.settings.owner, self._lease_end())
        return await self._take_over(include_own=False)

    async def finish_uploads(self, within: float = UPLOAD_GRACE) -> int:
        """A stop: the uploads under way end and are recorded before the bot's connections
        close (within `within` seconds; one cut short is never sent again, its link
        follows)."""
        return await self.deliverer.finish_uploads(within)

    async def release(self) -> None:
        """A clean stop: another process may take this one's tasks at once."""
        await self.storage.release_leases(self.settings.owner)

    async def _take_over(self, *, include_own: bool) -> int:
        now = self.clock()
        leased = await self.storage.take_leases(
            self.settings.owner,
            self._lease_end(),
            now,
            include_own=include_own,
            # all of a restart's own backlog at once; orphans of others a share at a time
            limit=100_000 if include_own else 100,
        )
        to_poll = await self.poller.take_over(leased)
        for index, record in enumerate(to_poll):
            self.scheduler.schedule_poll(record.id, index / self.settings.resume_rate)
        return len(to_poll)

    def _lease_end(self) -> float:
        return self.clock() + self.settings.lease_seconds

    async def sweep_soundtracks(self) -> int:
        """At start-up and daily: no served soundtrack outlives the card it belongs to, or
        its day on a profile (PROFILE_TTL)."""
        kept_since = self.clock() - PROFILE_TTL
        deleted = await self.files.sweep_soundtracks(
            await self.storage.soundtrack_files(kept_since)
        )
        if deleted:
            log.info("deleted %s soundtracks nothing referred to", deleted)
        return deleted

    def sweep_scratch(self) -> int:
        """At start-up and daily: files a stop or a crash left half made (SCRATCH_SECONDS)."""
        deleted = self.files.sweep_work(self.clock() - SCRATCH_SECONDS)
        if deleted:
            log.info("deleted %s scratch files left by a stop", deleted)
        return deleted

    async def cancel(self, record: TaskRecord) -> TaskRecord | None:
        """Stop waiting (there is no cancel endpoint) or discard a draft."""
        cancelled = await self.ending.finish(record, TaskState.CANCELLED)
        if cancelled is not None:
            task_log(log, record).info("cancelled from %s", record.state)
            await self.line.advance()  # a slot, or a place in line, is free
        return cancelled

    async def expire(self, max_age: float = CARD_MAX_AGE) -> int:
        return await expire_cards(self.storage, self.files, self.ending, self.clock, max_age)

    async def housekeeping(self) -> None:
        """Daily: close abandoned cards, then forget history and photos past the retention."""
        await self.expire()
        await self.reconcile()
        await self.sweep_soundtracks()
        self.sweep_scratch()
        now = self.clock()
        await self.storage.prune(now)
        live = await self.storage.tasks_in(set(TaskState) - ENDED_STATES)
        swept = self.files.sweep_images(
            {r.image_file for r in live}, now - self.settings.retention_days * 86400
        )
        if swept:
            log.info("deleted %s photos past the retention", swept)


def task_files(data_dir: Path, soundtracks: SoundtrackStore | None = None) -> TaskFiles:
    """Photos and downloads on this disk; soundtracks there too unless a shared store is given."""
    return TaskFiles(
        data_dir / "images", soundtracks or DiskSoundtracks(data_dir / "audio"), data_dir / "tmp"
    )
