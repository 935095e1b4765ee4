"""The flood windows and the shaper's priorities, on a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.telegram.flood_rules import (
    Bucket,
    FloodRules,
    SendLog,
    TokenBucket,
    Window,
    is_counted,
)
from bot.telegram.traffic import (
    BACKGROUND,
    DROPPABLE,
    SUPERSEDABLE,
    DroppedError,
    TrafficShaper,
)


def test_what_telegram_counts() -> None:
    assert is_counted("sendMessage") and is_counted("editMessageText") and is_counted("sendVideo")
    assert not is_counted("sendChatAction") and not is_counted("answerCallbackQuery")
    assert not is_counted("getFile") and not is_counted("deleteMessage")


def test_a_window_frees_its_oldest_answered_slot_first() -> None:
    log = SendLog(Window(3, 3.0))
    for at in (0.0, 0.5, 1.0):
        log.record(at).answered(at + 0.1)
    assert log.delay(1.2) == pytest.approx(3.1 - 1.2)  # the first answer + the window
    assert log.delay(3.2) == 0.0


def test_a_request_still_out_keeps_its_slot_however_long_it_takes() -> None:
    """Telegram counts it on arrival, which may be as late as its answer."""
    log = SendLog(Window(1, 1.0))
    slot = log.record(0.0)
    assert log.delay(10.0) > 0  # a slow upload: still counted
    slot.answered(10.0)
    assert log.delay(10.5) == pytest.approx(0.5)
    assert log.delay(11.0) == 0.0


def test_a_droppable_request_uses_only_its_share() -> None:
    log = SendLog(Window(10, 1.0))
    for _ in range(6):
        log.record(0.0).answered(0.0)
    assert log.delay(0.1, share=0.6) > 0  # 6 of 10 used: progress waits (is dropped)
    assert log.delay(0.1) == 0.0  # what a user waits for still fits


def test_a_private_chat_is_a_bucket_of_three_refilled_every_second() -> None:
    """Telegram's advice for one chat: about one a second, short bursts allowed. After a
    burst of three the fourth waits one second, not a whole window."""
    assert FloodRules().limit_for(42) == Bucket(3, 1.0)
    assert FloodRules().limit_for(-100) == FloodRules().group_chat
    bucket = TokenBucket(Bucket(3, 1.0))
    for at in (0.0, 0.1, 0.2):
        assert bucket.delay(at) == 0.0
        bucket.record(at).answered(at + 0.05)
    assert bucket.delay(0.5) == pytest.approx(0.55)  # the first answer + one second
    bucket.record(1.05).answered(1.1)
    assert bucket.delay(1.2) == pytest.approx(2.05 - 1.2)  # one a second from here on
    assert bucket.delay(10.0) == 0.0 and bucket.idle(10.0)


def test_a_bucket_counts_a_request_still_out_as_arriving_now() -> None:
    bucket = TokenBucket(Bucket(1, 1.0))
    slot = bucket.record(0.0)
    assert bucket.delay(10.0) == pytest.approx(1.0)  # a slow upload: counted until answered
    slot.answered(10.0)
    assert bucket.delay(10.5) == pytest.approx(0.5)
    assert bucket.delay(11.0) == 0.0


def test_a_bucket_keeps_two_of_three_for_what_a_user_waits_for() -> None:
    bucket = TokenBucket(Bucket(3, 1.0))
    assert bucket.delay(0.0, share=0.6) == 0.0  # full: a progress edit may go
    bucket.record(0.0).answered(0.0)
    assert bucket.delay(0.1, share=0.6) == pytest.approx(0.9)  # not full: progress waits
    assert bucket.delay(0.1) == 0.0  # a card or a video goes at once
    bucket.blocked_until = 5.0  # a 429's retry_after holds everything
    assert bucket.delay(0.1) == pytest.approx(4.9)


def test_a_bucket_never_lets_more_through_than_telegram_allows() -> None:
    """Whatever the order of answers, any span of t seconds holds at most 3 + t requests."""
    import random

    rng = random.Random(7)
    bucket, now, sent = TokenBucket(Bucket(3, 1.0)), 0.0, []
    slots = []
    while now < 60:
        now += rng.choice((0.0, 0.01, 0.05, 0.3, 1.0))
        for slot in [s for s in slots if s.in_flight and rng.random() < 0.5]:
            slot.answered(now)
        if bucket.delay(now) == 0.0:
            slots.append(bucket.record(now))
            sent.append(now)
    assert len(sent) > 50
    for i, start in enumerate(sent):
        for j in range(i, len(sent)):
            assert j - i + 1 <= 3 + (sent[j] - start) + 1e-9


async def yield_once(_: float) -> None:
    await asyncio.sleep(0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def sent(calls: list[str], name: str) -> dict[str, Any]:
    calls.append(name)
    return {"ok": True}


async def test_progress_is_dropped_while_an_answer_waits_in_the_same_chat() -> None:
    clock = Clock()
    shaper = TrafficShaper(FloodRules(private_chat=Window(1, 1.0)), clock=clock, sleep=yield_once)
    calls: list[str] = []
    data = {"chat_id": 42}
    await shaper.process_request(sent, (calls, "card"), {}, "sendMessage", data, None)
    waiting = asyncio.create_task(
        shaper.process_request(sent, (calls, "video"), {}, "sendVideo", data, None)
    )
    await asyncio.sleep(0)  # the video waits for the chat's window
    with pytest.raises(DroppedError):
        await shaper.process_request(
            sent, (calls, "progress"), {}, "editMessageText", data, DROPPABLE
        )
    clock.now += 1.5
    await asyncio.wait_for(waiting, 1)
    assert calls == ["card", "video"] and shaper.dropped == 1
    # Another chat is not held up by this one.
    await shaper.process_request(sent, (calls, "other"), {}, "sendMessage", {"chat_id": 7}, None)
    assert calls[-1] == "other"


async def test_uncounted_methods_pass_straight_through() -> None:
    shaper = TrafficShaper(FloodRules(overall=Window(1, 60.0)), clock=Clock())
    calls: list[str] = []
    await shaper.process_request(sent, (calls, "a"), {}, "sendMessage", {"chat_id": 1}, None)
    for n in range(5):
        await asyncio.wait_for(
            shaper.process_request(
                sent, (calls, f"answer{n}"), {}, "answerCallbackQuery", {}, None
            ),
            1,
        )
    assert len(calls) == 6


async def test_a_newer_redraw_of_a_card_replaces_the_one_still_waiting() -> None:
    clock = Clock()
    shaper = TrafficShaper(FloodRules(private_chat=Window(1, 1.0)), clock=clock, sleep=yield_once)
    calls: list[str] = []
    card = {"chat_id": 42, "message_id": 9}
    await shaper.process_request(sent, (calls, "first"), {}, "editMessageText", card, SUPERSEDABLE)
    older = asyncio.create_task(
        shaper.process_request(sent, (calls, "older"), {}, "editMessageText", card, SUPERSEDABLE)
    )
    await asyncio.sleep(0)
    newer = asyncio.create_task(
        shaper.process_request(sent, (calls, "newer"), {}, "editMessageText", card, SUPERSEDABLE)
    )
    await asyncio.sleep(0)
    with pytest.raises(DroppedError):
        await older
    clock.now += 1.5
    await asyncio.wait_for(newer, 1)
    assert calls == ["first", "newer"]


async def test_a_new_message_goes_before_a_redraw_when_the_overall_budget_is_short() -> None:
    """200 photos at once: every first reply goes out before the cards are redrawn."""
    clock = Clock()
    shaper = TrafficShaper(FloodRules(overall=Window(1, 1.0)), clock=clock, sleep=yield_once)
    calls: list[str] = []
    await shaper.process_request(sent, (calls, "a"), {}, "sendMessage", {"chat_id": 1}, None)
    card = {"chat_id": 1, "message_id": 5}
    redraw = asyncio.create_task(
        shaper.process_request(sent, (calls, "redraw"), {}, "editMessageText", card, SUPERSEDABLE)
    )
    await asyncio.sleep(0)
    reply = asyncio.create_task(
        shaper.process_request(sent, (calls, "reply"), {}, "sendMessage", {"chat_id": 2}, None)
    )
    for _ in range(3):
        await asyncio.sleep(0)
    clock.now += 1.5
    await asyncio.wait_for(reply, 1)
    assert calls == ["a", "reply"]
    clock.now += 1.5
    await asyncio.wait_for(redraw, 1)
    assert calls == ["a", "reply", "redraw"]


async def test_a_users_answer_goes_before_a_backlog_of_videos() -> None:
    """100 resumed videos waiting for the overall budget: /settings is answered next."""
    clock = Clock()
    shaper = TrafficShaper(FloodRules(overall=Window(1, 1.0)), clock=clock, sleep=yield_once)
    calls: list[str] = []
    await shaper.process_request(sent, (calls, "a"), {}, "sendMessage", {"chat_id": 1}, None)
    videos = [
        asyncio.create_task(
            shaper.process_request(
                sent, (calls, f"video {n}"), {}, "sendVideo", {"chat_id": 10 + n}, BACKGROUND
            )
        )
        for n in range(3)
    ]
    await asyncio.sleep(0)
    answer = asyncio.create_task(
        shaper.process_request(sent, (calls, "answer"), {}, "sendMessage", {"chat_id": 2}, None)
    )
    for _ in range(3):
        await asyncio.sleep(0)
    clock.now += 1.5
    await asyncio.wait_for(answer, 1)
    assert calls == ["a", "answer"]
    for _ in range(3):
        clock.now += 1.5
        for _ in range(5):
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*videos), 1)
    assert sorted(calls[2:]) == ["video 0", "video 1", "video 2"]


async def test_replicas_take_an_equal_share_of_the_overall_limit() -> None:
    """Two replicas on one token: each sends at most half of Telegram's ~30 a second, so
    together they stay within it; alone again, one takes it whole."""
    clock = Clock()
    shaper = TrafficShaper(FloodRules(overall=Window(29, 1.0)), clock=clock, sleep=yield_once)
    shaper.share_overall(2)
    assert shaper.overall_limit == 14
    calls: list[str] = []
    sending = [
        asyncio.create_task(
            shaper.process_request(
                sent, (calls, "sendMessage"), {}, "sendMessage", {"chat_id": -100 - n}, None
            )
        )
        for n in range(20)
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(calls) == 14  # the rest wait for the window, on this replica's half
    clock.now += 1.01
    await asyncio.gather(*sending)
    assert len(calls) == 20
    shaper.share_overall(1)
    assert shaper.overall_limit == 29
    shaper.share_overall(0)  # never a zero budget
    assert shaper.overall_limit == 29


async def test_a_chat_shared_with_other_replicas_waits_for_the_shared_budget() -> None:
    """Several replicas: a message to a chat also counts in the budget they share; it waits
    when that says so, a progress edit is dropped instead, and a budget that cannot be
    reached leaves the local limit alone in charge."""
    clock = Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    answers = [0.4, 0.0, 0.7]
    asked: list[tuple[int, float, int]] = []

    async def shared(chat: int, step: float, burst: int) -> float:
        asked.append((chat, step, burst))
        if not answers:
            raise ConnectionError("database away")
        return answers.pop(0)

    shaper = TrafficShaper(FloodRules(), clock=clock, sleep=sleep)
    shaper.share_chats(shared)
    calls: list[str] = []
    await shaper.process_request(sent, (calls, "answer"), {}, "sendMessage", {"chat_id": 5}, None)
    assert calls == ["answer"] and slept == [0.4]
    assert asked[:2] == [(5, 1.0, 3), (5, 1.0, 3)]
    with pytest.raises(DroppedError):
        await shaper.process_request(
            sent, (calls, "progress"), {}, "editMessageText", {"chat_id": 5}, DROPPABLE
        )
    await shaper.process_request(sent, (calls, "later"), {}, "sendMessage", {"chat_id": -7}, None)
    assert calls == ["answer", "later"] and asked[-1] == (-7, 60.0 / 19, 19)
    shaper.share_chats(None)  # alone again: no shared count
    await shaper.process_request(sent, (calls, "alone"), {}, "sendMessage", {"chat_id": 5}, None)
    assert len(asked) == 4
