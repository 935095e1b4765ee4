"""What a clip is made of, read from its header: whether clips can be joined by copying."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from av.container import InputContainer

from bot.media.reading import audio_stream, fraction, reading, video_stream

# When a header gives no frame rate (a stream of variable rate): the API's videos' rate.
DEFAULT_RATE = Fraction(24)


@dataclass(frozen=True)
class VideoFormat:
    codec: str
    width: int
    height: int
    # The header's profile and codec setup (H.264's SPS/PPS, which fix the pixel format): an
    # MP4 holds one setup for a whole track, so clips encoded with other settings cannot share
    # it. The pixel format itself is only known once a frame is decoded, which is not done.
    profile: str | None
    extradata: bytes | None
    time_base: Fraction | None
    rate: Fraction = field(default=DEFAULT_RATE, compare=False)


@dataclass(frozen=True)
class AudioFormat:
    codec: str
    rate: int
    layout: str
    time_base: Fraction | None
    extradata: bytes | None  # AAC's AudioSpecificConfig, once for the track as well


@dataclass(frozen=True)
class ClipFormat:
    video: VideoFormat
    audio: AudioFormat | None


def clip_format(clip: Path) -> ClipFormat:
    """The clip's format, from its header alone; MediaError when it is no video."""
    with reading(clip, probe=False) as container:
        return ClipFormat(_video(container), _audio(container))


def _video(container: InputContainer) -> VideoFormat:
    stream = video_stream(container)
    context = stream.codec_context
    return VideoFormat(
        context.name,
        context.width,
        context.height,
        stream.profile,
        context.extradata,
        fraction(stream.time_base) if stream.time_base else None,
        fraction(stream.average_rate or stream.guessed_rate or DEFAULT_RATE),
    )


def _audio(container: InputContainer) -> AudioFormat | None:
    stream = audio_stream(container)
    if stream is None:
        return None
    context = stream.codec_context
    time_base = fraction(stream.time_base) if stream.time_base else None
    return AudioFormat(
        context.name, context.sample_rate, context.layout.name, time_base, context.extradata
    )
