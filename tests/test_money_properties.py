"""Money invariants under random interleavings (issue 17), checked after every step.

Hypothesis draws runs of operations on the real lifecycle: cards opened and edited, Generate
pressed alone or at the same instant as a settings press (on one service or two "replicas"
sharing the store), videos that complete, fail, or complete while the user has blocked the
bot, cancels, /forget, purchases, restarts. After each step:

- no ledger key twice, every balance the sum of its rows and never below zero;
- every open hold is carried by a task that may still be billed, for exactly its price;
- every submission went out at the price its hold was taken for (0 mismatches);
- a video the provider made is paid for, and nothing else is.

A second test runs the Generate/press race on two replicas with their own connection pools on
a real PostgreSQL, two thousand times.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.apimart import ApimartInvalidRequestError, GenerationRequest, TaskStatus
from bot.domain.access import Limits
from bot.domain.actions import SetAudio, SetDuration, SetResolution
from bot.domain.billing import Reason, account_of
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.lifecycle.billing import Billing, billed
from bot.lifecycle.ports import ChatUnreachableError, SentVideo
from bot.lifecycle.submit import Claimed
from bot.mp4 import VideoMeta
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.fakes.lifecycle import FakeVideoApi, Lifecycle, RecordingMessenger, build_lifecycle
from tests.test_storage_contract import open_backend

# Thousands of updates, interleavings or strings through lines other tests cover: not
# traced by coverage (Makefile), which would double their time.
pytestmark = pytest.mark.no_cover

USERS = (1, 2)
# States in which a hold may be open: the video may still be made (or was, unknown).
HOLDING = frozenset(
    {
        TaskState.QUEUED,
        TaskState.SUBMITTING,
        TaskState.RUNNING,
        TaskState.DELIVERING,
        TaskState.UNKNOWN,
    }
)
EDITS = (
    SetDuration(2),
    SetDuration(15),
    SetDuration(5),
    SetResolution("720p"),
    SetResolution("1080p"),
    SetAudio(False),
    SetAudio(True),
)


class YieldingStorage(MemoryStorage):
    """Reads that yield to the event loop, as a networked database's do, so concurrent
    operations really interleave."""

    async def get_task(self, task_id: str) -> TaskRecord | None:
        await asyncio.sleep(0)
        found = await super().get_task(task_id)
        await asyncio.sleep(0)  # the answer travels back while others act
        return found

    async def usage(self, user_id: int, since: float) -> Any:
        await asyncio.sleep(0)
        return await super().usage(user_id, since)

    async def ledger_apply(self, movement: Any) -> bool:
        await asyncio.sleep(0)
        return await super().ledger_apply(movement)


@dataclass
class SharedWorld:
    """What the replicas share: the store, the provider, who blocked the bot."""

    api: FakeVideoApi = field(default_factory=FakeVideoApi)
    blocked: set[int] = field(default_factory=set)
    # idempotency key -> the request that went out
    sent: dict[str, GenerationRequest] = field(default_factory=dict)


class RecordingApi(FakeVideoApi):
    def __init__(self, world: SharedWorld) -> None:
        super().__init__()
        self.world = world

    async def submit(self, request: GenerationRequest, *, idempotency_key: str) -> str:
        task_id = await super().submit(request, idempotency_key=idempotency_key)
        self.world.sent[idempotency_key] = request
        return task_id

    async def get_task(self, task_id: str, *, language: str = "en") -> TaskStatus:
        if task_id not in self.statuses:
            return TaskStatus(task_id, "processing", 50)
        return await super().get_task(task_id, language=language)


class ChatMessenger(RecordingMessenger):
    def __init__(self, world: SharedWorld) -> None:
        super().__init__()
        self.world = world

    async def send_video(self, record: TaskRecord, path: Path, meta: VideoMeta) -> SentVideo:
        if record.chat_id in self.world.blocked:
            raise ChatUnreachableError("Forbidden: bot was blocked by the user")
        return await super().send_video(record, path, meta)


def replica(tmp_path: Path, storage: Storage, world: SharedWorld, api: FakeVideoApi) -> Lifecycle:
    life = build_lifecycle(
        tmp_path,
        Limits(max_active_per_user=2, max_active_total=4),
        billing=True,
        storage=storage,
        api=api,
        messenger=ChatMessenger(world),
    )
    return life


async def after_turns(turns: int, operation: Awaitable[Any]) -> Any:
    """`operation` once the others have had `turns` turns of the event loop."""
    for _ in range(turns):
        await asyncio.sleep(0)
    return await operation


def price(billing: Billing, request: GenerationRequest) -> int:
    return billing.price(GenerationSettings(request.resolution, request.duration, request.audio))


async def check_invariants(storage: Storage, billing: Billing, world: SharedWorld) -> None:
    rows = await storage.ledger_rows()
    assert max(Counter(m.key for m in rows).values(), default=1) == 1
    reserves = {m.ref: m for m in rows if m.reason is Reason.RESERVE}
    settled = {m.ref: m.reason for m in rows if m.reason in (Reason.SPEND, Reason.RELEASE)}
    for user in USERS:
        mine = await storage.ledger(user)
        assert account_of(mine).balance == sum(m.amount for m in mine) >= 0
    for ref, hold in reserves.items():
        task = await storage.kept_task(ref.split(":")[0])
        if ref in settled:
            continue
        # An open hold is the task's own, for what the task is priced at now.
        assert task is not None and task.reservation == ref, (ref, task)
        assert task.state in HOLDING, (ref, task.state)
        assert -hold.amount == billing.price(task.settings)
    for key, request in world.sent.items():
        task_id, attempt = key.rsplit("-", 1)
        task = await storage.kept_task(task_id)
        hold = next(
            (m for ref, m in reserves.items() if ref.startswith(f"{task_id}:{attempt}:")), None
        )
        assert hold is not None, key  # nothing goes out without credits held
        assert -hold.amount == price(billing, request), key  # ...at its price
        if task is not None and task.attempt == int(attempt):
            # The provider made this one: paid once it ended, returned only if it failed.
            if task.state in (TaskState.DONE, TaskState.CLOSED) and task.submitted_at:
                assert settled.get(hold.ref) is Reason.SPEND, (key, task.state)
            if billed(task):
                assert settled.get(hold.ref) is Reason.SPEND, (key, task.state)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            # the paths that move money, drawn more often
            [
                *("card", "card", "edit", "buy"),
                *("generate", "generate", "race", "race", "race_replicas", "race_replicas"),
                *("finish", "finish", "finish", "poll", "block", "block"),
                *("cancel", "forget", "restart"),
            ]
        ),
        st.integers(0, len(USERS) - 1),  # which user
        st.integers(0, 10**6),  # which card, which edit, which outcome
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(OPERATIONS)
def test_money_stays_exact_under_random_interleavings(
    tmp_path_factory: pytest.TempPathFactory, operations: list[tuple[str, int, int]]
) -> None:
    asyncio.run(run_operations(tmp_path_factory.mktemp("money"), operations))


async def run_operations(tmp_path: Path, operations: list[tuple[str, int, int]]) -> None:
    storage, world = YieldingStorage(), SharedWorld()
    api = RecordingApi(world)
    lives = [replica(tmp_path, storage, world, api) for _ in range(2)]
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    opened = 0
    setup = lives[0].generation.ending.billing
    assert setup is not None
    for user in USERS:  # some credits and a card each to start with
        await setup.purchase(user, f"start{user}", 500, 500)
        opened += 1
        record = make_record(f"c{opened:03}", user_id=user, image_file=f"c{opened}.jpg")
        (images / record.image_file).write_bytes(b"jpeg")
        await storage.add_task(record)
    for step, (kind, who, pick) in enumerate(operations):
        user = USERS[who]
        life = lives[pick % 2]
        billing = life.generation.ending.billing
        assert billing is not None
        drafts = [
            r for r in await storage.tasks_in({TaskState.DRAFT, TaskState.FAILED}, user_id=user)
        ]
        chosen = sorted(drafts, key=lambda r: r.id)[pick % len(drafts)] if drafts else None
        if kind == "buy":
            await billing.purchase(user, f"ch{step}", 50, 50)
        elif kind == "card":
            opened += 1
            record = make_record(f"c{opened:03}", user_id=user, image_file=f"c{opened}.jpg")
            (images / record.image_file).write_bytes(b"jpeg")
            await storage.add_task(record)
        elif kind == "edit" and chosen is not None:
            await life.drafts.press(chosen, EDITS[pick % len(EDITS)])
        elif kind in ("generate", "race", "race_replicas") and chosen is not None:
            other = lives[(pick + 1) % 2] if kind == "race_replicas" else life
            claims: list[Any] = [life.generation.claim(chosen)]
            if kind != "generate":
                edit = other.drafts.press(chosen, EDITS[pick % len(EDITS)])
                claims.append(after_turns(pick % 5, edit))
                claims.append(other.generation.claim(chosen))
            for claimed in await asyncio.gather(*claims):
                if isinstance(claimed, Claimed):
                    if pick % 7 == 0:
                        api.submit_error = ApimartInvalidRequestError("refused", status=400)
                    await life.generation.submit(claimed.record)
        elif kind == "finish":
            running = await storage.tasks_in({TaskState.RUNNING})
            for record in running[: 1 + pick % 3]:
                assert record.apimart_task_id is not None
                final = ("completed", "completed", "failed")[pick % 3]
                api.statuses[record.apimart_task_id] = [
                    TaskStatus(
                        record.apimart_task_id,
                        final,
                        progress=100,
                        video_url="https://cdn/v.mp4" if final == "completed" else None,
                    )
                ]
                await life.generation.poll(record.id)
        elif kind == "poll" and life.scheduler.due:
            task_id = next(iter(life.scheduler.due))
            del life.scheduler.due[task_id]
            await life.generation.poll(task_id)
        elif kind == "block":
            world.blocked ^= {user}
        elif kind == "cancel":
            mine = await storage.tasks_in(
                {TaskState.DRAFT, TaskState.QUEUED, TaskState.RUNNING}, user_id=user
            )
            if mine:
                await life.generation.cancel(sorted(mine, key=lambda r: r.id)[pick % len(mine)])
        elif kind == "forget":
            await life.generation.privacy().forget(user)
        elif kind == "restart":
            lives[pick % 2] = replica(tmp_path, storage, world, api)
            await lives[pick % 2].generation.resume()
        await check_invariants(storage, billing, world)


async def test_two_replicas_on_postgresql_submit_what_they_held_two_thousand_times(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Generate on one replica, a settings press and a second Generate on the other, at the
    same instant, on a real PostgreSQL with a connection pool each: 0 mismatches in 2000."""
    first = await open_backend("postgres", tmp_path, request)
    second = await open_backend("postgres", tmp_path, request)
    world = SharedWorld()
    api = RecordingApi(world)
    lives = [replica(tmp_path, store, world, api) for store in (first, second)]
    for life in lives:
        life.generation.submitter.limits = Limits(
            max_active_per_user=10**6, max_active_total=10**6
        )
    billing = lives[0].generation.ending.billing
    assert billing is not None
    (tmp_path / "images").mkdir()
    # Forty buyers take turns, so each ledger read below is of 50 movements, not of 2000.
    buyers = range(1, 41)
    for user in buyers:
        await billing.purchase(user, f"big{user}", 10**7, 10**7)
    tries, mismatches, submitted = 2000, 0, 0
    try:
        for n in range(tries):
            user = buyers[n % len(buyers)]
            record = make_record(
                f"r{n:04}",
                user_id=user,
                settings=GenerationSettings("1080p", 2, True),
                image_file="r.jpg",
            )
            (tmp_path / "images" / "r.jpg").write_bytes(b"jpeg")
            await first.add_task(record)
            results = await asyncio.gather(
                lives[0].generation.submitter.claim(record),
                lives[1].drafts.press(record, SetDuration(2 + n % 14)),
                lives[1].generation.submitter.claim(record),
            )
            claimed = [r.record for r in results if isinstance(r, Claimed)]
            assert len(claimed) == 1  # one claim, whichever replica
            [won] = claimed
            held = next(
                -m.amount
                for m in await first.ledger(user)
                if m.key == (Reason.RESERVE.value, won.reservation)
            )
            await lives[0].generation.submitter.submit(won)
            sent = world.sent[won.idempotency_key]
            submitted += 1
            stored = await second.get_task(won.id)
            assert stored is not None
            mismatches += held != price(billing, sent) or sent.duration != stored.settings.duration
        assert (submitted, mismatches) == (tries, 0)
    finally:
        await first.close()
        await second.close()
