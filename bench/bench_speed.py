"""Speed (issue 9): how soon a user sees a reaction, how soon a ready video is in the chat, what
that costs in status queries, flood safety at 50 users, and memory while delivering 45 MB.

Each part runs the real bot as its own process (`python -m bot`) against local fakes of the
Bot API (enforcing Telegram's flood limits) and of apimart (tasks that run for a set time, with
progress growing with the clock, and the completion callback when the request names a webhook).

- reaction: N users send a photo in the same instant → each one's first reply (N = 1, 20, 50, 200);
- delivery: tasks of 10, 60 and 300 s, with webhook completion, with adaptive polling and with a
  fixed 5 s poll (the naive baseline): completed upstream → video in the chat, status queries;
- flood: 50 users make a video each at once: 429s, card and delivery times, progress edits;
- memory: the bot's peak memory (VmHWM) before and while delivering a 45 MB result.

Run: `.venv/bin/python -m bench.bench_speed [--long 300]` (about 6 minutes; `make bench`).
It rewrites its section of docs/benchmarks.md and the plots in docs/benchmarks/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
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

from bench.common import (
    DOCS,
    ms,
    p95,
    peak_mib,
    percentile,
    replace_section,
    seconds,
    start_bot,
    table,
)
from tests.fakes.apimart_api import FakeApimart
from tests.fakes.telegram_api import FakeTelegram, FloodLimits
from tests.harness import API_KEY, GENERATE, TOKEN, free_port, make_image

PROMPT = "the cat slowly turns its head toward the window"
MB = 1024 * 1024
MODES = ("webhook", "adaptive polling", "fixed 5 s poll")


def prompt_for(chat: int, run_for: float) -> str:
    """The fake task's chat and length ride at the end of its prompt."""
    return f"{PROMPT} chat{chat} {run_for:g}"


def run_time_of(body: dict[str, Any]) -> float:
    return float(str(body.get("prompt", "")).split()[-1])


def chat_of(body: dict[str, Any]) -> str:
    return str(body.get("prompt", "")).split()[-2].removeprefix("chat")


