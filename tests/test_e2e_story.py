"""Longer stories from short clips (issue 22): ⏭ Continue from the last frame, 🎞 Join the
clips, ⭕ Round notes, voice notes as soundtracks and sharing in inline mode, on the fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import ImageStat

from bot.domain.actions import ContinueStory, JoinStory
from bot.telegram.callback_data import Scope, encode
from tests.fakes.apimart_api import last_colour_of
from tests.fakes.clips import make_voice, probe
from tests.harness import (
    GENERATE,
    World,
    free_port,
    make_image,
    message_with,
    open_card,
    wait_card,
)
from tests.test_e2e_again import answer_to
from tests.test_e2e_core import decode_data_url
from tests.test_e2e_privacy import confirm_forget
from tests.test_e2e_process import until

CONTINUE, JOIN, ROUND = "⏭ Continue", "🎞 Join", "⭕ Round"


def videos(world: World, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in world.telegram.bot_messages(chat_id) if "video" in m]


def card_under(world: World, chat_id: int, video: dict) -> dict | None:
    """The card the bot opened in reply to `video` (a Continue's)."""
    for message in world.telegram.bot_messages(chat_id):
        replied = (message.get("reply_to_message") or {}).get("message_id")
        if replied == video["message_id"] and GENERATE in world.telegram.buttons(message):
            return message
    return None


async def first_clip(world: World, user: dict, caption: str = "a cat on a sofa") -> dict:
    """A portrait photo made into a (landscape) video; returns the video message."""
    tg = world.telegram
    card = await open_card(world, user, caption=caption, image=make_image(480, 640))
    tg.press(user, card, tg.buttons(card)[GENERATE])
    await wait_card(world, card, "Done")
    return videos(world, user["id"])[-1]


async def continued(world: World, user: dict, video: dict, prompt: str) -> dict:
    """Press Continue under `video`, give the new card its prompt, Generate; returns the new
    video message."""
    tg = world.telegram
    chat = user["id"]
    before = len(videos(world, chat))
    tg.press(user, video, tg.buttons(video)[CONTINUE])
    card = await tg.wait_for(lambda: card_under(world, chat, video))
    await wait_card(world, card, "What happens next?")
    tg.send_text(user, prompt, reply_to=card["message_id"])
    await wait_card(world, card, prompt)
    tg.press(user, card, tg.buttons(card)[GENERATE])
    await wait_card(world, card, "Done")
    await tg.wait_for(lambda: len(videos(world, chat)) > before)
    return videos(world, chat)[-1]


def colour_of(image_url: str) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(decode_data_url(image_url).convert("RGB")).mean)


async def test_continue_starts_from_the_last_frame_and_join_sends_the_story(
    world: World,
) -> None:
    tg, api = world.telegram, world.apimart
    api.clip_size = (480, 270)  # the service answers a portrait photo with a landscape video
    ann = tg.user(1001)
    async with world.bot():
        first = await first_clip(world, ann)
        assert list(tg.buttons(first)) == [
            "🔁 Again", "✏️ Edit", "🎲 ×3", CONTINUE, ROUND,
        ]  # fmt: skip
        tg.press(ann, first, tg.buttons(first)[CONTINUE])
        card = await tg.wait_for(lambda: card_under(world, 1001, first))
        text = await wait_card(world, card, "What happens next?")
        assert "Clip 2 of your story" in text
        assert len(api.submissions) == 1  # a card to fill in, nothing started
        tg.send_text(ann, "the cat jumps off", reply_to=card["message_id"])
        await wait_card(world, card, "the cat jumps off")
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        second = await tg.wait_for(lambda: (v := videos(world, 1001))[1:] and v[1])
        assert "Clip 2 of your story" in second["caption"]
        assert list(tg.buttons(second)) == [
            "🔁 Again", "✏️ Edit", "🎲 ×3", CONTINUE, JOIN, ROUND,
        ]  # fmt: skip
        [photo_post, frame_post] = [s.body for s in api.accepted()]
        tg.press(ann, second, tg.buttons(second)[JOIN])
        joined = await tg.wait_for(
            lambda: next((v for v in videos(world, 1001) if "Your story" in v["caption"]), None)
        )
    # The second POST sent the first video's last frame (landscape, its flat colour), not
    # the portrait photo; the prompt is the new one, the settings the same, the seed new.
    frame = decode_data_url(frame_post["image_urls"][0])
    assert frame.width > frame.height
    assert decode_data_url(photo_post["image_urls"][0]).height > frame.height
    first_task = api.accepted()[0].task_id
    assert first_task is not None
    expected = last_colour_of(first_task)
    seen = colour_of(frame_post["image_urls"][0])
    assert all(abs(a - b) < 12 for a, b in zip(seen, expected, strict=True)), (seen, expected)
    assert frame_post["prompt"] == "the cat jumps off"
    assert frame_post["resolution"] == photo_post["resolution"]
    assert frame_post["seed"] != photo_post["seed"]  # a new one, drawn at Generate
    # Join: one video, bigger than either clip, both clips long, and no new generation.
    assert len(api.submissions) == 2
    assert joined["caption"] == "🎞 Your story: 2 clips"
    assert joined["reply_to_message"]["message_id"] == second["message_id"]
    [upload] = [c for c in tg.calls_to("sendVideo") if "Your story" in c.params.get("caption", "")]
    clips = [api.tasks[s.task_id].video for s in api.accepted() if s.task_id]
    assert len(upload.files["video"]) > max(len(clip) for clip in clips)
    story = probe(upload.files["video"])
    assert story.frames == sum(probe(clip).frames for clip in clips)
    assert story.seconds == pytest.approx(4.0, abs=0.3)
    assert tg.errors() == []


