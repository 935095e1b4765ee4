"""The main path end to end: the real bot against the fake Bot API and the fake apimart."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from bot import images
from tests.harness import (
    API_KEY,
    GENERATE,
    TOKEN,
    World,
    full_generation,
    make_image,
    open_card,
    wait_card,
)
from tests.test_images import blank_png


def decode_data_url(url: str) -> Image.Image:
    header, payload = url.split(",", 1)
    assert header == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload)))


async def test_photo_to_video_happy_path(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann, caption="the cat waves", image=make_image(640, 480))
        assert "the cat waves" in card["text"]
        assert card["reply_to_message"]["message_id"] == 1
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        [video] = await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")

    [submission] = api.submissions
    body = dict(submission.body)
    image = decode_data_url(body.pop("image_urls")[0])
    assert image.size == (640, 480) and image.format == "JPEG"
    # "Seed: random" on the card: the bot draws one, sends it, and shows it under the video,
    # so the video can be made again.
    seed = body.pop("seed")
    assert type(seed) is int and 0 <= seed <= 2_147_483_647
    assert f"🎲 Seed: {seed}" in video.params["caption"]
    assert body == {
        "model": "wan2.6-i2v-flash",
        "prompt": "the cat waves",
        "resolution": "720p",
        "duration": 5,
        "audio": True,
        "prompt_extend": True,
        "shot_type": "single",
        "watermark": False,
    }
    assert submission.headers["Authorization"] == f"Bearer {API_KEY}"
    assert submission.headers["Idempotency-Key"]
    assert TOKEN not in json.dumps(submission.body)

    task = api.tasks[submission.task_id]
    assert video.files["video"] == task.video
    assert video.params["chat_id"] == "1001"
    assert json.loads(video.params["reply_parameters"])["message_id"] == 1
    assert (video.params["width"], video.params["height"], video.params["duration"]) == (
        "1280",
        "720",
        "5",
    )
    assert video.params["supports_streaming"] == "true"
    assert "the cat waves" in video.params["caption"]
    assert len(tg.calls_to("sendVideo")) == 1
    assert tg.errors() == []
    assert tg.buttons(card) == {}


async def test_choices_become_defaults_and_survive_a_restart(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        steps = [
            ("1080p", "✓ 1080p"),
            ("+1 s", "⏱ 6 s"),
            ("+1 s", "⏱ 7 s"),
            ("🔇 Silent", "✓ 🔇 Silent"),
        ]
        for label, shown in steps:
            tg.press(ann, card, tg.buttons(card)[label])
            await tg.wait_for(lambda shown=shown: shown in tg.buttons(card))

    async with world.bot():
        tg.send_text(ann, "/settings")
        defaults = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if "default" in m["text"]), None)
        )
        assert {"✓ 1080p", "⏱ 7 s", "✓ 🔇 Silent"} <= set(tg.buttons(defaults))
        second = await open_card(world, ann, caption="again")
        assert {"✓ 1080p", "⏱ 7 s", "✓ 🔇 Silent"} <= set(tg.buttons(second))
        tg.press(ann, second, tg.buttons(second)[GENERATE])
        await tg.wait_for_call("sendVideo")
    body = api.submissions[0].body
    assert (body["resolution"], body["duration"], body["audio"]) == ("1080p", 7, False)


async def test_every_duration_is_reachable_on_the_card(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)["15 s"])
        await tg.wait_for(lambda: "⏱ 15 s" in tg.buttons(card))
        seen = {15}
        for expected in range(14, 1, -1):
            tg.press(ann, card, tg.buttons(card)["−1 s"])
            await tg.wait_for(lambda n=expected: f"⏱ {n} s" in tg.buttons(card))
            seen.add(expected)
        assert seen == set(range(2, 16))
        assert "−1 s" not in tg.buttons(card)  # no way below the documented minimum


async def test_restart_while_processing_delivers_exactly_once(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await api.wait_for(lambda: len(api.status_queries) >= 3)
        await wait_card(world, card, "Generating")
    task_id = api.accepted()[0].task_id
    api.release(task_id)
    api.hold_new_tasks = False
    async with world.bot():
        await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
    async with world.bot():  # a third start finds nothing left to do
        await full_generation(world, tg.user(9999))
    assert [c.params["chat_id"] for c in tg.calls_to("sendVideo")] == ["1001", "9999"]
    assert len(api.submissions) == 2


async def test_double_tap_on_generate_submits_once(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.submit_delay = 0.3
    async with world.bot():
        card = await open_card(world, ann)
        data = tg.buttons(card)[GENERATE]
        tg.press(ann, card, data)
        tg.press(ann, card, data)
        await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
        tg.press(ann, card, data)  # a stale Generate button on a finished card
        await tg.wait_for_call("answerCallbackQuery", count=3)
    assert len(api.submissions) == 1
    assert len(tg.calls_to("sendVideo")) == 1


async def test_caption_with_html_specials_is_escaped_and_sent_verbatim(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    caption = "a <b>cat</b> & dog_1 *bold* [link](x) <script>alert(1)</script> 5 > 3 &amp;"
    async with world.bot():
        card = await open_card(world, ann, caption=caption)
        assert caption in card["text"]
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        [video] = await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
    assert api.submissions[0].body["prompt"] == caption
    assert caption in video.params["caption"]
    assert tg.errors() == []


async def test_reply_to_card_replaces_the_prompt(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann, caption=None)
        assert "No prompt yet" in card["text"]
        tg.send_text(ann, "the dog jumps <high>", reply_to=card["message_id"])
        await wait_card(world, card, "the dog jumps <high>")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    assert api.submissions[0].body["prompt"] == "the dog jumps <high>"


async def test_photo_without_caption_sends_no_prompt(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann, caption=None)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    assert "prompt" not in api.submissions[0].body


async def test_a_photo_ready_at_once_is_answered_by_its_card_alone(world: World) -> None:
    """One message per opening: half of what a chat may be sent in a burst."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        await full_generation(world, tg.user(1002))  # the bot is idle: nothing else comes
    [sent] = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == "1001"]
    assert "reply_markup" in sent.params and "Tap <b>Generate</b>" in sent.params["text"]
    assert not [c for c in tg.calls_to("editMessageText") if c.params["chat_id"] == "1001"]
    assert tg.bot_messages(1001) == [tg.current(card)]
    tg.press(ann, card, tg.buttons(card)["1080p"])  # the card's buttons find its task


