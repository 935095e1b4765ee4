"""The last frame of a video as an API-ready photo: what the next clip of a story starts from."""

from __future__ import annotations

from pathlib import Path

from av.container import InputContainer
from av.error import FFmpegError
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from bot.images import (
    MAX_ENCODED_BYTES,
    MAX_SIDE,
    MIN_SIDE,
    TARGET_LONG_SIDE,
    ImageError,
    PreparedImage,
    _encode_within,
    _fit_long_side,
)
from bot.media.errors import MediaError
from bot.media.reading import reading, video_stream

# The display matrix's rotation (degrees counterclockwise) → the transposition showing it so.
UPRIGHT = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    -180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
    -90: Image.Transpose.ROTATE_270,
}


def last_frame(video: Path) -> PreparedImage:
    """The video's last frame as shown, in RGB, within the API's sides (a small frame is
    enlarged, a large one fitted to TARGET_LONG_SIDE) and encoded as photos are."""
    with reading(video, probe=False) as container:
        frame = _last_decoded(container, video_stream(container))
        image: Image.Image = frame.to_image()
        upright = UPRIGHT.get(frame.rotation)
    if upright is not None:
        image = image.transpose(upright)
    image = _fit_long_side(_enlarged(image), TARGET_LONG_SIDE)
    try:
        return _encode_within(image, MAX_ENCODED_BYTES)
    except ImageError as exc:
        raise MediaError(str(exc)) from exc


def _last_decoded(container: InputContainer, stream: VideoStream) -> VideoFrame:
    # Frames are decoded on every core: the keyframe's group is most of the time spent.
    stream.thread_type = "AUTO"
    frame = _last_after_seeking(container, stream) or _last_of(container, stream)
    if frame is None:
        raise MediaError("no video frame")
    return frame


def _last_after_seeking(container: InputContainer, stream: VideoStream) -> VideoFrame | None:
    """The last frame, decoded from the last keyframe on. None when that cannot be done (a
    file of unknown duration, or with no index) or finds nothing, the file then back at its
    start."""
    end = _end(container, stream)
    if end is None:
        return None
    try:
        container.seek(end[0], backward=True, stream=end[1])
    except FFmpegError:  # nothing was read: the file is still at its start
        return None
    frame = _last_of(container, stream)
    if frame is None:
        container.seek(0, backward=True)
    return frame


def _end(container: InputContainer, stream: VideoStream) -> tuple[int, VideoStream | None] | None:
    """Where the video ends, in its stream's time base; else (Matroska gives no duration for a
    stream) in the container's, AV_TIME_BASE: the stream to seek in is then None."""
    if stream.duration:
        return (stream.start_time or 0) + stream.duration, stream
    if container.duration:
        return (container.start_time or 0) + container.duration, None
    return None


def _last_of(container: InputContainer, stream: VideoStream) -> VideoFrame | None:
    """The frame shown last, of those decoded from where the file is to its end (the decoder
    gives them in the order shown, but a stream may lack the header that says how far)."""
    last = None
    for frame in container.decode(stream):
        if last is None or (frame.pts or 0) >= (last.pts or 0):
            last = frame
    return last


def _enlarged(image: Image.Image) -> Image.Image:
    """`image` grown, keeping its aspect, until its short side is MIN_SIDE (the API's
    minimum); one so long and narrow that its long side then passes MAX_SIDE cannot be sent."""
    width, height = image.size
    if min(width, height) >= MIN_SIDE:
        return image
    scale = MIN_SIDE / min(width, height)
    size = max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))
    if max(size) > MAX_SIDE:
        raise MediaError(f"a {width}x{height} frame cannot be brought within the API's sides")
    return image.resize(size, Image.Resampling.LANCZOS)
