"""Draft cards through the draft service, on in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.domain.actions import Page, RemoveSoundtrack, SetAudio, SetResolution, ShowPage
from bot.domain.caption_flags import parse_caption
from bot.domain.records import Soundtrack, TaskState
from bot.images import PreparedImage
from bot.lifecycle.drafts import MAX_OPEN_CARDS, NewCard
from tests.factories import accepted_change, claim_change
from tests.fakes.lifecycle import Lifecycle, build_lifecycle


def served(tmp_path: Path, name: str) -> Soundtrack:
    audio = tmp_path / "audio"
    audio.mkdir(exist_ok=True)
    (audio / name).write_bytes(b"ID3")
    return Soundtrack(f"https://bot.example/audio/{name}", name, "beat.mp3")


async def open_card(life: Lifecycle, caption: str = "the cat waves --1080p") -> str:
    record = await life.drafts.open(
        NewCard(
            user_id=1,
            chat_id=1,
            source_message_id=10,
            language="en",
            flags=parse_caption(caption),
            image=PreparedImage(b"\xff\xd8jpeg", 640, 480),
        ),
        card_message_id=101,  # the placeholder that already answered the photo
    )
    return record.id


async def test_open_posts_a_card_from_defaults_and_caption_and_keeps_the_photo(
    tmp_path: Path,
) -> None:
    life = build_lifecycle(tmp_path)
    task_id = await open_card(life)
    [posted] = life.messenger.shown  # the placeholder became the card
    stored = await life.storage.get_task(task_id)
    assert stored is not None and stored.card_message_id == 101 == posted.card_message_id
    assert posted.prompt == "the cat waves" and posted.settings.resolution == "1080p"
    assert (tmp_path / "images" / f"{task_id}.jpg").read_bytes() == b"\xff\xd8jpeg"


async def test_a_setting_press_becomes_the_default_and_redraws(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    record = await life.storage.get_task(await open_card(life, "x"))
    assert record is not None
    assert await life.drafts.press(record, SetResolution("1080p"))
    assert (await life.drafts.profiles.profile(1)).settings.resolution == "1080p"
    assert life.messenger.shown[-1].settings.resolution == "1080p"
    assert await life.drafts.press(record, ShowPage(Page.MORE))
    assert life.messenger.shown[-1].page is Page.MORE


async def test_removing_a_soundtrack_deletes_the_served_file(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    task_id = await open_card(life)
    soundtrack = served(tmp_path, "a" * 32 + ".mp3")
    card = await life.drafts.attach_soundtrack(1, 1, soundtrack)
    assert card is not None and card.soundtrack_title == "beat.mp3"
    assert await life.drafts.press(card, RemoveSoundtrack())
    stored = await life.storage.get_task(task_id)
    assert stored is not None and stored.soundtrack_url is None
    assert not (tmp_path / "audio" / soundtrack.file).exists()  # type: ignore[operator]


async def test_silent_deletes_the_served_soundtrack_too(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    await open_card(life)
    soundtrack = served(tmp_path, "b" * 32 + ".mp3")
    card = await life.drafts.attach_soundtrack(1, 1, soundtrack)
    assert card is not None
    assert await life.drafts.press(card, SetAudio(False))
    assert not (tmp_path / "audio" / soundtrack.file).exists()  # type: ignore[operator]


async def test_a_soundtrack_never_lands_on_a_card_that_left_draft(tmp_path: Path) -> None:
    """Generate won the race: the card is submitting, so its request must not change."""
    life = build_lifecycle(tmp_path)
    task_id = await open_card(life)
    await life.storage.update_task(task_id, claim_change())
    soundtrack = served(tmp_path, "c" * 32 + ".mp3")
    assert await life.drafts.attach_soundtrack(1, 1, soundtrack) is None
    stored = await life.storage.get_task(task_id)
    assert stored is not None and stored.soundtrack_url is None
    # kept for the user's next photo instead
    kept = (await life.drafts.profiles.profile(1)).soundtrack
    assert kept == replace(soundtrack, saved_at=life.now[0])


async def test_a_replaced_soundtrack_is_deleted(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    await open_card(life)
    first, second = served(tmp_path, "d" * 32 + ".mp3"), served(tmp_path, "e" * 32 + ".mp3")
    await life.drafts.attach_soundtrack(1, 1, first)
    await life.drafts.attach_soundtrack(1, 1, second)
    assert not (tmp_path / "audio" / first.file).exists()  # type: ignore[operator]
    assert (tmp_path / "audio" / second.file).exists()  # type: ignore[operator]


async def test_a_pressed_card_that_left_draft_is_not_changed(tmp_path: Path) -> None:
    life = build_lifecycle(tmp_path)
    task_id = await open_card(life)
    await life.storage.update_task(task_id, claim_change())
    running = await life.storage.update_task(task_id, accepted_change())
    assert running is not None
    assert not await life.drafts.press(running, SetResolution("720p"))
    assert await life.drafts.set_prompt(running, "new") is None


async def test_a_user_keeps_at_most_twenty_unused_cards(tmp_path: Path) -> None:
    """L3: every card keeps a photo on our disk; the oldest goes when a new one comes."""
    life = build_lifecycle(tmp_path)
    first = await open_card(life)
    for _ in range(MAX_OPEN_CARDS - 1):
        life.now[0] += 1
        await open_card(life)
    assert (await life.storage.get_task(first)).state is TaskState.DRAFT  # type: ignore[union-attr]
    life.now[0] += 1
    await open_card(life)
    closed = await life.storage.get_task(first)
    assert closed is not None and closed.state is TaskState.CLOSED
    assert not (tmp_path / "images" / closed.image_file).exists()
    assert len(await life.storage.tasks_in({TaskState.DRAFT}, user_id=1)) == MAX_OPEN_CARDS
