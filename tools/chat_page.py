"""A Telegram-like chat screen as one HTML page: what `tools/screens.py` screenshots.

The bot's messages come as it sent them (HTML parse mode, or plain text for a video's
caption); they are shown with the formatting Telegram gives them: bold, italic, code, quotes,
links, the /commands Telegram makes tappable, an inline keyboard of rounded buttons under the
bubble. A right-to-left language mirrors the whole screen (`dir="rtl"`), and every paragraph
of a message takes its direction from its first strong letter (`unicode-bidi: plaintext`), as
Telegram's phone apps do: so a line whose Latin values are not isolated shows the wrong way
round here too.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass

from PIL import Image

PHONE_WIDTH = 390  # CSS pixels: a 6.1" phone
BOT_NAME = "Wan Video"


@dataclass(frozen=True)
class Reply:
    """The quoted message at the top of a reply: its sender and a line of it."""

    name: str
    text: str  # plain text
    thumb: bytes | None = None  # the quoted photo


@dataclass(frozen=True)
class Video:
    """A video message: a still of it (the photo it was made from), its size and length."""

    frame: bytes
    width: int
    height: int
    duration: int


@dataclass(frozen=True)
class Invoice:
    title: str
    description: str
    stars: int


@dataclass(frozen=True)
class Bubble:
    """One message as the chat shows it."""

    outgoing: bool  # the user's own (right in a left-to-right screen)
    html: str = ""  # its text or caption as browser HTML (`telegram_html`, `plain_text`)
    photo: bytes | None = None
    video: Video | None = None
    invoice: Invoice | None = None
    reply: Reply | None = None
    buttons: tuple[tuple[str, ...], ...] = ()
    time: str = "12:00"


@dataclass(frozen=True)
class Screen:
    name: str  # docs/screens/<lang>-<name>.png
    lang: str
    rtl: bool
    bubbles: tuple[Bubble, ...]


# Telegram's HTML tags, as the browser shows them.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SIMPLE = {
    "b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s",
    "strike": "s", "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote",
}  # fmt: skip
_BLOCKS = {"pre", "blockquote"}
# What Telegram makes a tappable command in any message: /word, not inside a path or URL.
_COMMAND = re.compile(r"(?<![\w/.:-])/[A-Za-z][A-Za-z0-9_]{0,31}(?:@\w+)?(?![\w/])")


def telegram_html(text: str) -> str:
    """Telegram's HTML (already accepted by the Bot API) as browser HTML: one block per line
    (see `_Lines`), quotes and preformatted text as blocks of lines."""
    lines = _Lines()
    position = 0
    for match in _TAG.finditer(text):
        lines.text(text[position : match.start()])
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        shown = _SIMPLE.get(name, "a" if name == "a" else "span")
        if shown in _BLOCKS and closing:
            lines.close_block(shown)
        elif shown in _BLOCKS:
            lines.open_block(shown)
        elif closing:
            lines.close_inline()
        else:
            lines.open_inline(_open_tag(name, shown, attributes), shown)
        position = match.end()
        if closing and shown in _BLOCKS and text.startswith("\n", position):
            position += 1  # the block ends the line already
    lines.text(text[position:])
    return lines.finish()


def plain_text(text: str) -> str:
    """A message sent without a parse mode (a video's caption), as browser HTML."""
    return telegram_html(html.escape(text, quote=False))


class _Lines:
    """Each line of a message as a block of its own whose direction is its first strong
    letter's, outside isolates (`unicode-bidi: plaintext`): the rule Telegram's apps follow
    per paragraph. In one block, Chromium orders every paragraph by that rule but aligns
    only the first one by it: a later line that starts with an isolated command would sit
    on the wrong side. Inline tags open across a line break are closed and opened again."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.line: list[str] = []
        self.filled = False  # the line has text
        self.inline: list[tuple[str, str]] = []  # (opening tag, name) of open inline tags

    def text(self, escaped: str) -> None:
        for n, part in enumerate(escaped.split("\n")):
            if n:
                self.end_line(keep_empty=True)
            if part:
                self.line.append(_text_run(part, [name for _, name in self.inline]))
                self.filled = True

    def open_inline(self, opening: str, name: str) -> None:
        self.line.append(opening)
        self.inline.append((opening, name))

    def close_inline(self) -> None:
        if self.inline:
            self.line.append(f"</{self.inline.pop()[1]}>")

    def open_block(self, name: str) -> None:
        self.end_line(keep_empty=False)
        self.out.append(f"<{name}>")

    def close_block(self, name: str) -> None:
        self.end_line(keep_empty=False)
        self.out.append(f"</{name}>")

    def end_line(self, keep_empty: bool) -> None:
        if self.filled or keep_empty:
            closing = "".join(f"</{name}>" for _, name in reversed(self.inline))
            body = "".join(self.line) + closing if self.filled else "<br>"
            self.out.append(f'<div class="line">{body}</div>')
        self.line = [opening for opening, _ in self.inline]
        self.filled = False

    def finish(self) -> str:
        self.end_line(keep_empty=False)
        return "".join(self.out)


def _open_tag(name: str, shown: str, attributes: str) -> str:
    if name == "a":
        found = _HREF.search(attributes)
        href = html.unescape((found.group(1) or found.group(2)) if found else "")
        return f'<a href="{html.escape(href)}">'
    if name == "tg-spoiler" or (name == "span" and "tg-spoiler" in attributes):
        return '<span class="spoiler">'
    return f"<{shown}>"


def _text_run(escaped: str, open_tags: list[str]) -> str:
    """Escaped text between tags; its /commands coloured, unless in code or a link."""
    if any(tag in ("code", "pre", "a") for tag in open_tags):
        return escaped
    return _COMMAND.sub(lambda m: f'<span class="command">{m.group(0)}</span>', escaped)


def data_url(image: bytes, box: int) -> str:
    """The image fitted in `box`×`box` pixels, as a JPEG data URL (small pages, fast loads)."""
    with Image.open(io.BytesIO(image)) as opened:
        picture = opened.convert("RGB")
    picture.thumbnail((box, box))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95, subsampling=0)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def render_page(screen: Screen) -> str:
    """The whole screen: a chat header and the messages, as one HTML document."""
    direction = "rtl" if screen.rtl else "ltr"
    bubbles = "\n".join(_bubble(n, bubble) for n, bubble in enumerate(screen.bubbles, 1))
    return (
        f'<!doctype html><html lang="{html.escape(screen.lang)}" dir="{direction}">'
        f'<head><meta charset="utf-8"><title>{html.escape(screen.name)}</title>'
        f"<style>{STYLE}</style></head><body>{_HEADER}<main>{bubbles}</main></body></html>"
    )


def _bubble(number: int, bubble: Bubble) -> str:
    side = "out" if bubble.outgoing else "in"
    parts: list[str] = []
    media = bubble.photo is not None or bubble.video is not None
    if bubble.reply is not None:
        parts.append(_reply(bubble.reply))
    if bubble.photo is not None:
        parts.append(f'<img class="photo" alt="" src="{data_url(bubble.photo, 520)}">')
    if bubble.video is not None:
        parts.append(_video(bubble.video))
    body = bubble.html
    if bubble.invoice is not None:
        parts.append(_invoice(bubble.invoice))
        body = f'<div class="line amount">⭐ {bubble.invoice.stars}</div>{body}'
    ticks = '<span class="ticks">✓✓</span>' if bubble.outgoing else ""
    meta = f'<span class="meta">{html.escape(bubble.time)}{ticks}</span>'
    # The time goes at the end of the last line, if it is a line.
    body = body[: -len("</div>")] + meta + "</div>" if body.endswith("</div>") else body + meta
    parts.append(f'<div class="text">{body}</div>')
    keyboard = _keyboard(bubble.buttons)
    classes = "bubble media" if media else "bubble"
    return (
        f'<div class="row {side}"><div class="message" id="m{number}">'
        f'<div class="{classes}">{"".join(parts)}</div>{keyboard}</div></div>'
    )


def _reply(reply: Reply) -> str:
    thumb = f'<img alt="" src="{data_url(reply.thumb, 80)}">' if reply.thumb else ""
    return (
        f'<div class="reply">{thumb}<div><div class="name">{html.escape(reply.name)}</div>'
        f'<div class="snippet">{html.escape(reply.text)}</div></div></div>'
    )


def _video(video: Video) -> str:
    minutes, seconds = divmod(video.duration, 60)
    ratio = f"{video.width} / {video.height}" if video.width and video.height else "16 / 9"
    return (
        f'<div class="video" style="aspect-ratio: {ratio}">'
        f'<img alt="" src="{data_url(video.frame, 560)}">'
        f'<span class="duration">{minutes}:{seconds:02}</span><span class="play"></span></div>'
    )


def _invoice(invoice: Invoice) -> str:
    return (
        f'<div class="invoice"><div class="title">{html.escape(invoice.title)}</div>'
        f'<div class="line">{html.escape(invoice.description)}</div></div>'
    )


def _keyboard(rows: tuple[tuple[str, ...], ...]) -> str:
    if not rows:
        return ""
    shown = "".join(
        '<div class="keys">'
        + "".join(f'<div class="key"><span>{html.escape(label)}</span></div>' for label in row)
        + "</div>"
        for row in rows
    )
    return f'<div class="keyboard">{shown}</div>'


_HEADER = (
    '<header><svg class="back" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">'
    '<path d="M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z" fill="#707579"/></svg>'
    f'<div class="avatar">W</div><div class="title">{BOT_NAME}</div></header>'
)

# Telegram's light theme on a phone, in flat colours (a palette PNG stays small).
STYLE = """
* { box-sizing: border-box; }
html { background: #cfdcbd; }
body {
  margin: 0; width: 390px; color: #000;
  font: 15px/1.36 Roboto, "Noto Sans Arabic UI", "Noto Color Emoji", "DejaVu Sans", sans-serif;
}
header {
  display: flex; align-items: center; gap: 12px; height: 56px; padding: 0 14px;
  background: #fff; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.12);
}
[dir="rtl"] .back { transform: scaleX(-1); }
.avatar {
  width: 40px; height: 40px; border-radius: 50%; background: #5fa3de; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: 500; font-size: 18px;
}
header .title { font-weight: 500; font-size: 17px; }
main { padding: 8px 8px 12px; display: flex; flex-direction: column; gap: 6px; }
.row { display: flex; }
.row.out { justify-content: flex-end; }
.message { display: flex; flex-direction: column; max-width: 86%; min-width: 0; }
.bubble {
  background: #fff; border-radius: 14px; padding: 6px 9px 7px;
  box-shadow: 0 1px 1px rgba(0, 0, 0, 0.13); min-width: 0;
}
.out .bubble { background: #eefed8; border-end-end-radius: 4px; }
.in .bubble { border-end-start-radius: 4px; }
.bubble.media { padding: 3px; width: 270px; }
.bubble.media .text { padding: 4px 6px 2px; }
.bubble.media .reply { margin: 3px 3px 5px; }
.text { display: flow-root; white-space: pre-wrap; overflow-wrap: break-word; }
.line, .reply .name, .reply .snippet { unicode-bidi: plaintext; }
.meta {
  float: inline-end; margin-inline-start: 10px; margin-top: 5px; margin-bottom: -4px;
  font-size: 12px; font-weight: 400; line-height: 16px; color: #8d9aa4; white-space: nowrap;
}
.out .meta { color: #5fae57; }
.ticks { margin-inline-start: 3px; letter-spacing: -4px; }
b { font-weight: 700; }
a, .command { color: #2481cc; text-decoration: none; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 13px; color: #b4347a; }
pre {
  margin: 3px 0; padding: 6px 8px; background: #f2f4f5; border-radius: 6px;
  white-space: pre-wrap;
}
blockquote {
  margin: 3px 0; padding: 2px 8px; border-inline-start: 3px solid #3a8ee6;
  background: #edf4fc; border-radius: 4px;
}
.spoiler { background: #c8c8c8; color: transparent; border-radius: 3px; }
.reply {
  display: flex; align-items: center; gap: 7px; margin-bottom: 5px; padding: 3px 7px;
  border-inline-start: 3px solid #3a8ee6; background: #edf4fc; border-radius: 4px;
  font-size: 13.5px; line-height: 1.3;
}
.reply > div { min-width: 0; }
.reply img { width: 34px; height: 34px; object-fit: cover; border-radius: 3px; }
.reply .name { color: #3a8ee6; font-weight: 500; }
.reply .snippet { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.photo { display: block; width: 100%; border-radius: 12px; }
.video { position: relative; overflow: hidden; border-radius: 12px; background: #000; }
.video img { width: 100%; height: 100%; object-fit: cover; display: block; }
.duration {
  position: absolute; top: 8px; inset-inline-start: 8px; padding: 1px 7px;
  border-radius: 9px; background: rgba(0, 0, 0, 0.45); color: #fff; font-size: 12px;
}
.play {
  position: absolute; top: 50%; left: 50%; width: 52px; height: 52px; margin: -26px;
  border-radius: 50%; background: rgba(0, 0, 0, 0.5);
}
.play::after {
  content: ""; position: absolute; left: 20px; top: 15px;
  border-style: solid; border-width: 11px 0 11px 17px;
  border-color: transparent transparent transparent #fff;
}
.invoice .title { font-weight: 700; unicode-bidi: plaintext; }
.amount { margin-top: 4px; font-weight: 700; }
.keyboard { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; }
.keys { display: flex; gap: 4px; }
.key {
  flex: 1 1 0; min-width: 0; height: 38px; border-radius: 10px; background: #8fa286;
  color: #fff; font-size: 14px; font-weight: 500;
  display: flex; align-items: center; justify-content: center;
}
.key span {
  padding: 0 8px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  unicode-bidi: plaintext;
}
"""
