"""The clips' use cases (bot/lifecycle/clips.py) on fakes: what runs at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.adapters.apimart_video import ApimartVideoApi
from bot.domain.records import TaskState
from bot.images import ImageConverter
from bot.lifecycle.clips import HEAVY_AT_ONCE, Clips, Joined
from bot.lifecycle.service import task_files
from bot.storage.memory import MemoryStorage
from tests.factories import make_record
from tests.fakes.clips import clip_bytes
from tests.fakes.lifecycle import FakeVideoApi


class SlowTelegram:
    """Gives every video back once let go, counting how many downloads wait at once."""

    def __init__(self) -> None:
        self.waiting = 0
        self.most = 0
        self.go = asyncio.Event()

    async def download(self, video_file_id: str, dest: Path) -> None:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        await self.go.wait()
        self.waiting -= 1
        dest.write_bytes(clip_bytes(160, 120, 1))


async def test_joins_of_many_users_hold_at_most_two_stories_on_disk_at_once(
    tmp_path: Path,
) -> None:
    storage, telegram = MemoryStorage(), SlowTelegram()
    clips = Clips(
        storage=storage,
        files=task_files(tmp_path),
        source=telegram,
        media=ImageConverter(limit=1),
        frames=ImageConverter(limit=1),
        api=ApimartVideoApi(FakeVideoApi()),
        upload_limit=50_000_000,
    )
    lasts = []
    for user in range(5):  # five users, a story of two clips each
        first = replace(
            make_record(f"a{user}", user_id=user + 1, state=TaskState.DONE),
            video_file_id=f"F{user}a",
        )
        second = replace(first, id=f"b{user}", continues=first.id, story_part=2,
                         video_file_id=f"F{user}b")  # fmt: skip
        await storage.add_task(first)
        await storage.add_task(second)
        lasts.append(second)
    joins = [asyncio.ensure_future(clips.join(last)) for last in lasts]
    for _ in range(20):  # every join as far as it can go
        await asyncio.sleep(0)
    assert telegram.most == HEAVY_AT_ONCE == 2  # two stories downloading, three waiting
    telegram.go.set()
    results = await asyncio.gather(*joins)
    assert all(isinstance(r, Joined) and r.clips == 2 for r in results)
    assert telegram.most == 2