async def test_a_slow_download_gets_a_placeholder_then_the_card(world: World) -> None:
    tg = world.telegram
    tg.download_delay = 1.0
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    [placeholder] = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == "1001"]
    assert "Preparing your photo" in placeholder.params["text"]
    assert tg.bot_messages(1001)[0]["message_id"] == card["message_id"]  # it became the card


async def test_too_small_image_is_refused_without_api_call(world: World) -> None:
    tg, api = world.telegram, world.apimart
    tg.download_delay = 1.0  # past CARD_WITHIN: a placeholder answers first
    ann = tg.user(1001)
    async with world.bot():
        photo = tg.send_photo(ann, make_image(200, 300), caption="tiny")
        [placeholder] = await tg.wait_for_call("sendMessage")
        [edited] = await tg.wait_for_call("editMessageText")
    # The first reply comes before the download; the problem found after it edits that reply.
    assert "Preparing your photo" in placeholder.params["text"]
    assert "200×300" in edited.params["text"] and "240" in edited.params["text"]
    [answer] = tg.bot_messages(1001)
    assert answer["reply_to_message"]["message_id"] == photo["message_id"]
    assert str(answer["message_id"]) == edited.params["message_id"]
    assert "200×300" in answer["text"] and not answer.get("reply_markup")
    assert api.submissions == []


