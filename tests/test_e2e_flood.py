"""Flood-safe traffic: a Bot API that enforces Telegram's flood limits never answers 429.

The fake counts messages and edits (30 a second overall, a 3-message burst then 1 a second
per private chat, 20 a minute per group) and answers 429 past them, as Telegram does.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.telegram.flood_rules import FloodRules, Window
from tests.fakes.telegram_api import FloodLimits
from tests.harness import GENERATE, World, make_image, open_card, wait_card

# Thousands of updates, interleavings or strings through lines other tests cover: not
# traced by coverage (Makefile), which would double their time.
pytestmark = pytest.mark.no_cover

LONG_SCRIPT = [
    ("pending", 0),
    *(("processing", p) for p in range(10, 100, 10)),
    ("completed", 100),
]


def videos_by_chat(world: World) -> Counter[str]:
    return Counter(
        str(c.params["chat_id"]) for c in world.telegram.calls_to("sendVideo") if c.error is None
    )


async def test_fifty_users_at_once_meet_no_flood_limit(world: World) -> None:
    tg, api = world.telegram, world.apimart
    tg.flood_limits = FloodLimits()
    api.script = list(LONG_SCRIPT)
    users = [tg.user(5000 + n) for n in range(50)]
    async with world.bot(
        flood_rules=FloodRules(), poll_interval=0.3, progress_edit_interval=0, max_active_tasks=50
    ):
        # 50 photos at once within ~30 messages a second, on a loaded 2-core machine: the
        # last card may come after the default 10 s (as in the soak test)
        cards = await asyncio.gather(*(open_card(world, user, timeout=60) for user in users))
        for user, card in zip(users, cards, strict=True):
            tg.press(user, card, tg.buttons(card)[GENERATE])
        await tg.wait_for(lambda: sum(videos_by_chat(world).values()) >= 50 or None, timeout=90)
        await asyncio.gather(*(wait_card(world, card, "Done", timeout=30) for card in cards))
        assert len(api.accepted()) == 50
    assert tg.flood_errors() == []
    assert videos_by_chat(world) == Counter({str(user["id"]): 1 for user in users})
    # Progress was shown where the budget allowed, never at the cost of a 429.
    edits = tg.calls_to("editMessageText")
    assert any("%" in str(c.params.get("text", "")) for c in edits)


async def test_a_busy_group_stays_within_twenty_messages_a_minute(world: World) -> None:
    """Time-scaled tenfold: 20 messages per 6 s in the group, the bot's window scaled alike."""
    tg, api = world.telegram, world.apimart
    tg.flood_limits = FloodLimits(group_window=6.0)
    rules = FloodRules(group_chat=FloodRules().group_chat.scaled(0.1))
    assert rules.group_chat == Window(19, 6.0)
    group = -100777
    users = [tg.user(7000 + n) for n in range(6)]
    async with world.bot(flood_rules=rules, poll_interval=0.2, progress_edit_interval=0):
        cards = []
        for user in users:
            photo = tg.send_photo(user, make_image(), caption="/video a dog runs", chat_id=group)
            cards.append(await card_for(world, group, photo["message_id"]))
        for user, card in zip(users, cards, strict=True):
            tg.press(user, card, tg.buttons(card)[GENERATE])
        await tg.wait_for(lambda: videos_by_chat(world)[str(group)] >= 6 or None, timeout=60)
        await asyncio.gather(*(wait_card(world, card, "Done", timeout=30) for card in cards))
    assert tg.flood_errors() == []
    assert videos_by_chat(world) == Counter({str(group): 6})
    # More than one window's worth went out: the limit was really in play.
    counted = [c for c in tg.calls if c.error is None and c.method.startswith(("send", "edit"))]
    assert len([c for c in counted if c.method != "sendChatAction"]) > 20
    assert len(api.accepted()) == 6


async def card_for(world: World, chat_id: int, photo_id: int) -> dict:
    tg = world.telegram

    def card() -> dict | None:
        for message in tg.bot_messages(chat_id):
            replied = message.get("reply_to_message") or {}
            if replied.get("message_id") == photo_id and message.get("reply_markup"):
                return message
        return None

    return await tg.wait_for(card, timeout=30)
