"""Custom audio for a video: what the API accepts, checked before anything is sent."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

MAX_AUDIO_BYTES = 15 * 1024 * 1024
MIN_AUDIO_SECONDS = 3
MAX_AUDIO_SECONDS = 30
AUDIO_TYPES = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/vnd.wave": ".wav",
}
AUDIO_LINK = re.compile(r"^https?://\S+\.(mp3|wav)(\?\S*)?$", re.IGNORECASE)


class SoundtrackError(ValueError):
    """Why this audio cannot be used; `kind` picks the user's message."""

    def __init__(self, kind: str, **details: object) -> None:
        super().__init__(kind)
        self.kind = kind
        self.details = details


@dataclass(frozen=True)
class AudioFile:
    """What Telegram tells about an uploaded audio file."""

    file_name: str
    mime_type: str | None
    size: int | None
    duration: int | None


def audio_extension(audio: AudioFile) -> str:
    """The extension to serve the file under; SoundtrackError when it is not mp3/wav."""
    name = audio.file_name.lower()
    for extension in (".mp3", ".wav"):
        if name.endswith(extension):
            return extension
    if audio.mime_type in AUDIO_TYPES:
        return AUDIO_TYPES[audio.mime_type]
    raise SoundtrackError("format")


def check_audio(audio: AudioFile) -> str:
    """Validate the limits we can check locally; return the file extension."""
    extension = audio_extension(audio)
    check_size(audio.size)
    if audio.duration is not None:
        check_length(audio.duration)
    return extension


def check_voice(size: int | None, claimed_seconds: int | None) -> None:
    """A voice note before it is downloaded, by what Telegram says of it: its size, and its
    length in whole seconds when it gives one (the decoded length is checked after)."""
    check_size(size)
    if claimed_seconds:
        check_length(claimed_seconds)


def check_size(size: int | None) -> None:
    """At most MAX_AUDIO_BYTES (None: not known before the download)."""
    if size is not None and size > MAX_AUDIO_BYTES:
        raise SoundtrackError("size", megabytes=MAX_AUDIO_BYTES // (1024 * 1024))


def check_length(seconds: float) -> None:
    """The service takes soundtracks of MIN_AUDIO_SECONDS to MAX_AUDIO_SECONDS."""
    if not MIN_AUDIO_SECONDS <= seconds <= MAX_AUDIO_SECONDS:
        raise SoundtrackError("duration", seconds=round(seconds, 1))


# A soundtrack kept for the next photo is public under our address: not for longer than this.
PROFILE_TTL = 24 * 3600.0


def sniffed_format(head: bytes) -> str | None:
    """ ".mp3" or ".wav" when the first bytes of a file say so (an ID3 tag or an MPEG frame
    sync; RIFF…WAVE), whatever its name says; None for anything else."""
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return ".mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    return None


def check_downloaded(head: bytes, size: int, extension: str) -> None:
    """What only the file itself can tell: its real size and its real format."""
    check_size(size)
    if sniffed_format(head) != extension:
        raise SoundtrackError("format")


def is_audio_link(text: str) -> bool:
    return bool(AUDIO_LINK.match(text.strip()))


def new_served_name(extension: str) -> str:
    """An unguessable file name: the URL is public, so the name is the only secret."""
    return secrets.token_urlsafe(24) + extension


def served_url(public_base_url: str, name: str) -> str:
    return f"{public_base_url.rstrip('/')}/audio/{name}"


def is_served_name(name: str) -> bool:
    """A name the bot may have served: nothing that could leave the folder or the table."""
    return bool(re.fullmatch(r"[A-Za-z0-9_-]{20,}\.(mp3|wav)", name))
