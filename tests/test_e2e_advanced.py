"""Every knob of the model, end to end: the POST body is exactly what the card shows."""

from __future__ import annotations

import aiohttp
import pytest

from tests.harness import GENERATE, World, free_port, make_image, open_card, wait_card

MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(2048)


async def press_and_wait(world: World, user: dict, card: dict, label: str, shown: str) -> None:
    tg = world.telegram
    tg.press(user, card, tg.buttons(card)[label])
    await tg.wait_for(lambda: shown in tg.current(card)["text"] or shown in tg.buttons(card))


async def generate(world: World, user: dict, card: dict) -> dict:
    tg = world.telegram
    tg.press(user, card, tg.buttons(card)[GENERATE])
    chat = str(user["id"])
    [video] = await tg.wait_for_call("sendVideo", where=lambda c: c.params["chat_id"] == chat)
    await wait_card(world, card, "Done")
    return video.params


async def test_advanced_settings_reach_the_post_exactly_as_shown(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann, caption="the cat dances")
        await press_and_wait(world, ann, card, "⚙️ More ▸", "✍️ Rewriting: on")
        await press_and_wait(world, ann, card, "Multi-shot", "✓ Multi-shot")
        await press_and_wait(world, ann, card, "💧 Watermark: off", "💧 Watermark: on")
        tg.send_text(ann, "seed 12345", reply_to=card["message_id"])
        await wait_card(world, card, "Seed: 12345")
        tg.send_text(ann, "/negative blurry, low quality")
        text = await wait_card(world, card, "Avoid: blurry, low quality")
        assert "Shots: multiple" in text and "Watermark: on" in text
        caption = (await generate(world, ann, card))["caption"]
    body = {k: v for k, v in api.submissions[0].body.items() if k != "image_urls"}
    assert body == {
        "model": "wan2.6-i2v-flash",
        "prompt": "the cat dances",
        "resolution": "720p",
        "duration": 5,
        "audio": True,
        "prompt_extend": True,
        "shot_type": "multi",
        "watermark": True,
        "seed": 12345,
        "negative_prompt": "blurry, low quality",
    }
    assert "Seed: 12345" in caption


