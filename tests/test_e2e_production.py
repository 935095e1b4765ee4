"""Who may spend the balance, limits, groups, admin alerts and Telegram's own faults."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.fakes.apimart_api import Fault
from tests.fakes.telegram_api import LostAnswer
from tests.harness import (
    GENERATE,
    TOKEN,
    World,
    answers,
    full_generation,
    generating_card,
    make_image,
    open_card,
    wait_card,
)

ADMIN = 9001


async def test_only_allowed_users_spend_and_admins_change_the_list(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann, bob, admin = tg.user(1001), tg.user(1002, "Bob"), tg.user(ADMIN, "Root")
    async with world.bot(allowed_user_ids=frozenset({1001}), admin_user_ids=frozenset({ADMIN})):
        tg.send_photo(bob, make_image(), caption="let me in")
        [refusal] = await tg.wait_for_call("sendMessage")
        assert "private" in refusal.params["text"] and "1002" in refusal.params["text"]
        assert tg.calls_to("getFile") == []
        tg.send_text(bob, "/allow 1002")  # not an admin: refused at the gate
        tg.send_text(admin, "/allow 1002")
        await tg.wait_for_call(
            "sendMessage", where=lambda c: "may use the bot" in c.params["text"]
        )
        await full_generation(world, bob)
        tg.send_text(admin, "/deny 1001")
        await tg.wait_for_call("sendMessage", where=lambda c: "no longer" in c.params["text"])
    async with world.bot(allowed_user_ids=frozenset({1001}), admin_user_ids=frozenset({ADMIN})):
        tg.send_photo(ann, make_image(), caption="me again")
        await tg.wait_for_call("sendMessage", where=lambda c: c.params["chat_id"] == "1001")
    assert [s.body.get("prompt") for s in api.submissions] == ["barrier"]


@pytest.mark.expected_errors(
    "apimart POST /v1/videos/generations: 401 Invalid API key",
    "apimart GET /api/pricing/model: 401 Invalid API key",
)
async def test_admins_are_alerted_once_not_per_user(world: World) -> None:
    tg = world.telegram
    async with world.bot(apimart_api_key="sk-wrong", admin_user_ids=frozenset({ADMIN})):
        tg.send_text(tg.user(ADMIN), "/start")  # a bot can only message users who started it
        await tg.wait_for_call("sendMessage")
        for user_id in (1001, 1002):
            user = tg.user(user_id)
            card = await open_card(world, user)
            tg.press(user, card, tg.buttons(card)[GENERATE])
            await wait_card(world, card, "unavailable")
    alerts = [
        c
        for c in tg.calls_to("sendMessage")
        if c.params["chat_id"] == str(ADMIN) and "🚨" in c.params["text"]
    ]
    assert len(alerts) == 1 and "APIMART_API_KEY" in alerts[0].params["text"]
    assert alerts[0].error is None


async def test_exhausted_balance_is_told_to_user_and_admins(world: World) -> None:
    tg, api = world.telegram, world.apimart
    api.submit_faults = [Fault(status=402)]
    ann = tg.user(1001)
    async with world.bot(admin_user_ids=frozenset({ADMIN})):
        tg.send_text(tg.user(ADMIN), "/start")
        await tg.wait_for_call("sendMessage")
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "balance is used up")
        [alert] = await tg.wait_for_call("sendMessage", where=lambda c: "🚨" in c.params["text"])
    assert "balance is exhausted" in alert.params["text"]


async def test_per_user_active_limit(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot(max_active_tasks_per_user=1):
        await generating_card(world, ann)
        second = await open_card(world, ann, caption="another")
        tg.press(ann, second, tg.buttons(second)[GENERATE])
        await tg.wait_for(lambda: any("already have 1 video" in a for a in answers(world)))
    assert len(api.submissions) == 1


@pytest.mark.usefixtures("one_utc_day")  # not across midnight
async def test_daily_quota_is_shown_and_enforced_admins_exempt(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann, admin = tg.user(1001), tg.user(ADMIN)
    async with world.bot(daily_video_seconds_per_user=12, admin_user_ids=frozenset({ADMIN})):
        card = await open_card(world, ann)
        assert "Left for today: 12 seconds" in card["text"]
        tg.press(ann, card, tg.buttons(card)["10 s"])
        await tg.wait_for(lambda: "✓ 10 s" in tg.buttons(card))
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
        second = await open_card(world, ann, caption="more")
        assert "Left for today: 2 seconds" in second["text"]
        tg.press(ann, second, tg.buttons(second)[GENERATE])
        await tg.wait_for(lambda: any("2 seconds left" in a for a in answers(world)))
        admin_card = await open_card(world, admin)
        assert "Left for today" not in admin_card["text"]
    assert len(api.submissions) == 1


async def test_stats_for_admins_only(world: World) -> None:
    tg = world.telegram
    async with world.bot(admin_user_ids=frozenset({ADMIN})):
        await full_generation(world, tg.user(1001))
        tg.send_text(tg.user(1001), "/stats")
        tg.send_text(tg.user(ADMIN), "/stats")
        replies = await tg.wait_for_call(
            "sendMessage",
            count=2,
            where=lambda c: (
                "/stats" not in c.params["text"]
                and ("Statistics" in c.params["text"] or "admins" in c.params["text"])
            ),
        )
    by_chat = {r.params["chat_id"]: r.params["text"] for r in replies}
    assert "for the bot's admins" in by_chat["1001"]
    stats = by_chat[str(ADMIN)]
    assert "Users: 1" in stats and "done 1" in stats and "720p 5" in stats
    assert "Estimated spend: $0.25" in stats


async def test_groups_answer_only_what_is_meant_for_the_bot(world: World) -> None:
    tg, api = world.telegram, world.apimart
    group = -100500
    ann, bob = tg.user(1001), tg.user(1002, "Bob")
    async with world.bot():
        tg.send_photo(ann, make_image(), caption="holiday pic", chat_id=group)
        tg.send_photo(
            ann, make_image(), caption="/video@wan_test_bot the cat waves", chat_id=group
        )
        card = await tg.wait_for(
            lambda: next((m for m in tg.bot_messages(group) if m.get("reply_markup")), None)
        )
        assert "the cat waves" in card["text"] and "/video" not in card["text"]
        tg.press(bob, card, tg.buttons(card)[GENERATE])
        await tg.wait_for(lambda: any("someone else" in a for a in answers(world)))
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        [video] = await tg.wait_for_call("sendVideo")
        photo = tg.send_photo(bob, make_image(), caption="nice", chat_id=group)
        tg.send_text(bob, "/video dance please", chat_id=group, reply_to=photo["message_id"])
        second = await tg.wait_for(
            lambda: next(
                (m for m in tg.bot_messages(group) if "dance please" in m.get("text", "")), None
            )
        )
        assert second["reply_to_message"]["message_id"] == photo["message_id"]
    assert video.params["chat_id"] == str(group)
    assert json.loads(video.params["reply_parameters"])["message_id"] == 2
    assert len(tg.calls_to("getFile")) == 2  # the holiday photo was never downloaded
    assert [s.body["prompt"] for s in api.submissions] == ["the cat waves"]


@pytest.mark.expected_errors("sendVideo: Too Many Requests: retry after 1")
async def test_flood_control_is_waited_out(world: World) -> None:
    """Telegram answers the video with 429 (another process on the token, or limits stricter
    than ours): the bot waits out the pause and sends it again, without starting the
    delivery over."""
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        card = await generating_card(world, ann)
        tg.flood_on["sendVideo"] = 1  # and the chat is paused for the second it names
        api.release(api.accepted()[0].task_id)
        await wait_card(world, card, "Done", timeout=20)
    refused, sent = tg.calls_to("sendVideo")
    assert refused.error == "Too Many Requests: retry after 1" and sent.error is None
    assert sent.at - refused.at >= 1.0  # waited out, not hammered
    assert sent.files["video"] == api.tasks[api.accepted()[0].task_id].video  # all of it
    assert len(api.downloads) == 1  # the same file sent again, not a new delivery
    assert tg.flood_errors() == [refused]  # nothing else ran into the pause


@pytest.mark.parametrize("late", [None, 1.0], ids=["connection-dropped", "answer-too-late"])
async def test_the_fake_bot_api_can_take_a_message_and_lose_its_answer(
    world: World, late: float | None
) -> None:
    tg = world.telegram
    tg.send_text(tg.user(1001), "/start")  # the chat exists
    tg.lost_answers.append(LostAnswer("sendMessage", late=late))
    url = f"{tg.url}/bot{TOKEN}/sendMessage"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
        with pytest.raises((aiohttp.ServerDisconnectedError, TimeoutError)):
            await session.post(url, json={"chat_id": 1001, "text": "hello"})
    [sent] = tg.calls_to("sendMessage")
    assert sent.answer_lost and sent.error is None
    assert [m["text"] for m in tg.bot_messages(1001)] == ["hello"]
    assert tg.lost_answers == []


IN_FLIGHT = ("Sending the task", "Generating", "Almost there")


@pytest.mark.parametrize("late", [None, 1.0], ids=["connection-dropped", "answer-too-late"])
async def test_a_video_telegram_took_whose_answer_was_lost_is_not_sent_twice(
    world: World, monkeypatch: pytest.MonkeyPatch, late: float | None
) -> None:
    """Telegram stored the video, then its answer never reached the bot. The bot cannot know
    whether the video arrived: it must not send a paid video twice, and says at most one
    word more about it (the user has the video, or that word)."""
    monkeypatch.setattr("bot.telegram.messenger.UPLOAD_TIMEOUT", 0.5)  # `late` is past it
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        card = await generating_card(world, ann)
        tg.lost_answers.append(LostAnswer("sendVideo", late=late))
        api.release(api.accepted()[0].task_id)
        [lost] = await tg.wait_for_call("sendVideo")
        assert lost.answer_lost
        await tg.wait_for(
            lambda: not any(m in tg.current(card)["text"] for m in IN_FLIGHT), timeout=20
        )
    # the bot has stopped, every job included: nothing more can be sent
    videos = [m for m in tg.bot_messages(1001) if "video" in m]
    assert len(videos) == 1  # the one Telegram took
    said = [m for m in tg.bot_messages(1001) if m["message_id"] > videos[0]["message_id"]]
    assert len(said) <= 1
    assert all("did not confirm your video" in m["text"] for m in said)
    assert "If the video did not arrive" in tg.current(card)["text"]


@pytest.mark.expected_errors("Forbidden: bot was blocked by the user")
async def test_blocked_user_closes_the_task_without_retrying(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        await generating_card(world, ann)
        tg.blocked_chats.add(1001)
        api.release(api.accepted()[0].task_id)
        await tg.wait_for(lambda: any(c.error for c in tg.calls_to("sendVideo")))
        api.hold_new_tasks = False
        await full_generation(world, tg.user(1002))
    assert len(tg.calls_to("sendVideo")) == 2  # one refused for ann, one for the barrier


async def test_too_large_result_sends_the_link(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg, api = world.telegram, world.apimart
    monkeypatch.setattr("bot.application.TELEGRAM_UPLOAD_LIMIT", 4096)
    api.video_padding = 10_000
    ann = tg.user(1001)
    async with world.bot():
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "too large to upload")
        [link] = await tg.wait_for_call(
            "sendMessage", where=lambda c: "/f/video/" in c.params["text"]
        )
    assert "24 hours" in link.params["text"] and tg.calls_to("sendVideo") == []


@pytest.mark.expected_errors("apimart GET /f/video/task_00000000000000000000000001.mp4: 404")
async def test_expired_result_link_is_reported(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        card = await generating_card(world, ann)
        task = api.tasks[api.accepted()[0].task_id]
        task.video = b""  # the fake answers 404 for a video it does not have
        api.release(task.task_id)
        original = api._task_json

        def no_video(request, task_, status, progress):  # the link exists but is gone
            data = original(request, task_, status, progress)
            task_.video = b""
            return data

        api._task_json = no_video  # type: ignore[method-assign]
        await wait_card(world, card, "expired")


async def test_progress_edits_are_throttled(world: World) -> None:
    tg = world.telegram
    ann = tg.user(1001)
    async with world.bot(progress_edit_interval=3600):
        card = await open_card(world, ann)
        tg.press(ann, card, tg.buttons(card)[GENERATE])
        await wait_card(world, card, "Done")
    texts = [c.params["text"] for c in tg.calls_to("editMessageText")]
    assert not any("Generating" in t for t in texts)
    assert len(texts) == 3  # sending, queued, done (the card itself was sent as it is)


@pytest.mark.expected_errors("editMessageText: Bad Request: message to edit not found")
async def test_deleted_card_does_not_stop_delivery(world: World) -> None:
    tg, api = world.telegram, world.apimart
    ann = tg.user(1001)
    api.hold_new_tasks = True
    async with world.bot():
        card = await generating_card(world, ann)
        del tg.messages[(1001, card["message_id"])]  # the user deleted the card
        api.release(api.accepted()[0].task_id)
        await tg.wait_for_call("sendVideo")
        await tg.wait_for(
            lambda: any(c.error == "Bad Request: message to edit not found" for c in tg.calls)
        )
    assert len(tg.calls_to("sendVideo")) == 1


async def test_an_id_copied_from_an_arabic_refusal_is_allowed_with_its_marks(
    world: World,
) -> None:
    """The refusal shows the id in <code> (tap to copy) with the right-to-left isolates
    outside it; a copy that takes invisible direction marks along still works with /allow."""
    tg = world.telegram
    bob = tg.user(1002, "Bob", language_code="ar")
    admin = tg.user(ADMIN, "Root", language_code="ar")
    async with world.bot(allowed_user_ids=frozenset({1001}), admin_user_ids=frozenset({ADMIN})):
        tg.send_text(bob, "/start")
        [refusal] = await tg.wait_for_call("sendMessage")
        html_text = refusal.params["text"]
        copied = html_text.split("<code>")[1].split("</code>")[0]
        assert copied == "1002"  # no mark inside the tag: a tap copies the id alone
        assert "\u2068<code>1002</code>\u2069" in html_text  # isolated from outside
        # A selection copied with the isolates and the marks around it (LRM, RLM, ALM).
        tg.send_text(admin, f"/allow \u2068\u200f{copied}\u2069\u061c \u200e")
        allowed = await tg.wait_for_call(
            "sendMessage", where=lambda c: c.params["chat_id"] == str(ADMIN)
        )
        assert "✅" in allowed[0].params["text"] and "1002" in allowed[0].params["text"]
        tg.send_text(bob, "/start")  # let in: greeted, in Arabic
        welcome = await tg.wait_for_call(
            "sendMessage", count=2, where=lambda c: c.params["chat_id"] == "1002"
        )
        assert "Bob" in welcome[1].params["text"] and "<code>" not in welcome[1].params["text"]
        tg.send_text(admin, "/deny \u20661002\u2069")
        denied = await tg.wait_for_call(
            "sendMessage", count=2, where=lambda c: c.params["chat_id"] == str(ADMIN)
        )
        assert "⛔" in denied[1].params["text"]
