"""/history: pages of the user's videos, re-sent by file id, surviving restarts."""

from __future__ import annotations

from tests.harness import GENERATE, World, open_card, wait_card


async def make_video(world: World, user: dict, caption: str) -> None:
    tg = world.telegram
    card = await open_card(world, user, caption=caption)
    tg.press(user, card, tg.buttons(card)[GENERATE])
    await wait_card(world, card, "Done")


def history_message(world: World, chat_id: int) -> dict:
    return next(
        m
        for m in reversed(world.telegram.bot_messages(chat_id))
        if "Your videos" in m.get("text", "")
    )


async def test_history_pages_and_resends_by_file_id_after_a_restart(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        for n in range(6):
            await make_video(world, ann, f"scene number {n}")
    downloads = len(api.downloads)
    async with world.bot():  # a restart: history is kept
        tg.send_text(ann, "/history")
        listing = await tg.wait_for(
            lambda: (
                history_message(world, 1001)
                if any("Your videos" in m.get("text", "") for m in tg.bot_messages(1001))
                else None
            )
        )
        assert "page 1 of 2" in listing["text"]
        assert listing["text"].index("scene number 5") < listing["text"].index("scene number 1")
        assert "scene number 0" not in listing["text"] and "$0.25" in listing["text"]
        assert list(tg.buttons(listing)) == ["1", "2", "3", "4", "5", "▸"]
        tg.press(ann, listing, tg.buttons(listing)["▸"])
        await tg.wait_for(lambda: "page 2 of 2" in tg.current(listing)["text"] or None)
        assert "scene number 0" in tg.current(listing)["text"]
        assert list(tg.buttons(tg.current(listing))) == ["1", "◂"]
        videos_before = len(tg.calls_to("sendVideo"))
        tg.press(ann, tg.current(listing), tg.buttons(tg.current(listing))["1"])
        [again] = (await tg.wait_for_call("sendVideo", count=videos_before + 1))[videos_before:]
    first_upload = tg.calls_to("sendVideo")[0]
    assert again.files == {} and again.params["video"] == first_upload_file_id(world)
    assert "scene number 0" in again.params["caption"]
    assert (
        len(api.downloads) == downloads and len(api.submissions) == 6
    )  # nothing fetched, nothing made
    assert first_upload.files  # the first time it was uploaded


def first_upload_file_id(world: World) -> str:
    first = next(m for m in world.telegram.bot_messages(1001) if "video" in m)
    return first["video"]["file_id"]


async def test_a_failed_one_offers_again_and_groups_get_it_in_private(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.script = [("pending", 0), ("failed", 0)]
    async with world.bot():
        card = await open_card(world, ann, caption="a stormy sea")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "failed")
        tg.send_text(ann, "/history", chat_id=-100900)
        listing = await tg.wait_for(
            lambda: next(
                (m for m in tg.bot_messages(1001) if "Your videos" in m.get("text", "")), None
            )
        )
        assert "❌ failed" in listing["text"]
        await tg.wait_for(
            lambda: any("private message" in m["text"] for m in tg.bot_messages(-100900))
        )
        assert not any("Your videos" in m.get("text", "") for m in tg.bot_messages(-100900))
        tg.press(ann, listing, tg.buttons(listing)["1"])
        offer = await tg.wait_for(
            lambda: next(
                (m for m in tg.bot_messages(1001) if "Make it again" in m.get("text", "")), None
            )
        )
        api.script = [("pending", 0), ("processing", 50), ("completed", 100)]
        tg.press(ann, offer, tg.buttons(offer)["🔁 Again"])
        await tg.wait_for_call("sendVideo")
    assert len(api.accepted()) == 2
    assert api.accepted()[0].body["prompt"] == api.accepted()[1].body["prompt"] == "a stormy sea"


async def test_history_in_a_group_never_posts_the_list_there(world: World) -> None:
    """The audit's L5: when the bot could not write to the caller in private (blocked, never
    started), the whole list, with prompts from other chats, went into the group."""
    tg = world.telegram
    ann, bob = tg.user(1001), tg.user(1002, "Bob")
    group = -100900
    world.expect_error("sendMessage: Forbidden: bot was blocked by the user")
    world.expect_error("sendMessage: Bad Request: chat not found")
    async with world.bot():
        await make_video(world, ann, "my secret birthday surprise")
        tg.blocked_chats.add(1001)
        tg.send_text(ann, "/history", chat_id=group)
        tg.send_text(bob, "/history", chat_id=group)  # never wrote to the bot in private
        answers = await tg.wait_for(
            lambda: (
                found
                if len(found := [m for m in tg.bot_messages(group) if "/history" in m["text"]])
                == 2
                else None
            )
        )
    for answer in answers:
        assert "Open a private chat with me first" in answer["text"]
        assert not answer.get("reply_markup")
    in_group = " ".join(m.get("text", "") for m in tg.bot_messages(group))
    assert "birthday" not in in_group and "Your videos" not in in_group
    assert not any("Your videos" in m.get("text", "") for m in tg.bot_messages(1002))


async def test_history_writes_dates_and_money_as_the_users_language_does(world: World) -> None:
    """zh_Hans: «11月24日 11:04», not «24 11月»; the price in US dollars, never a bare "$"
    (a peso in Latin America): es «0,25 US$», zh «US$0.25»."""
    import re

    from bot.i18n import Catalogues

    tg = world.telegram
    users = {
        "zh_Hans": tg.user(2002, "Li", language_code="zh-hans"),
        "es": tg.user(2004, "Ana", language_code="es"),
    }
    listings = {}
    async with world.bot():
        for locale, user in users.items():
            chat = user["id"]
            card = await open_card(world, user, caption="a cat")
            generate = Catalogues.load().translator(locale)._(GENERATE)
            tg.press(user, card, tg.buttons(card)[generate])
            await tg.wait_for_call(
                "sendVideo", where=lambda c, i=chat: c.params["chat_id"] == str(i)
            )
            tg.send_text(user, "/history")
            listing = await tg.wait_for(
                lambda i=chat: next(
                    (m for m in tg.bot_messages(i) if m.get("text", "").startswith("🗂")), None
                )
            )
            listings[locale] = listing["text"]
    assert re.search(r"\n1\. \d{1,2}月\d{1,2}日 \d\d:\d\d · 720p", listings["zh_Hans"])
    assert "US$0.25" in listings["zh_Hans"]
    # Spanish writes the hour without a leading zero ("1 dic, 0:06"), Chinese with one.
    assert re.search(r"\n1\. \d{1,2} \w+\.?, \d{1,2}:\d\d · 720p", listings["es"])
    assert "0,25\u00a0US$" in listings["es"] and "$0" not in listings["es"]
