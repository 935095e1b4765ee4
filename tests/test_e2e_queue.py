"""A full bot queues instead of refusing: fair order, places on the cards, nothing spent
before a task leaves the line, and the line survives a restart."""

from __future__ import annotations

import asyncio
import re

from tests.harness import GENERATE, World, open_card, wait_card


def videos(world: World) -> int:
    return sum(1 for c in world.telegram.calls_to("sendVideo") if c.error is None)


async def test_twelve_presses_on_a_bot_of_five_all_get_their_video(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.hold_new_tasks = True  # each stays at 50 % until released
    users = [tg.user(3000 + n) for n in range(12)]
    async with world.bot(max_active_tasks=5):
        cards = list(await asyncio.gather(*(open_card(world, u) for u in users)))
        for user, card in zip(users, cards, strict=True):
            tg.press(user, card, tg.buttons(card)[GENERATE])
        await api.wait_for(lambda: len(api.accepted()) == 5)
        in_line = await tg.wait_for(
            lambda: (
                [t for c in cards if "In line" in (t := tg.current(c)["text"])]
                if sum("In line" in tg.current(c)["text"] for c in cards) == 7
                else None
            )
        )
        assert len(api.submissions) == 5  # nothing of the line was sent, nor charged
    places = sorted(
        int(m.group(1)) for t in in_line if (m := re.search(r"(\d+) videos? ahead", t))
    )
    assert places == [1, 2, 3, 4, 5, 6] and sum("yours is next" in t for t in in_line) == 1
    queued_card = next(c for c in cards if "In line" in tg.current(c)["text"])
    assert list(tg.buttons(queued_card)) == ["✖️ Cancel"]

    released: set[str] = set()
    async with world.bot(max_active_tasks=5):  # a restart: the line is still there
        while videos(world) < 12:
            for submission in api.accepted():
                if submission.task_id not in released:
                    api.release(submission.task_id)
                    released.add(str(submission.task_id))
            seen, sent = videos(world), len(api.accepted())
            await tg.wait_for(
                lambda s=seen, n=sent: videos(world) > s or len(api.accepted()) > n or None,
                timeout=20,
            )
        await asyncio.gather(*(wait_card(world, c, "Done") for c in cards))
    chats = sorted(int(c.params["chat_id"]) for c in tg.calls_to("sendVideo") if not c.error)
    assert chats == [u["id"] for u in users]  # each exactly once, nobody pressed again
    assert len(api.submissions) == 12
    # Never more than five in flight: each POST came when at most four earlier ones
    # were still without their video.
    video_times = sorted(c.at for c in tg.calls_to("sendVideo") if not c.error)
    for n, submission in enumerate(sorted(api.submissions, key=lambda s: s.at)):
        delivered = sum(1 for at in video_times if at < submission.at)
        assert n - delivered < 5, (n, delivered)


async def test_cancelling_a_place_in_line_costs_nothing_and_moves_the_others_up(
    world: World,
) -> None:
    tg, api = world.telegram, world.apimart
    api.hold_new_tasks = True
    ann, bob, cid = tg.user(3101), tg.user(3102), tg.user(3103)
    async with world.bot(max_active_tasks=1):
        first = await open_card(world, ann)
        tg.press(ann, first, tg.buttons(first)[GENERATE])
        await api.wait_for(lambda: len(api.accepted()) == 1)
        second, third = await open_card(world, bob), await open_card(world, cid)
        tg.press(bob, second, tg.buttons(second)[GENERATE])
        await wait_card(world, second, "yours is next")
        tg.press(cid, third, tg.buttons(third)[GENERATE])
        await wait_card(world, third, "1 video ahead")
        tg.press(bob, second, tg.buttons(second)["✖️ Cancel"])
        await wait_card(world, second, "Cancelled")
        await wait_card(world, third, "yours is next")
        api.release(api.accepted()[0].task_id)
        await api.wait_for(lambda: len(api.accepted()) == 2)
        api.release(api.accepted()[1].task_id)
        await wait_card(world, third, "Done")
    assert len(api.submissions) == 2  # bob's never left the line: never sent
    assert "Stopped waiting" not in tg.current(second)["text"]
