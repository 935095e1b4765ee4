"""/history as the user sees it: a page of their generations and the buttons to use them."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable

from babel import Locale
from babel.dates import format_skeleton
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.actions import HistoryPage, OpenHistory
from bot.domain.history import PAGE_SIZE, HistoryEntry
from bot.domain.pricing import PriceTable
from bot.domain.records import TaskState
from bot.i18n import Translator
from bot.telegram.callback_data import Scope, encode
from bot.telegram.cards import effect_name
from bot.text import escape

_STATUS: dict[TaskState, Callable[[Translator], str]] = {
    TaskState.DONE: lambda t: t._("✅ delivered"),
    TaskState.FAILED: lambda t: t._("❌ failed"),
    TaskState.UNKNOWN: lambda t: t._("❔ outcome unknown"),
    TaskState.TIMED_OUT: lambda t: t._("⌛ timed out"),
    TaskState.CANCELLED: lambda t: t._("✖️ stopped"),
    TaskState.CLOSED: lambda t: t._("✖️ closed"),
    TaskState.QUEUED: lambda t: t._("⏳ in line"),
}


def pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


PriceOf = Callable[[HistoryEntry], str | None]


def history_text(
    t: Translator, entries: list[HistoryEntry], page: int, total: int, price_of: PriceOf
) -> str:
    if not total:
        return t._("🗂 You have no videos yet. Send a photo with a caption to make one.")
    lines = [
        t._(
            "🗂 <b>Your videos</b> · page {page} of {pages} (times in UTC)",
            page=page + 1,
            pages=pages(total),
        )
    ]
    for number, entry in enumerate(entries, start=1):
        lines += ["", f"<b>{number}.</b> {_line(t, entry, price_of)}"]
    lines += ["", t._("Tap a number: a delivered video comes again at once.")]
    return "\n".join(lines)


def when_made(created_at: float, locale: str) -> str:
    """Day, month and time (UTC) as `locale` writes them: en "Nov 24, 11:04", ru "24 нояб.,
    11:04", zh_Hans "11月24日 11:04", ar "24 نوفمبر، 11:04" (CLDR skeletons, not one pattern)."""
    when = datetime.datetime.fromtimestamp(created_at, datetime.UTC)
    day = format_skeleton("MMMd", when, tzinfo=datetime.UTC, locale=locale)
    time = format_skeleton("Hm", when, tzinfo=datetime.UTC, locale=locale)
    glue: str = Locale.parse(locale).datetime_formats["short"]  # "{1}, {0}", "{1} {0}"…
    return glue.format(time, day)


def dollars(t: Translator, prices: PriceTable) -> PriceOf:
    """Billing off: what a video the service made cost (the cost basis)."""
    return lambda entry: (
        prices.format(prices.price(entry.settings), t.locale) if entry.charged else None
    )


def credits(t: Translator, spent: dict[str, int]) -> PriceOf:
    """BILLING=stars: the credits the user paid for it, in the card's unit; none, no price."""

    def price_of(entry: HistoryEntry) -> str | None:
        paid = spent.get(entry.id, 0)
        return t.ngettext("{n} credit", "{n} credits", paid) if paid else None

    return price_of


def _line(t: Translator, entry: HistoryEntry, price_of: PriceOf) -> str:
    settings = entry.settings
    parts = [
        when_made(entry.created_at, t.locale),
        settings.resolution,
        t._("{n} s", n=settings.duration),
        "🔊" if settings.audio else "🔇",
        _STATUS.get(entry.state, lambda t: t._("🎞 in progress"))(t),
    ]
    if entry.story_part > 1:
        parts.insert(1, t._("⏭ clip {n} of a story", n=entry.story_part))
    price = price_of(entry)
    if price:
        parts.append(price)
    about = effect_name(t, entry.template) if entry.template else entry.prompt
    return " · ".join(parts) + (f"\n<i>{escape(about)}</i>" if about else "")


def history_keyboard(
    entries: list[HistoryEntry], page: int, total: int, *, rtl: bool = False
) -> InlineKeyboardMarkup | None:
    """The page's numbers, then ◂ ▸; mirrored for a right-to-left language, whose Telegram
    lays the row out from the right: the earlier page there is on the right, pointing right."""
    if not total:
        return None
    rows = [
        [
            _button(str(number), OpenHistory(entry.id))
            for number, entry in enumerate(entries, start=1)
        ]
    ]
    nav = []
    earlier, later = ("▸", "◂") if rtl else ("◂", "▸")
    if page > 0:
        nav.append(_button(earlier, HistoryPage(page - 1)))
    if page + 1 < pages(total):
        nav.append(_button(later, HistoryPage(page + 1)))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def _button(label: str, action: HistoryPage | OpenHistory) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(Scope.HISTORY, action))