async def test_a_replica_without_the_kept_frame_takes_it_again_from_telegram(
    world: World,
) -> None:
    """The frame is kept on the disk of the replica that delivered the video: another one
    (here: the frame and then the card's copy deleted) takes it again from the video."""
    tg, api = world.telegram, world.apimart
    api.clip_size = (480, 270)
    ann = tg.user(1001)
    images = world.config.data_dir / "images"
    async with world.bot():
        first = await first_clip(world, ann)

        # Kept right after the delivery (no Bot API call tells when): wait, then take it away.
        async def kept() -> list[Path]:
            return list(images.glob("*.last.jpg"))

        await until(kept, bool)
        for frame in await kept():
            frame.unlink()
        downloads = len(tg.calls_to("getFile"))
        tg.press(ann, first, tg.buttons(first)[CONTINUE])
        card = await tg.wait_for(lambda: card_under(world, 1001, first))
        await wait_card(world, card, "What happens next?")
        assert len(tg.calls_to("getFile")) == downloads + 1  # the video, for its last frame
        kept = {p.name for p in images.iterdir()}
        for name in kept:  # the new card's picture, gone too: taken again at Generate
            if not name.endswith(".last.jpg") and name.startswith(tuple("0123456789abcdef")):
                (images / name).unlink()
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
    frame = decode_data_url(api.accepted()[1].body["image_urls"][0])
    assert frame.width > frame.height  # the landscape frame, not the portrait photo
    assert len(tg.calls_to("getFile")) == downloads + 2
    assert tg.errors() == []


async def test_forget_right_after_a_delivery_leaves_no_last_frame(world: World) -> None:
    """The frame is kept before the task ends: a /forget as soon as the card says Done finds
    it and deletes it with the photo."""
    tg, api = world.telegram, world.apimart
    api.clip_size = (320, 240)
    ann = tg.user(1001)
    images = world.config.data_dir / "images"
    async with world.bot():
        await first_clip(world, ann)
        assert list(images.glob("*.last.jpg"))  # there when the card says Done
        await confirm_forget(world, ann)
    assert list(images.iterdir()) == []