async def test_non_image_files_are_refused_without_api_call(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        tg.send_document(ann, b"just some notes", file_name="notes.txt", mime_type="text/plain")
        tg.send_document(ann, b"\x89PNG not really", file_name="fake.png", mime_type="image/png")
        # not an image by its name and type: told at once; by its content: once downloaded
        sent = await tg.wait_for_call("sendMessage", count=2)
        await full_generation(world, tg.user(1002))  # the bot is idle: nothing else comes
    texts = [c.params["text"] for c in sent if c.params["chat_id"] == "1001"]
    assert len(texts) == 2 and all("not an image I can use" in text for text in texts)
    assert not [c for c in tg.calls_to("editMessageText") if c.params["chat_id"] == "1001"]
    assert len(api.submissions) == 1  # the other user's


async def test_twenty_image_bombs_at_once_are_each_refused_and_the_next_photo_is_served(
    world: World,
) -> None:
    """The audit's M5: 0.3 MB PNGs that would decode to 8944x8944 RGBA (320 MB each), sent as
    files at once (memory is measured in `make bench`: bench/bench_images.py)."""
    tg, api = world.telegram, world.apimart
    bomb = blank_png(8944, 8944)
    assert len(bomb) < 400_000
    ann, bob = tg.user(1001), tg.user(1002)
    async with world.bot():
        for n in range(20):
            tg.send_document(ann, bomb, file_name=f"IMG_{n}.png", mime_type="image/png")
        card = await open_card(world, bob, caption="the next photo")
        # Each file's one answer: the refusal itself, or a placeholder turned into it.
        refusal = "⚠️ This image is too big to process: 8944×8944 px. Send one of at most 40"
        answers = await tg.wait_for(
            lambda: (
                len(found := [m for m in tg.bot_messages(1001) if refusal in m["text"]]) == 20
                and found
            )
        )
    assert len(tg.bot_messages(1001)) == len({m["message_id"] for m in answers}) == 20
    assert len([c for c in tg.calls_to("getFile") if not c.error]) == 21  # all were downloaded
    assert "the next photo" in card["text"] and api.submissions == []


async def test_each_image_refusal_says_what_is_wrong(world: World, tmp_path: Path) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    sgi = tmp_path / "photo.png"
    Image.new("RGB", (300, 300), (200, 60, 40)).save(sgi, "SGI")
    async with world.bot():
        tg.send_document(ann, sgi.read_bytes(), file_name="photo.png", mime_type="image/png")
        narrow = make_image(240, 9000, fmt="PNG")
        tg.send_document(ann, narrow, file_name="scroll.png", mime_type="image/png")
        answers = await tg.wait_for(
            lambda: (
                len(found := [m for m in tg.bot_messages(1001) if "⚠️" in m["text"]]) == 2 and found
            )
        )
    texts = sorted(m["text"] for m in answers)
    assert texts == [
        "⚠️ I can't use images in this format. Send a photo or a JPG, PNG, WEBP, HEIC, BMP, "
        "GIF or TIFF file.",
        "⚠️ This image is 240×9000 px, too long and narrow to use: its long side may be at "
        "most 33 times its short side. Please crop it and send it again.",
    ]


async def test_at_most_two_photos_are_converted_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = world.telegram
    real, lock = images.prepare_image, threading.Lock()
    counts = {"running": 0, "most": 0}

    def counting(raw: bytes) -> images.PreparedImage:
        with lock:
            counts["running"] += 1
            counts["most"] = max(counts["most"], counts["running"])
        try:
            time.sleep(0.2)
            return real(raw)
        finally:
            with lock:
                counts["running"] -= 1

    monkeypatch.setattr(images, "prepare_image", counting)
    async with world.bot():
        cards = await asyncio.gather(*(open_card(world, tg.user(1001 + n)) for n in range(6)))
    assert len(cards) == 6 and counts == {"running": 0, "most": 2}


async def test_image_document_with_transparency_is_flattened(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    png = make_image(500, 400, fmt="PNG", mode="RGBA", color=(0, 0, 255, 0))
    async with world.bot():
        tg.send_document(ann, png, file_name="logo.png", mime_type="image/png", caption="spin")
        card = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if m.get("reply_markup")), None)
        )
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    image = decode_data_url(api.submissions[0].body["image_urls"][0])
    assert image.mode == "RGB" and image.getpixel((10, 10)) == (255, 255, 255)


async def test_an_iphone_heic_file_becomes_a_jpeg_post(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    heic = make_image(800, 600, fmt="HEIF", color=(10, 200, 30))
    assert heic[4:12] == b"ftypheic"
    async with world.bot():
        tg.send_document(
            ann, heic, file_name="IMG_0042.HEIC", mime_type="image/heic", caption="waves"
        )
        card = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if m.get("reply_markup")), None)
        )
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    image = decode_data_url(api.submissions[0].body["image_urls"][0])
    assert image.format == "JPEG" and image.size == (800, 600)
    red, green, blue = image.getpixel((400, 300))
    assert green > 150 and red < 60 and blue < 80