class Bot:
    """One bot process and its own pair of fakes."""

    def __init__(self, folder: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.folder, self.name, self.env = folder / name, name, env or {}
        self.tg, self.api = FakeTelegram(TOKEN), FakeApimart(API_KEY)
        self.tg.flood_limits = FloodLimits()
        self.api.run_time = run_time_of
        self.process: asyncio.subprocess.Process | None = None
        self._next_user = 10_000
        self._scanned = 0
        self._first_reply: dict[str, float] = {}
        self._videos: dict[str, float] = {}

    async def __aenter__(self) -> Bot:
        await self.tg.start()
        await self.api.start()
        (self.folder / "data").mkdir(parents=True)
        self.process = await start_bot(
            self.tg.url, self.api.url, self.folder / "data", self.folder / "bot.log", self.env
        )
        await self.tg.wait_for(lambda: self.tg.calls_to("setMyCommands") or None, timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        await self.api.stop()
        await self.tg.stop()

    def new_users(self, count: int) -> list[int]:
        first, self._next_user = self._next_user, self._next_user + count
        return list(range(first, first + count))

    def _scan(self) -> None:
        """Index the fake's new calls: each chat's first message, each chat's video."""
        calls = self.tg.calls
        for call in calls[self._scanned :]:
            if call.error is not None:
                continue
            chat = str(call.params.get("chat_id"))
            if call.method == "sendMessage":
                self._first_reply.setdefault(chat, call.at)
            elif call.method == "sendVideo":
                self._videos[chat] = call.at
        self._scanned = len(calls)

    def first_reply_at(self, chat: int) -> float | None:
        self._scan()
        return self._first_reply.get(str(chat))

    def videos(self) -> dict[str, float]:
        """Chat → when its video arrived."""
        self._scan()
        return self._videos

    async def card(self, chat: int, photo_id: int) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for message in self.tg.bot_messages(chat):
                replied = message.get("reply_to_message") or {}
                if replied.get("message_id") == photo_id and message.get("reply_markup"):
                    return message
            return None

        return await self.tg.wait_for(found, timeout=120)

    async def generate(self, user_id: int, run_for: float) -> None:
        """Photo, card, Generate: a task that runs `run_for` seconds upstream."""
        user = self.tg.user(user_id)
        photo = self.tg.send_photo(user, make_image(), caption=prompt_for(user_id, run_for))
        card = await self.card(user_id, photo["message_id"])
        self.tg.press(user, card, self.tg.buttons(card)[GENERATE])

    def ready_to_video(self, chats: list[int]) -> tuple[list[float], list[int]]:
        """For the tasks of these chats: completed upstream → video in the chat (seconds),
        and how many status queries each took."""
        wanted, arrivals = {str(c) for c in chats}, self.videos()
        delays, queries = [], []
        for task in self.api.tasks.values():
            chat = chat_of(task.body)
            if chat in wanted and task.completes_at is not None:
                delays.append(arrivals[chat] - task.completes_at)
                queries.append(task.polls)
        return delays, queries

    def seen_to_video(self, chats: list[int]) -> list[float]:
        """For the tasks of these chats: the status answer that first said "completed" → the
        video in the chat (seconds): the bot's own part, without the polling interval's."""
        wanted, arrivals = {str(c) for c in chats}, self.videos()
        return [
            arrivals[chat] - task.answered_completed
            for task in self.api.tasks.values()
            if (chat := chat_of(task.body)) in wanted and task.answered_completed is not None
        ]


@dataclass
class Reaction:
    users: int
    latencies_ms: list[float]
    floods: int

    def row(self) -> dict[str, str]:
        return {
            "users at once": str(self.users),
            "first reply, median": ms(percentile(self.latencies_ms, 0.5)),
            "p95": ms(p95(self.latencies_ms)),
            "slowest": ms(max(self.latencies_ms)),
            "429s": str(self.floods),
        }


@dataclass
class Delivery:
    mode: str
    length: float
    delays: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    def row(self) -> dict[str, str]:
        return {
            "task length": f"{self.length:g} s",
            "completion": self.mode,
            "ready → video in chat, mean": ms(1000 * statistics.mean(self.delays)),
            "slowest": ms(1000 * max(self.delays)),
            "status queries per task": f"{statistics.mean(self.queries):.1f}",
        }


async def reaction(bot: Bot, users: int) -> Reaction:
    """`users` photos pushed in the same instant → each chat's first answer."""
    tg = bot.tg
    sample_user = bot.new_users(1)[0]
    sample = tg.send_photo(tg.user(sample_user), make_image(), caption=PROMPT)
    await tg.wait_for(lambda: bot.first_reply_at(sample_user), timeout=60)
    await asyncio.sleep(4)  # a quiet bot: the flood windows of the step before have passed
    floods_before = len(tg.flood_errors())
    chats = bot.new_users(users)
    starts: dict[int, float] = {}
    for chat in chats:
        message = tg._user_message(tg.user(chat), None, None)
        message |= {"photo": sample["photo"], "caption": PROMPT}
        starts[chat] = time.monotonic()
        tg._push_message(message)
    await tg.wait_for(lambda: all(bot.first_reply_at(c) for c in chats), timeout=120)
    latencies = [(bot.first_reply_at(c) or 0) - starts[c] for c in chats]
    return Reaction(users, [1000 * s for s in latencies], len(tg.flood_errors()) - floods_before)


@dataclass
class Flood:
    users: int = 50
    floods: int = 0
    card_ms: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    progress_edits: int = 0
    total_s: float = 0.0

    def row(self) -> dict[str, str]:
        return {
            "users": str(self.users),
            "429s": str(self.floods),
            "photo → card p95": ms(p95(self.card_ms)),
            "ready → video, median": ms(1000 * (percentile(self.delays, 0.5) or 0)),
            "p95": ms(1000 * (p95(self.delays) or 0)),
            "progress edits shown": str(self.progress_edits),
            "first photo → last video": seconds(self.total_s),
        }


async def flood(bot: Bot, run_for: float = 20.0) -> Flood:
    tg = bot.tg
    figures = Flood()
    chats = bot.new_users(figures.users)
    began = time.monotonic()

    async def one(chat: int) -> None:
        user = tg.user(chat)
        sent = time.monotonic()
        photo = tg.send_photo(user, make_image(), caption=prompt_for(chat, run_for))
        card = await bot.card(chat, photo["message_id"])
        figures.card_ms.append(1000 * (time.monotonic() - sent))
        tg.press(user, card, tg.buttons(card)[GENERATE])

    await asyncio.gather(*(one(chat) for chat in chats))
    wanted = {str(c) for c in chats}
    await tg.wait_for(lambda: wanted <= set(bot.videos()) or None, timeout=300)
    figures.total_s = time.monotonic() - began
    figures.delays = bot.ready_to_video(chats)[0]
    figures.floods = len(tg.flood_errors())
    figures.progress_edits = sum(
        1
        for c in tg.calls_to("editMessageText")
        if not c.error and str(c.params.get("chat_id")) in wanted and "%" in str(c.params["text"])
    )
    return figures


async def memory(folder: Path) -> tuple[float, float]:
    """Peak memory after a small delivery, then after delivering a 45 MB result."""
    async with Bot(folder, "memory") as bot:
        user = bot.new_users(2)
        await bot.generate(user[0], 2)
        await bot.tg.wait_for(lambda: str(user[0]) in bot.videos() or None, timeout=60)
        assert bot.process is not None
        before = peak_mib(bot.process.pid)
        bot.api.video_padding = 45 * MB
        await bot.generate(user[1], 2)
        await bot.tg.wait_for(lambda: str(user[1]) in bot.videos() or None, timeout=120)
        sent = next(c for c in bot.tg.calls_to("sendVideo") if c.params["chat_id"] == str(user[1]))
        assert len(sent.files["video"]) > 45 * MB
        return before, peak_mib(bot.process.pid)


async def deliveries(
    folder: Path, long_task: float, meanwhile: Callable[[], Awaitable[None]]
) -> list[Delivery]:
    """Tasks of 10, 60 and `long_task` seconds, 3 of each, in three bots (webhook, adaptive
    polling, fixed 5 s poll). The long ones start first and `meanwhile` runs while they do;
    the short ones start after it, on a quiet machine."""
    port = free_port()
    envs = (
        {
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PUBLIC_HOST": "127.0.0.1",
            "PUBLIC_PORT": str(port),
        },
        {},
        {"POLL_INTERVAL": "5"},
    )
    lengths = (10.0, 60.0, long_task)
    bots = [Bot(folder, f"delivery-{n}", env) for n, env in enumerate(envs)]
    chats: dict[tuple[int, float], list[int]] = {}
    try:
        for n, bot in enumerate(bots):
            await bot.__aenter__()
            for length in lengths:
                chats[(n, length)] = bot.new_users(3)
        for n, bot in enumerate(bots):
            await start(bot, chats[(n, long_task)], long_task)
        await meanwhile()
        for n, bot in enumerate(bots):
            for length in lengths[:2]:
                await start(bot, chats[(n, length)], length)
        for bot in bots:
            await bot.tg.wait_for(
                lambda b=bot: len(b.videos()) >= 9 or None, timeout=long_task + 180
            )
        figures = []
        for n, (mode, bot) in enumerate(zip(MODES, bots, strict=True)):
            for length in lengths:
                delays, queries = bot.ready_to_video(chats[(n, length)])
                figures.append(Delivery(mode, length, delays, queries))
        return figures
    finally:
        for bot in bots:
            await bot.__aexit__()


async def start(bot: Bot, chats: list[int], length: float) -> None:
    """One task per chat, of about `length` seconds: -10 %, exact, +10 %, so completions fall
    at different points of a poll cycle."""
    spread = (0.9, 1.0, 1.1)
    await asyncio.gather(
        *(bot.generate(c, round(length * spread[n % 3], 1)) for n, c in enumerate(chats))
    )


@dataclass
class Results:
    reactions: list[Reaction] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    flood: Flood | None = None
    memory_mib: tuple[float, float] = (0.0, 0.0)


async def run(long_task: float) -> Results:
    results = Results()
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        folder = Path(tmp)

        async def meanwhile() -> None:
            async with Bot(folder, "reaction") as bot:
                for users in (1, 20, 50, 200):
                    results.reactions.append(await reaction(bot, users))
                    print(json.dumps(results.reactions[-1].row()), flush=True)
            async with Bot(folder, "flood", {"MAX_ACTIVE_TASKS": "50"}) as bot:
                results.flood = await flood(bot)
                print(json.dumps(results.flood.row()), flush=True)
            results.memory_mib = await memory(folder)
            print(f"memory: {results.memory_mib}", flush=True)

        results.deliveries = await deliveries(folder, long_task, meanwhile)
        for delivery in results.deliveries:
            print(json.dumps(delivery.row()), flush=True)
    return results


def plots(results: Results, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    users = [r.users for r in results.reactions]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(
        users, [percentile(r.latencies_ms, 0.5) for r in results.reactions], "o-", label="median"
    )
    ax.plot(users, [p95(r.latencies_ms) for r in results.reactions], "s-", label="p95")
    ax.set_xscale("log")
    ax.set_xlabel("users sending a photo at once")
    ax.set_ylabel("first reply (ms)")
    ax.set_title("Reaction to a photo (Bot API at ~30 messages/s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "reaction.png", dpi=100)
    plt.close(fig)

    lengths = sorted({d.length for d in results.deliveries})
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.27
    for n, mode in enumerate(MODES):
        rows = [
            next(d for d in results.deliveries if d.mode == mode and d.length == length)
            for length in lengths
        ]
        xs = [i + (n - 1) * width for i in range(len(lengths))]
        left.bar(xs, [statistics.mean(r.delays) for r in rows], width, label=mode)
        right.bar(xs, [statistics.mean(r.queries) for r in rows], width, label=mode)
    for ax, label in ((left, "ready → video in chat (s)"), (right, "status queries per task")):
        ax.set_xticks(range(len(lengths)), [f"{length:g} s task" for length in lengths])
        ax.set_ylabel(label)
    left.legend()
    fig.tight_layout()
    fig.savefig(folder / "delivery.png", dpi=100)
    plt.close(fig)
    return ["benchmarks/reaction.png", "benchmarks/delivery.png"]


def report(results: Results, images: list[str]) -> str:
    assert results.flood is not None
    before, during = results.memory_mib
    today = datetime.date.today().isoformat()
    return f"""
## Speed (issue 9), {today}, written by `bench/bench_speed.py`

The bot as its own process against the fakes over real HTTP on 127.0.0.1; the fake Bot API
enforces Telegram's flood limits (30 messages+edits a second overall, a burst of 3 then 1 a
second per private chat, 20 a minute per group) and answers 429 past them.

### Reaction: photos sent in the same instant → each user's first reply

{table([r.row() for r in results.reactions])}

![reaction]({images[0]})

Past ~30 users the overall limit sets the pace: Telegram lets a bot answer about 30 chats a
second, so the 200th user waits ~7 s whatever the bot does. The bot spends that budget on
first replies before anything else and never provokes a 429.

### Delivery: completed upstream → video in the chat, and status queries

{table([d.row() for d in results.deliveries])}

![delivery]({images[1]})

### 50 users at once, flood limits enforced

{table([results.flood.row()])}

Tasks of 20 s each; cards, answers and deliveries wait for their turn, progress edits go only
within their share of the budget and are dropped otherwise.

### Memory while delivering a 45 MB result

Peak memory (VmHWM) of the bot process after a small delivery: {before:.0f} MiB; after
delivering a 45 MB video: {during:.0f} MiB (+{during - before:.0f} MiB). The result is streamed
to disk from apimart and from disk to Telegram, never held whole in memory.
"""


async def main(argv: list[str]) -> Results:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long", type=float, default=300.0, help="the long task, seconds")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args(argv)
    results = await run(options.long)
    if not options.no_write:
        images = plots(results, DOCS / "benchmarks")
        replace_section(DOCS / "benchmarks.md", "bench_speed", report(results, images))
    return results


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
