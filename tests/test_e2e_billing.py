"""BILLING=stars against the fake Bot API's Stars payments: buy once, reserve, spend, return."""

from __future__ import annotations

import re

from bot.domain.billing import Movement, Reason
from bot.domain.records import TaskState
from bot.lifecycle.billing import Billing
from bot.lifecycle.prices import Prices
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.harness import GENERATE, World, message_with, open_card, wait_card

STARS = {"billing": "stars", "credits_per_usd": 100, "star_packs": (50, 200)}
PRICE = 25  # 720p, 5 s, audio: $0.25 at 100 credits a dollar


async def balance(world: World, user: dict) -> tuple[int, int]:
    """(balance, reserved) as /balance says them."""
    tg = world.telegram
    before = len(tg.bot_messages(user["id"]))
    tg.send_text(user, "/balance")
    text = await tg.wait_for(
        lambda: next(
            (
                m["text"]
                for m in tg.bot_messages(user["id"])[before:]
                if "balance in credits" in m.get("text", "")
            ),
            None,
        )
    )
    held = re.search(r"being made: (\d+)", text)
    found = re.search(r"credits: (-?\d+)", text)
    assert found and held
    return int(found.group(1)), int(held.group(1))


async def buy(world: World, user: dict, label: str, charge: str) -> dict:
    """/buy, a pack, the invoice, pre-checkout, paid: returns the invoice message."""
    tg = world.telegram
    seen = len(tg.bot_messages(user["id"]))

    def new(test: object) -> dict | None:
        return next((m for m in tg.bot_messages(user["id"])[seen:] if test(m)), None)  # type: ignore[operator]

    tg.send_text(user, "/buy")
    offer = await tg.wait_for(lambda: new(lambda m: "Choose a pack" in m.get("text", "")))
    tg.press(user, offer, tg.buttons(offer)[label])
    invoice = await tg.wait_for(lambda: new(lambda m: "invoice" in m))
    answer = await tg.checkout_answer(tg.pre_checkout(user, invoice))
    assert answer == {"ok": True, "error": None}
    tg.paid(user, invoice, charge)
    await tg.wait_for(lambda: new(lambda m: "Credits added" in m.get("text", "")))
    return invoice


async def test_credits_come_once_for_a_charge_replayed_and_after_a_restart(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        invoice = await buy(world, ann, "⭐ 50 → +50", "charge-1")
        [sent] = tg.calls_to("sendInvoice")
        assert sent.params["currency"] == "XTR" and not sent.params.get("provider_token")
        tg.paid(ann, invoice, "charge-1")  # Telegram delivers the update again
        assert await balance(world, ann) == (50, 0)
    async with world.bot(**STARS):  # restarted in between
        tg.paid(ann, invoice, "charge-1")
        assert await balance(world, ann) == (50, 0)
    added = [m for m in tg.bot_messages(1001) if "Credits added" in m.get("text", "")]
    assert len(added) == 1


async def test_a_tampered_invoice_is_refused_at_checkout(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        tg.send_text(ann, "/buy")
        offer = await message_with(world, 1001, "Choose a pack")
        tg.press(ann, offer, tg.buttons(offer)["⭐ 50 → +50"])
        invoice = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if "invoice" in m), None)
        )
        forged = await tg.checkout_answer(
            tg.pre_checkout(ann, invoice, payload="1001:50:5000:" + "0" * 32)
        )
        stolen = await tg.checkout_answer(tg.pre_checkout(tg.user(1002), invoice))
    assert forged["ok"] is False and "not valid" in forged["error"]
    assert stolen["ok"] is False  # someone else's invoice


