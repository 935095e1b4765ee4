"""Money end to end (issue 17): what the provider billed is spent, whatever the user does to
the chat meanwhile."""

from __future__ import annotations

import pytest

from bot.domain.billing import Reason
from bot.storage.tinydb import TinyDBStorage
from tests.harness import GENERATE, World, open_card, wait_card
from tests.test_e2e_billing import PRICE, STARS, balance, buy


@pytest.mark.expected_errors("Forbidden: bot was blocked by the user")
async def test_blocking_the_bot_while_a_paid_video_is_made_spends_its_price(
    world: World,
) -> None:
    """The audit's M1: block the bot after Generate, unblock after the video was made: the
    credits stay spent (they came back before, so every video was free)."""
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-m1")
        card = await open_card(world, ann)
        api.hold_new_tasks = True
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Generating")
        tg.blocked_chats.add(1001)
        api.release(api.accepted()[0].task_id)
        await tg.wait_for(lambda: [c for c in tg.calls_to("sendVideo") if c.error])
    tg.blocked_chats.discard(1001)
    async with world.bot(**STARS):  # unblocked (and restarted: nothing is settled twice)
        assert await balance(world, ann) == (50 - PRICE, 0)
    assert len(api.accepted()) == 1
    assert not [c for c in tg.calls_to("sendVideo") if c.error is None]
    storage = TinyDBStorage(world.config.data_dir)
    rows = [m.reason for m in await storage.ledger_rows()]
    assert rows == [Reason.PURCHASE, Reason.RESERVE, Reason.SPEND]
