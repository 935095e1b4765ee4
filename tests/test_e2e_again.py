"""The buttons under a delivered video: Again, Edit, ×3, from the kept photo."""

from __future__ import annotations

import copy
from typing import Any

from tests.harness import (
    GENERATE,
    World,
    full_generation,
    make_image,
    message_with,
    open_card,
    wait_card,
)


def video_message(world: World, chat_id: int, n: int = 0) -> dict[str, Any]:
    return [m for m in world.telegram.bot_messages(chat_id) if "video" in m][n]


async def first_video(world: World, user: dict, caption: str = "the cat waves") -> dict:
    tg = world.telegram
    card = await open_card(world, user, caption=caption)
    tg.press(user, card, tg.buttons(card)["1080p"])
    await wait_card(world, card, "1080p ·")
    tg.press(user, card, tg.buttons(card)[GENERATE])
    await wait_card(world, card, "Done")
    return video_message(world, user["id"])


async def answer_to(world: World, user: dict, message: dict, label: str) -> str:
    """Press a button and return the text of the bot's answer to that press."""
    tg = world.telegram
    query_id = tg.press(user, message, tg.buttons(message)[label])
    [answer] = await tg.wait_for_call(
        "answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == query_id
    )
    return str(answer.params.get("text", ""))


def without_seed(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "seed"}