async def test_multi_shot_forces_prompt_rewriting_and_back(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        await press_and_wait(world, ann, card, "⚙️ More ▸", "✍️ Rewriting: on")
        await press_and_wait(world, ann, card, "Multi-shot", "Shots: multiple")
        await press_and_wait(world, ann, card, "✍️ Rewriting: on", "Prompt rewriting: off")
        text = tg.current(card)["text"]
        assert "Shots:" not in text  # not sent without rewriting, so not shown
        assert "✓ Single shot" in tg.buttons(card)
        await press_and_wait(world, ann, card, "Multi-shot", "Prompt rewriting: on")
        await press_and_wait(world, ann, card, "✍️ Rewriting: on", "Prompt rewriting: off")
        await generate(world, ann, card)
    body = api.submissions[0].body
    assert (body["prompt_extend"], body["shot_type"]) == (False, "single")


async def test_caption_flags_are_stripped_and_applied_to_this_card_only(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    caption = (
        "the cat -- a fluffy one -- jumps --1080p --10s --silent --multi --seed 42 "
        '--no "blurry, text"'
    )
    async with world.bot():
        card = await open_card(world, ann, caption=caption)
        await generate(world, ann, card)
        second = await open_card(world, ann, caption="plain")
        assert "✓ 720p" in tg.buttons(second)  # defaults untouched by shortcuts
    body = api.submissions[0].body
    assert body["prompt"] == "the cat -- a fluffy one -- jumps"
    assert (body["resolution"], body["duration"], body["audio"]) == ("1080p", 10, False)
    assert (body["shot_type"], body["prompt_extend"], body["seed"]) == ("multi", True, 42)
    assert body["negative_prompt"] == "blurry, text"


async def test_bad_flags_are_reported_and_never_reach_the_api(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        tg.send_photo(ann, make_image(), caption="the cat --20s")
        tg.send_photo(ann, make_image(), caption="the cat --4k")
        tg.send_photo(ann, make_image(), caption=f'x --no "{"b" * 501}"')
        replies = await tg.wait_for_call("sendMessage", count=3)
    texts = [r.params["text"] for r in replies]
    assert sum("--20s" in t and "out of range" in t for t in texts) == 1
    assert sum("--4k" in t and "don't know" in t for t in texts) == 1
    assert all("--1080p" in t and "--seed &lt;number&gt;" in t for t in texts)
    assert api.submissions == []
    assert not any(m.get("reply_markup") for m in tg.bot_messages(1001))


async def test_seed_and_negative_commands_validate_their_values(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        tg.send_text(ann, "/seed banana")
        tg.send_text(ann, "/negative " + "x" * 501)
        tg.send_text(ann, "/seed 7")
        replies = await tg.wait_for_call("sendMessage", count=3)
        texts = " ".join(r.params["text"] for r in replies)
        assert "2147483647" in texts and "at most 500 characters; yours has 501" in texts
        card = await open_card(world, ann)
        assert "Seed: 7" in card["text"]
        tg.send_text(ann, "/seed")
        await wait_card(world, card, "Seed: random")


async def test_uploaded_soundtrack_is_served_during_the_task_and_gone_after(
    world: World,
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with world.bot(public_base_url=public, public_host="127.0.0.1", public_port=port):
        tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
        await tg.wait_for_call(
            "sendMessage", where=lambda c: "Soundtrack saved" in c.params["text"]
        )
        card = await open_card(world, ann)
        assert "Soundtrack: " in card["text"]
        await generate(world, ann, card)
        url = api.submissions[0].body["audio_url"]
        assert url.startswith(f"{public}/audio/") and url.endswith(".mp3")
        assert api.tasks[api.accepted()[0].task_id].audio_fetch == (200, MP3)
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 404


REMOVE_SOUNDTRACK = "🎵 Remove soundtrack"


async def test_a_soundtrack_removed_from_its_card_stops_being_served(world: World) -> None:
    """Both ways off the card ("Remove soundtrack" and "Silent") delete the public file."""
    tg = world.telegram
    ann = tg.user(1001)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with world.bot(public_base_url=public, public_host="127.0.0.1", public_port=port):
        for button, gone in (
            ("🎵 Remove soundtrack", "✓ 🔊 Audio on"),
            ("🔇 Silent", "✓ 🔇 Silent"),
        ):
            card = await open_card(world, ann)
            tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
            text = await wait_card(world, card, "Soundtrack: beat.mp3")
            assert ".mp3" not in text.replace("beat.mp3", "")  # never the secret file name
            [served] = list((world.config.data_dir / "audio").iterdir())
            url = f"{public}/audio/{served.name}"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 200
            tg.press(ann, card, tg.buttons(card)[button])
            await tg.wait_for(lambda c=card: REMOVE_SOUNDTRACK not in tg.buttons(c) or None)
            assert "Soundtrack" not in tg.current(card)["text"]
            assert gone in tg.buttons(card)
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 404
            assert not served.exists()
            tg.press(ann, card, tg.buttons(card)["✖️ Cancel"])
            await wait_card(world, card, "Cancelled")


async def test_uploaded_audio_needs_a_public_address_but_links_work(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.static_files["song.mp3"] = MP3
    link = f"{api.url}/static/song.mp3"
    async with world.bot():
        tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
        await tg.wait_for_call(
            "sendMessage", where=lambda c: "no public address" in c.params["text"]
        )
        card = await open_card(world, ann)
        tg.send_text(ann, link)
        await wait_card(world, card, "Soundtrack: song.mp3")
        await generate(world, ann, card)
    assert api.submissions[0].body["audio_url"] == link


async def test_silent_and_soundtrack_exclude_each_other(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.static_files["song.mp3"] = MP3
    async with world.bot():
        card = await open_card(world, ann)
        tg.send_text(ann, f"{api.url}/static/song.mp3")
        await wait_card(world, card, "Soundtrack")
        await press_and_wait(world, ann, card, "🔇 Silent", "✓ 🔇 Silent")
        assert "Soundtrack" not in tg.current(card)["text"]
        await generate(world, ann, card)
    body = api.submissions[0].body
    assert body["audio"] is False and "audio_url" not in body


async def test_bad_audio_is_refused_with_the_reason(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(
        public_base_url="http://127.0.0.1:9", public_port=free_port(), public_host="127.0.0.1"
    ):
        tg.send_voice(ann, b"OggS" + bytes(100), duration=5)
        tg.send_audio(ann, MP3, file_name="long.mp3", mime_type="audio/mpeg", duration=40)
        tg.send_audio(
            ann, MP3, file_name="song.flac", mime_type="audio/flac", duration=10, as_document=True
        )
        replies = await tg.wait_for_call("sendMessage", count=3)
    texts = " ".join(r.params["text"] for r in replies)
    assert "could not read that voice note" in texts  # "OggS" and zeros: no Opus in it
    assert "3 to 30 seconds long; this one is 40 s" in texts
    assert "MP3 or WAV file." in texts


@pytest.mark.expected_errors(
    "apimart POST /v1/videos/generations: 400 template melt is not supported",
)
async def test_effect_template_is_sent_and_a_refusal_offers_the_way_back(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.refused_templates = {"melt"}
    async with world.bot():
        card = await open_card(world, ann, caption="ignored prompt")
        await press_and_wait(world, ann, card, "✨ Effects", "Dance 1")
        await press_and_wait(world, ann, card, "Melt", "The prompt is ignored")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        text = await wait_card(world, card, "refused this request")
        assert "template melt is not supported" in text
        await press_and_wait(world, ann, card, "✖️ No effect", "ignored prompt")
        await press_and_wait(world, ann, card, "✨ Effects", "Dance 1")
        await press_and_wait(world, ann, card, "Dance 1", "The prompt is ignored")
        await generate(world, ann, card)
    assert api.submissions[0].body["template"] == "melt"
    assert api.submissions[-1].body["template"] == "dance1"
    assert api.accepted()[0].body["prompt"] == "ignored prompt"


async def test_effects_are_named_in_the_users_language_and_sent_by_their_id(
    world: World,
) -> None:
    tg, api = world.telegram, world.apimart
    ivan = tg.user(1002, language_code="ru")
    async with world.bot():
        card = await open_card(world, ivan, caption="кот")
        await press_and_wait(world, ivan, card, "✨ Эффекты", "Таяние")
        assert "melt" not in tg.buttons(card) and "Хрустальная роза" in tg.buttons(card)
        assert "• Таяние: " in tg.current(card)["text"]
        await press_and_wait(world, ivan, card, "Таяние", "Эффект: Таяние.")
        tg.press(ivan, card, tg.buttons(card)["▶️ Создать"])
        [call] = await tg.wait_for_call("sendVideo")
    assert api.accepted()[0].body["template"] == "melt"
    video = call.params
    assert "Таяние" in video["caption"] and "melt" not in video["caption"]


async def test_gif_documents_use_their_first_frame(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        tg.send_document(
            ann,
            make_image(300, 300, fmt="GIF", mode="P", color=3),
            file_name="cat.gif",
            mime_type="image/gif",
            caption="loop",
        )
        card = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if m.get("reply_markup")), None)
        )
        await generate(world, ann, card)
    assert api.submissions[0].body["image_urls"][0].startswith("data:image/jpeg;base64,")


async def test_the_card_shows_the_price_of_its_settings_and_follows_each_change(
    world: World,
) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)  # 720p, 5 s, audio on: 5 × $0.05
        assert "Cost to the bot: $0.25" in card["text"]
        await press_and_wait(world, ann, card, "1080p", "Cost to the bot: $0.38")
        await press_and_wait(world, ann, card, "10 s", "Cost to the bot: $0.75")
        await press_and_wait(world, ann, card, "🔇 Silent", "Cost to the bot: $0.38")


async def test_a_free_bot_shows_what_a_video_costs_it_not_a_marked_up_price(world: World) -> None:
    """With billing off nobody pays: the card says what the video costs the bot (the cost
    basis), labelled so that a user does not read it as their price (EN-3)."""
    tg = world.telegram
    async with world.bot(price_markup=3.0):
        card = await open_card(world, tg.user(1001))  # 720p, 5 s, audio on: 5 × $0.05
        assert "💰 Cost to the bot: $0.25" in card["text"]


@pytest.mark.expected_errors("apimart GET /api/pricing/model: 503")
async def test_prices_come_from_the_provider_when_its_answer_is_readable(world: World) -> None:
    from tests.test_pricing import PROVIDER_ANSWER

    tg, api = world.telegram, world.apimart
    api.pricing = PROVIDER_ANSWER
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)  # 720p with audio: 5 × $0.04
        assert "Cost to the bot: $0.20" in card["text"]
    assert api.pricing_requests == ["wan2.6-i2v-flash"]
    api.pricing = None  # the endpoint fails: the configured table, as documented
    async with world.bot():
        card = await open_card(world, tg.user(1002))
        assert "Cost to the bot: $0.25" in card["text"]


async def test_the_effects_page_shows_two_names_a_row_each_whole_on_a_phone(world: World) -> None:
    """Russian names are long («Хрустальная роза»): two a row, each within a phone's share of
    the row (tests/test_locales.py defines it), so none is cut to «Хрустальная р…»."""
    from bot.domain.templates import TEMPLATES
    from tests.test_locales import row_fits

    tg = world.telegram
    ivan = tg.user(1002, language_code="ru")
    async with world.bot():
        card = await open_card(world, ivan, caption="кот")
        effects = next(label for label in tg.buttons(card) if label.startswith("✨"))
        await press_and_wait(world, ivan, card, effects, "Хрустальная роза")
        tg.press(ivan, card, tg.buttons(card)["Хрустальная роза"])
        await tg.wait_for(lambda: effects in tg.buttons(card) or None)  # chosen: back on page 1
        await press_and_wait(world, ivan, card, effects, "✓ Хрустальная роза")  # chosen, marked
        rows = tg.current(card)["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in rows[: len(TEMPLATES) // 2]] == [2] * (len(TEMPLATES) // 2)
    for row in rows:
        assert row_fits([b["text"] for b in row]), [b["text"] for b in row]
    assert any(b["text"] == "✓ Хрустальная роза" for row in rows for b in row)
