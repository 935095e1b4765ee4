"""State at scale (issue 8): the real bot process against the local fakes, with a big history.

A data folder holds N users, 3 finished tasks each (spread over 30 days) and N/100 tasks in
flight whose videos are ready upstream. It is written in schema 1 (one `bot.json`, what the
bot wrote before), so the same data can start any release: this one migrates it first.

Measured, on the bot as a separate process (`python -m bot`):
- start -> every in-flight task delivered, and `/settings` answered meanwhile;
- a settings button press -> the card edited (p95 of 30);
- Generate -> the POST reaching the video API (p95 of 40 cards, each its own user);
- 20 photos sent at once: the first reply (the placeholder, p95) and the usable card (the
  card with its buttons, p95);
- an inline query ("@bot cat turns") -> the answer listing the user's own videos (p95 of 30);
- SIGTERM -> exit, and the process's peak memory (VmHWM).

Run: `.venv/bin/python -m bench.bench_state [--users 10000] [--postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ms, p95, peak_mib, seconds, start_bot, table
from bot.domain.records import TaskRecord, TaskState, UserProfile
from bot.domain.settings import GenerationSettings
from tests.fakes.apimart_api import FakeApimart
from tests.fakes.telegram_api import FakeTelegram, StoredFile
from tests.harness import API_KEY, TOKEN, make_image

DAY = 86400.0
PRESS_PACE = 1.1  # seconds between two presses on the same card
GENERATE_SAMPLES = 40  # a p95 of 10 would be their maximum
INLINE_SAMPLES = 30
PROMPT = "the cat slowly turns its head toward the window, soft light, camera pushes in"


@dataclass
class Figures:
    label: str
    users: int
    finished: int
    in_flight: int
    prepare_s: float = 0.0
    delivered_s: float | None = None
    settings_during_resume_ms: list[float] = field(default_factory=list)
    press_ms: list[float] = field(default_factory=list)
    generate_ms: list[float] = field(default_factory=list)
    photos_ms: list[float] = field(default_factory=list)
    cards_ms: list[float] = field(default_factory=list)
    inline_ms: list[float] = field(default_factory=list)
    stop_s: float = 0.0
    peak_mib: float = 0.0

    def row(self) -> dict[str, str]:
        return {
            "label": self.label,
            "users": f"{self.users:,}",
            "finished / in flight": f"{self.finished:,} / {self.in_flight}",
            "settings press p95": ms(p95(self.press_ms)),
            "Generate -> POST p95 (of 40)": ms(p95(self.generate_ms)),
            "20 photos, first reply p95": ms(p95(self.photos_ms)),
            "20 photos, usable card p95": ms(p95(self.cards_ms)),
            "inline query -> answer p95 (of 30)": ms(p95(self.inline_ms)),
            "start -> all in flight delivered": seconds(self.delivered_s),
            "/settings during resume, max": ms(max(self.settings_during_resume_ms, default=None)),
            "SIGTERM -> exit": seconds(self.stop_s),
            "peak memory": f"{self.peak_mib:.0f} MiB",
        }


def legacy_document(users: int, in_flight: int, now: float) -> dict[str, Any]:
    """Schema 1: {"users": …, "tasks": …} in TinyDB's format, as the bot wrote it before."""
    profiles = {
        str(n): UserProfile(n, GenerationSettings(duration=5 + n % 3)).to_dict()
        for n in range(1, users + 1)
    }
    tasks: dict[str, Any] = {}
    for n in range(users * 3):
        user = n % users + 1
        created = now - (n % 30) * DAY - 600
        record = finished_task(f"h{n:07}", user, created)
        tasks[str(len(tasks) + 1)] = record.to_dict()
    for n in range(in_flight):
        user = users - n
        record = TaskRecord(
            id=f"f{n:05}",
            user_id=user,
            chat_id=user,
            source_message_id=1,
            image_file=f"f{n:05}.jpg",
            image_width=640,
            image_height=480,
            prompt=PROMPT,
            state=TaskState.RUNNING,
            attempt=1,
            apimart_task_id=f"task_{n:026d}",
            api_status="processing",
            created_at=now - 120,
            submitted_at=now - 110,
        )
        tasks[str(len(tasks) + 1)] = record.to_dict()
    return {"users": profiles, "tasks": tasks}


def finished_task(task_id: str, user: int, created: float) -> TaskRecord:
    # Message ids of a chat only grow: the fake numbers each chat's messages from 1, so the
    # history's ids stay clear of them (a card 2 of last week is not the card 2 of now).
    first = 1_000_000 + 3 * int(task_id[1:])
    return TaskRecord(
        id=task_id,
        user_id=user,
        chat_id=user,
        source_message_id=first,
        image_file=f"{task_id}.jpg",
        image_width=640,
        image_height=480,
        prompt=PROMPT,
        card_message_id=first + 1,
        state=TaskState.DONE,
        attempt=1,
        apimart_task_id=f"api_{task_id}",
        api_status="completed",
        progress=100,
        video_url=f"https://cdn.example/{task_id}.mp4",
        video_message_id=first + 2,
        video_file_id=f"vid_{task_id}",  # delivered: /history re-sends it, inline mode lists it
        created_at=created,
        submitted_at=created + 5,
        finished_at=created + 95,
    )


