"""Texts of the settings card, its status views and the video caption (HTML parse mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram.constants import MessageLimit

from bot.domain.actions import Page
from bot.domain.notices import Notice
from bot.domain.poll_schedule import expected_remaining
from bot.domain.pricing import PriceTable
from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.domain.templates import TEMPLATES
from bot.i18n import Translator
from bot.text import clock_time, escape, progress_bar, truncate

# Leaves room for the rest of the card inside Telegram's 4096-character limit.
PROMPT_PREVIEW_LIMIT = 3000


def settings_line(t: Translator, settings: GenerationSettings) -> str:
    # Whole sentences per case, so translators never glue fragments together.
    if settings.audio:
        return t.ngettext(
            "Resolution: {resolution} · Duration: {n} second · Audio: on",
            "Resolution: {resolution} · Duration: {n} seconds · Audio: on",
            settings.duration,
            resolution=settings.resolution,
        )
    return t.ngettext(
        "Resolution: {resolution} · Duration: {n} second · Audio: off",
        "Resolution: {resolution} · Duration: {n} seconds · Audio: off",
        settings.duration,
        resolution=settings.resolution,
    )


def advanced_lines(t: Translator, settings: GenerationSettings) -> list[str]:
    """One whole sentence per advanced setting, exactly as it will be sent."""
    lines = [
        t._("✍️ Prompt rewriting: on") if settings.prompt_extend else t._("✍️ Prompt rewriting: off")
    ]
    if settings.prompt_extend:
        lines.append(
            t._("🎞 Shots: multiple") if settings.shot_type == "multi" else t._("🎞 Shots: single")
        )
    lines.append(t._("💧 Watermark: on") if settings.watermark else t._("💧 Watermark: off"))
    if settings.seed is None:
        lines.append(t._("🎲 Seed: random"))
    else:
        lines.append(t._("🎲 Seed: {seed}", seed=settings.seed))
    if settings.negative_prompt:
        lines.append(t._("🚫 Avoid: {text}", text=escape(settings.negative_prompt)))
    return lines


def defaults_text(t: Translator, settings: GenerationSettings) -> str:
    return "\n".join(
        [
            t._("⚙️ <b>Your default settings</b>"),
            escape(settings_line(t, settings)),
            *advanced_lines(t, settings),
            "",
            t._("They are used for every new photo you send. Tap to change them."),
        ]
    )


@dataclass(frozen=True)
class CardCredits:
    price: int
    balance: int
    group_balance: int | None = None  # on a card in a group: its wallet's credits


def card_text(
    t: Translator,
    record: TaskRecord,
    prices: PriceTable | None = None,
    credits: CardCredits | None = None,
    billing_on: bool = False,
) -> str:
    lines = [t._("🎬 <b>Your video</b>"), *_story_lines(t, record), *_prompt_lines(t, record)]
    lines.append(escape(settings_line(t, record.settings)))
    lines.extend(_price_lines(t, record, prices, credits))
    if record.soundtrack_url and record.settings.audio:
        lines.append(t._("🎵 Soundtrack: {name}", name=escape(soundtrack_name(record))))
    lines.extend(advanced_lines(t, record.settings))
    if record.state is TaskState.DRAFT:
        lines.extend(_quota_lines(t, record.quota_left))
        lines.extend(_page_lines(t, record.page))
    lines.append("")
    if billing_on and record.state is TaskState.CANCELLED and record.submitted_at:
        # Stopped after the service took it: the service makes and bills it, credits spent.
        lines.append(t._("✖️ Stopped waiting. The video's credits stay spent."))
    else:
        lines.append(_status_line(t, record))
    return "\n".join(lines)


def _price_lines(
    t: Translator, record: TaskRecord, prices: PriceTable | None, credits: CardCredits | None
) -> list[str]:
    if credits is not None and credits.group_balance is not None:
        return [
            t._(
                "💰 Price in credits: {price} · your balance: {balance} · the group's wallet: "
                "{group}",
                price=credits.price,
                balance=credits.balance,
                group=credits.group_balance,
            )
        ]
    if credits is not None:
        return [
            t._(
                "💰 Price in credits: {price} · your balance: {balance}",
                price=credits.price,
                balance=credits.balance,
            )
        ]
    if prices is not None and record.state is TaskState.DRAFT:
        # Recomputed on every redraw, so every change of setting shows its price at once.
        amount = prices.format(prices.price(record.settings), t.locale)
        # Nobody pays here (billing is off): it is what the video costs the bot.
        return [t._("💰 Cost to the bot: {amount}", amount=amount)]
    return []


def _quota_lines(t: Translator, quota_left: int | None) -> list[str]:
    if quota_left is None:
        return []
    if not quota_left:
        return [t._("⏳ Today's allowance is used up: back tomorrow")]
    return [
        t.ngettext(
            "⏳ Left for today: {n} second of video",
            "⏳ Left for today: {n} seconds of video",
            quota_left,
        )
    ]


def effect_name(t: Translator, template: str) -> str:
    """The effect's translated short name; an id this release does not know, as it is."""
    effect = TEMPLATES.get(template)
    return t._(effect.name) if effect else template


