"""BILLING=stars against the fake Bot API's Stars payments: buy once, reserve, spend, return."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from bot.domain.billing import Movement, Reason
from bot.domain.records import TaskState
from bot.domain.transitions import Ended
from bot.lifecycle.billing import Billing
from bot.lifecycle.prices import Prices
from bot.storage.memory import MemoryStorage
from bot.storage.tinydb import TinyDBStorage
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


async def invoice_for(world: World, user: dict, label: str) -> dict:
    """/buy and the pack labelled `label`: the invoice message the bot sends for it."""
    tg = world.telegram
    seen = len(tg.bot_messages(user["id"]))

    def new(test: object) -> dict | None:
        return next((m for m in tg.bot_messages(user["id"])[seen:] if test(m)), None)  # type: ignore[operator]

    tg.send_text(user, "/buy")
    offer = await tg.wait_for(lambda: new(lambda m: "Choose a pack" in m.get("text", "")))
    tg.press(user, offer, tg.buttons(offer)[label])
    return await tg.wait_for(lambda: new(lambda m: "invoice" in m))  # type: ignore[no-any-return]


async def buy(world: World, user: dict, label: str, charge: str) -> dict:
    """/buy, a pack, the invoice, pre-checkout, paid: returns the invoice message."""
    tg = world.telegram
    seen = len(tg.bot_messages(user["id"]))
    invoice = await invoice_for(world, user, label)
    answer = await tg.checkout_answer(tg.pre_checkout(user, invoice))
    assert answer == {"ok": True, "error": None}
    tg.paid(user, invoice, charge)
    await tg.wait_for(
        lambda: any(
            "Credits added" in m.get("text", "") for m in tg.bot_messages(user["id"])[seen:]
        )
    )
    return invoice


async def test_credits_come_once_for_a_charge_replayed_and_after_a_restart(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        invoice = await buy(world, ann, "⭐ 50 → 50 credits", "charge-1")
        [sent] = tg.calls_to("sendInvoice")
        assert sent.params["currency"] == "XTR" and not sent.params.get("provider_token")
        # What the payment sheet shows: a count of credits, not a form field (EN-15).
        assert sent.params["title"] == "50 credits"
        assert json.loads(str(sent.params["prices"])) == [{"label": "50 credits", "amount": 50}]
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
        invoice = await invoice_for(world, ann, "⭐ 50 → 50 credits")
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
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-2")
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
        assert list(tg.buttons(offer)) == ["⭐ 50 → 50 credits", "⭐ 200 → 200 credits"]
    assert api.submissions == []


async def test_a_failure_interrupted_before_its_refund_is_returned_once_at_start() -> None:
    """The process died between the task's failure and the release of its credits."""
    storage = MemoryStorage()
    billing = Billing(storage, Prices())
    await storage.ledger_apply(Movement(7, 100, Reason.GRANT, "g1"))
    record = make_record("t1", user_id=7, attempt=1, reservation="t1:1", state=TaskState.RUNNING)
    assert await billing.reserve(record, "t1:1")
    await storage.add_task(record)
    await storage.update_task("t1", Ended(state=TaskState.FAILED, finished_at=0.0))
    assert (await billing.account(7)).balance == 100 - PRICE  # the refund never happened
    assert await billing.reconcile(storage.kept_task) == 1
    assert await billing.reconcile(storage.kept_task) == 0  # and never twice
    account = await billing.account(7)
    assert (account.balance, account.reserved) == (100, 0)


async def test_admins_grant_refund_unspent_credits_and_see_the_totals(world: World) -> None:
    tg = world.telegram
    ann, admin = tg.user(1001), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-a")
        await buy(world, ann, "⭐ 200 → 200 credits", "charge-b")
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


async def answer(world: World, user: dict, text: str, fragment: str) -> str:
    """Send `text`; the text of the bot's next message in that chat containing `fragment`."""
    tg = world.telegram
    before = len(tg.bot_messages(user["id"]))
    tg.send_text(user, text)
    return await tg.wait_for(
        lambda: next(
            (
                m["text"]
                for m in tg.bot_messages(user["id"])[before:]
                if fragment in m.get("text", "")
            ),
            None,
        )
    )


async def ledger(world: World) -> list[tuple[Reason, str, int]]:
    """(reason, ref, amount) of every row, once the bot stopped."""
    return [
        (m.reason, m.ref, m.amount)
        for m in await TinyDBStorage(world.config.data_dir).ledger_rows()
    ]


