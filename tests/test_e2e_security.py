"""Issue 18 (the audit's L6, L7, L10): each finding's attack, run end to end and refused."""

from __future__ import annotations

import logging

import pytest

from bot.__main__ import database_secrets
from bot.domain.billing import Reason
from bot.storage.tinydb import TinyDBStorage
from tests.fakes.telegram_api import BOT_USERNAME
from tests.harness import World, free_port, message_with
from tests.test_e2e_billing import STARS, balance, buy, invoice_for


async def test_an_edited_grant_grants_nothing_more(world: World) -> None:
    """L7: correcting `/grant 1001 100` to `/grant 1002 100` must not credit both."""
    tg = world.telegram
    admin = tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        sent = tg.send_text(admin, "/grant 1001 100")
        await message_with(world, 1, "is now 100")
        tg.edit_text(sent, "/grant 1002 100")
        tg.send_text(admin, "/grant 1003 7")  # a later order still goes through
        await message_with(world, 1, "is now 7")
    rows = await TinyDBStorage(world.config.data_dir).ledger_rows()
    assert [(m.user_id, m.amount) for m in rows if m.reason is Reason.GRANT] == [
        (1001, 100),
        (1003, 7),
    ]


async def test_a_denied_user_cannot_pay_an_old_invoice(world: World) -> None:
    """L10: the gate lets payments through; pre-checkout is where a denied user stops."""
    tg = world.telegram
    ann, admin = tg.user(1001), tg.user(1)
    async with world.bot(**STARS, admin_user_ids=frozenset({1})):
        invoice = await invoice_for(world, ann, "⭐ 50 → 50 credits")
        tg.send_text(admin, "/deny 1001")
        await message_with(world, 1, "1001")
        answer = await tg.checkout_answer(tg.pre_checkout(ann, invoice))
    assert answer["ok"] is False


async def test_a_payment_signed_before_a_token_change_is_credited(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """L10: the invoice key comes from the bot token; Stars taken under the old token are
    still credited under the new one, once, and the log names only the charge."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**STARS):
        await buy(world, ann, "⭐ 50 → 50 credits", "charge-old")
        invoice = await invoice_for(world, ann, "⭐ 200 → 200 credits")
    rotated = world.config.telegram_bot_token.replace("A", "B", 1)
    tg.token = rotated  # the operator rotated the token with @BotFather
    caplog.set_level(logging.INFO)
    async with world.bot(**STARS, telegram_bot_token=rotated):
        tg.paid(ann, invoice, "charge-new")
        tg.paid(ann, invoice, "charge-new")  # delivered again
        await message_with(world, 1001, "Credits added: 200")
        assert await balance(world, ann) == (250, 0)
    assert "signed with another key" in caplog.text and "charge-new" in caplog.text
    assert "invoice_payload" not in caplog.text  # never the payment object


def test_the_database_url_and_its_password_are_redacted() -> None:
    assert database_secrets("postgresql://bot:s3cret@db:5432/bot") == [
        "postgresql://bot:s3cret@db:5432/bot",
        "s3cret",
    ]
    assert database_secrets(None) == []


MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(2048)
GROUP = -100777


def public_bot(world: World) -> dict[str, object]:
    port = free_port()
    return {
        "public_base_url": f"http://127.0.0.1:{port}",
        "public_host": "127.0.0.1",
        "public_port": port,
    }


async def test_a_page_renamed_mp3_is_never_hosted(world: World) -> None:
    """L3: Telegram's label is a claim; the bytes are checked before anything is served."""
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**public_bot(world)):
        page = b"<html><script>alert(1)</script></html>"
        tg.send_document(ann, page, file_name="x.mp3", mime_type="audio/mpeg")
        await message_with(world, 1001, "must be an MP3 or WAV")
        tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
        await message_with(world, 1001, "Soundtrack saved")
    audio = world.config.data_dir / "audio"
    served = [p.read_bytes() for p in audio.iterdir()]
    assert served == [MP3]  # the real one only


async def test_music_posted_in_a_group_is_not_rehosted_unless_meant_for_the_bot(
    world: World,
) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(**public_bot(world)):
        tg.send_document(
            ann, MP3, file_name="song.mp3", mime_type="audio/mpeg", chat_id=GROUP, caption="🎶"
        )
        tg.send_text(ann, "https://example.org/song.mp3", chat_id=GROUP)
        tg.send_text(ann, "/help", chat_id=GROUP)  # something the bot does answer
        await tg.wait_for(lambda: [m for m in tg.bot_messages(GROUP) if "/video" in m["text"]])
        tg.send_document(
            ann,
            MP3,
            file_name="mine.mp3",
            mime_type="audio/mpeg",
            chat_id=GROUP,
            caption=f"@{BOT_USERNAME}",
        )
        await message_with(world, GROUP, "Soundtrack saved: mine.mp3")
    assert [c.params["file_id"] for c in tg.calls_to("getFile")] == [
        tg.messages[key]["document"]["file_id"]
        for key in sorted(tg.messages)
        if key[0] == GROUP and tg.messages[key].get("caption", "").startswith("@")
    ]


async def test_a_served_soundtrack_is_never_rendered_as_a_page(world: World) -> None:
    """L3: `nosniff` and an attachment, whatever a browser would guess from the bytes."""
    import aiohttp

    tg = world.telegram
    ann = tg.user(1001)
    public = public_bot(world)
    async with world.bot(**public):
        tg.send_audio(ann, MP3, file_name="beat.mp3", mime_type="audio/mpeg", duration=10)
        await message_with(world, 1001, "Soundtrack saved")
        [served] = (world.config.data_dir / "audio").iterdir()
        url = f"{public['public_base_url']}/audio/{served.name}"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert await response.read() == MP3


def test_a_mention_of_another_account_is_not_one_of_the_bot() -> None:
    from bot.telegram.filters import mention_of

    mention = mention_of(BOT_USERNAME)
    assert mention.search(f"song for @{BOT_USERNAME}")
    assert not mention.search(f"song for @{BOT_USERNAME}_fans")
    assert not mention_of("").search("@anyone")
