"""Opening media files with FFmpeg (PyAV), its failures turned into `MediaError`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Protocol, cast

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.error import FFmpegError
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from bot.media.errors import MediaError

# A tag in a broken encoding must not fail the file (metadata is never used). PyAV 18 raises
# unless told to replace; 19 escapes such bytes itself and no longer takes the argument, which
# its types then lack (hence the cast).
_TOLERANT = {"metadata_errors": "replace"} if av.__version__ < "19" else {}
_open = cast(Callable[..., InputContainer], av.open)


class Rational(Protocol):
    @property
    def numerator(self) -> int: ...
    @property
    def denominator(self) -> int: ...


def fraction(value: Rational) -> Fraction:
    """PyAV 19 gives its own rational type where 18 gave `Fraction`: ours are Fractions."""
    return Fraction(value.numerator, value.denominator)


@contextlib.contextmanager
def reading(path: Path, *, probe: bool = True) -> Iterator[InputContainer]:
    """`path` opened for reading. A damaged packet fails in the middle of decoding, not at
    opening, so errors raised inside the `with` block are turned into MediaError too.

    `probe=False` takes the codecs' parameters from the header alone: FFmpeg otherwise decodes
    the first frames to learn what an MP4's header already says (90 ms for a 1080p H.264 clip
    with B-frames, nearly half of `last_frame`), but the pixel format then stays unknown until
    a frame is decoded."""
    options = {} if probe else {"skip_frame": "all"}  # for the probing decoder only
    try:
        with _open(str(path), "r", options=options, **_TOLERANT) as container:
            yield container
    except FFmpegError as exc:
        raise MediaError(f"{path.name}: {exc}") from exc


def video_stream(container: InputContainer) -> VideoStream:
    if not container.streams.video:
        raise MediaError("no video stream")
    return container.streams.video[0]


def audio_stream(container: InputContainer) -> AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def timed_frames(
    container: InputContainer, video: VideoStream, audio: AudioStream | None
) -> Iterator[tuple[Fraction, VideoFrame | AudioFrame]]:
    """The frames of `video` and `audio`, decoded one at a time in the file's order, each with
    its time in seconds from the video's first picture (frames without a time are dropped)."""
    origin = (video.start_time or 0) * (video.time_base or 1)
    for frame in container.decode(*(s for s in (video, audio) if s)):
        if not isinstance(frame, VideoFrame | AudioFrame):
            continue
        if frame.pts is not None and frame.time_base is not None:
            yield frame.pts * frame.time_base - origin, frame
