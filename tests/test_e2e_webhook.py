"""Webhook completion: apimart calls back on a per-task secret path; the bot checks with its
own GET before delivering, so a callback is only ever a hint."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from tests.harness import API_KEY, GENERATE, TOKEN, World, free_port, open_card, wait_card

# Polling alone would take this long: anything faster was the callback.
SLOW_POLL = 60.0


@asynccontextmanager
async def bot_with_public_address(world: World, poll_interval: float) -> AsyncIterator[str]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with world.bot(
        public_base_url=public,
        public_host="127.0.0.1",
        public_port=port,
        poll_interval=poll_interval,
    ):
        yield public


async def submitted_task(world: World) -> tuple[dict, str]:
    """A card whose task apimart accepted and holds (the test decides when it ends)."""
    tg, api = world.telegram, world.apimart
    api.hold_new_tasks = True
    ann = tg.user(1001)
    card = await open_card(world, ann)
    tg.press(ann, card, tg.buttons(card)[GENERATE])
    [accepted] = await api.wait_for(lambda: api.accepted() or None)
    return card, str(accepted.task_id)


async def post(url: str, payload: object) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, json=payload) as response:
        return response.status


async def test_a_callback_delivers_at_once_and_its_path_is_secret(world: World) -> None:
    tg, api = world.telegram, world.apimart
    async with bot_with_public_address(world, SLOW_POLL) as public:
        card, task_id = await submitted_task(world)
        webhook = api.submissions[0].body["webhook"]
        token = webhook.removeprefix(f"{public}/hooks/")
        assert webhook.startswith(f"{public}/hooks/") and len(token) >= 32
        assert TOKEN not in webhook and API_KEY not in webhook
        started = time.monotonic()
        assert await api.finish_and_call_back(task_id) == [200]
        [video] = await tg.wait_for_call("sendVideo", timeout=10)
        assert time.monotonic() - started < SLOW_POLL / 4
        await wait_card(world, card, "Done")
    assert video.params["chat_id"] == "1001"
    # it asked the API itself before delivering
    assert api.status_queries.count(task_id) >= 1


async def test_a_repeated_callback_delivers_once(world: World) -> None:
    tg, api = world.telegram, world.apimart
    async with bot_with_public_address(world, SLOW_POLL):
        card, task_id = await submitted_task(world)
        statuses = await asyncio.gather(
            api.finish_and_call_back(task_id, times=2), api.finish_and_call_back(task_id)
        )
        assert all(status in (200, 404) for batch in statuses for status in batch)
        await wait_card(world, card, "Done")
        late = api.tasks[task_id].body["webhook"] + "/callback"
        assert await post(late, {"code": 200}) == 404  # nothing waits on that path any more
    # the bot has stopped, every job included: nothing more can be sent
    assert len(tg.calls_to("sendVideo")) == 1


async def test_a_forged_completion_delivers_nothing(world: World) -> None:
    tg, api = world.telegram, world.apimart
    async with bot_with_public_address(world, SLOW_POLL):
        card, task_id = await submitted_task(world)
        url = api.submissions[0].body["webhook"] + "/callback"
        forged = {
            "code": 200,
            "data": {
                "id": task_id,
                "status": "completed",
                "progress": 100,
                "result": {"videos": [{"url": ["https://evil.example/x.mp4"]}]},
            },
        }
        queries = len(api.status_queries)
        assert await post(url, forged) == 200  # a valid path: checked, not trusted
        await api.wait_for(lambda: len(api.status_queries) > queries)
    assert tg.calls_to("sendVideo") == [] and api.downloads == []
    assert "Done" not in tg.current(card)["text"]


async def test_a_wrong_path_is_404_and_touches_nothing(world: World) -> None:
    api = world.apimart
    async with bot_with_public_address(world, SLOW_POLL) as public:
        _, task_id = await submitted_task(world)
        queries = len(api.status_queries)
        for path in ("/hooks/not-a-token/callback", "/hooks//callback", "/callback"):
            assert await post(public + path, {"data": {"id": task_id}}) == 404
        assert len(api.status_queries) == queries
        assert json.dumps(api.submissions[0].body["webhook"]).count("not-a-token") == 0


async def test_a_lost_callback_is_caught_by_polling(world: World) -> None:
    tg, api = world.telegram, world.apimart
    async with bot_with_public_address(world, poll_interval=0.05):
        card, task_id = await submitted_task(world)
        api.release(task_id)  # it ends upstream, and no callback ever comes
        await tg.wait_for_call("sendVideo")
        await wait_card(world, card, "Done")
    # the bot has stopped, every job included: one video, whatever polled meanwhile
    [video] = tg.calls_to("sendVideo")
    assert video.error is None and video.params["chat_id"] == "1001"
    assert video.files["video"] == api.tasks[task_id].video