def _prompt_lines(t: Translator, record: TaskRecord) -> list[str]:
    if record.template:
        name = effect_name(t, record.template)
        return [t._("✨ Effect: <b>{name}</b>. The prompt is ignored.", name=name)]
    if record.prompt:
        # The effects page lists every template: leave it room within 4096 characters.
        limit = 600 if record.page is Page.EFFECTS else PROMPT_PREVIEW_LIMIT
        return [f"<blockquote>{escape(truncate(record.prompt, limit))}</blockquote>"]
    if record.state is TaskState.DRAFT and record.continues:
        return [t._("💡 What happens next? Reply to this card with text.")]
    if record.state is TaskState.DRAFT:
        return [
            t._(
                "💡 No prompt yet. Describe the motion for better results: reply to "
                "this card with text."
            )
        ]
    return []


def _story_lines(t: Translator, record: TaskRecord) -> list[str]:
    """A continued clip says which one it is: its picture is the last frame of the one
    before."""
    if record.story_part < 2:
        return []
    return [
        t._(
            "⏭ Clip {n} of your story: it starts from the last frame of clip {previous}.",
            n=record.story_part,
            previous=record.story_part - 1,
        )
    ]


def _page_lines(t: Translator, page: Page) -> list[str]:
    """What the draft card's current page explains below the settings."""
    if page is Page.EFFECTS:
        return [
            "",
            t._(
                "✨ <b>Effects</b> (experimental): the video follows the effect and "
                "ignores the prompt."
            ),
            *(f"• <b>{t._(e.name)}</b>: {t._(e.about)}" for e in TEMPLATES.values()),
        ]
    if page is Page.MORE:
        return [
            "",
            t._(
                "To fix the seed, reply to this card with <code>seed 12345</code>. "
                "/negative sets what to avoid."
            ),
        ]
    return []


def soundtrack_name(record: TaskRecord) -> str:
    """The user's own name for it; a served file's URL holds a secret, so never that."""
    if record.soundtrack_title:
        return truncate(record.soundtrack_title, 60)
    if record.soundtrack_file:
        return "audio" + record.soundtrack_file[record.soundtrack_file.rfind(".") :]
    url = record.soundtrack_url or ""
    return truncate(url.rsplit("/", 1)[-1] or url, 60)


def _status_line(t: Translator, record: TaskRecord) -> str:
    """The card's last line: what is happening to the task now."""
    return _STATE_LINES.get(record.state, _notice_text)(t, record)


def _draft_status(t: Translator, record: TaskRecord) -> str:
    hint = t._(
        "Tap <b>Generate</b> when ready. Reply to this card with text to change the prompt."
    )
    notice = _notice_text(t, record)
    return f"{notice}\n{hint}" if notice else hint


def _running_status(t: Translator, record: TaskRecord) -> str:
    if not record.generating:
        return t._("⏳ Queued. This usually takes one to five minutes.")
    bar = progress_bar(record.progress)
    line = t._(
        "🎞 Generating… {bar} {percent}%",
        # A bar has no letters, so it would fill from the left: in Arabic, from the right.
        bar=f"\u2067{bar}\u2069" if t.rtl else bar,
        percent=record.progress,
    )
    timing = _timing_line(t, record)
    return f"{line}\n{timing}" if timing else line


def _timing_line(t: Translator, record: TaskRecord) -> str:
    """Time spent and, from the progress so far, time left: as of the card's last redraw
    (a running card is redrawn when its progress moves)."""
    if not record.submitted_at or record.shown_at <= record.submitted_at:
        return ""
    elapsed = record.shown_at - record.submitted_at
    left = expected_remaining(elapsed, record.progress, None)
    if left is None or left <= 0:
        return t._("⏱ {elapsed} so far", elapsed=clock_time(elapsed))
    return t._(
        "⏱ {elapsed} so far, about {left} to go",
        elapsed=clock_time(elapsed),
        left=clock_time(left),
    )


def _queued_status(t: Translator, record: TaskRecord) -> str:
    if not record.queue_position:
        return t._("⏳ In line: yours is next. It starts by itself when a slot frees up.")
    return t.ngettext(
        "⏳ In line: {n} video ahead of yours. It starts by itself.",
        "⏳ In line: {n} videos ahead of yours. It starts by itself.",
        record.queue_position,
    )


