"""Writing MP4s: the file's index at its front, its size kept within a limit, nothing left
behind when writing fails, and the encoders every output of the bot uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.error import FFmpegError
from av.packet import Packet
from av.video.stream import VideoStream

from bot.media.errors import JoinTooLargeError, MediaError

# The timestamps of re-encoded video: fine enough for any frame rate, so clips at 24 and at
# 30 frames a second never land two frames on one tick.
VIDEO_TIME_BASE = Fraction(1, 90_000)


@contextlib.contextmanager
def writing(path: Path) -> Iterator[OutputContainer]:
    """An MP4 written at `path`, removed if anything fails on the way. `+faststart` moves the
    index before the data when the file is closed, so Telegram can play it while it loads."""
    try:
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as output:
            yield output
    except FFmpegError as exc:
        path.unlink(missing_ok=True)
        raise MediaError(f"writing {path.name}: {exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@dataclass
class Budget:
    """The bytes of media muxed so far; past `limit` the output is abandoned at once rather
    than written to the end (a limit is Telegram's upload cap: a larger file is of no use)."""

    limit: int
    used: int = 0

    def mux(self, output: OutputContainer, packets: Packet | list[Packet]) -> None:
        for packet in packets if isinstance(packets, list) else [packets]:
            self.used += packet.size
            if self.used > self.limit:
                raise JoinTooLargeError(self.limit)
            output.mux_one(packet)


# x264's speed for everything the bot encodes: a story of ten clips is ~3,600 frames.
PRESET = "veryfast"


def h264_stream(
    output: OutputContainer,
    size: tuple[int, int],
    rate: Fraction,
    *,
    crf: int,
    preset: str = PRESET,
) -> VideoStream:
    """H.264 in yuv420p, the one every player (and Telegram's round notes) takes."""
    stream = output.add_stream("libx264", rate=rate, options={"preset": preset, "crf": str(crf)})
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = VIDEO_TIME_BASE
    return stream


def aac_stream(output: OutputContainer, rate: int, layout: str) -> AudioStream:
    return output.add_stream("aac", rate=rate, layout=layout)


def mixed_layout(channels: int) -> str:
    """The layout sound of `channels` is written in: mono stays mono, anything wider is mixed
    down to stereo (AAC's and our WAVs' two)."""
    return "mono" if channels == 1 else "stereo"


def even(side: int) -> int:
    """yuv420p stores colour per 2x2 pixels: x264 refuses an odd side."""
    return max(2, side - side % 2)