@pytest.mark.expected_errors("refundStarPayment: Bad Request: CHARGE_ALREADY_REFUNDED")
async def test_a_refund_whose_answer_times_out_is_pending_and_retried_safely(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's L1: Telegram refunds, then answers after the bot's read timeout. The
    credits stay taken back (before, they came back: Stars and credits both kept)."""
    monkeypatch.setattr("bot.telegram.payments.handlers.REFUND_TIMEOUT", 0.3)
    tg = world.telegram
    ann, admin = tg.user(1001), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-a")
        await buy(world, ann, "⭐ 200 → 200 credits", "charge-b")
        tg.refund_delay = 1.0
        unclear = await answer(world, admin, "/refund charge-b", "No clear answer")
        assert tg.charges["charge-b"]["refunded"]  # it went through
        assert await balance(world, ann) == (50, 0)  # taken back, and not given back
        tg.refund_delay = 0
        done = await answer(world, admin, "/refund charge-b", "Refunded to 1001")
        assert await balance(world, ann) == (50, 0)  # not taken back twice
        stats = await answer(world, admin, "/stats", "Stars received")
    assert "(Timed out)" in unclear and "sending /refund charge-b again is safe" in unclear
    assert "credits taken back: 200" in done
    assert "Stars received: 250 (refunded: 200)" in stats
    # Telegram's refunded_payment (sent for the bot's own refund too) moved nothing.
    assert await ledger(world) == [
        (Reason.PURCHASE, "charge-a", 50),
        (Reason.PURCHASE, "charge-b", 200),
        (Reason.REFUND, "charge-b", -200),
    ]
    retried = tg.calls_to("refundStarPayment")[-1]  # (the first is still answering)
    assert retried.error == "Bad Request: CHARGE_ALREADY_REFUNDED"
    assert not [m for m in tg.bot_messages(1001) if "Stars refunded" in m.get("text", "")]


@pytest.mark.expected_errors("refundStarPayment: Bad Request: CHARGE_NOT_FOUND")
async def test_a_refused_refund_gives_the_credits_back_and_can_be_tried_again(
    world: World,
) -> None:
    tg = world.telegram
    ann, admin = tg.user(1001), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-r")
        tg.refund_errors.append("Bad Request: CHARGE_NOT_FOUND")
        refused = await answer(world, admin, "/refund charge-r", "refused")
        assert await balance(world, ann) == (50, 0)
        stats = await answer(world, admin, "/stats", "Stars received")
        done = await answer(world, admin, "/refund charge-r", "Refunded to 1001")
        assert await balance(world, ann) == (0, 0)
        again = await answer(world, admin, "/stats", "Stars received")
        tg.send_text(ann, "/balance")
        movements = await message_with(world, 1001, "refunded to Stars")
    assert "charge_not_found" in refused.lower() and "credits are back" in refused
    assert "Stars received: 50 (refunded: 0)" in stats
    assert "credits taken back: 50" in done
    assert "Stars received: 50 (refunded: 50)" in again
    assert "+50 · returned: the refund did not go through" in movements["text"]
    assert await ledger(world) == [
        (Reason.PURCHASE, "charge-r", 50),
        (Reason.REFUND, "charge-r", -50),
        (Reason.REFUND_UNDONE, "charge-r", 50),
        (Reason.REFUND, "charge-r#2", -50),
    ]
    assert tg.charges["charge-r"]["refunded"]


async def test_a_refund_made_outside_the_bot_takes_back_what_is_left_once(
    world: World,
) -> None:
    """refunded_payment: the Stars went back without /refund (Telegram's support, a
    dispute): the credits follow, as many as are still free, never below zero."""
    tg = world.telegram
    ann, bob, admin = tg.user(1001), tg.user(1002, "Bob"), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-x")
        await buy(world, bob, "⭐ 50 → 50 credits", "charge-y")
        tg.refunded("charge-x")
        told = await message_with(world, 1001, "Stars refunded")
        tg.refunded("charge-x")  # Telegram delivers the update again
        assert await balance(world, ann) == (0, 0)
        card = await open_card(world, bob)  # 25 of Bob's 50 spent
        tg.press(bob, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        tg.refunded("charge-y")
        partly = await message_with(world, 1002, "Stars refunded")
        assert await balance(world, bob) == (0, 0)
        refused = await answer(world, admin, "/refund charge-y", "Not refunded")
        stats = await answer(world, admin, "/stats", "Stars received")
    async with world.bot(**STARS):  # after a restart too
        tg.refunded("charge-x")
        assert await balance(world, ann) == (0, 0)
    assert "Stars refunded: 50. Credits taken back: 50. Your balance: 0." in told["text"]
    assert "Stars refunded: 50. Credits taken back: 25. Your balance: 0." in partly["text"]
    assert "Not refunded" in refused and not tg.calls_to("refundStarPayment")
    assert "Stars received: 100 (refunded: 100)" in stats
    told_ann = [m for m in tg.bot_messages(1001) if "Stars refunded" in m.get("text", "")]
    assert len(told_ann) == 1
    rows = await ledger(world)
    assert (Reason.EXTERNAL_REFUND, "charge-x", -50) in rows
    assert (Reason.EXTERNAL_REFUND, "charge-y", -25) in rows
    assert sum(r[0] is Reason.EXTERNAL_REFUND for r in rows) == 2


async def test_a_denied_user_s_refund_is_taken_back_too(world: World) -> None:
    """Payment updates pass the access gate: Stars paid are credited and Stars refunded
    are taken back, whoever the user is now."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-d")
    async with world.bot(**STARS, allowed_user_ids=frozenset({1})):  # Ann no longer allowed
        tg.refunded("charge-d")
        await message_with(world, 1001, "Stars refunded")
    assert (Reason.EXTERNAL_REFUND, "charge-d", -50) in await ledger(world)


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