async def timed(action: Callable[[], Any], done: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    action()
    await done()
    return (time.perf_counter() - start) * 1000


class Bench:
    def __init__(self, tg: FakeTelegram, api: FakeApimart, data_dir: Path, env: dict[str, str]):
        self.tg, self.api, self.data_dir, self.env = tg, api, data_dir, env

    async def start(self, log: Path) -> asyncio.subprocess.Process:
        env = {"POLL_INTERVAL": "2", "MAX_ACTIVE_TASKS": "50", **self.env}
        return await start_bot(self.tg.url, self.api.url, self.data_dir, log, env)

    def sent(self, method: str, chat: int) -> int:
        return sum(
            1
            for c in self.tg.calls_to(method)
            if c.error is None and str(c.params.get("chat_id")) == str(chat)
        )

    async def reply_in(self, chat: int, before: int, method: str = "sendMessage") -> None:
        await self.tg.wait_for(lambda: self.sent(method, chat) > before or None, timeout=120)

    async def resume(self, figures: Figures, in_flight: int, started: float) -> None:
        """Deliveries of the backlog, with /settings probes every half second meanwhile."""
        tg = self.tg
        await tg.wait_for(lambda: tg.calls_to("setMyCommands") or None, timeout=300)
        probe_user = 900_000

        async def probe() -> None:
            nonlocal probe_user
            while len(tg.calls_to("sendVideo")) < in_flight:
                probe_user += 1
                user = tg.user(probe_user)
                before = self.sent("sendMessage", probe_user)
                try:
                    latency = await timed(
                        lambda u=user: tg.send_text(u, "/settings"),
                        lambda p=probe_user, b=before: self.reply_in(p, b),
                    )
                except AssertionError:
                    latency = 120_000.0
                figures.settings_during_resume_ms.append(latency)
                await asyncio.sleep(0.5)

        prober = asyncio.create_task(probe())
        await tg.wait_for(lambda: len(tg.calls_to("sendVideo")) >= in_flight or None, timeout=600)
        figures.delivered_s = time.monotonic() - started
        await prober

    async def open_card(self, user_id: int) -> dict[str, Any]:
        tg = self.tg
        photo = tg.send_photo(tg.user(user_id), make_image(), caption=PROMPT)

        def card() -> dict[str, Any] | None:
            for message in tg.bot_messages(user_id):
                replied = message.get("reply_to_message") or {}
                if replied.get("message_id") == photo["message_id"] and message.get(
                    "reply_markup"
                ):
                    return message
            return None

        return await tg.wait_for(card, timeout=120)

    async def presses(self, figures: Figures, user_id: int) -> None:
        tg = self.tg
        card = await self.open_card(user_id)
        user = tg.user(user_id)
        for n in range(30):
            # A person's pace: presses faster than ~1 a second in one chat wait for
            # Telegram's per-chat limit (the flood benchmark's subject, not this one's).
            await asyncio.sleep(PRESS_PACE)
            label = "1080p" if n % 2 == 0 else "720p"
            data = tg.buttons(card)[label]
            before = self.sent("editMessageText", user_id)
            figures.press_ms.append(
                await timed(
                    lambda d=data: tg.press(user, card, d),
                    lambda b=before: self.reply_in(user_id, b, "editMessageText"),
                )
            )

    async def generates(self, figures: Figures, first_user: int) -> None:
        tg, api = self.tg, self.api
        api.hold_new_tasks = True  # keep them running: only the POST is measured
        for user_id in range(first_user, first_user + GENERATE_SAMPLES):
            card = await self.open_card(user_id)
            count = len(api.submissions)
            data = tg.buttons(card)["▶️ Generate"]
            figures.generate_ms.append(
                await timed(
                    lambda c=card, d=data, u=user_id: tg.press(tg.user(u), c, d),
                    lambda n=count: api.wait_for(lambda: len(api.submissions) > n, timeout=120),
                )
            )

    async def inline(self, figures: Figures, users: int) -> None:
        """ "@bot words" typed by users with a history: the answer listing their own videos
        (issue 22: under 100 ms at 10,000 users)."""
        tg = self.tg
        for n in range(INLINE_SAMPLES):
            user_id = 1 + n * (users // INLINE_SAMPLES)
            for task in range(user_id - 1, 3 * users, users):  # their videos, on "Telegram"
                file_id = f"vid_h{task:07}"
                tg.files[file_id] = StoredFile(file_id, f"U{file_id}", b"", "videos/file.mp4")
            await asyncio.sleep(0.2)  # a person types: one query at a time, not a burst
            asked = len(tg.inline_answers)
            figures.inline_ms.append(
                await timed(
                    lambda u=user_id: tg.inline_query(tg.user(u), "cat turns"),
                    lambda a=asked: tg.wait_for(lambda: len(tg.inline_answers) > a, timeout=60),
                )
            )
        assert all(len(a["results"]) == 3 for a in tg.inline_answers.values())

    async def photos(self, figures: Figures, first_user: int) -> None:
        tg = self.tg
        users = range(first_user, first_user + 20)
        # One photo, stored once: the fake's thumbnailing must not hold up the event loop
        # between the sends (that would be counted as the bot's latency).
        sample = tg.send_photo(tg.user(first_user - 1), make_image(), caption=PROMPT)
        await self.reply_in(first_user - 1, 0)
        # The burst meets a quiet bot: the rate limiter's budget of ~30 messages a second,
        # spent by the steps before, has refilled (a busy second is the flood benchmark's).
        await asyncio.sleep(2)
        starts: dict[int, float] = {}
        for user_id in users:
            message = tg._user_message(tg.user(user_id), None, None)
            message |= {"photo": sample["photo"], "caption": PROMPT}
            starts[user_id] = time.perf_counter()
            tg._push_message(message)

        async def first_reply(user_id: int) -> None:
            await self.reply_in(user_id, 0)
            figures.photos_ms.append((time.perf_counter() - starts[user_id]) * 1000)
            # ...and the card it becomes: the same message, now with its buttons
            await tg.wait_for(
                lambda: any(m.get("reply_markup") for m in tg.bot_messages(user_id)) or None,
                timeout=120,
            )
            figures.cards_ms.append((time.perf_counter() - starts[user_id]) * 1000)

        await asyncio.gather(*(first_reply(u) for u in users))


async def run(
    label: str, users: int, postgres_url: str | None = None, in_flight: int | None = None
) -> Figures:
    in_flight = in_flight or max(1, users // 100)
    figures = Figures(label, users, users * 3, in_flight)
    tg, api = FakeTelegram(TOKEN), FakeApimart(API_KEY)
    await tg.start()
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            data_dir = Path(folder) / "data"
            data_dir.mkdir()
            began = time.monotonic()
            document = legacy_document(users, in_flight, time.time())
            env: dict[str, str] = {}
            if postgres_url:
                await fill_postgres(postgres_url, document)
                env["DATABASE_URL"] = postgres_url
            else:
                (data_dir / "bot.json").write_text(json.dumps(document, separators=(",", ":")))
                from bot.storage.tinydb import TinyDBStorage

                TinyDBStorage(data_dir)  # the one-time migration, not part of a start
            del document
            figures.prepare_s = time.monotonic() - began
            for n in range(in_flight):
                api.add_completed_task(f"task_{n:026d}")
                tg._chat(users - n, tg.user(users - n))
            bench = Bench(tg, api, data_dir, env)
            started = time.monotonic()
            process = await bench.start(Path(folder) / "bot.log")
            try:
                await bench.resume(figures, in_flight, started)
                await bench.presses(figures, 1)
                await bench.generates(figures, 11)
                await bench.photos(figures, 11 + GENERATE_SAMPLES + 10)
                await bench.inline(figures, users)
                figures.peak_mib = peak_mib(process.pid)
            finally:
                stopping = time.monotonic()
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 60)
                figures.stop_s = time.monotonic() - stopping
    finally:
        await api.stop()
        await tg.stop()
    return figures


async def fill_postgres(url: str, document: dict[str, Any]) -> None:
    """The same data straight into PostgreSQL (what migrate-to-postgres would copy)."""
    from bot.domain.access import AccessLists
    from bot.domain.usage import Stats
    from bot.storage.base import Snapshot
    from bot.storage.postgres import PostgresStorage

    storage = await PostgresStorage.connect(url)
    try:
        await storage._pool.execute("TRUNCATE users, tasks, access, archived_totals")
        snapshot = Snapshot(
            [UserProfile.from_dict(row) for row in document["users"].values()],
            [TaskRecord.from_dict(row) for row in document["tasks"].values()],
            AccessLists(),
            Stats(),
        )
        await storage.import_snapshot(snapshot)
        await storage._pool.execute("ANALYZE")
    finally:
        await storage.close()


def postgres_server() -> tuple[Any, str]:
    import pgserver

    folder = tempfile.mkdtemp(prefix="bench-pg-")
    server = pgserver.get_server(Path(folder), cleanup_mode="stop")
    return server, server.get_uri()


async def main(argv: list[str]) -> list[Figures]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--postgres-users", type=int, nargs="*", default=[100000])
    parser.add_argument("--in-flight", type=int, default=None, help="default: users / 100")
    options = parser.parse_args(argv)
    results: list[Figures] = []

    def report(figures: Figures) -> None:
        results.append(figures)
        print(json.dumps(figures.row()), flush=True)

    for users in options.users:
        report(await run("TinyDB", users, in_flight=options.in_flight))
    if options.postgres_users:
        server, url = postgres_server()
        try:
            for users in options.postgres_users:
                report(await run("PostgreSQL", users, url, options.in_flight))
        finally:
            server.cleanup()
    print(table([r.row() for r in results]))
    for r in results:
        print(
            f"{r.label} {r.users}: data prepared/migrated in {r.prepare_s:.1f} s; "
            f"median press {statistics.median(r.press_ms):.0f} ms"
        )
    return results


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