def _done_status(t: Translator, record: TaskRecord) -> str:
    if record.notice is Notice.TOO_LARGE:
        return t._("✅ Done. The video was too large to upload, so you got a link.")
    if record.notice is Notice.MAYBE_SENT:
        return t._("✅ Done. If the video did not arrive, the link below has it.")
    if record.notice is Notice.SENT_IN_PRIVATE:
        return t._("✅ Done! This group sends videos in private: yours is in your chat with me.")
    return t._("✅ Done! Your video is in the chat.")


def _cancelled_status(t: Translator, record: TaskRecord) -> str:
    if record.submitted_at:
        return t._("✖️ Stopped waiting. The task may still run and be billed.")
    return t._("✖️ Cancelled.")


# Any other state shows the record's notice, if it has one.
_STATE_LINES: dict[TaskState, Callable[[Translator, TaskRecord], str]] = {
    TaskState.DRAFT: _draft_status,
    TaskState.SUBMITTING: lambda t, r: t._("⏳ Sending the task…"),
    TaskState.QUEUED: _queued_status,
    TaskState.RUNNING: _running_status,
    TaskState.DELIVERING: lambda t, r: t._("📥 Almost there: sending the video…"),
    TaskState.DONE: _done_status,
    TaskState.CANCELLED: _cancelled_status,
    TaskState.CLOSED: lambda t, r: t._("✖️ Closed."),
}


def _notice_text(t: Translator, record: TaskRecord) -> str:
    if record.notice is None:
        return ""
    text = _NOTICE_TEXTS.get(record.notice)
    return text(t, escape(record.error)) if text else ""


def _api_failed(t: Translator, reason: str) -> str:
    if reason:
        return t._("❌ Generation failed: {reason}", reason=reason)
    return t._("❌ Generation failed.")


# Each notice with the text the card shows; `reason` is the API's own words, escaped.
_NOTICE_TEXTS: dict[Notice, Callable[[Translator, str], str]] = {
    Notice.INVALID_REQUEST: lambda t, reason: t._(
        "⚠️ The video service refused this request: {reason}", reason=reason
    ),
    Notice.QUOTA_LEFT_BEHIND: lambda t, reason: t._(
        "⚠️ Your turn came, but today's allowance no longer covers this video: choose a "
        "shorter one or come back tomorrow."
    ),
    Notice.PROMPT_TOO_LONG: lambda t, reason: t._(
        "✂️ The prompt is too long for the video service ({reason}). Reply to this card "
        "with a shorter one.",
        reason=reason,
    ),
    Notice.SERVICE_UNAVAILABLE: lambda t, reason: t._(
        "⚠️ The video service is unavailable right now. The operator has been told."
    ),
    Notice.NO_BALANCE: lambda t, reason: t._(
        "⚠️ The bot's video balance is used up. Please try again later."
    ),
    Notice.BUSY: lambda t, reason: t._(
        "⚠️ The video service is busy. Please try again in a minute."
    ),
    Notice.UNREACHABLE: lambda t, reason: t._(
        "⚠️ The video service could not be reached. Nothing was charged; try again."
    ),
    Notice.OUTCOME_UNKNOWN: lambda t, reason: t._(
        "⚠️ We could not confirm that the task started. It may be running and billed. "
        "Tap <b>Try again</b> only if no video arrives."
    ),
    Notice.API_FAILED: _api_failed,
    Notice.NO_VIDEO: lambda t, reason: t._("❌ The task finished without a video."),
    Notice.LINK_EXPIRED: lambda t, reason: t._(
        "❌ The video link expired before it could be downloaded."
    ),
    Notice.TIMED_OUT: lambda t, reason: t._(
        "⌛ The task took too long, so the bot stopped waiting."
    ),
}


def video_caption(t: Translator, record: TaskRecord) -> str:
    """Plain text (no parse mode): the settings used, then as much of the prompt as fits."""
    lines = [settings_line(t, record.settings)]
    if record.story_part > 1:
        lines.insert(0, t._("⏭ Clip {n} of your story", n=record.story_part))
    if record.seed_used is not None:
        lines.append(t._("🎲 Seed: {seed}", seed=record.seed_used))
    else:
        lines.append(t._("🎲 Seed: random"))
    if record.template:
        lines.append(t._("✨ Effect: {name}", name=effect_name(t, record.template)))
    elif record.prompt:
        lines += ["", record.prompt]
    return truncate("\n".join(lines), MessageLimit.CAPTION_LENGTH)


def maybe_sent_text(t: Translator, record: TaskRecord) -> str:
    return t._(
        "Telegram did not confirm your video. If it is not above, download it within 24 "
        "hours:\n{url}",
        url=escape(record.video_url or ""),
    )


def link_text(t: Translator, record: TaskRecord) -> str:
    return t._(
        "Your video is ready but too large to upload here. Download it within 24 hours:\n{url}",
        url=escape(record.video_url or ""),
    )