async def test_again_makes_the_same_video_with_a_new_seed(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        video = await first_video(world, ann)
        assert list(tg.buttons(video)) == [
            "🔁 Again", "✏️ Edit", "🎲 ×3", "⏭ Continue", "⭕ Round",
        ]  # fmt: skip
        tg.press(ann, video, tg.buttons(video)["🔁 Again"])
        await tg.wait_for(lambda: len([m for m in tg.bot_messages(1001) if "video" in m]) == 2)
    first, again = (s.body for s in api.accepted())
    assert without_seed(first) == without_seed(again)  # the same photo and settings
    assert first["resolution"] == "1080p" and first["seed"] != again["seed"]
    assert len(api.submissions) == 2  # started by itself, once
    second = video_message(world, 1001, 1)
    assert second["reply_to_message"]["message_id"] == video["message_id"]
    assert f"Seed: {again['seed']}" in second["caption"]
    assert len(tg.calls_to("getFile")) == 1  # the photo was never downloaded again


async def test_edit_opens_a_card_with_the_prompt_settings_and_seed(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        video = await first_video(world, ann, caption="a fox jumps")
        seed = api.accepted()[0].body["seed"]
        tg.press(ann, video, tg.buttons(video)["✏️ Edit"])
        card = await tg.wait_for(
            lambda: next(
                (
                    m
                    for m in tg.bot_messages(1001)
                    if m.get("reply_markup")
                    and (m.get("reply_to_message") or {}).get("message_id") == video["message_id"]
                    and GENERATE in tg.buttons(m)
                ),
                None,
            )
        )
        assert "a fox jumps" in card["text"] and "1080p" in card["text"]
        assert f"Seed: {seed}" in card["text"]
        assert len(api.submissions) == 1  # a card to change, nothing started
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
    assert api.accepted()[1].body["seed"] == seed  # the same video can be made again


async def test_three_variations_each_with_its_own_seed(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(max_active_tasks_per_user=5):
        video = await first_video(world, ann)
        tg.press(ann, video, tg.buttons(video)["🎲 ×3"])
        await api.wait_for(lambda: len(api.accepted()) == 4)
        await tg.wait_for(lambda: len([m for m in tg.bot_messages(1001) if "video" in m]) == 4)
    seeds = [s.body["seed"] for s in api.accepted()]
    assert len(set(seeds)) == 4


async def test_variations_stay_within_the_users_limit(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(max_active_tasks_per_user=2):
        video = await first_video(world, ann)
        api.hold_new_tasks = True
        assert "Starting 2 of 3" in await answer_to(world, ann, video, "🎲 ×3")
        await api.wait_for(lambda: len(api.accepted()) == 3)
        refused = await answer_to(world, ann, video, "🔁 Again")  # two in flight: refused
        assert "already have 2 videos in progress" in refused
    assert len(api.submissions) == 3


async def test_someone_elses_video_and_a_photo_no_longer_kept_are_said(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann, bob = tg.user(1001), tg.user(1002)
    async with world.bot():
        video = await first_video(world, ann)
        assert "belongs to someone else" in await answer_to(world, bob, video, "🔁 Again")
        for kept in (world.config.data_dir / "images").iterdir():
            kept.unlink()  # past RETENTION_DAYS: swept
        tg.press(ann, video, tg.buttons(video)["✏️ Edit"])
        await tg.wait_for(
            lambda: any("no longer kept" in m.get("text", "") for m in tg.bot_messages(1001))
        )
    assert len(api.submissions) == 1


async def test_edit_of_a_photo_no_longer_kept_answers_the_press_once(world: World) -> None:
    """The new card's placeholder says the photo is gone; the press is answered once, so
    Telegram refuses nothing (a second answer to one query is an error)."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        video = await first_video(world, ann)
        for kept in (world.config.data_dir / "images").iterdir():
            kept.unlink()  # past RETENTION_DAYS: swept
        query_id = tg.press(ann, video, tg.buttons(video)["✏️ Edit"])
        await tg.wait_for(
            lambda: any("no longer kept" in m.get("text", "") for m in tg.bot_messages(1001))
        )
    answers = tg.calls_to("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers].count(query_id) == 1
    assert tg.errors() == []


GROUP = -100500


def next_id(world: World, chat_id: int) -> int:
    """The message id the fake Bot API gives the next message in the chat (one counter each)."""
    return max((m for c, m in world.telegram.messages if c == chat_id), default=0) + 1


async def group_card(world: World, user: dict, prompt: str) -> dict:
    tg = world.telegram
    photo = tg.send_photo(user, make_image(), caption=f"/video {prompt}", chat_id=GROUP)
    card: dict = await tg.wait_for(
        lambda: next(
            (
                m
                for m in tg.bot_messages(GROUP)
                if (m.get("reply_to_message") or {}).get("message_id") == photo["message_id"]
                and m.get("reply_markup")
            ),
            None,
        )
    )
    return card


async def test_again_under_a_history_resend_in_private_stays_in_private(world: World) -> None:
    """The audit's L4, inverted: the new card was built for the group the video was first
    made in, with the id of its card in private, so it rewrote Bob's card in the group."""
    tg, api = world.telegram, world.apimart
    ann, bob = tg.user(1001), tg.user(1002, "Bob")
    async with world.bot():
        card = await group_card(world, ann, "the cat waves")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        while next_id(world, 1001) < next_id(world, GROUP) + 4:  # Ann's private chat ahead
            await ask_privacy(world, ann)
        tg.send_text(ann, "/history")
        listing = await message_with(world, 1001, "🗂 Your videos")
        tg.press(ann, listing, tg.buttons(listing)["1"])
        [resent] = await tg.wait_for(lambda: video_messages_in(world, 1001))
        placeholder = next_id(world, 1001)  # the id Ann's new card will have in private
        while next_id(world, GROUP) < placeholder - 1:
            tg.send_text(bob, "just chatting", chat_id=GROUP)  # not for the bot: no answer
        bob_card = await group_card(world, bob, "the dog runs")
        assert bob_card["message_id"] == placeholder  # lined up, as in the audit's proof
        group_before = copy.deepcopy({k: m for k, m in tg.messages.items() if k[0] == GROUP})
        calls_before = len(tg.calls)
        tg.press(ann, resent, tg.buttons(resent)["🔁 Again"])
        await tg.wait_for(lambda: len(video_messages_in(world, 1001)) == 2)
        again_card = tg.messages[(1001, placeholder)]
        await wait_card(world, again_card, "Done")
        group_after = copy.deepcopy({k: m for k, m in tg.messages.items() if k[0] == GROUP})
        touched = [c for c in tg.calls[calls_before:] if c.params.get("chat_id") == str(GROUP)]
        tg.press(bob, bob_card, tg.buttons(bob_card)["1080p"])  # Bob's card is still his
        await wait_card(world, bob_card, "1080p ·")
    assert group_after == group_before and touched == []
    assert "the dog runs" in tg.current(bob_card)["text"]
    assert again_card["reply_to_message"]["message_id"] == resent["message_id"]
    second = video_message(world, 1001, 1)
    assert second["reply_to_message"]["message_id"] == resent["message_id"]
    assert len(api.accepted()) == 2 and len(video_messages_in(world, GROUP)) == 1


def video_messages_in(world: World, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in world.telegram.bot_messages(chat_id) if "video" in m]


async def ask_privacy(world: World, user: dict) -> None:
    """/privacy in private, and its answer (two messages in the chat)."""
    tg = world.telegram
    before = len(notices_in(world, user["id"]))
    tg.send_text(user, "/privacy")
    await tg.wait_for(lambda: len(notices_in(world, user["id"])) > before)


def notices_in(world: World, chat_id: int) -> list[dict[str, Any]]:
    return [
        m for m in world.telegram.bot_messages(chat_id) if "keeps about you" in m.get("text", "")
    ]


async def test_a_double_tap_on_again_or_x3_starts_one_batch(world: World) -> None:
    """Two presses of one button in a moment (a double tap, or a press sent twice) started,
    and charged, two batches: the second is told the video is on its way."""
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(max_active_tasks_per_user=10):
        video = await first_video(world, ann)
        for label in ("🔁 Again", "🎲 ×3"):
            tg.press(ann, video, tg.buttons(video)[label])
            tg.press(ann, video, tg.buttons(video)[label])
        await api.wait_for(lambda: len(api.accepted()) == 1 + 1 + 3 or None)
        await full_generation(world, tg.user(1002))  # everything pressed has been handled
        assert len(api.accepted()) == 1 + 1 + 3 + 1  # the first, Again, ×3, the barrier
    replies = [str(c.params.get("text", "")) for c in tg.calls_to("answerCallbackQuery")]
    assert replies.count("This video is already on its way.") == 2
