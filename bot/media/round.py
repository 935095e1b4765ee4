"""Round videos ("video notes" in Telegram): a video cropped to its centre square."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av.filter
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from bot.media.errors import MediaError
from bot.media.formats import DEFAULT_RATE
from bot.media.reading import audio_stream, fraction, reading, timed_frames, video_stream
from bot.media.writing import (
    VIDEO_TIME_BASE,
    aac_stream,
    even,
    h264_stream,
    mixed_layout,
    writing,
)

# Telegram's limits for a video note: a square of at most 640 px, a minute long.
MAX_NOTE_SIDE = 640
MAX_NOTE_SECONDS = 60
CRF = 23


@dataclass(frozen=True)
class VideoNote:
    path: Path
    side: int
    seconds: int


@dataclass
class _Note:
    """The note being written: each picture cropped and scaled by a filter graph."""

    output: OutputContainer
    graph: av.filter.Graph
    video: VideoStream
    sound: AudioStream | None
    last_pts: int | None = None

    def picture(self, frame: VideoFrame, at: Fraction) -> None:
        self.graph.vpush(frame)
        square = self.graph.vpull()  # crop and scale give one frame for each frame pushed
        pts = round(at / VIDEO_TIME_BASE)
        if self.last_pts is not None and pts <= self.last_pts:
            return
        square.pts, square.time_base, self.last_pts = pts, VIDEO_TIME_BASE, pts
        self.output.mux(self.video.encode(square))

    def sound_frame(self, frame: AudioFrame, at: Fraction) -> None:
        """`frame` heard `at` seconds into the note: on the pictures' clock, whenever the
        source's sound track starts."""
        assert self.sound is not None
        frame.pts, frame.time_base = round(at * frame.sample_rate), Fraction(1, frame.sample_rate)
        # The encoder converts the samples to AAC's own format and frame size itself.
        self.output.mux(self.sound.encode(frame))

    def close(self) -> None:
        self.output.mux(self.video.encode(None))
        if self.sound is not None:
            self.output.mux(self.sound.encode(None))


def video_note(video: Path, out: Path, *, max_side: int = MAX_NOTE_SIDE) -> VideoNote:
    """`video`'s centre square, at most `max_side` px and MAX_NOTE_SECONDS long, as an MP4 of
    H.264 (and AAC when it has sound) at `out`. Unreadable: MediaError, nothing left at `out`."""
    with reading(video) as container, writing(out) as output:
        source = video_stream(container)
        source.thread_type = "AUTO"
        sound = audio_stream(container)
        short = min(source.width, source.height)
        side = even(min(short, max_side))
        rate = fraction(source.average_rate or DEFAULT_RATE)
        note = _Note(
            output,
            _square(source, short, side),
            h264_stream(output, (side, side), rate, crf=CRF),
            aac_stream(output, sound.rate, mixed_layout(sound.channels)) if sound else None,
        )
        seconds = _write(container, source, sound, note)
    return VideoNote(out, side, round(seconds))


def _square(source: VideoStream, short: int, side: int) -> av.filter.Graph:
    """crop (centred by default) → scale → yuv420p with square pixels."""
    graph = av.filter.Graph()
    graph.link_nodes(
        graph.add_buffer(template=source),
        graph.add("crop", f"{short}:{short}"),
        graph.add("scale", f"{side}:{side}"),
        graph.add("setsar", "1"),
        graph.add("format", "yuv420p"),
        graph.add("buffersink"),
    ).configure()
    return graph


def _write(
    container: InputContainer, source: VideoStream, sound: AudioStream | None, note: _Note
) -> float:
    """Decode up to MAX_NOTE_SECONDS of `source` (and `sound`) into `note`; its length."""
    frame_time = 1 / (source.average_rate or DEFAULT_RATE)
    length = Fraction(0)
    for at, frame in timed_frames(container, source, sound):
        if isinstance(frame, VideoFrame):
            if at >= MAX_NOTE_SECONDS:
                break  # a longer video is cut here, the rest of it never decoded
            note.picture(frame, at)
            length = max(length, at + frame_time)
        elif 0 <= at < MAX_NOTE_SECONDS:
            note.sound_frame(frame, at)
    note.close()
    if not length:
        raise MediaError("no video frame")
    return min(float(length), MAX_NOTE_SECONDS)
