"""Image bombs (issue 18, the audit's M5): the bot's peak memory while twenty users each send,
in the same instant, a 0.3 MB PNG that would decode to 8944x8944 RGBA (320 MB), and how soon
an ordinary photo sent right after them gets its card. Then the same with twenty PNGs just
under the pixel cap, which are converted: what the two-at-a-time limit bounds.

The real bot process (`python -m bot`) against the fakes of bench_speed (the Bot API enforcing
Telegram's flood limits). A watcher samples the bot's resident memory and stops the bot past
`--ceiling` MiB, so a build without the fix cannot take the machine down with it.

Run: `.venv/bin/python -m bench.bench_images` (under a minute; `make bench`). It rewrites its
section of docs/benchmarks.md. `--root DIR` runs the bot from another source tree (say, the
previous commit's `git archive`) and only prints: the figure before a change.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_speed import PROMPT, Bot
from bench.common import DOCS, peak_mib, replace_section, seconds, table
from bot.images import MAX_CONVERSIONS, MAX_PIXELS
from tests.harness import make_image
from tests.test_images import blank_png

SIDE = 8944  # 80 MP: just under the 80,000,000 pixels the bot allowed before the fix
AT_THE_CAP = 6320  # 39.9 MP
REFUSAL = "too big to process"


@dataclass
class Result:
    side: int
    bombs: int
    bomb_bytes: int
    baseline_mib: float
    peak_mib: float
    refused: int = 0
    answered: int = 0
    answered_s: float | None = None
    card_s: float | None = None
    stopped_at_mib: float | None = None  # the watcher stopped the bot there

    def row(self) -> dict[str, str]:
        peak = f"{self.peak_mib:.0f} MiB"
        if self.stopped_at_mib is not None:
            peak = f"> {self.stopped_at_mib:.0f} MiB (stopped)"
        return {
            "PNGs at once": f"{self.bombs} × {self.side}×{self.side} RGBA, "
            f"{self.bomb_bytes / 1e6:.2f} MB",
            "peak memory (VmHWM)": peak,
            "before them": f"{self.baseline_mib:.0f} MiB",
            "answers": f"{self.refused} refusals, {self.answered - self.refused} cards",
            "all answered after": seconds(self.answered_s),
            "next photo → card": seconds(self.card_s),
        }


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def watch(process: asyncio.subprocess.Process, ceiling_mib: float) -> float | None:
    """Stop the bot the moment it holds more than `ceiling_mib`; say where it was stopped."""
    while process.returncode is None:
        try:
            rss = resident_mib(process.pid)
        except FileNotFoundError:
            return None
        if rss > ceiling_mib:
            process.send_signal(signal.SIGKILL)
            return rss
        await asyncio.sleep(0.05)
    return None


async def run(side: int, bombs: int, root: Path | None, ceiling_mib: float) -> Result:
    env = {"PYTHONPATH": str(root)} if root else {}
    bomb = blank_png(side, side)
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        async with Bot(Path(tmp), "images", env) as bot:
            tg, process = bot.tg, bot.process
            assert process is not None
            warm = bot.new_users(1)[0]  # Pillow loaded and one photo converted: the baseline
            photo = tg.send_photo(tg.user(warm), make_image(), caption=PROMPT)
            await bot.card(warm, photo["message_id"])
            result = Result(side, bombs, len(bomb), peak_mib(process.pid), 0.0)
            attackers, other = bot.new_users(bombs), bot.new_users(1)[0]
            watcher = asyncio.create_task(watch(process, ceiling_mib))
            started = time.monotonic()
            for user in attackers:
                tg.send_document(
                    tg.user(user), bomb, file_name="IMG_0001.png", mime_type="image/png"
                )
            photo = tg.send_photo(tg.user(other), make_image(), caption=PROMPT)
            chats = {str(user) for user in attackers}

            def answers() -> list[str]:
                return [
                    str(c.params["text"])
                    for c in tg.calls_to("editMessageText")
                    if not c.error and c.params.get("chat_id") in chats
                ]

            async def outcome() -> None:
                await tg.wait_for(lambda: len(answers()) >= bombs or None, timeout=600)
                result.answered_s = time.monotonic() - started
                await bot.card(other, photo["message_id"])
                result.card_s = time.monotonic() - started

            done, _ = await asyncio.wait(
                [asyncio.create_task(outcome()), watcher], return_when=asyncio.FIRST_COMPLETED
            )
            result.stopped_at_mib = watcher.result() if watcher in done else None
            watcher.cancel()
            result.answered = len(answers())
            result.refused = sum(REFUSAL in text for text in answers())
            if result.stopped_at_mib is None:
                result.peak_mib = peak_mib(process.pid)
            return result


def report(results: list[Result]) -> str:
    today = datetime.date.today().isoformat()
    return f"""
## Image bombs (issue 18, M5), {today}, written by `bench/bench_images.py`

{results[0].bombs} users send, in the same instant, a PNG as a file (transparent, so it
compresses about 1000:1); an ordinary photo follows at once. First the audit's bomb, which
would decode to {SIDE}×{SIDE} RGBA (320 MB); then one just under the cap, which is converted.
The bot as its own process against the fakes (Telegram's flood limits enforced), a new one for
each row.

{table([result.row() for result in results])}

A bomb is refused from its header, before any pixel is decoded (more than
{MAX_PIXELS // 1_000_000} megapixels; a JPEG counts at the reduced scale it is decoded at), with
"This image is too big to process: {SIDE}×{SIDE} px". At most {MAX_CONVERSIONS} conversions run
at once whatever arrives, so images at the cap, the most a conversion holds, raise the peak by
about {MAX_CONVERSIONS} times what one of them takes alone.
"""


async def main(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bombs", type=int, default=20)
    parser.add_argument("--root", type=Path, help="run the bot from this source tree; print only")
    parser.add_argument("--ceiling", type=float, default=6144, help="stop the bot past this MiB")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args(argv)
    results = []
    for side in (SIDE, AT_THE_CAP):
        results.append(await run(side, options.bombs, options.root, options.ceiling))
        print(json.dumps(results[-1].row(), ensure_ascii=False), flush=True)
    if not (options.no_write or options.root):
        replace_section(DOCS / "benchmarks.md", "bench_images", report(results))
    return results


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
