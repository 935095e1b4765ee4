"""Replicas on one PostgreSQL, each with its own disk (issue 21): a card opened on one replica
and pressed on another finds its photo. Modelled here by emptying the replica's own photo
folder between the photo and the press: what the other replica would see."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.harness import GENERATE, World, open_card, wait_card
from tests.postgres import fresh_database
from tests.test_e2e_again import video_message


def another_replicas_disk(world: World) -> None:
    for kept in (world.config.data_dir / "images").iterdir():
        kept.unlink()


def submitted_image(body: dict) -> Image.Image:
    header, payload = body["image_urls"][0].split(",", 1)
    assert header == "data:image/jpeg;base64"  # never a Telegram URL (it holds the token)
    return Image.open(io.BytesIO(base64.b64decode(payload)))


async def test_generate_on_a_replica_without_the_photo_fetches_it_again(
    world: World, postgres_server: str
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(database_url=await fresh_database(postgres_server)):
        card = await open_card(world, ann)
        another_replicas_disk(world)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        [photo_id] = {c.params["file_id"] for c in tg.calls_to("getFile")}
        assert len(tg.calls_to("getFile")) == 2  # the photo, then again by its file id
        # Kept from now on: Again on this replica needs no third download.
        video = video_message(world, 1001)
        tg.press(ann, video, tg.buttons(video)["🔁 Again"])
        await tg.wait_for(lambda: len([m for m in tg.bot_messages(1001) if "video" in m]) == 2)
    assert len(tg.calls_to("getFile")) == 2
    first, again = (submitted_image(s.body) for s in api.accepted())
    assert first.size == again.size and first.size[0] >= 240
    assert photo_id


async def test_again_on_a_replica_that_never_saw_the_photo(
    world: World, postgres_server: str
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(database_url=await fresh_database(postgres_server)):
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        another_replicas_disk(world)
        video = video_message(world, 1001)
        tg.press(ann, video, tg.buttons(video)["🔁 Again"])
        await tg.wait_for(lambda: len([m for m in tg.bot_messages(1001) if "video" in m]) == 2)
    assert len(api.accepted()) == 2 and len(tg.calls_to("getFile")) == 2


@pytest.mark.expected_errors("getFile: Bad Request: invalid file_id")
async def test_a_photo_telegram_no_longer_gives_fails_the_card_with_a_word(
    world: World, postgres_server: str
) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    async with world.bot(database_url=await fresh_database(postgres_server)):
        card = await open_card(world, ann)
        another_replicas_disk(world)
        tg.files.clear()  # Telegram no longer has it
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        text = await wait_card(world, card, "⚠️")
    assert api.submissions == []
    assert "Generate" in str(tg.current(card).get("reply_markup"))  # the card stays usable
    assert text
