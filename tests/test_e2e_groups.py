"""For communities (issue 23): a group's Telegram admins decide who generates there, how much,
and who pays; on the fakes, with getChatMember answering as Telegram does."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.domain.actions import SetGroupRule
from bot.telegram.callback_data import Scope, encode
from tests.harness import GENERATE, World, make_image, message_with, wait_card
from tests.test_e2e_billing import STARS
from tests.test_e2e_privacy import confirm_forget

GROUP = -100600
PRICE = 25  # 720p, 5 s, audio: $0.25 at 100 credits a dollar


def rule(name: str, value: str) -> str:
    return encode(Scope.GROUP, SetGroupRule(name, value))


def in_group(world: World, fragment: str, after: int = 0) -> dict[str, Any] | None:
    messages = world.telegram.bot_messages(GROUP)[after:]
    return next((m for m in messages if fragment in m.get("text", "")), None)


async def settings_card(world: World, admin: dict) -> dict[str, Any]:
    tg = world.telegram
    seen = len(tg.bot_messages(GROUP))
    tg.send_text(admin, "/groupsettings", chat_id=GROUP)
    return await tg.wait_for(lambda: in_group(world, "video settings", seen))  # type: ignore[no-any-return]


async def set_rule(world: World, admin: dict, card: dict, name: str, value: str) -> str:
    """An admin's press on the group card; returns the card's text once it changed."""
    tg = world.telegram
    before = tg.current(card)["text"]
    tg.press(admin, card, rule(name, value))
    return await tg.wait_for(  # type: ignore[no-any-return]
        lambda: tg.current(card)["text"] if tg.current(card)["text"] != before else None
    )


async def answer_of(world: World, query_id: str) -> str:
    [answer] = await world.telegram.wait_for_call(
        "answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == query_id
    )
    return str(answer.params.get("text", ""))


async def group_card(world: World, user: dict, prompt: str = "a cat waves") -> dict[str, Any]:
    tg = world.telegram
    photo = tg.send_photo(user, make_image(), caption=f"/video {prompt}", chat_id=GROUP)

    def card() -> dict[str, Any] | None:
        for message in tg.bot_messages(GROUP):
            replied = (message.get("reply_to_message") or {}).get("message_id")
            if replied == photo["message_id"] and message.get("reply_markup"):
                return message
        return None

    return await tg.wait_for(card)  # type: ignore[no-any-return]


@pytest.fixture
def people(world: World) -> tuple[dict, dict, dict]:
    tg = world.telegram
    admin, ann, bob = tg.user(2001, "Ada"), tg.user(2002, "Ann"), tg.user(2003, "Bob")
    tg.chat_admins[GROUP] = {admin["id"]}
    return admin, ann, bob


async def test_only_the_groups_admins_change_its_settings(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg = world.telegram
    admin, ann, _ = people
    async with world.bot():
        card = await settings_card(world, admin)
        assert "Every member can make videos here" in card["text"]
        refused = await answer_of(world, tg.press(ann, card, rule("who", "admins")))
        tg.send_text(ann, "/groupsettings", chat_id=GROUP)
        await tg.wait_for(lambda: in_group(world, "Only the group's admins can do this"))
        text = await set_rule(world, admin, card, "who", "admins")
    assert refused == "Only the group's admins can change these settings."
    assert "Only the group's admins can make videos here" in text
    # Asked of Telegram: the member's press and command, and the admin's.
    asked = {c.params["user_id"] for c in tg.calls_to("getChatMember")}
    assert asked == {"2001", "2002"}


async def test_admins_only_stops_a_members_video_with_a_clear_reply_and_no_post(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, _ = people
    async with world.bot():
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "who", "admins")
        seen = len(tg.bot_messages(GROUP))
        tg.send_photo(ann, make_image(), caption="/video a cat waves", chat_id=GROUP)
        refusal = await tg.wait_for(lambda: in_group(world, "only its admins", seen))
        own = await group_card(world, admin)  # the admin's own video still works
        tg.press(admin, own, tg.buttons(own)[GENERATE])
        await wait_card(world, own, "Done")
    assert refusal["text"] == "In this group only its admins can make videos."
    assert len(api.submissions) == 1 and not tg.errors()


async def test_an_allowed_member_may_generate_and_the_others_may_not(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, bob = people
    async with world.bot():
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "who", "allowed")
        # A member may not put herself on the list: only the group's admins may.
        own = tg.send_text(ann, "me too", chat_id=GROUP)
        tg.send_text(ann, "/groupallow", chat_id=GROUP, reply_to=own["message_id"])
        await tg.wait_for(lambda: in_group(world, "Only the group's admins can do this"))
        said = tg.send_text(bob, "hello", chat_id=GROUP)
        tg.send_text(admin, "/groupallow", chat_id=GROUP, reply_to=said["message_id"])
        await tg.wait_for(lambda: in_group(world, "Bob may make videos here"))
        tg.send_photo(ann, make_image(), caption="/video a cat", chat_id=GROUP)
        await tg.wait_for(lambda: in_group(world, "members an admin allowed"))
        allowed = await group_card(world, bob)
        tg.press(bob, allowed, tg.buttons(allowed)[GENERATE])
        await wait_card(world, allowed, "Done")
    assert len(api.submissions) == 1


async def test_a_member_past_the_daily_allowance_is_told_so_and_nothing_is_sent(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, _ = people
    async with world.bot():
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "allowance", "30")
        text = await set_rule(world, admin, card, "duration", "15")
        assert "30 seconds of video a day" in text and "duration 15 s" in text
        for prompt in ("one", "two"):  # 15 s + 15 s: the whole allowance
            made = await group_card(world, ann, prompt)
            assert "Duration: 15 seconds" in made["text"]  # the group's default
            tg.press(ann, made, tg.buttons(made)[GENERATE])
            await wait_card(world, made, "Done")
        third = await group_card(world, ann, "three")
        refused = await answer_of(world, tg.press(ann, third, tg.buttons(third)[GENERATE]))
        theirs = await group_card(world, admin, "the admin's")  # each member has their own
        tg.press(admin, theirs, tg.buttons(theirs)[GENERATE])
        await wait_card(world, theirs, "Done")
    assert refused.startswith("You have used today's allowance in this group: 30 seconds")
    assert [s.body["prompt"] for s in api.submissions] == ["one", "two", "the admin's"]


async def buy_for_group(world: World, user: dict, charge: str, stars: int = 50) -> None:
    """/buy in the group, a pack, paid by `user`: the group's wallet is topped up."""
    tg = world.telegram
    seen = len(tg.bot_messages(GROUP))
    tg.send_text(user, "/buy", chat_id=GROUP)
    offer = await tg.wait_for(lambda: in_group(world, "Choose a pack", seen))
    tg.press(
        user, offer, next(d for label, d in tg.buttons(offer).items() if f"⭐ {stars} " in label)
    )
    invoice = await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(GROUP)[seen:] if "invoice" in m), None)
    )
    assert "group's wallet" in invoice["invoice"]["description"]
    answer = await tg.checkout_answer(tg.pre_checkout(user, invoice))
    assert answer == {"ok": True, "error": None}
    tg.paid(user, invoice, charge)
    await tg.wait_for(lambda: in_group(world, "added to the group's wallet", seen))


