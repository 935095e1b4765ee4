"""The bot speaks the user's language from the first message, and remembers a choice."""

from __future__ import annotations

import json

from tests.harness import World, make_image, open_card


async def test_russian_user_gets_russian_start_card_and_error(world: World) -> None:
    tg = world.telegram
    ivan = tg.user(2001, "Иван", language_code="ru")
    async with world.bot():
        tg.send_text(ivan, "/start")
        [start] = await tg.wait_for_call("sendMessage")
        assert "Привет, Иван!" in start.params["text"]
        card = await open_card(world, ivan, caption="кот машет лапой")
        assert "Ваше видео" in card["text"] and "5 секунд" in card["text"]
        assert "▶️ Создать" in tg.buttons(card)
        tg.send_photo(ivan, make_image(100, 100))
        error = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(2001) if "100×100" in m["text"]), None)
        )
    assert "Каждая сторона должна быть не меньше 240" in error["text"]
    assert tg.errors() == []


async def test_chinese_and_unknown_languages(world: World) -> None:
    tg = world.telegram
    async with world.bot():
        tg.send_text(tg.user(2002, "Li", language_code="zh-hans"), "/start")
        tg.send_text(tg.user(2003, "Zed", language_code="xx"), "/start")
        replies = await tg.wait_for_call("sendMessage", count=2)
    by_chat = {c.params["chat_id"]: c.params["text"] for c in replies}
    assert "你好，Li！" in by_chat["2002"]
    assert "Hi, Zed!" in by_chat["2003"]


async def test_language_choice_persists_across_a_restart(world: World) -> None:
    tg = world.telegram
    ann = tg.user(2004, "Ann", language_code="en")
    async with world.bot():
        tg.send_text(ann, "/language")
        menu = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(2004) if m.get("reply_markup")), None)
        )
        assert {"✓ English", "Español", "Русский", "العربية", "中文 (简体)"} <= set(
            tg.buttons(menu)
        )
        tg.press(ann, menu, tg.buttons(menu)["Español"])
        await tg.wait_for(lambda: "hablo español" in tg.current(menu)["text"])
    async with world.bot():
        tg.send_text(ann, "/help")
        [reply] = await tg.wait_for_call(
            "sendMessage", where=lambda c: "/settings" in c.params.get("text", "")
        )
    assert "Convierte una foto en un video corto" in reply.params["text"]


async def test_command_menu_is_registered_per_language(world: World) -> None:
    tg = world.telegram
    async with world.bot():
        calls = tg.calls_to("setMyCommands")
    menus = {c.params.get("language_code"): json.loads(c.params["commands"]) for c in calls}
    assert set(menus) == {None, "ru", "uk", "es", "pt", "id", "tr", "ar", "hi", "zh"}
    assert {"command": "help", "description": "Как сделать видео"} in menus["ru"]
    assert [c["command"] for c in menus[None]] == [
        "start",
        "settings",
        "cancel",
        "language",
        "history",
        "seed",
        "negative",
        "privacy",
        "forget",
        "help",
    ]


async def test_the_card_prices_in_us_dollars_as_each_language_writes_them(world: World) -> None:
    """A bare "$" is a peso in Latin America: es «0,25 US$»; en keeps «$0.25»."""
    tg = world.telegram
    async with world.bot():
        spanish = await open_card(world, tg.user(2005, "Ana", language_code="es"))
        english = await open_card(world, tg.user(2006, "Ann", language_code="en"))
        chinese = await open_card(world, tg.user(2007, "Li", language_code="zh-hans"))
    assert "0,25\u00a0US$" in spanish["text"] and "$0.25" not in spanish["text"]
    assert "Cost to the bot: $0.25" in english["text"]
    assert "US$0.25" in chinese["text"]
