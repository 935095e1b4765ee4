"""In-memory stand-ins for the lifecycle's ports: no HTTP, no Telegram, no disk database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.adapters.apimart_video import ApimartVideoApi
from bot.apimart import ApimartError, GenerationRequest, TaskStatus
from bot.domain.access import Limits
from bot.domain.notices import Notice
from bot.domain.records import TaskRecord
from bot.lifecycle.billing import Billing
from bot.lifecycle.drafts import DraftService
from bot.lifecycle.ports import Metrics, SentVideo
from bot.lifecycle.prices import Prices
from bot.lifecycle.profiles import Profiles
from bot.lifecycle.service import GenerationService, LifecycleSettings, task_files
from bot.mp4 import VideoMeta
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.fakes.mp4 import make_mp4


@dataclass
class FakeVideoApi:
    """The apimart client's part the adapter uses, answering from scripts: `submit_error`
    once, then task ids; statuses per task id."""

    submit_error: ApimartError | None = None
    statuses: dict[str, list[TaskStatus]] = field(default_factory=dict)
    submitted: list[GenerationRequest] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    async def submit(self, request: GenerationRequest, *, idempotency_key: str) -> str:
        if self.submit_error is not None:
            error, self.submit_error = self.submit_error, None
            raise error
        self.submitted.append(request)
        return f"api-{len(self.submitted)}"

    async def get_task(self, task_id: str, *, language: str = "en") -> TaskStatus:
        script = self.statuses[task_id]
        return script.pop(0) if len(script) > 1 else script[0]

    async def get_pricing(self) -> Any:
        return {}

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        self.downloads.append(url)
        data = make_mp4(1280, 720, 5)
        dest.write_bytes(data)
        return len(data)


@dataclass
class RecordingMessenger:
    shown: list[TaskRecord] = field(default_factory=list)
    videos: list[TaskRecord] = field(default_factory=list)
    alerts: list[Notice] = field(default_factory=list)
    progress: list[TaskRecord] = field(default_factory=list)
    drop_progress: bool = False  # as the flood shaper does when the budget is busy

    async def post_card(self, record: TaskRecord) -> int | None:
        self.shown.append(record)
        return 900 + len(self.shown)

    async def show_card(self, record: TaskRecord) -> None:
        self.shown.append(record)

    async def show_progress(self, record: TaskRecord) -> bool:
        if self.drop_progress:
            return False
        self.progress.append(record)
        return True

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        self.videos.append(record)
        return SentVideo(500 + len(self.videos), f"file-{record.id}")

    async def send_link(self, record: TaskRecord, *, maybe_sent: bool = False) -> int:
        self.videos.append(record)
        return 900

    async def alert_admins(self, admin_ids: frozenset[int], notice: Notice) -> None:
        self.alerts.append(notice)


@dataclass
class ManualScheduler:
    """Remembers what was scheduled; the test runs the steps itself."""

    due: dict[str, float] = field(default_factory=dict)

    def schedule_poll(self, task_id: str, delay: float) -> None:
        self.due.setdefault(task_id, delay)

    def poll_now(self, task_id: str) -> None:
        self.due[task_id] = 0.0


@dataclass
class Lifecycle:
    generation: GenerationService
    drafts: DraftService
    storage: Storage
    api: FakeVideoApi
    messenger: RecordingMessenger
    scheduler: ManualScheduler
    now: list[float]

    async def run_polls(self) -> None:
        """Run every scheduled step until nothing is due any more."""
        while self.scheduler.due:
            task_id = next(iter(self.scheduler.due))
            del self.scheduler.due[task_id]
            await self.generation.poll(task_id)


def build_lifecycle(
    tmp_path: Path,
    limits: Limits | None = None,
    admin_ids: frozenset[int] = frozenset(),
    *,
    billing: bool = False,
    storage: Storage | None = None,
    api: FakeVideoApi | None = None,
    scheduler: ManualScheduler | None = None,
    messenger: RecordingMessenger | None = None,
    metrics: Metrics | None = None,
) -> Lifecycle:
    """A lifecycle on in-memory fakes; pass `storage`, `api` and `scheduler` to build a
    second one on the same ones (a restart)."""
    now = [1_000_000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    storage, api = storage or MemoryStorage(), api or FakeVideoApi()
    messenger, scheduler = messenger or RecordingMessenger(), scheduler or ManualScheduler()
    settings = LifecycleSettings(limits=limits or Limits(), admin_ids=admin_ids)
    generation = GenerationService(
        storage=storage,
        api=ApimartVideoApi(api),  # the real adapter over a fake client
        messenger=messenger,
        scheduler=scheduler,
        files=task_files(tmp_path),
        settings=settings,
        clock=clock,
        billing=Billing(storage, Prices(), clock=clock) if billing else None,
        metrics=metrics,
    )
    drafts = generation.drafts(settings.limits, Profiles(storage))
    return Lifecycle(generation, drafts, storage, api, messenger, scheduler, now)