async def test_a_story_keeps_ten_clips_and_their_parts_show_in_history(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.clip_size = (320, 240)
    ann = tg.user(1001)
    async with world.bot(max_active_tasks_per_user=10):
        video = await first_clip(world, ann)
        for n in range(2, 11):
            video = await continued(world, ann, video, f"part {n}")
        assert CONTINUE not in tg.buttons(video)  # the tenth clip ends the story
        assert JOIN in tg.buttons(video)
        # A userbot's Continue under it all the same: refused, no eleventh card.
        tenth = tg.buttons(video)[JOIN].rsplit(":", 1)[-1]
        cards = len(tg.bot_messages(1001))
        more = tg.press(ann, video, encode(Scope.VIDEO, ContinueStory(tenth)))
        [refused] = await tg.wait_for_call(
            "answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == more
        )
        assert "up to 10 clips" in refused.params["text"]
        assert len(tg.bot_messages(1001)) == cards
        tg.send_text(ann, "/history")
        page = await message_with(world, 1001, "Your videos")
    assert "clip 10 of a story" in page["text"] and "clip 6 of a story" in page["text"]
    assert len(api.submissions) == 10


async def test_someone_elses_clip_is_neither_continued_joined_nor_rounded(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.clip_size = (320, 240)
    ann, bob = tg.user(1001), tg.user(1002)
    async with world.bot():
        first = await first_clip(world, ann)
        second = await continued(world, ann, first, "then it rains")
        cards = len(tg.bot_messages(1001))
        for label in (CONTINUE, JOIN, ROUND):
            assert "belongs to someone else" in await answer_to(world, bob, second, label)
        assert len(tg.bot_messages(1001)) == cards  # no card, no story, no note
    assert tg.calls_to("sendVideoNote") == [] and len(tg.calls_to("sendVideo")) == 2
    assert len(tg.calls_to("getFile")) == 1  # only Continue's frame, before Bob's presses
    assert len(api.submissions) == 2


async def test_a_double_tap_on_continue_opens_one_card(world: World) -> None:
    tg = world.telegram
    world.apimart.clip_size = (320, 240)
    ann = tg.user(1001)
    async with world.bot():
        video = await first_clip(world, ann)
        data = tg.buttons(video)[CONTINUE]
        first, second = tg.press(ann, video, data), tg.press(ann, video, data)
        await tg.wait_for_call("answerCallbackQuery", count=3)  # Generate's, then both taps
        card = await tg.wait_for(lambda: card_under(world, 1001, video))
        await wait_card(world, card, "What happens next?")
    cards = [m for m in tg.bot_messages(1001) if GENERATE in tg.buttons(m)]
    assert [m["message_id"] for m in cards] == [card["message_id"]]
    assert {c.params["callback_query_id"] for c in tg.calls_to("answerCallbackQuery")} >= {
        first,
        second,
    }


async def test_a_forged_join_under_a_first_clip_joins_nothing(world: World) -> None:
    """A userbot sends what the keyboard never offers: Join under a story's first clip."""
    tg, api = world.telegram, world.apimart
    api.clip_size = (320, 240)
    ann = tg.user(1001)
    async with world.bot():
        video = await first_clip(world, ann)
        first_task = tg.buttons(video)[CONTINUE].rsplit(":", 1)[-1]
        join = tg.press(ann, video, encode(Scope.VIDEO, JoinStory(first_task)))
        [joined] = await tg.wait_for_call(
            "answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == join
        )
    assert "Tap “Continue” first" in joined.params["text"]
    assert len(tg.calls_to("sendVideo")) == 1 and len(api.submissions) == 1


@pytest.mark.expected_errors(
    "getFile: Bad Request: invalid file_id",
    "apimart GET /f/video/task_00000000000000000000000001.mp4: 404 Not Found",
)
async def test_join_names_a_clip_that_is_no_longer_available(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.clip_size = (320, 240)
    ann = tg.user(1001)
    async with world.bot():
        first = await first_clip(world, ann)
        second = await continued(world, ann, first, "then it rains")
        # Telegram no longer gives the first clip, and the service's link has gone too.
        tg.files.pop(first["video"]["file_id"])
        first_task = api.accepted()[0].task_id
        assert first_task is not None
        del api.tasks[first_task]
        tg.press(ann, second, tg.buttons(second)[JOIN])
        refusal = await message_with(world, 1001, "no longer available")
    assert "Clip 1 of this story" in refusal["text"]
    assert not [c for c in tg.calls_to("sendVideo") if "Your story" in c.params.get("caption", "")]
    assert len(api.submissions) == 2


async def test_round_sends_a_square_video_note_of_the_video(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.clip_size = (480, 270)
    ann = tg.user(1001)
    async with world.bot():
        video = await first_clip(world, ann)
        tg.press(ann, video, tg.buttons(video)[ROUND])
        [note] = await tg.wait_for_call("sendVideoNote")
        tg.press(ann, video, tg.buttons(video)[ROUND])  # a second press: no second note
        await tg.wait_for_call("answerCallbackQuery", count=2)
    assert note.params["chat_id"] == "1001"
    sent = probe(note.files["video_note"])
    assert sent.width == sent.height == int(note.params["length"]) == 270
    assert sent.seconds == pytest.approx(2.0, abs=0.3) and sent.audio_codec is not None
    assert len(tg.calls_to("sendVideoNote")) == 1
    assert len(api.submissions) == 1  # no new generation
    assert tg.errors() == []


async def test_round_and_join_run_one_at_a_time_for_each_user(world: World) -> None:
    """A row of presses on several videos must not keep the video slot busy: the second,
    while the first is being made, is told to wait; the next one after it works."""
    tg, api = world.telegram, world.apimart
    api.clip_size = (480, 270)
    ann = tg.user(1001)
    async with world.bot():
        one = await first_clip(world, ann, "one")
        two = await first_clip(world, ann, "two")
        tg.download_delay = 1.0  # the first video comes back from Telegram slowly
        first = tg.press(ann, one, tg.buttons(one)[ROUND])
        await tg.wait_for(
            lambda: any(c.params.get("callback_query_id") == first for c in tg.calls_to(
                "answerCallbackQuery"
            )) or None
        )  # fmt: skip
        second = tg.press(ann, two, tg.buttons(two)[ROUND])
        [refused] = await tg.wait_for_call(
            "answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == second
        )
        await tg.wait_for_call("sendVideoNote")
        tg.download_delay = 0.0
        tg.press(ann, two, tg.buttons(two)[ROUND])
        await tg.wait_for_call("sendVideoNote", count=2)
    assert "one at a time" in refused.params["text"]
    notes = [m for m in tg.bot_messages(1001) if "video_note" in m]
    assert [m["reply_to_message"]["message_id"] for m in notes] == [
        one["message_id"],
        two["message_id"],
    ]


async def test_inline_mode_lists_only_the_asking_users_own_videos(world: World) -> None:
    tg = world.telegram
    ann, bob = tg.user(1001), tg.user(1002, "Bob")
    async with world.bot():
        await first_clip(world, ann, "a red fox in the snow")
        await first_clip(world, ann, "a blue whale")
        await first_clip(world, bob, "a red car")
        asked = {
            "ann_all": tg.inline_query(ann, ""),
            "ann_red": tg.inline_query(ann, "RED fox"),
            "bob_red": tg.inline_query(bob, "red"),
            "bob_whale": tg.inline_query(bob, "whale"),
            # a userbot's offset: "²" is a digit to str.isdigit, and no int: the first page
            "ann_odd_offset": tg.inline_query(ann, "whale", offset="²"),
        }
        await tg.wait_for(lambda: len(tg.inline_answers) == len(asked) or None)
    listed = {
        name: [r["title"] for r in tg.inline_answers[query_id]["results"]]
        for name, query_id in asked.items()
    }
    assert listed == {
        "ann_all": ["a blue whale", "a red fox in the snow"],  # newest first
        "ann_red": ["a red fox in the snow"],
        "bob_red": ["a red car"],
        "bob_whale": [],  # Ann's whale is never Bob's
        "ann_odd_offset": ["a blue whale"],
    }
    answer = tg.inline_answers[asked["ann_all"]]
    ann_files = {v["video"]["file_id"] for v in videos(world, 1001)}
    assert {r["video_file_id"] for r in answer["results"]} <= ann_files
    assert answer["is_personal"] in (True, "true") and int(answer["cache_time"]) <= 60
    assert tg.errors() == []


@pytest.mark.expected_errors(
    "answerInlineQuery: Bad Request: query is too old and response timeout expired "
    "or query ID is invalid"
)
async def test_an_inline_query_answered_too_late_is_no_error(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot():
        await first_clip(world, ann, "a red fox")
        tg.inline_query(ann, "fox", late=True)
        await tg.wait_for(lambda: tg.calls_to("answerInlineQuery") or None)  # refused
        asked = tg.inline_query(ann, "fox")  # typed on: answered as usual
        await tg.wait_for(lambda: asked in tg.inline_answers or None)
    assert [r["title"] for r in tg.inline_answers[asked]["results"]] == ["a red fox"]


async def test_a_voice_note_becomes_a_wav_soundtrack_of_its_length(
    world: World, tmp_path: Path
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    voice = make_voice(tmp_path / "voice.ogg", seconds=5).read_bytes()
    port = free_port()
    async with world.bot(
        public_base_url=f"http://127.0.0.1:{port}", public_port=port, public_host="127.0.0.1"
    ):
        tg.send_voice(ann, voice, duration=5)
        await message_with(world, 1001, "Soundtrack saved")
        card = await open_card(world, ann)
        assert "Voice note, 5 s" in card["text"]
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await api.wait_for(lambda: api.accepted() or None)
        url = api.accepted()[0].body["audio_url"]
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            served = await response.read()
    assert url.endswith(".wav")
    assert served[:4] == b"RIFF" and served[8:12] == b"WAVE"
    assert probe(served).seconds == pytest.approx(5.0, abs=0.1)
