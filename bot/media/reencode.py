"""Clips of different formats joined by decoding them and encoding them again: H.264 at the
first clip's size, and AAC when any clip has sound (silence for the clips without)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from bot.media.formats import DEFAULT_RATE, AudioFormat, ClipFormat
from bot.media.reading import audio_stream, reading, timed_frames, video_stream
from bot.media.writing import VIDEO_TIME_BASE, Budget, aac_stream, even, h264_stream, writing

CRF = 21  # quality close to the API's own files
SILENCE_FRAME = 1024  # samples per frame of silence: AAC's own frame


@dataclass
class _Output:
    """The joined file being written: its streams, and how far each has got."""

    container: OutputContainer
    budget: Budget
    video: VideoStream
    sound: AudioStream | None
    last_pts: int | None = None  # of the video, in VIDEO_TIME_BASE
    samples: int = 0  # of sound written

    def picture(self, frame: VideoFrame, at: Fraction) -> None:
        """`frame` shown `at` seconds into the join, at the output's size."""
        pts = round(at / VIDEO_TIME_BASE)
        if self.last_pts is not None and pts <= self.last_pts:
            return  # two frames on one tick of the output: the first one stays
        self.last_pts = pts
        # The same frame back when it already has the size and format (no copy).
        picture = frame.reformat(self.video.width, self.video.height, format="yuv420p")
        picture.pts, picture.time_base = pts, VIDEO_TIME_BASE
        self.budget.mux(self.container, self.video.encode(picture))

    def sound_frames(self, frames: list[AudioFrame]) -> None:
        """Frames already in the output's format, put right after the sound before them."""
        assert self.sound is not None
        for frame in frames:
            frame.pts, frame.time_base = self.samples, Fraction(1, self.sound.rate)
            self.samples += frame.samples
            self.budget.mux(self.container, self.sound.encode(frame))

    def silence_until(self, seconds: Fraction) -> None:
        if self.sound is None:
            return
        missing = round(seconds * self.sound.rate) - self.samples
        while missing > 0:
            frame = _silence(self.sound, min(SILENCE_FRAME, missing))
            missing -= frame.samples
            self.sound_frames([frame])

    def close(self) -> None:
        self.budget.mux(self.container, self.video.encode(None))
        if self.sound is not None:
            self.budget.mux(self.container, self.sound.encode(None))


def reencode(
    clips: Sequence[Path], formats: Sequence[ClipFormat], out: Path, max_bytes: int
) -> float:
    """`clips` (of `formats`) decoded one at a time and encoded into one MP4 at `out`; its
    duration in seconds."""
    first = formats[0].video
    sound = next((f.audio for f in formats if f.audio), None)
    offset = Fraction(0)
    with writing(out) as container:
        size = even(first.width), even(first.height)
        video = h264_stream(container, size, first.rate, crf=CRF)
        output = _Output(container, Budget(max_bytes), video, _sound(container, sound))
        for clip in clips:
            output.silence_until(offset)
            offset += _clip(clip, output, offset)
        output.silence_until(offset)
        output.close()
    return float(offset)


def _sound(container: OutputContainer, audio: AudioFormat | None) -> AudioStream | None:
    if audio is None:
        return None
    # AAC takes mono and stereo; anything wider is mixed down to stereo.
    layout = audio.layout if audio.layout in ("mono", "stereo") else "stereo"
    return aac_stream(container, audio.rate, layout)


def _clip(clip: Path, output: _Output, offset: Fraction) -> Fraction:
    """Decode `clip` into `output`, its first picture at `offset` seconds; its length."""
    # Decoding needs no probing: each frame says its own pixel format.
    with reading(clip, probe=False) as container:
        video = video_stream(container)
        video.thread_type = "AUTO"
        audio = audio_stream(container) if output.sound else None
        resampler = _resampler(output.sound) if audio else None
        frame_time = 1 / (video.average_rate or DEFAULT_RATE)
        length = Fraction(0)
        for at, frame in timed_frames(container, video, audio):
            if isinstance(frame, VideoFrame):
                output.picture(frame, offset + at)
                length = max(length, at + frame_time)
            elif resampler is not None:
                output.sound_frames(resampler.resample(frame))
        if resampler is not None:
            output.sound_frames(resampler.resample(None))
    return length


def _resampler(sound: AudioStream | None) -> av.AudioResampler:
    assert sound is not None
    return av.AudioResampler(format="fltp", layout=sound.layout, rate=sound.rate)


def _silence(sound: AudioStream, samples: int) -> AudioFrame:
    frame = AudioFrame(format="fltp", layout=sound.layout, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = sound.rate
    return frame
