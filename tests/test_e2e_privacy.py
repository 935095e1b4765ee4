"""/privacy says what is kept; /forget (confirmed) leaves nothing of the user on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import GENERATE, World, message_with, open_card, wait_card

ANN = 987654321
SECRET = "zebra crossing at dawn"


def everything_on_disk(data_dir: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in data_dir.rglob("*") if p.is_file()
    )


async def confirm_forget(
    world: World, user: dict, answer: str = "🗑 Delete everything", *, late: bool = False
) -> str:
    tg = world.telegram
    tg.send_text(user, "/forget")
    question = await message_with(world, user["id"], "cannot be undone")
    tg.press(user, question, tg.buttons(question)[answer], late=late)
    done = await tg.wait_for(
        lambda: (
            tg.current(question)["text"]
            if "cannot be undone" not in tg.current(question)["text"]
            else None
        )
    )
    return str(done)


async def test_forget_leaves_nothing_of_the_user_in_storage(world: World) -> None:
    tg = world.telegram
    ann, bob = tg.user(ANN), tg.user(1002)
    data_dir = world.config.data_dir
    async with world.bot(retention_days=30):
        tg.send_text(ann, "/privacy")
        privacy = await message_with(world, ANN, "keeps about you")
        assert "30 days" in privacy["text"] and "/forget" in privacy["text"]
        assert "logs" in privacy["text"] and "apimart" in privacy["text"]
        assert "payments" not in privacy["text"]  # no billing: no ledger
        for caption in (SECRET, SECRET + " again"):
            card = await open_card(world, ann, caption=caption)
            tg.press(ann, card, tg.buttons(card)[GENERATE])
            await wait_card(world, card, "Done")
        await open_card(world, ann, caption=SECRET + " draft")  # a card never generated
        tg.send_text(ann, "/seed 4242")  # a saved default
        await open_card(world, bob, caption="bob's own")
        assert "Nothing was deleted" in await confirm_forget(world, ann, "Keep it")
        assert SECRET in everything_on_disk(data_dir)
        assert "keeps nothing about you" in await confirm_forget(world, ann)
        tg.send_text(ann, "/history")
        await tg.wait_for(
            lambda: any("no videos yet" in m.get("text", "") for m in tg.bot_messages(ANN)) or None
        )
    on_disk = everything_on_disk(data_dir)
    assert SECRET not in on_disk and str(ANN) not in on_disk  # backups and history included
    assert "bob's own" in on_disk
    assert len(list((data_dir / "images").iterdir())) == 1  # bob's photo only


async def test_a_video_in_flight_is_kept_until_it_arrives(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(ANN)
    api.hold_new_tasks = True
    async with world.bot():
        card = await open_card(world, ann, caption=SECRET)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Generating")
        assert "1 video is still being made" in await confirm_forget(world, ann)
        api.release(api.accepted()[0].task_id)
        await wait_card(world, card, "Done")
    assert [c.params["chat_id"] for c in tg.calls_to("sendVideo")] == [str(ANN)]


async def test_with_billing_the_notice_and_the_answer_name_the_payment_record(
    world: World,
) -> None:
    """The audit's L2: with BILLING=stars the ledger stays, so "keeps nothing" was false."""
    tg = world.telegram
    ann = tg.user(ANN)
    async with world.bot(billing="stars", credits_per_usd=100, star_packs=(50, 200)):
        tg.send_text(ann, "/privacy")
        privacy = (await message_with(world, ANN, "keeps about you"))["text"]
        assert "record of payments, also after /forget" in privacy
        assert "logs" in privacy and "apimart" in privacy
        done = await confirm_forget(world, ann)
    assert done.endswith("except the record of your payments.")


@pytest.mark.expected_errors("answerCallbackQuery: Bad Request: query is too old")
async def test_a_forget_confirmed_too_late_to_be_answered_still_forgets(world: World) -> None:
    """A press handled after Telegram stopped waiting (a backlog after a restart): the
    answer is refused, the deletion is done all the same."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        await open_card(world, ann, caption="a secret garden")
        assert "keeps nothing about you" in await confirm_forget(world, ann, late=True)
    assert [c for c in tg.calls_to("answerCallbackQuery") if c.error]
    data = world.config.data_dir
    assert not any(
        "a secret garden" in p.read_text(errors="ignore") for p in data.rglob("*") if p.is_file()
    )