async def test_an_album_gets_one_card_and_one_note(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        first = tg.send_photo(ann, make_image(), caption="the dog runs", media_group_id="a1")
        for _ in range(3):
            tg.send_photo(ann, make_image(), media_group_id="a1")
        note = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if "One photo" in m["text"]), None)
        )
        card = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(1001) if m.get("reply_markup")), None)
        )
        await full_generation(world, tg.user(1002))  # everything sent meanwhile is handled
    assert "album's first photo" in note["text"]
    assert card["reply_to_message"]["message_id"] == first["message_id"]
    assert "the dog runs" in card["text"]
    cards = [m for m in tg.bot_messages(1001) if m.get("reply_markup")]
    notes = [m for m in tg.bot_messages(1001) if "One photo" in m["text"]]
    assert len(cards) == 1 and len(notes) == 1 and len(api.submissions) == 1  # the barrier


async def test_oversized_document_gets_a_clear_message(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot():
        tg.send_document(
            ann,
            make_image(),
            file_name="huge.jpg",
            mime_type="image/jpeg",
            file_size=25 * 1024 * 1024,
        )
        [reply] = await tg.wait_for_call("sendMessage")
    assert "20 MB" in reply.params["text"]
    assert api.submissions == []


async def test_stickers_and_locations_get_one_hint_a_minute_in_private_only(world: World) -> None:
    tg = world.telegram
    ann, bob = tg.user(1001), tg.user(1002)
    group = -100600
    hint = "Send me a photo with a caption"

    def hints(chat: int) -> list[dict]:
        return [m for m in tg.bot_messages(chat) if hint in m.get("text", "")]

    async with world.bot():
        tg.send_sticker(bob, chat_id=group)
        tg.send_location(bob, 52.5, 13.4, chat_id=group)
        tg.send_sticker(ann)
        [first] = await tg.wait_for(lambda: hints(1001) or None)
        assert first["reply_to_message"]["message_id"] == 1
        tg.send_location(ann, 52.5, 13.4)
        tg.send_sticker(ann)
        # a whole generation afterwards proves the bot read those updates and stayed quiet
        await full_generation(world, ann)
    assert len(hints(1001)) == 1
    assert tg.bot_messages(group) == []


async def test_an_edited_caption_changes_the_card_and_opens_no_second_one(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)

    def cards() -> list[dict]:
        return [
            m
            for m in tg.bot_messages(1001)
            if "video" not in m and (m.get("reply_markup") or "Your video" in m.get("text", ""))
        ]

    async with world.bot():
        card = await open_card(world, ann, caption="the cat waves")
        photo_id = card["reply_to_message"]["message_id"]
        photo = tg.messages[(1001, photo_id)]
        tg.edit_caption(photo, "the dog jumps --1080p")
        text = await wait_card(world, card, "the dog jumps")
        assert "the cat waves" not in text and "✓ 1080p" in tg.buttons(card)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
        tg.edit_caption(photo, "too late")  # the card is used: nothing changes, nothing opens
        await full_generation(world, tg.user(1002))  # the edit was read meanwhile
    assert api.submissions[0].body["prompt"] == "the dog jumps"
    assert api.submissions[0].body["resolution"] == "1080p"
    assert len(cards()) == 1 and "too late" not in tg.current(card)["text"]


@pytest.mark.expected_errors(
    "apimart POST /v1/videos/generations: 400 prompt length must not exceed 40",
)
async def test_a_prompt_over_the_services_limit_is_said_and_the_card_kept(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.prompt_limit = 40
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann, caption="a very long prompt " * 5)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        text = await wait_card(world, card, "too long for the video service")
        assert "must not exceed 40 characters" in text and "Reply to this card" in text
        assert GENERATE in tg.buttons(card)  # still a draft: nothing was charged
        tg.send_text(ann, "a short one", reply_to=card["message_id"])
        await wait_card(world, card, "a short one")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await tg.wait_for_call("sendVideo")
    assert [s.status for s in api.submissions] == [400, 200]
    assert api.submissions[1].body["prompt"] == "a short one"
