"""/seed and /negative, `seed 123` replies, and custom soundtracks (files, links and voice
notes)."""

from __future__ import annotations

import functools
import logging
import re
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

from telegram import Update, Voice
from telegram.error import TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.domain.records import Soundtrack
from bot.domain.settings import MAX_NEGATIVE_PROMPT, MAX_SEED, parse_seed
from bot.domain.soundtrack import (
    MAX_AUDIO_SECONDS,
    MIN_AUDIO_SECONDS,
    AudioFile,
    SoundtrackError,
    check_audio,
    check_downloaded,
    check_length,
    check_voice,
    new_served_name,
    served_url,
)
from bot.i18n import Translator
from bot.media import MediaError, VoiceTooLongError, voice_to_wav
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import incoming, reply
from bot.text import escape

log = logging.getLogger(__name__)

SEED_REPLY = re.compile(r"^\s*seed\s+(\S+)\s*$", re.IGNORECASE)


async def seed_command(update: Update, context: BotContext) -> None:
    """`/seed 42` fixes the seed for the user's cards; `/seed` alone makes it random again."""
    t = context.t
    raw = " ".join(context.args or [])
    try:
        seed = parse_seed(raw) if raw else None
    except ValueError:
        await reply(incoming(update).message, bad_seed(t))
        return
    await set_seed(update, context, t, seed)


async def set_seed(update: Update, context: BotContext, t: Translator, seed: int | None) -> None:
    sender = incoming(update)
    await context.services.drafts.change_defaults(
        sender.user.id, sender.chat.id, lambda s: s.with_seed(seed)
    )
    if seed is None:
        text = t._("🎲 The seed is random again.")
    else:
        text = t._(
            "🎲 Seed fixed at {seed}: the same photo, prompt and settings give a similar video.",
            seed=seed,
        )
    await reply(sender.message, text)


def bad_seed(t: Translator) -> str:
    return t._(
        "⚠️ A seed is a whole number from 0 to {maximum}, e.g. <code>/seed 42</code>.",
        maximum=MAX_SEED,
    )


async def negative_command(update: Update, context: BotContext) -> None:
    """`/negative blurry, text` sets what to avoid; `/negative` alone clears it."""
    t = context.t
    sender = incoming(update)
    text = (sender.message.text or "").partition(" ")[2].strip()
    if len(text) > MAX_NEGATIVE_PROMPT:
        await reply(
            sender.message,
            t._(
                "⚠️ The negative prompt can be at most {limit} characters; yours has {length}.",
                limit=MAX_NEGATIVE_PROMPT,
                length=len(text),
            ),
        )
        return
    await context.services.drafts.change_defaults(
        sender.user.id, sender.chat.id, lambda s: s.with_negative_prompt(text)
    )
    if text:
        message = t._("🚫 Videos will avoid: {text}", text=escape(text))
    else:
        message = t._("🚫 The negative prompt is cleared.")
    await reply(sender.message, message)


async def receive_voice(update: Update, context: BotContext) -> None:
    """A voice note (OGG/Opus, which the service does not take): decoded and served as a WAV
    soundtrack, like an uploaded file."""
    message = incoming(update).message
    t = context.t
    voice = message.voice
    assert voice is not None  # the handler's filter admits voice notes only
    public_base_url = context.services.config.public_base_url
    if public_base_url is None:
        await reply(message, _no_public_address(t))
        return
    try:
        check_voice(voice.file_size, _duration_seconds(voice))
        data, seconds = await _voice_as_wav(context, voice)
    except SoundtrackError as exc:
        await reply(message, _soundtrack_error(t, exc))
        return
    except TelegramError as exc:
        log.warning("chat %s: voice note download failed: %s", message.chat_id, exc)
        await reply(message, t._("⚠️ I could not download that audio. Please send it again."))
        return
    except MediaError as exc:
        log.info("chat %s: voice note not readable: %s", message.chat_id, exc)
        await reply(message, t._("⚠️ I could not read that voice note. Please record it again."))
        return
    name = new_served_name(".wav")
    await context.services.generation.files.soundtracks.save(name, data)
    title = t._("Voice note, {seconds} s", seconds=round(seconds))
    await attach_soundtrack(
        update, context, t, Soundtrack(served_url(public_base_url, name), name, title)
    )


