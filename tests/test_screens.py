"""The Arabic card and /help as `make screens` draws them, laid out by headless Chromium:
the lines read right to left, and the values bot/i18n.py isolates in them (a size, a
duration, a command) read left to right. Measured from the page: the box of each letter."""

from __future__ import annotations

import json
import os
import unicodedata
from typing import Any

import pytest

from tests.harness import World
from tools.chat_page import PHONE_WIDTH, Screen, render_page
from tools.chromium import Chromium, find_chromium
from tools.scenes import Chats, changed_card, record_html, user_of

# For each (bubble, text): the letters of the first line or button label of that bubble
# that contains the text, each with its box, where the text is among them, and the right
# edge of the line (null for a button).
_LETTERS = """(probes) => probes.map(([bubble, needle]) => {
  for (const element of document.querySelectorAll(`${bubble} .line, ${bubble} .key span`)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const letters = [];
    let text = '';
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (let i = 0; i < node.data.length; ) {
        const size = node.data.codePointAt(i) > 0xffff ? 2 : 1;
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + size);
        const box = range.getBoundingClientRect();
        letters.push({at: text.length, letter: node.data.slice(i, i + size),
                      left: box.left, right: box.right, top: box.top});
        text += node.data.slice(i, i + size);
        i += size;
      }
    }
    const at = text.indexOf(needle);
    if (at < 0) continue;
    const first = letters.findIndex(l => l.at === at);
    const end = letters.findIndex(l => l.at >= at + needle.length);
    const right = element.matches('.line') ? element.getBoundingClientRect().right : null;
    return {letters, first, end: end < 0 ? letters.length : end, right};
  }
  return null;
})"""


def chromium_or_skip() -> str:
    found = find_chromium()
    if found is None:
        reason = "no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run this test", pytrace=False)
        pytest.skip(reason)
    return found


def shown(letter: dict[str, Any]) -> bool:
    """A letter that takes room: not an isolate or a mark, not a space."""
    return unicodedata.category(letter["letter"][0]) != "Cf" and not letter["letter"].isspace()


def arabic(letter: dict[str, Any]) -> bool:
    return unicodedata.bidirectional(letter["letter"][0]) in ("R", "AL")


def check_reads_left_to_right_in_a_right_to_left_line(found: Any, needle: str) -> None:
    assert found is not None, f"{needle!r} is not on the page"
    letters, first, end = found["letters"], found["first"], found["end"]
    text = "".join(letter["letter"] for letter in letters)
    value = [letter for letter in letters[first:end] if shown(letter)]
    top = value[0]["top"]
    assert all(abs(letter["top"] - top) < 4 for letter in value), f"{needle!r} is cut: {text!r}"
    lefts = [letter["left"] for letter in value]
    assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts), (
        f"{needle!r} does not read left to right in {text!r}: "
        + " ".join(f"{letter['letter']}@{letter['left']:.0f}" for letter in value)
    )
    same_line = [letter for letter in letters if shown(letter) and abs(letter["top"] - top) < 4]
    before = [letter for letter in letters[:first] if letter in same_line and arabic(letter)]
    after = [letter for letter in letters[end:] if letter in same_line and arabic(letter)]
    assert before or after, f"no Arabic next to {needle!r} in {text!r}"
    # Right to left: what is read before the value is to its right, what is read after it
    # is to its left, the first Arabic letter is right of the last, the line ends right.
    right = max(letter["right"] for letter in value)
    assert all(letter["left"] >= right - 0.5 for letter in before), (needle, text)
    assert all(letter["right"] <= min(lefts) + 0.5 for letter in after), (needle, text)
    words = [letter for letter in same_line if arabic(letter)]
    assert len(words) == 1 or words[0]["left"] > words[-1]["left"], (
        f"the line of {needle!r} reads left to right: {text!r}"
    )
    if found["right"] is not None:  # a line of text (a button's label is centred)
        assert max(letter["right"] for letter in same_line) > found["right"] - 2, (
            f"the line of {needle!r} is not aligned right: {text!r}"
        )


async def test_the_arabic_card_and_help_read_right_to_left_with_values_left_to_right(
    world: World,
) -> None:
    executable = chromium_or_skip()
    chats = Chats(world, record_html(world.telegram))
    layla = user_of(chats, "ar", 1)
    async with world.bot():
        card = await changed_card(chats, "ar", layla)  # 1080p and 10 seconds chosen
        help_text = await chats.reply_to(layla, "/help")
    tg = world.telegram
    bubbles = tuple(chats.bubble(tg.current(m), "12:00", "ar") for m in (card, help_text))
    page = world.config.data_dir.parent / "arabic.html"
    page.write_text(render_page(Screen("arabic", "ar", True, bubbles)), encoding="utf-8")
    probes = [
        ("#m1", "1080p"),  # the card's size
        ("#m1", "\u206810\u2069"),  # its duration: 10 seconds
        ("#m1", "\u206815\u2069"),  # the 15-second button
        ("#m1", "0.75\u00a0US$"),  # the price: never "$US 0.75"
        ("#m2", "/settings"),  # commands at the start of /help's lines
        ("#m2", "/negative"),
    ]
    async with Chromium(executable) as browser:
        await browser.load(page.as_uri(), PHONE_WIDTH)
        found = await browser.evaluate(f"({_LETTERS})({json.dumps(probes)})")
    for (_, needle), letters in zip(probes, found, strict=True):
        check_reads_left_to_right_in_a_right_to_left_line(letters, needle)
