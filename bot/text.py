"""Text helpers for Telegram's limits (`telegram.constants.MessageLimit`), which count UTF-16
code units."""

from __future__ import annotations

import html


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` UTF-16 units, marking the cut with an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ellipsis)
    out: list[str] = []
    used = 0
    for ch in text:
        size = utf16_len(ch)
        if used + size > budget:
            break
        out.append(ch)
        used += size
    return "".join(out) + ellipsis


# Invisible direction marks: LRM/RLM, Arabic letter mark, embeddings and overrides, isolates.
# A right-to-left text puts them around numbers and commands, and a copy takes them along.
DIRECTION_MARKS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NO_MARKS = dict.fromkeys(map(ord, DIRECTION_MARKS))


def strip_direction_marks(text: str) -> str:
    """`text` without direction marks: "⁨123⁩" copied from an Arabic message is "123"."""
    return text.translate(_NO_MARKS)


def escape(text: str) -> str:
    """Escape for Telegram's HTML parse mode (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def clock_time(seconds: float) -> str:
    """1:05, 12:00, 1:02:03: a span of time as a phone's timer shows it, in any language."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def progress_bar(percent: int, width: int = 10) -> str:
    percent = max(0, min(100, percent))
    filled = round(percent * width / 100)
    return "▓" * filled + "░" * (width - filled)


def is_number(text: str) -> bool:
    """Plain digits 0-9 only: `str.isdigit` is also true of "²" and "①", which `int` refuses."""
    return text.isascii() and text.isdigit()