async def _voice_as_wav(context: BotContext, voice: Voice) -> tuple[bytes, float]:
    """The voice note as WAV bytes and its length. SoundtrackError when it turns out too long
    or too short (Telegram's duration is a claim); TelegramError, MediaError."""
    work_dir = context.services.generation.files.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        ogg, wav = Path(scratch) / "voice.ogg", Path(scratch) / "voice.wav"
        await (await voice.get_file()).download_to_drive(ogg)
        try:
            decode = functools.partial(voice_to_wav, max_seconds=MAX_AUDIO_SECONDS)
            seconds = await context.services.videos.run(decode, ogg, wav)
        except VoiceTooLongError as exc:
            raise SoundtrackError("duration", seconds=round(exc.seconds)) from exc
        check_length(seconds)
        return wav.read_bytes(), seconds


def _no_public_address(t: Translator) -> str:
    return t._(
        "⚠️ This bot has no public address, so it can't pass uploaded audio to the video "
        "service. Send a public http(s) link to an MP3 or WAV file instead."
    )


async def receive_audio(update: Update, context: BotContext) -> None:
    """An MP3/WAV file: served under PUBLIC_BASE_URL as the soundtrack of the next video."""
    message = incoming(update).message
    t = context.t
    source = message.audio or message.document
    assert source is not None  # the handler's filter admits audio and audio documents only
    audio = AudioFile(
        file_name=source.file_name or "",
        mime_type=source.mime_type,
        size=source.file_size,
        duration=_duration_seconds(source),
    )
    try:
        extension = check_audio(audio)
    except SoundtrackError as exc:
        await reply(message, _soundtrack_error(t, exc))
        return
    public_base_url = context.services.config.public_base_url
    if public_base_url is None:
        await reply(message, _no_public_address(t))
        return
    name = new_served_name(extension)
    try:  # at most MAX_AUDIO_BYTES as Telegram told, and the Bot API gives at most 20 MB
        telegram_file = await source.get_file()
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("chat %s: audio download failed: %s", message.chat_id, exc)
        await reply(message, t._("⚠️ I could not download that audio. Please send it again."))
        return
    try:  # what Telegram said of it was a claim; the file itself says what it is
        check_downloaded(data[:12], len(data), extension)
    except SoundtrackError as exc:
        log.info("chat %s: an upload that is not the audio it claims: refused", message.chat_id)
        await reply(message, _soundtrack_error(t, exc))
        return
    await context.services.generation.files.soundtracks.save(name, data)
    title = audio.file_name or f"audio{extension}"  # never the served (secret) name
    await attach_soundtrack(
        update, context, t, Soundtrack(served_url(public_base_url, name), name, title)
    )


async def receive_audio_link(update: Update, context: BotContext) -> None:
    """A public link to an MP3/WAV file becomes the soundtrack."""
    t = context.t
    url = (incoming(update).message.text or "").strip()
    await attach_soundtrack(update, context, t, Soundtrack(url, None, url.rsplit("/", 1)[-1]))


async def attach_soundtrack(
    update: Update, context: BotContext, t: Translator, soundtrack: Soundtrack
) -> None:
    """Put the soundtrack on the user's open card, or keep it for their next photo."""
    sender = incoming(update)
    card = await context.services.drafts.attach_soundtrack(
        sender.user.id, sender.chat.id, soundtrack
    )
    if card is not None:
        text = t._("🎵 Soundtrack set on your open card: {name}", name=escape(soundtrack.title))
    else:
        text = t._(
            "🎵 Soundtrack saved: {name}. Now send a photo; it will be used for that video.",
            name=escape(soundtrack.title),
        )
    await reply(sender.message, text)


def _duration_seconds(source: object) -> int | None:
    """Telegram's duration, as int seconds (PTB is moving it from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(source, "duration", None)
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value if isinstance(value, int) else None


def _soundtrack_error(t: Translator, error: SoundtrackError) -> str:
    if error.kind == "size":
        return t._(
            "⚠️ A soundtrack can be at most {megabytes} MB.", megabytes=error.details["megabytes"]
        )
    if error.kind == "duration":
        return t._(
            "⚠️ A soundtrack must be {minimum} to {maximum} seconds long; this one is {seconds} s.",
            minimum=MIN_AUDIO_SECONDS,
            maximum=MAX_AUDIO_SECONDS,
            seconds=error.details["seconds"],
        )
    return t._("⚠️ A soundtrack must be an MP3 or WAV file.")
