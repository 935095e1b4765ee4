"""`make screens`: the README's pictures of the bot, docs/screens/<lang>-<screen>.png.

The real bot talks to the e2e fakes (tests/harness.py) in English and in Arabic; each screen
is a moment of a chat (tools/scenes.py) drawn as a Telegram-like page (tools/chat_page.py)
and photographed by headless Chromium (Debian's `chromium` package, tools/chromium.py).

The wall clock starts at a fixed date and the seeds the bot draws are fixed (tools/clock.py),
so the same bot gives the same pictures: only the screens that changed differ after a run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from tools.chat_page import PHONE_WIDTH, Screen, render_page
from tools.chromium import Chromium, find_chromium
from tools.clock import FROZEN

LANGUAGES = ("en", "ar")
SCALE = 2  # device pixels per CSS pixel, as a phone's screen
COLOURS = 48  # a palette PNG: text and flat colours stay sharp, files stay small
# Text that does not fit its button: Telegram cuts it with "…" too, so it is worth a look.
CUT_LABELS = """[...document.querySelectorAll('.key span')]
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


def optimise(png: bytes) -> bytes:
    """A screenshot as a palette PNG (a tenth of its size: flat colours and text)."""
    with Image.open(io.BytesIO(png)) as shot:
        image = shot.convert("RGB")
    palette = image.quantize(COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


async def play(languages: list[str]) -> list[Screen]:
    """Every screen of every language, from the real bot."""
    from tools.scenes import record_screens  # imports bot/: after FROZEN.install()

    screens: list[Screen] = []
    for lang in languages:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="screens-data-") as data:
            screens += await record_screens(Path(data), lang)
        print(f"{lang}: conversations played in {time.monotonic() - started:.1f} s")
    return screens


async def photograph(pages: dict[str, str]) -> dict[str, bytes]:
    """Each page (name: file URL) as a PNG screenshot, one browser for all."""
    shots = {}
    async with Chromium() as browser:
        for name, url in pages.items():
            await browser.load(url, PHONE_WIDTH, SCALE)
            if cut := await browser.evaluate(CUT_LABELS):
                print(f"  {name}: buttons cut short: {cut}")
            shots[name] = await browser.screenshot(PHONE_WIDTH, SCALE)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screens", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screens"))
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="default: all")
    parser.add_argument("--keep-html", action="store_true", help="write the pages too")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("no chromium on PATH: apt-get install chromium (Debian)", file=sys.stderr)
        return 2
    FROZEN.install()  # before bot/ is imported
    screens = asyncio.run(play(args.lang or list(LANGUAGES)))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screens-") as folder:
        pages = {}
        for screen in screens:
            name = f"{screen.lang}-{screen.name}"
            page = (args.out if args.keep_html else Path(folder)) / f"{name}.html"
            page.write_text(render_page(screen), encoding="utf-8")
            pages[name] = page.resolve().as_uri()
        started = time.monotonic()
        shots = asyncio.run(photograph(pages))
    print(f"{len(shots)} screens photographed in {time.monotonic() - started:.1f} s")
    total = 0
    for name, png in shots.items():
        path = args.out / f"{name}.png"
        path.write_bytes(optimise(png))
        total += path.stat().st_size
        print(f"  {path} {path.stat().st_size // 1024} KB")
    print(f"{len(shots)} files, {total // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