@pytest.mark.expected_errors("answerPreCheckoutQuery: Bad Request: query is too old")
async def test_a_checkout_answered_past_telegrams_ten_seconds_is_refused_and_pays_nothing(
    world: World,
) -> None:
    """Telegram gives a bot 10 s to answer a pre-checkout query, then refuses the answer and
    drops the payment: a bot that was down meanwhile answers too late, and nothing is paid."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        invoice = await invoice_for(world, ann, "⭐ 50 → 50 credits")
    late = tg.pre_checkout(ann, invoice)  # the user taps Pay while the bot is down...
    tg.clock = lambda: time.monotonic() + 10.5  # ...for 10.5 s
    async with world.bot(**STARS):
        [refused] = await tg.wait_for(
            lambda: [c for c in tg.calls_to("answerPreCheckoutQuery") if c.error] or None
        )
        assert refused.params["pre_checkout_query_id"] == late
        assert tg.pre_checkout_answers[late] == {}  # Telegram took no answer: no payment
        assert await balance(world, ann) == (0, 0)
        on_time = await tg.checkout_answer(tg.pre_checkout(ann, invoice))  # tapped again
    assert on_time == {"ok": True, "error": None}
    assert refused.error == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_stop_waiting_with_billing_says_the_credits_stay_spent(world: World) -> None:
    """The service makes and bills a video it accepted: stopping the wait spends its credits,
    and the alert and the card say so (not "may still be billed")."""
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-stop")
        card = await open_card(world, ann)
        api.hold_new_tasks = True
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Generating")
        tg.press(ann, card, tg.buttons(tg.current(card))["✖️ Stop waiting"])
        text = await wait_card(world, card, "Stopped waiting")
        [alert] = await tg.wait_for_call(
            "answerCallbackQuery", where=lambda c: "Stopped" in c.params.get("text", "")
        )
        assert "its credits stay spent" in alert.params["text"]
        assert alert.params["show_alert"] in (True, "true", "True")
        assert "credits stay spent" in text and "may still" not in text
        assert await balance(world, ann) == (50 - PRICE, 0)  # spent, as said
        api.hold_new_tasks = False


async def test_paysupport_names_the_admins_when_no_contact_is_set(world: World) -> None:
    """No PAYSUPPORT_CONTACT: the admins' @usernames (looked up once, at start-up) are named."""
    tg = world.telegram
    ann = tg.user(1001, language_code="es")
    tg.chats[1] = {"id": 1, "type": "private", "first_name": "Root", "username": "root_admin"}
    async with world.bot(**STARS, admin_user_ids=frozenset({1, 2})):  # 2 has no username
        tg.send_text(ann, "/paysupport")
        support = await message_with(world, 1001, "💳")
        tg.send_text(ann, "/paysupport")
        await tg.wait_for(lambda: len(tg.bot_messages(1001)) == 2 or None)
    assert "@root_admin" in support["text"] and "{contact}" not in support["text"]
    assert "escribe a @root_admin" in support["text"]
    assert len(tg.calls_to("getChat")) == 2  # once per admin, at start-up only


async def test_paysupport_without_anyone_to_name_warns_the_operator_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    tg = world.telegram
    caplog.set_level(logging.WARNING)
    async with world.bot(**STARS):
        for user_id, locale in ((1001, "en"), (1002, "tr"), (1003, "zh-hans")):
            user = tg.user(user_id, language_code=locale)
            tg.send_text(user, "/paysupport")
            support = await message_with(world, user["id"], "💳")
            assert "{contact}" not in support["text"] and "@" not in support["text"]
    assert "No contact for payment questions" in tg.bot_messages(1001)[0]["text"]
    warnings = [r for r in caplog.records if "PAYSUPPORT_CONTACT" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert tg.calls_to("getChat") == []  # no admins: nobody to look up


async def test_history_shows_the_credits_a_video_took_never_dollars(world: World) -> None:
    """With BILLING=stars the card priced the video in credits: /history says what it took in
    credits too, and nothing for a video that took none (CC-4)."""
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-h")
        card = await open_card(world, ann, caption="a cat")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        api.script = [("pending", 0), ("failed", 0)]
        failing = await open_card(world, ann, caption="a storm")
        tg.press(ann, failing, tg.buttons(failing)[GENERATE])
        await wait_card(world, failing, "failed")
        listing = await answer(world, ann, "/history", "Your videos")
    first, second = listing.split("\n\n")[1:3]
    assert first.startswith("1. ") and "a storm" in first and "credit" not in first
    assert "a cat" in second and second.split("\n")[0].endswith(" · 25 credits")
    assert "$" not in listing