async def test_a_video_reserves_then_spends_and_a_failure_returns_once(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → +50", "charge-2")
        card = await open_card(world, ann)
        assert f"Price in credits: {PRICE} · your balance: 50" in card["text"]
        api.hold_new_tasks = True
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Generating")
        assert await balance(world, ann) == (50 - PRICE, PRICE)  # reserved
        api.release(api.accepted()[0].task_id)
        await wait_card(world, card, "Done")
        assert await balance(world, ann) == (50 - PRICE, 0)  # spent
        api.hold_new_tasks = False
        api.script = [("pending", 0), ("failed", 0)]
        failing = await open_card(world, ann, caption="a storm")
        tg.press(ann, failing, tg.buttons(failing)[GENERATE])
        await wait_card(world, failing, "failed")
        assert await balance(world, ann) == (50 - PRICE, 0)  # returned
    async with world.bot(**STARS):  # a restart settles nothing twice
        assert await balance(world, ann) == (50 - PRICE, 0)


async def test_a_balance_too_small_refuses_before_any_post(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(**STARS, welcome_credits=10):
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        offer = await message_with(world, 1001, "Choose a pack")
        [alert] = [c for c in tg.calls_to("answerCallbackQuery") if c.params.get("text")]
        assert "costs 25, your balance is 10" in alert.params["text"]
        assert list(tg.buttons(offer)) == ["⭐ 50 → +50", "⭐ 200 → +200"]
    assert api.submissions == []


async def test_a_failure_interrupted_before_its_refund_is_returned_once_at_start() -> None:
    """The process died between the task's failure and the release of its credits."""
    storage = MemoryStorage()
    billing = Billing(storage, Prices())
    await storage.ledger_apply(Movement(7, 100, Reason.GRANT, "g1"))
    record = make_record("t1", user_id=7, attempt=1, reservation="t1:1")
    assert await billing.reserve(record, "t1:1")
    await storage.add_task(record)
    await storage.update_task("t1", state=TaskState.FAILED)
    assert (await billing.account(7)).balance == 100 - PRICE  # the refund never happened
    assert await billing.reconcile(storage.kept_task) == 1
    assert await billing.reconcile(storage.kept_task) == 0  # and never twice
    account = await billing.account(7)
    assert (account.balance, account.reserved) == (100, 0)


async def test_admins_grant_refund_unspent_credits_and_see_the_totals(world: World) -> None:
    tg = world.telegram
    ann, admin = tg.user(1001), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        await buy(world, ann, "⭐ 50 → +50", "charge-a")
        await buy(world, ann, "⭐ 200 → +200", "charge-b")
        tg.send_text(admin, "/grant 1001 5")
        await message_with(world, 1, "is now 255")
        card = await open_card(world, ann)  # 25 spent: 230 left, so 200 can go back
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        tg.send_text(admin, "/refund charge-b")
        await message_with(world, 1, "Refunded to 1001")
        tg.send_text(admin, "/refund charge-a")  # 30 left: its 50 are partly spent
        await message_with(world, 1, "Not refunded")
        tg.send_text(admin, "/stats")
        stats = await message_with(world, 1, "Stars received")
        assert await balance(world, ann) == (30, 0)
    assert tg.charges["charge-b"]["refunded"] and not tg.charges["charge-a"]["refunded"]
    assert [c.params["telegram_payment_charge_id"] for c in tg.calls_to("refundStarPayment")] == [
        "charge-b"
    ]
    assert "Stars received: 250 (refunded: 200)" in stats["text"]
    assert "Credits spent: 25" in stats["text"]


async def test_help_states_the_terms_and_paysupport_answers(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS, paysupport_contact="@operator"):
        tg.send_text(ann, "/help")
        help_text = await message_with(world, 1001, "Telegram Stars")
        tg.send_text(ann, "/paysupport")
        support = await message_with(world, 1001, "Payment questions")
    assert "/paysupport" in help_text["text"] and "/buy" in help_text["text"]
    assert "@operator" in support["text"]
    async with world.bot():  # BILLING=off: no terms, nothing to buy
        tg.send_text(ann, "/buy")
        await message_with(world, 1001, "nothing to buy")