async def wallet(world: World, admin: dict) -> int:
    tg = world.telegram
    seen = len(tg.bot_messages(GROUP))
    tg.send_text(admin, "/balance", chat_id=GROUP)
    text = (await tg.wait_for(lambda: in_group(world, "The group's wallet", seen)))["text"]
    found = re.search(r"wallet: (\d+)", text)
    assert found
    return int(found.group(1))


async def test_a_top_up_by_one_member_is_spent_by_anothers_video_and_returned_on_failure(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, bob = people
    async with world.bot(**STARS):
        await buy_for_group(world, bob, "charge-group-1")  # Bob pays: 50 credits
        made = await group_card(world, ann, "one")
        assert "the group's wallet: 50" in made["text"]
        tg.press(ann, made, tg.buttons(made)[GENERATE])
        await wait_card(world, made, "Done")
        assert await wallet(world, admin) == 50 - PRICE
        api.script = [("pending", 0), ("failed", 0)]
        failed = await group_card(world, ann, "two")
        tg.press(ann, failed, tg.buttons(failed)[GENERATE])
        await wait_card(world, failed, "failed")
        after_failure = await wallet(world, admin)
        tg.send_text(ann, "/balance")  # Ann's own credits were never touched
        own = await message_with(world, ann["id"], "balance in credits")
    assert after_failure == 50 - PRICE  # held for the second video, then returned
    assert "balance in credits: 0" in own["text"]


async def test_with_the_wallet_off_a_card_neither_offers_nor_shows_it_and_the_member_pays(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, bob = people
    async with world.bot(**STARS):
        await buy_for_group(world, bob, "charge-group-off")  # the wallet has 50 credits
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "wallet", "0")
        made = await group_card(world, ann, "on my own credits")
        buttons = tg.buttons(made)
        assert "👥 Group pays" not in " ".join(buttons) and "👤 I pay" not in " ".join(buttons)
        assert "wallet" not in made["text"] and "your balance: 0" in made["text"]
        refused = await answer_of(world, tg.press(ann, made, buttons[GENERATE]))
        assert await wallet(world, admin) == 50  # the wallet was never asked
    assert api.submissions == [] and "credits" in refused


async def test_two_members_racing_the_last_credits_of_the_group_make_one_video(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, bob = people
    async with world.bot(**STARS):
        await buy_for_group(world, admin, "charge-group-2")  # 50 credits: two videos of 25
        first = await group_card(world, admin, "first")
        tg.press(admin, first, tg.buttons(first)[GENERATE])
        await wait_card(world, first, "Done")  # 25 left: one video more
        cards = [await group_card(world, ann, "ann's"), await group_card(world, bob, "bob's")]
        presses = [
            tg.press(user, card, tg.buttons(card)[GENERATE])
            for user, card in zip((ann, bob), cards, strict=True)
        ]
        answers = await asyncio.gather(*(answer_of(world, q) for q in presses))
        await tg.wait_for(lambda: len(api.accepted()) == 2 or None)
        await tg.wait_for(lambda: any("Done" in tg.current(c)["text"] for c in cards) or None)
    refusals = [a for a in answers if a.startswith("The group's wallet has")]
    assert len(refusals) == 1 and "this video costs 25" in refusals[0]
    assert len(api.submissions) == 2


async def test_a_demoted_admin_can_no_longer_change_the_settings(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    """GROUP_ADMIN_SECONDS is how long an answer of getChatMember is trusted; at 0 each press
    asks Telegram, so a demotion is honoured at once (the cache itself: test_group_roles)."""
    tg = world.telegram
    admin, _, _ = people
    async with world.bot(group_admin_seconds=0):
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "who", "admins")
        tg.chat_admins[GROUP] = set()  # demoted
        refused = await answer_of(world, tg.press(admin, card, rule("who", "everyone")))
    assert refused == "Only the group's admins can change these settings."
    assert "Only the group's admins can make videos here" in tg.current(card)["text"]


@pytest.mark.expected_errors("sendVideo: Bad Request: chat not found")
async def test_videos_go_to_each_member_in_private_or_the_group_when_they_cannot(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg = world.telegram
    admin, ann, bob = people
    async with world.bot():
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "delivery", "private")
        tg.send_text(ann, "/start")  # Ann has a private chat with the bot; Bob never wrote
        await message_with(world, ann["id"], "")
        for member in (ann, bob):
            made = await group_card(world, member, f"{member['first_name']}'s")
            tg.press(member, made, tg.buttons(made)[GENERATE])
            await wait_card(world, made, "Done")
        cards = [m for m in tg.bot_messages(GROUP) if "Done" in m.get("text", "")]
    sent = [c for c in tg.calls_to("sendVideo") if c.error is None]
    assert [c.params["chat_id"] for c in sent] == [str(ann["id"]), str(GROUP)]
    # Ann's card says where her video went; Bob's, sent in the group after all, does not.
    assert ["in your chat with me" in tg.current(c)["text"] for c in cards] == [True, False]
    assert "reply_parameters" not in sent[0].params  # nothing to reply to in private


async def test_groupstats_counts_the_week_by_member_without_those_who_forgot(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg = world.telegram
    admin, ann, bob = people
    async with world.bot():
        for member, prompt in ((ann, "a red fox"), (ann, "a red fox"), (bob, "a whale")):
            made = await group_card(world, member, prompt)
            tg.press(member, made, tg.buttons(made)[GENERATE])
            await wait_card(world, made, "Done")
        tg.send_text(ann, "/groupstats", chat_id=GROUP)
        refused = await tg.wait_for(lambda: in_group(world, "Only the group's admins"))
        tg.send_text(admin, "/groupstats", chat_id=GROUP)
        week = await tg.wait_for(lambda: in_group(world, "This group, the last 7 days"))
        await confirm_forget(world, bob)
        seen = len(tg.bot_messages(GROUP))
        tg.send_text(admin, "/groupstats", chat_id=GROUP)
        after = await tg.wait_for(lambda: in_group(world, "This group, the last 7 days", seen))
    assert refused is not None
    lines = week["text"].splitlines()
    assert "User 2002: 2 videos, 10 s" in lines and "User 2003: 1 video, 5 s" in lines
    assert "“a red fox” by User 2002 (2 videos)" in lines
    assert "a whale" not in after["text"] and "2003" not in after["text"]


async def test_past_the_allowance_a_member_may_pay_with_their_own_credits(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    tg, api = world.telegram, world.apimart
    admin, ann, _ = people
    async with world.bot(**STARS):
        card = await settings_card(world, admin)
        await set_rule(world, admin, card, "allowance", "30")
        await set_rule(world, admin, card, "duration", "15")
        await buy_for_group(world, admin, "charge-group-3", stars=200)
        for n in range(2):  # 15 s each: the 30 s of the allowance, 75 credits each
            made = await group_card(world, ann, f"on the group {n}")
            tg.press(ann, made, tg.buttons(made)[GENERATE])
            await wait_card(world, made, "Done")
        past = await group_card(world, ann, "past it")
        refused = await answer_of(world, tg.press(ann, past, tg.buttons(past)[GENERATE]))
        tg.press(ann, past, tg.buttons(past)["👤 I pay"])
        await tg.wait_for(lambda: "✓ 👤 I pay" in tg.buttons(tg.current(past)) or None)
        refused_again = await answer_of(world, tg.press(ann, past, tg.buttons(past)[GENERATE]))
        left = await wallet(world, admin)
    assert "Tap “I pay”" in refused
    # Ann has no credits of her own: her choice is refused for that, not for the allowance.
    assert refused_again.startswith("Not enough credits")
    assert len(api.submissions) == 2
    assert left == 200 - 2 * 75  # the wallet paid the two within the allowance


async def test_a_group_top_up_refunded_outside_the_bot_leaves_the_group_wallet(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    """Telegram returns Bob's Stars for his top-up (a dispute, support): the credits come out
    of the group's wallet, never out of Bob's own account."""
    tg = world.telegram
    admin, _, bob = people
    async with world.bot(**STARS):
        await buy_for_group(world, bob, "charge-group-9")
        assert await wallet(world, admin) == 50
        # Signed with the bot's token before it changed: the payload no longer verifies.
        tg.charges["charge-group-9"]["payload"] = "1:" + "0" * 40
        tg.refunded("charge-group-9")
        told = await message_with(world, bob["id"], "taken back from the group's wallet")
        left = await wallet(world, admin)
        tg.refunded("charge-group-9")  # replayed: nothing more
        assert await wallet(world, admin) == 0
        tg.send_text(bob, "/balance")
        own = await message_with(world, bob["id"], "balance in credits")
    assert left == 0 and "Its balance: 0" in told["text"]
    assert "balance in credits: 0" in own["text"]


async def test_an_operator_refunds_a_group_top_up_to_the_member_who_paid_it(
    world: World, people: tuple[dict, dict, dict]
) -> None:
    """The ledger knows the group's wallet, Telegram the payer: /refund asks for them, and
    the Stars go back to that member while the credits leave the wallet."""
    tg = world.telegram
    admin, _, bob = people
    operator = tg.user(9000, "Op")
    async with world.bot(**STARS, admin_user_ids=frozenset({operator["id"]})):
        await buy_for_group(world, bob, "charge-group-10")
        tg.send_text(operator, "/refund charge-group-10")
        asked = await message_with(world, operator["id"], "topped up a group's wallet")
        tg.send_text(operator, f"/refund charge-group-10 {bob['id']}")
        done = await message_with(world, operator["id"], "Refunded to")
        left = await wallet(world, admin)
    [refund] = [c for c in tg.calls_to("refundStarPayment") if c.error is None]
    assert refund.params["user_id"] == str(bob["id"])
    assert "/refund charge-group-10" in asked["text"]
    assert f"Refunded to {bob['id']}" in done["text"] and left == 0
