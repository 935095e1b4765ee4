"""Heavy work waits for pending first replies, but never longer than its bound."""

from __future__ import annotations

import asyncio

from bot.telegram.first_replies import FirstReplies


async def test_heavy_work_starts_after_the_first_replies() -> None:
    gate = FirstReplies()
    order: list[str] = []
    release = asyncio.Event()

    async def reply(name: str) -> None:
        async with gate.sending():
            await release.wait()
            order.append(f"reply {name}")

    async def heavy() -> None:
        await gate.settled(max_wait=5)
        order.append("heavy")

    replies = [asyncio.create_task(reply(n)) for n in "ab"]
    await asyncio.sleep(0)  # both replies are under way
    waiting = asyncio.create_task(heavy())
    await asyncio.sleep(0)
    assert order == []
    release.set()
    await asyncio.gather(*replies, waiting)
    assert order == ["reply a", "reply b", "heavy"]


async def test_a_stream_of_replies_does_not_starve_heavy_work() -> None:
    gate = FirstReplies()
    loop = asyncio.get_running_loop()
    async with gate.sending():
        started = loop.time()
        await asyncio.wait_for(gate.settled(max_wait=0.05), 1)
        waited = loop.time() - started
    assert 0.04 <= waited < 0.5  # it waited for the reply, then returned on its bound


async def test_heavy_work_goes_at_once_when_no_reply_is_pending() -> None:
    gate = FirstReplies()
    async with gate.sending():
        pass
    loop = asyncio.get_running_loop()
    started = loop.time()
    await gate.settled(max_wait=5)
    assert loop.time() - started < 0.5
