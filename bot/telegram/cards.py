"""Texts of the settings card, its status views and the video caption (HTML parse mode)."""

from __future__ import annotations

from bot.domain.records import TaskRecord, TaskState
from bot.domain.settings import GenerationSettings
from bot.domain.templates import TEMPLATES
from bot.i18n import Translator
from bot.lifecycle.service import Notice
from bot.text import CAPTION_LIMIT, escape, progress_bar, truncate

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


def card_text(t: Translator, record: TaskRecord) -> str:
    lines = [t._("🎬 <b>Your video</b>")]
    if record.template:
        lines.append(t._("✨ Effect: <b>{name}</b>. The prompt is ignored.", name=record.template))
    elif record.prompt:
        # The effects page lists every template: leave it room within 4096 characters.
        limit = 600 if record.page == "effects" else PROMPT_PREVIEW_LIMIT
        lines.append(f"<blockquote>{escape(truncate(record.prompt, limit))}</blockquote>")
    elif record.state is TaskState.DRAFT:
        lines.append(
            t._(
                "💡 No prompt yet. Describe the motion for better results: reply to "
                "this card with text."
            )
        )
    lines.append(escape(settings_line(t, record.settings)))
    if record.soundtrack_url and record.settings.audio:
        lines.append(t._("🎵 Soundtrack: {name}", name=escape(soundtrack_name(record))))
    lines.extend(advanced_lines(t, record.settings))
    if record.quota_left is not None and record.state is TaskState.DRAFT:
        lines.append(
            t.ngettext(
                "⏳ Left for today: {n} second of video",
                "⏳ Left for today: {n} seconds of video",
                record.quota_left,
            )
        )
    if record.state is TaskState.DRAFT and record.page == "effects":
        lines.append("")
        lines.append(
            t._(
                "✨ <b>Effects</b> (experimental): the video follows the effect and "
                "ignores the prompt."
            )
        )
        lines.extend(f"• <b>{name}</b>: {t._(about)}" for name, about in TEMPLATES.items())
    elif record.state is TaskState.DRAFT and record.page == "more":
        lines.append("")
        lines.append(
            t._(
                "To fix the seed, reply to this card with <code>seed 12345</code>. "
                "/negative sets what to avoid."
            )
        )
    lines.append("")
    lines.append(_status_line(t, record))
    return "\n".join(lines)


def soundtrack_name(record: TaskRecord) -> str:
    url = record.soundtrack_url or ""
    return truncate(url.rsplit("/", 1)[-1] or url, 60)


def _status_line(t: Translator, record: TaskRecord) -> str:
    state = record.state
    if state is TaskState.DRAFT:
        hint = t._(
            "Tap <b>Generate</b> when ready. Reply to this card with text to change the prompt."
        )
        notice = _notice_text(t, record)
        return f"{notice}\n{hint}" if notice else hint
    if state is TaskState.SUBMITTING:
        return t._("⏳ Sending the task…")
    if state is TaskState.RUNNING:
        if record.generating:
            return t._(
                "🎞 Generating… {bar} {percent}%",
                bar=progress_bar(record.progress),
                percent=record.progress,
            )
        return t._("⏳ Queued. This usually takes one to five minutes.")
    if state is TaskState.DELIVERING:
        return t._("📥 Almost there: sending the video…")
    if state is TaskState.DONE:
        if record.notice == Notice.TOO_LARGE:
            return t._("✅ Done. The video was too large to upload, so you got a link.")
        return t._("✅ Done! Your video is in the chat.")
    if state is TaskState.CANCELLED:
        if record.submitted_at:
            return t._("✖️ Stopped waiting. The task may still run and be billed.")
        return t._("✖️ Cancelled.")
    if state is TaskState.CLOSED:
        return t._("✖️ Closed.")
    return _notice_text(t, record)


def _notice_text(t: Translator, record: TaskRecord) -> str:
    notice, error = record.notice, escape(record.error)
    if notice == Notice.INVALID_REQUEST:
        return t._("⚠️ The video service refused this request: {reason}", reason=error)
    if notice == Notice.SERVICE_UNAVAILABLE:
        return t._("⚠️ The video service is unavailable right now. The operator has been told.")
    if notice == Notice.NO_BALANCE:
        return t._("⚠️ The bot's video balance is used up. Please try again later.")
    if notice == Notice.BUSY:
        return t._("⚠️ The video service is busy. Please try again in a minute.")
    if notice == Notice.UNREACHABLE:
        return t._("⚠️ The video service could not be reached. Nothing was charged; try again.")
    if notice == Notice.OUTCOME_UNKNOWN:
        return t._(
            "⚠️ We could not confirm that the task started. It may be running and billed. "
            "Tap <b>Try again</b> only if no video arrives."
        )
    if notice == Notice.API_FAILED:
        if error:
            return t._("❌ Generation failed: {reason}", reason=error)
        return t._("❌ Generation failed.")
    if notice == Notice.NO_VIDEO:
        return t._("❌ The task finished without a video.")
    if notice == Notice.LINK_EXPIRED:
        return t._("❌ The video link expired before it could be downloaded.")
    if notice == Notice.TIMED_OUT:
        return t._("⌛ The task took too long, so the bot stopped waiting.")
    return ""


def video_caption(t: Translator, record: TaskRecord) -> str:
    """Plain text (no parse mode): the settings used, then as much of the prompt as fits."""
    lines = [settings_line(t, record.settings)]
    if record.seed_used is not None:
        lines.append(t._("🎲 Seed: {seed}", seed=record.seed_used))
    else:
        lines.append(t._("🎲 Seed: random"))
    if record.template:
        lines.append(t._("✨ Effect: {name}", name=record.template))
    elif record.prompt:
        lines += ["", record.prompt]
    return truncate("\n".join(lines), CAPTION_LIMIT)


def link_text(t: Translator, record: TaskRecord) -> str:
    return t._(
        "Your video is ready but too large to upload here. Download it within 24 hours:\n{url}",
        url=escape(record.video_url or ""),
    )
