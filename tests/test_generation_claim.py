"""Claiming a card for submission: limits and the state change happen as one step."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.domain.access import LimitReached, Limits
from bot.domain.records import TaskRecord, TaskState
from bot.lifecycle.service import GenerationService
from bot.storage.tinydb import Storage
from tests.factories import make_record


def service(tmp_path: Path, limits: Limits) -> GenerationService:
    return GenerationService(
        storage=Storage(tmp_path / "bot.json"),
        client=None,  # type: ignore[arg-type]
        messenger=None,
        images_dir=tmp_path,
        work_dir=tmp_path,  # type: ignore[arg-type]
        audio_dir=tmp_path,
        limits=limits,
    )


async def test_two_cards_pressed_at_once_cannot_both_pass_the_user_limit(tmp_path: Path) -> None:
    generation = service(tmp_path, Limits(max_active_per_user=1))
    for task_id in ("a", "b"):
        await generation.storage.add_task(make_record(task_id))
    results = await asyncio.gather(
        generation.claim(make_record("a"), admin=False),
        generation.claim(make_record("b"), admin=False),
    )
    claimed = [r for r in results if isinstance(r, TaskRecord)]
    assert len(claimed) == 1 and claimed[0].state is TaskState.SUBMITTING
    assert LimitReached.USER_ACTIVE in results


async def test_a_second_press_on_the_same_card_is_not_a_limit(tmp_path: Path) -> None:
    generation = service(tmp_path, Limits(max_active_per_user=1))
    await generation.storage.add_task(make_record("a"))
    first = await generation.claim(make_record("a"), admin=False)
    second = await generation.claim(make_record("a"), admin=False)
    assert isinstance(first, TaskRecord) and second is None


async def test_quota_counts_tasks_being_submitted(tmp_path: Path) -> None:
    generation = service(tmp_path, Limits(daily_seconds_per_user=8))
    await generation.storage.add_task(make_record("a"))
    await generation.storage.add_task(make_record("b"))
    assert isinstance(await generation.claim(make_record("a"), admin=False), TaskRecord)
    assert await generation.claim(make_record("b"), admin=False) is LimitReached.DAILY_QUOTA
    assert isinstance(await generation.claim(make_record("b"), admin=True), TaskRecord)


class RecordingMessenger:
    def __init__(self) -> None:
        self.shown: list[TaskRecord] = []

    async def show_card(self, record: TaskRecord) -> None:
        self.shown.append(record)


async def test_cards_left_alone_for_a_week_are_closed_and_their_files_freed(
    tmp_path: Path,
) -> None:
    now = [1_000_000.0]
    generation = service(tmp_path, Limits())
    generation.clock = lambda: now[0]
    generation.messenger = RecordingMessenger()  # type: ignore[assignment]
    (tmp_path / "old.jpg").write_bytes(b"x")
    (tmp_path / "new.jpg").write_bytes(b"x")
    (tmp_path / "run.jpg").write_bytes(b"x")
    await generation.storage.add_task(make_record("old", created_at=now[0] - 8 * 86400))
    await generation.storage.add_task(make_record("new", created_at=now[0] - 3600))
    await generation.storage.add_task(
        replace(make_record("run"), created_at=now[0] - 8 * 86400, state=TaskState.RUNNING)
    )
    assert await generation.expire(7 * 86400) == 1
    assert (await generation.storage.get_task("old")).state is TaskState.CLOSED
    assert not (tmp_path / "old.jpg").exists()
    assert (tmp_path / "new.jpg").exists() and (tmp_path / "run.jpg").exists()
    assert [r.id for r in generation.messenger.shown] == ["old"]
