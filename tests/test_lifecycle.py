"""The lifecycle stage by stage, on in-memory fakes of storage, the video API and Telegram."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.apimart import (
    ApimartAuthenticationError,
    ApimartConnectionError,
    ApimartError,
    ApimartInsufficientBalanceError,
    ApimartInvalidRequestError,
    ApimartRateLimitError,
    SubmitOutcomeUnknownError,
    TaskError,
    TaskStatus,
)
from bot.domain.access import LimitReached, Limits
from bot.domain.notices import Notice
from bot.domain.poll_schedule import FIRST_PROBE, next_poll_delay
from bot.domain.records import Soundtrack, TaskRecord, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from bot.domain.transitions import Accepted, Ended, TaskChange
from bot.lifecycle.submit import Claimed, InLine, Refused, Taken
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.fakes.lifecycle import Lifecycle, build_lifecycle


async def add(life: Lifecycle, record: TaskRecord, tmp_path: Path) -> TaskRecord:
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "images" / record.image_file).write_bytes(b"\xff\xd8jpeg")
    await life.storage.add_task(record)
    return record


async def test_two_cards_pressed_at_once_cannot_both_pass_the_user_limit(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, Limits(max_active_per_user=1))
    for task_id in ("a", "b"):
        await add(life, make_record(task_id), tmp_path)
    results = await asyncio.gather(
        life.generation.claim(make_record("a")), life.generation.claim(make_record("b"))
    )
    claimed = [r.record for r in results if isinstance(r, Claimed)]
    assert len(claimed) == 1 and claimed[0].state is TaskState.SUBMITTING
    assert Refused(LimitReached.USER_ACTIVE) in results


async def test_a_second_press_on_the_same_card_is_not_a_limit(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, Limits(max_active_per_user=1))
    await add(life, make_record("a"), tmp_path)
    first = await life.generation.claim(make_record("a"))
    second = await life.generation.claim(make_record("a"))
    assert isinstance(first, Claimed) and second == Taken()


async def test_quota_counts_tasks_being_submitted_and_spares_admins(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path, Limits(daily_seconds_per_user=8), admin_ids=frozenset({7}))
    await add(life, make_record("a"), tmp_path)
    await add(life, make_record("b"), tmp_path)
    await add(life, make_record("c", user_id=7), tmp_path)
    await add(life, make_record("d", user_id=7), tmp_path)
    assert isinstance(await life.generation.claim(make_record("a")), Claimed)
    assert await life.generation.claim(make_record("b")) == Refused(LimitReached.DAILY_QUOTA)
    assert isinstance(await life.generation.claim(make_record("c", user_id=7)), Claimed)
    assert isinstance(await life.generation.claim(make_record("d", user_id=7)), Claimed)


async def test_submit_poll_deliver_sends_one_video_and_keeps_the_photo(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    record = await add(life, make_record("a", prompt="waves"), tmp_path)
    life.api.statuses["api-1"] = [
        TaskStatus("api-1", "processing", progress=40),
        TaskStatus("api-1", "completed", video_url="https://cdn/v.mp4", seed=9),
    ]
    claimed = await life.generation.claim(record)
    assert isinstance(claimed, Claimed)
    running = await life.generation.submit(claimed.record)
    assert running is not None and running.state is TaskState.RUNNING
    assert life.scheduler.due == {"a": FIRST_PROBE}  # adaptive: an early first look
    await life.run_polls()
    done = await life.storage.get_task("a")
    assert done is not None and done.state is TaskState.DONE and done.video_message_id == 501
    assert done.seed_used == 9
    assert [v.id for v in life.messenger.videos] == ["a"]
    assert life.api.downloads == ["https://cdn/v.mp4"]
    assert [r.prompt for r in life.api.submitted] == ["waves"]
    assert (tmp_path / "images" / "a.jpg").exists()  # kept for Again/Edit, swept later
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize(
    ("error", "state", "notice", "error_text"),
    [
        (SubmitOutcomeUnknownError("timeout"), TaskState.UNKNOWN, Notice.OUTCOME_UNKNOWN, ""),
        (
            ApimartInvalidRequestError("image is too small", status=400),
            TaskState.DRAFT,
            Notice.INVALID_REQUEST,
            "image is too small",
        ),
        (
            ApimartInvalidRequestError("prompt length exceeds 800 characters", status=400),
            TaskState.DRAFT,
            Notice.PROMPT_TOO_LONG,
            "prompt length exceeds 800 characters",
        ),
        (
            ApimartAuthenticationError("no", status=401),
            TaskState.DRAFT,
            Notice.SERVICE_UNAVAILABLE,
            "",
        ),
        (ApimartInsufficientBalanceError("empty"), TaskState.DRAFT, Notice.NO_BALANCE, ""),
        (ApimartRateLimitError("slow down"), TaskState.DRAFT, Notice.BUSY, ""),
        (ApimartConnectionError("refused"), TaskState.DRAFT, Notice.UNREACHABLE, ""),
    ],
)
async def test_each_submit_failure_has_its_state_and_notice(
    tmp_path: Path, error: ApimartError, state: TaskState, notice: Notice, error_text: str
) -> None:
    life = build_lifecycle(tmp_path, admin_ids=frozenset({99}))
    record = await add(life, make_record("a"), tmp_path)
    life.api.submit_error = error
    claimed = await life.generation.claim(record)
    assert isinstance(claimed, Claimed)
    await life.generation.submit(claimed.record)
    stored = await life.storage.get_task("a")
    assert stored is not None
    assert (stored.state, stored.notice, stored.error) == (state, notice, error_text)
    assert life.scheduler.due == {}
    alerted = notice in (Notice.SERVICE_UNAVAILABLE, Notice.NO_BALANCE)
    assert life.messenger.alerts == ([notice] if alerted else [])


async def test_failed_upstream_and_deadline(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    failed = make_record("f", state=TaskState.RUNNING, apimart_task_id="x1", submitted_at=1e6)
    late = make_record("l", state=TaskState.RUNNING, apimart_task_id="x2", submitted_at=0.0)
    await add(life, failed, tmp_path)
    await add(life, late, tmp_path)
    life.api.statuses["x1"] = [TaskStatus("x1", "failed", error=TaskError("nsfw"))]
    assert await life.generation.poller.step("f") is None
    assert await life.generation.poller.step("l") is None
    f, lt = await life.storage.get_task("f"), await life.storage.get_task("l")
    assert f is not None and (f.state, f.notice, f.error) == (
        TaskState.FAILED,
        Notice.API_FAILED,
        "nsfw",
    )
    assert lt is not None and (lt.state, lt.notice) == (TaskState.TIMED_OUT, Notice.TIMED_OUT)


async def test_a_restart_settles_submits_and_resumes_the_running(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    await add(life, make_record("s", state=TaskState.SUBMITTING), tmp_path)
    await add(
        life,
        make_record("r", state=TaskState.RUNNING, apimart_task_id="x", submitted_at=1e6),
        tmp_path,
    )
    assert await life.generation.resume() == 1
    s = await life.storage.get_task("s")
    assert s is not None and s.state is TaskState.UNKNOWN
    assert life.scheduler.due == {"r": 0}
    assert life.api.submitted == []


async def test_cards_left_alone_for_a_week_are_closed_and_their_files_freed(
    tmp_path: Path,
) -> None:
    life = build_lifecycle(tmp_path)
    now = life.now[0]
    await add(life, make_record("old", created_at=now - 8 * 86400), tmp_path)
    await add(life, make_record("new", created_at=now - 3600), tmp_path)
    await add(
        life,
        replace(make_record("run"), created_at=now - 8 * 86400, state=TaskState.RUNNING),
        tmp_path,
    )
    assert await life.generation.expire(7 * 86400) == 1
    old = await life.storage.get_task("old")
    assert old is not None and old.state is TaskState.CLOSED
    images = tmp_path / "images"
    assert not (images / "old.jpg").exists()
    assert (images / "new.jpg").exists() and (images / "run.jpg").exists()
    assert [r.id for r in life.messenger.shown] == ["old"]


async def test_a_poll_that_changed_nothing_writes_nothing(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    running = make_record(
        "r",
        state=TaskState.RUNNING,
        apimart_task_id="x",
        submitted_at=1e6,
        api_status="processing",
        progress=40,
        shown_view="True:40",
    )
    await add(life, running, tmp_path)
    life.api.statuses["x"] = [TaskStatus("x", "processing", progress=40)]
    writes: list[str] = []
    update = life.storage.update_task

    async def counting(
        task_id: str, change: TaskChange, *, expect_version: int | None = None
    ) -> TaskRecord | None:
        writes.append(task_id)
        return await update(task_id, change, expect_version=expect_version)

    life.storage.update_task = counting  # type: ignore[method-assign]
    assert await life.generation.poller.step("r") == next_poll_delay(0, 40, None)
    assert writes == [] and life.messenger.progress == []
    life.api.statuses["x"] = [TaskStatus("x", "processing", progress=55)]
    life.now[0] += 30  # 55 % after 30 s: about 25 s to go, looked at again in about 17
    assert await life.generation.poller.step("r") == pytest.approx(0.7 * 30 * 45 / 55)
    assert writes == ["r"] and [r.progress for r in life.messenger.progress] == [55]


async def test_a_dropped_progress_edit_is_drawn_by_the_next_poll(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    running = make_record(
        "r", state=TaskState.RUNNING, apimart_task_id="x", submitted_at=1e6, progress=10
    )
    await add(life, running, tmp_path)
    life.messenger.drop_progress = True  # the flood budget is busy
    life.api.statuses["x"] = [TaskStatus("x", "processing", progress=40)]
    await life.generation.poller.step("r")
    stored = await life.storage.get_task("r")
    assert stored is not None and stored.progress == 40
    assert stored.shown_view == running.shown_view  # not drawn, so not recorded as drawn
    life.messenger.drop_progress = False
    await life.generation.poller.step("r")  # the same progress: drawn now
    assert [r.progress for r in life.messenger.progress] == [40]


async def test_a_restart_resumes_a_backlog_at_a_bounded_rate(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    for n in range(25):
        record = make_record(
            f"r{n:02}", state=TaskState.RUNNING, apimart_task_id=f"x{n}", submitted_at=1e6
        )
        await add(life, record, tmp_path)
    assert await life.generation.resume() == 25
    delays = sorted(life.scheduler.due.values())
    assert delays[0] == 0 and delays[-1] == pytest.approx(1.2)
    assert all(b - a == pytest.approx(0.05) for a, b in itertools.pairwise(delays))


async def test_start_up_deletes_soundtracks_nothing_refers_to(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("draft.mp3", "failed.mp3", "done.mp3", "profile.wav", "orphan.mp3"):
        (audio / name).write_bytes(b"ID3")
    await add(life, make_record("d", soundtrack_file="draft.mp3"), tmp_path)
    await add(
        life, make_record("f", soundtrack_file="failed.mp3", state=TaskState.FAILED), tmp_path
    )
    await add(life, make_record("x", soundtrack_file="done.mp3", state=TaskState.DONE), tmp_path)
    kept = Soundtrack("https://b/audio/profile.wav", "profile.wav", saved_at=life.now[0])
    await life.storage.save_user(UserProfile(3, soundtrack=kept))
    assert await life.generation.sweep_soundtracks() == 2
    assert sorted(p.name for p in audio.iterdir()) == ["draft.mp3", "failed.mp3", "profile.wav"]


async def test_a_soundtrack_kept_for_the_next_photo_expires_after_a_day(tmp_path: Path) -> None:
    """L3: a profile soundtrack is public under our address; not for ever."""
    life = build_lifecycle(tmp_path)
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "profile.wav").write_bytes(b"RIFF")
    kept = Soundtrack("https://b/audio/profile.wav", "profile.wav", saved_at=life.now[0])
    await life.storage.save_user(UserProfile(3, soundtrack=kept))
    life.now[0] += 23 * 3600
    await life.generation.housekeeping()
    assert (audio / "profile.wav").exists()
    life.now[0] += 2 * 3600
    await life.generation.housekeeping()
    assert not (audio / "profile.wav").exists()


async def test_a_task_leased_by_a_live_process_is_left_to_it(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    now = life.now[0]
    other = {"lease_owner": "replica-2", "lease_until": now + 20}
    await add(
        life,
        make_record(
            "run", state=TaskState.RUNNING, apimart_task_id="x", submitted_at=now, **other
        ),
        tmp_path,
    )
    await add(life, make_record("sub", state=TaskState.SUBMITTING, **other), tmp_path)
    life.api.statuses["x"] = [TaskStatus("x", "completed", video_url="https://v")]
    assert await life.generation.poller.step("run") is None
    assert await life.generation.keep_leases() == 0
    sub = await life.storage.get_task("sub")
    assert sub is not None and sub.state is TaskState.SUBMITTING  # its POST may be under way
    assert life.messenger.videos == [] and life.scheduler.due == {}
    life.now[0] = now + 21  # replica-2 stopped renewing: its tasks are taken over
    assert await life.generation.keep_leases() == 1
    sub = await life.storage.get_task("sub")
    assert sub is not None and sub.state is TaskState.UNKNOWN
    await life.run_polls()
    assert [v.id for v in life.messenger.videos] == ["run"]


def test_the_line_takes_every_users_first_before_anyones_second() -> None:
    from bot.domain.queue_order import fair_order

    ten_presses = [make_record(f"a{n}", user_id=1, queued_at=100.0 + n) for n in range(10)]
    late = [
        make_record("b0", user_id=2, queued_at=150.0),
        make_record("c0", user_id=3, queued_at=160.0),
    ]
    order = [r.id for r in fair_order([*ten_presses, *late])]
    assert order[:4] == ["a0", "b0", "c0", "a1"] and order[-1] == "a9"


async def test_a_queued_task_whose_turn_comes_past_the_quota_returns_to_its_card(
    tmp_path: Path,
) -> None:
    life = build_lifecycle(tmp_path, Limits(daily_seconds_per_user=5, max_active_total=1))
    running = make_record("r", user_id=9, state=TaskState.DELIVERING, apimart_task_id="x")
    await add(life, running, tmp_path)
    queued = await add(life, make_record("q", settings=GenerationSettings(duration=5)), tmp_path)
    claimed = await life.generation.claim(queued)
    assert isinstance(claimed, InLine)
    # Meanwhile the same user spent the day's allowance elsewhere; then the slot frees.
    await life.storage.add_task(
        make_record("s", state=TaskState.DONE, apimart_task_id="y", submitted_at=life.now[0])
    )
    await life.storage.update_task("r", Ended(state=TaskState.DONE, finished_at=life.now[0]))
    assert await life.generation.advance_line() == 0
    back = await life.storage.get_task("q")
    assert back is not None and back.state is TaskState.DRAFT
    assert back.notice is Notice.QUOTA_LEFT_BEHIND and life.api.submitted == []


class NoAdmins:
    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        return False


async def test_a_queued_group_card_past_the_allowance_returns_with_the_wallets_credits(
    tmp_path: Path,
) -> None:
    """Queued while the bot was full, paid by the group's wallet; the member used the day's
    allowance there meanwhile. Its turn sends the card back and frees the wallet's hold
    (left in line, it held the group's credits for good and was claimed on every pass)."""
    from bot.domain.billing import account_of
    from bot.domain.groups import GroupSettings
    from bot.lifecycle.groups import Groups

    group = -100900
    life = build_lifecycle(tmp_path, Limits(max_active_total=1), billing=True)
    generation = life.generation
    billing = generation.billing
    assert billing is not None
    generation.submitter.groups = Groups(
        storage=life.storage, roles=NoAdmins(), billing_on=True, clock=generation.clock
    )
    await life.storage.change_group(group, lambda _: GroupSettings(group, allowance=15))
    await billing.grant(group, 1000, "top-up")
    running = make_record("r", user_id=9, state=TaskState.DELIVERING, apimart_task_id="x")
    await add(life, running, tmp_path)
    card = make_record("q", chat_id=group, settings=GenerationSettings(duration=15))
    queued = await add(life, card, tmp_path)
    in_line = await generation.claim(queued)
    assert isinstance(in_line, InLine) and in_line.record.payer == group
    assert account_of(await life.storage.ledger(group)).reserved > 0
    await life.storage.add_task(
        make_record(
            "s",
            chat_id=group,
            settings=GenerationSettings(duration=15),
            state=TaskState.DONE,
            apimart_task_id="y",
            submitted_at=life.now[0],
        )
    )
    await life.storage.update_task("r", Ended(state=TaskState.DONE, finished_at=life.now[0]))
    assert await generation.advance_line() == 0
    back = await life.storage.get_task("q")
    assert back is not None and back.state is TaskState.DRAFT
    assert back.notice is Notice.QUOTA_LEFT_BEHIND and life.api.submitted == []
    wallet = account_of(await life.storage.ledger(group))
    assert (wallet.balance, wallet.reserved) == (1000, 0)


async def test_housekeeping_sweeps_photos_past_the_retention_only(tmp_path: Path) -> None:
    import os

    life = build_lifecycle(tmp_path)
    live = await add(
        life, make_record("live", state=TaskState.RUNNING, apimart_task_id="x"), tmp_path
    )
    images = tmp_path / "images"
    for name in ("old.jpg", "new.jpg"):
        (images / name).write_bytes(b"jpeg")
    month_ago = life.now[0] - 31 * 86400
    for name in ("old.jpg", live.image_file):
        os.utime(images / name, (month_ago, month_ago))
    await life.generation.housekeeping()
    assert sorted(p.name for p in images.iterdir()) == sorted(["new.jpg", live.image_file])


async def test_credits_held_in_line_return_when_the_card_comes_back_and_hold_again(
    tmp_path: Path,
) -> None:
    from bot.domain.billing import Movement, Reason

    life = build_lifecycle(
        tmp_path, Limits(daily_seconds_per_user=5, max_active_total=1), billing=True
    )
    await life.storage.ledger_apply(Movement(1, 100, Reason.GRANT, "g"))
    await add(
        life, make_record("r", user_id=9, state=TaskState.RUNNING, apimart_task_id="x"), tmp_path
    )
    queued = await add(life, make_record("q"), tmp_path)
    in_line = await life.generation.claim(queued)
    assert isinstance(in_line, InLine)
    account = await life.generation.ending.billing.account(1)  # type: ignore[union-attr]
    assert (account.balance, account.reserved) == (75, 25)
    await life.generation.ending.back_to_draft(in_line.record, Notice.QUOTA_LEFT_BEHIND)
    account = await life.generation.ending.billing.account(1)  # type: ignore[union-attr]
    assert (account.balance, account.reserved) == (100, 0)
    again = await life.generation.claim(queued)  # pressed again: a new hold, not refused
    assert isinstance(again, InLine)
    account = await life.generation.ending.billing.account(1)  # type: ignore[union-attr]
    assert (account.balance, account.reserved) == (75, 25)


async def test_a_forged_callback_path_reads_no_storage(tmp_path: Path) -> None:
    """/hooks/<token>/callback is public: a path of the wrong shape is refused before any
    read, a well-formed unknown one finds nothing, the task's own one is a hint."""
    life = build_lifecycle(tmp_path)
    token = "A" * 32
    await add(
        life,
        make_record("r", state=TaskState.RUNNING, apimart_task_id="x", callback_token=token),
        tmp_path,
    )
    reads: list[object] = []
    tasks_in = life.storage.tasks_in

    async def counting(*args: Any, **kwargs: Any) -> list[TaskRecord]:
        reads.append(args)
        return await tasks_in(*args, **kwargs)

    life.storage.tasks_in = counting  # type: ignore[method-assign]
    for forged in ("", "not-a-token", "A" * 31, "A" * 33, "../" + "A" * 29, "A" * 31 + "é"):
        assert not await life.generation.hint(forged)
    assert reads == []
    assert not await life.generation.hint("B" * 32)
    assert await life.generation.hint(token) and life.scheduler.due == {"r": 0.0}


class AnswerLostOnce(MemoryStorage):
    """The database commits the provider's task id, then its answer is lost (it went away
    right after the commit): the write is done, the caller sees a dropped connection."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    async def update_task(self, task_id: str, change: TaskChange, **kwargs: Any) -> Any:
        updated = await super().update_task(task_id, change, **kwargs)
        if isinstance(change, Accepted) and not self.lost:
            self.lost = True
            raise ConnectionResetError("the answer to the commit never came")
        return updated


async def test_a_write_whose_answer_was_lost_is_found_done_and_the_task_still_polled(
    tmp_path: Path,
) -> None:
    """Seen in a full run: tried again, the compare-and-set from SUBMITTING found the task
    RUNNING already and gave None, so nothing scheduled its polls (the video never came)."""
    storage = AnswerLostOnce()
    life = build_lifecycle(tmp_path, storage=storage)
    life.generation.submitter.sleep = lambda _: asyncio.sleep(0)
    record = await add(life, make_record("a"), tmp_path)
    claimed = await life.generation.claim(record)
    assert isinstance(claimed, Claimed)
    running = await life.generation.submit(claimed.record)
    assert storage.lost
    assert running is not None and running.state is TaskState.RUNNING
    assert running.apimart_task_id == "api-1"
    assert life.scheduler.due == {"a": FIRST_PROBE}  # polled, so delivered in the end
