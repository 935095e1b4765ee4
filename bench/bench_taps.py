"""Speed of the card (issue 20): how soon a tap shows on the card, and a ready video in the
chat, when the Bot API enforces Telegram's flood control (a burst of 3 per chat refilled at 1 a
second, 30 a second overall; the fake answers 429 past it).

- two taps 0.3 s apart as soon as a card appears (1080p, then 10 s) → both shown;
- later taps one second apart (+1 s, five times) → each redraw;
- five taps 0.25 s apart (+1 s) → the card shows the last one;
- completion → video with `POLL_INTERVAL=0.5`, tasks of 7, 13 and 23 s; and the status queries
  those tasks take with adaptive polling against a fixed 5 s poll.

Each user is new (a fresh chat), one after another on a quiet bot. Run:
`.venv/bin/python -m bench.bench_taps [--users 10]` (about 3 minutes; `make bench`). It rewrites
its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_speed import Bot, start
from bench.common import DOCS, ms, p95, percentile, replace_section, table
from tests.harness import make_image

PROMPT = "the cat slowly turns its head toward the window"
LENGTHS = (7.0, 13.0, 23.0)


@dataclass
class Taps:
    two_quick_ms: list[float] = field(default_factory=list)
    paced_ms: list[float] = field(default_factory=list)
    five_quick_ms: list[float] = field(default_factory=list)
    floods: int = 0

    def rows(self) -> list[dict[str, str]]:
        def row(what: str, goal: str, values: list[float]) -> dict[str, str]:
            return {
                "taps": what,
                "goal": goal,
                "median": ms(percentile(values, 0.5)),
                "p95": ms(p95(values)),
                "slowest": ms(max(values)),
                "samples": str(len(values)),
            }

        return [
            row("two taps 0.3 s apart at a new card → both shown", "< 1000 ms", self.two_quick_ms),
            row("taps 1 s apart → each redraw", "< 400 ms", self.paced_ms),
            row("five taps 0.25 s apart → the last shown", "< 1300 ms", self.five_quick_ms),
        ]


def button(bot: Bot, card: dict[str, Any], fragment: str) -> str:
    return next(data for label, data in bot.tg.buttons(card).items() if fragment in label)


async def shown(bot: Bot, card: dict[str, Any], *fragments: str) -> float:
    """When the card first showed every fragment (the fake's clock)."""

    def found() -> bool:
        text = bot.tg.current(card)["text"]
        return all(f in text for f in fragments)

    await bot.tg.wait_for(found, timeout=30)
    return time.monotonic()


async def one_user(bot: Bot, figures: Taps) -> None:
    tg = bot.tg
    [chat] = bot.new_users(1)
    user = tg.user(chat)
    photo = tg.send_photo(user, make_image(), caption=PROMPT)
    card = await bot.card(chat, photo["message_id"])
    tg.press(user, card, button(bot, card, "1080p"))
    await asyncio.sleep(0.3)
    tg.press(user, card, button(bot, card, "10 s"))
    tapped = time.monotonic()
    at = await shown(bot, card, "Resolution: 1080p", "Duration: 10 seconds")
    figures.two_quick_ms.append(1000 * (at - tapped))
    await asyncio.sleep(3)  # a person reads the card
    duration = 10
    for step in (1, 1, -1, -1, 1):
        duration += step
        tg.press(user, card, button(bot, card, "+1 s" if step > 0 else "−1 s"))
        tapped = time.monotonic()
        at = await shown(bot, card, f"Duration: {duration} seconds")
        figures.paced_ms.append(1000 * (at - tapped))
        await asyncio.sleep(max(0.0, 1.0 - (at - tapped)))
    await asyncio.sleep(3)
    minus = button(bot, card, "−1 s")
    for n in range(5):
        if n:
            await asyncio.sleep(0.25)
        tg.press(user, card, minus)
    tapped = time.monotonic()
    at = await shown(bot, card, f"Duration: {duration - 5} seconds")
    figures.five_quick_ms.append(1000 * (at - tapped))


@dataclass
class Deliveries:
    mode: str
    delays: dict[float, list[float]] = field(default_factory=dict)
    queries: dict[float, list[int]] = field(default_factory=dict)
    seen: list[float] = field(default_factory=list)

    def row(self) -> dict[str, str]:
        every = [d for values in self.delays.values() for d in values]
        return {
            "polling": self.mode,
            "ready → video, median": ms(1000 * statistics.median(every)),
            "p95": ms(1000 * (p95(every) or 0)),
            "seen completed → video, median": ms(1000 * statistics.median(self.seen)),
            **{
                f"queries, {length:g} s task": f"{statistics.mean(self.queries[length]):.1f}"
                for length in LENGTHS
            },
        }


async def deliveries(folder: Path, mode: str, env: dict[str, str]) -> Deliveries:
    """Three tasks of each length, one bot; completions spread over a poll cycle."""
    figures = Deliveries(mode)
    async with Bot(folder, mode.replace(" ", "-"), env) as bot:
        chats = {length: bot.new_users(3) for length in LENGTHS}
        for length in LENGTHS:
            await start(bot, chats[length], length)
        wanted = {str(c) for users in chats.values() for c in users}
        await bot.tg.wait_for(lambda: wanted <= set(bot.videos()) or None, timeout=180)
        for length in LENGTHS:
            delays, queries = bot.ready_to_video(chats[length])
            figures.delays[length], figures.queries[length] = delays, queries
            figures.seen += bot.seen_to_video(chats[length])
    return figures


@dataclass
class Results:
    taps: Taps
    deliveries: list[Deliveries]


async def run(users: int) -> Results:
    with tempfile.TemporaryDirectory(prefix="bench-taps-") as tmp:
        folder = Path(tmp)
        taps = Taps()
        async with Bot(folder, "taps") as bot:
            for _ in range(users):
                await one_user(bot, taps)
            taps.floods = len(bot.tg.flood_errors())
        for row in taps.rows():
            print(json.dumps(row), flush=True)
        modes: list[tuple[str, dict[str, str]]] = [
            ("POLL_INTERVAL=0.5", {"POLL_INTERVAL": "0.5"}),
            ("adaptive (default)", {}),
            ("fixed 5 s poll", {"POLL_INTERVAL": "5"}),
        ]
        found = []
        for mode, env in modes:
            found.append(await deliveries(folder, mode, env))
            print(json.dumps(found[-1].row()), flush=True)
        return Results(taps, found)


def plot(results: Results, folder: Path) -> str:
    """Taps against their goals, and completion → video by polling mode, in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    taps = results.taps
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    kinds = [
        ("two quick taps", taps.two_quick_ms, 1000),
        ("taps 1 s apart", taps.paced_ms, 400),
        ("five quick taps", taps.five_quick_ms, 1300),
    ]
    for i, (_, values, goal) in enumerate(kinds):
        first = i == 0  # one legend entry per kind of mark
        left.bar(
            i - 0.2,
            percentile(values, 0.5) or 0,
            0.4,
            color="tab:blue",
            label="median" if first else None,
        )
        left.bar(
            i + 0.2, p95(values) or 0, 0.4, color="tab:orange", label="p95" if first else None
        )
        left.hlines(
            goal,
            i - 0.45,
            i + 0.45,
            colors="tab:red",
            linestyles="dashed",
            label="goal" if first else None,
        )
    left.set_xticks(range(len(kinds)), [name for name, _, _ in kinds])
    left.set_ylabel("tap → card shows it (ms)")
    left.legend(loc="upper left")
    modes = results.deliveries
    for i, d in enumerate(modes):
        first = i == 0
        every = [v for values in d.delays.values() for v in values]
        right.bar(
            i - 0.2,
            1000 * statistics.median(every),
            0.4,
            color="tab:blue",
            label="from completion upstream" if first else None,
        )
        right.bar(
            i + 0.2,
            1000 * statistics.median(d.seen),
            0.4,
            color="tab:green",
            label='from the answer "completed"' if first else None,
        )
    right.set_xticks(range(len(modes)), [d.mode for d in modes])
    right.set_yscale("log")
    right.set_ylabel("→ video in the chat, median (ms)")
    right.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(folder / "taps.png", dpi=100)
    plt.close(fig)
    return "benchmarks/taps.png"


def report(results: Results, users: int) -> str:
    today = datetime.date.today().isoformat()
    return "\n\n".join(
        [
            f"### Speed of the card (issue 20), {today}, `python -m bench.bench_taps`",
            f"{users} new users one after another, each: a photo, then the taps below; the fake "
            "Bot API answers 429 past a burst of 3 per chat refilled at 1 a second and past 30 "
            "a second overall. Times from the (last) tap to the card's edit that shows it.",
            table(results.taps.rows()),
            f"429s from the fake Bot API: {results.taps.floods}.",
            "Completion upstream → video in the chat, three tasks of each length (−10 %, "
            "exact, +10 %), and the status queries a task took:",
            table([d.row() for d in results.deliveries]),
        ]
    )


async def main(argv: list[str]) -> Results:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    results = await run(args.users)
    text = report(results, args.users)
    if not args.no_write:
        text += f"\n\n![taps and deliveries]({plot(results, DOCS / 'benchmarks')})"
    print(text)
    if not args.no_write:
        replace_section(DOCS / "benchmarks.md", "bench-taps", text)
    return results


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
