"""Read width, height and duration from an MP4 header, so Telegram shows the video right."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


@dataclass(frozen=True)
class VideoMeta:
    width: int | None = None
    height: int | None = None
    duration: int | None = None


def read_video_meta(path: Path) -> VideoMeta:
    """Best effort: an unreadable file gives an empty VideoMeta, never an exception."""
    try:
        with path.open("rb") as source:
            size = path.stat().st_size
            return _scan(source, 0, size, VideoMeta())
    except (OSError, struct.error, ValueError):
        return VideoMeta()


def _scan(source: BinaryIO, start: int, end: int, meta: VideoMeta) -> VideoMeta:
    offset = start
    while offset + 8 <= end:
        source.seek(offset)
        box_size, box_type = struct.unpack(">I4s", source.read(8))
        header = 8
        if box_size == 1:
            box_size = struct.unpack(">Q", source.read(8))[0]
            header = 16
        elif box_size == 0:
            box_size = end - offset
        if box_size < header:
            break
        body = offset + header
        if box_type in _CONTAINERS:
            meta = _scan(source, body, offset + box_size, meta)
        elif box_type == b"mvhd":
            meta = _with_duration(source, meta)
        elif box_type == b"tkhd":
            meta = _with_dimensions(source, meta)
        offset += box_size
    return meta


def _with_duration(source: BinaryIO, meta: VideoMeta) -> VideoMeta:
    version = source.read(4)[0]
    if version == 1:
        _, _, timescale, duration = struct.unpack(">QQIQ", source.read(28))
    else:
        _, _, timescale, duration = struct.unpack(">IIII", source.read(16))
    if timescale:
        seconds = round(duration / timescale)
        return VideoMeta(meta.width, meta.height, seconds)
    return meta


def _with_dimensions(source: BinaryIO, meta: VideoMeta) -> VideoMeta:
    version = source.read(4)[0]
    # creation/modification/track id/reserved/duration, reserved, layer..matrix
    source.seek((32 if version == 1 else 20) + 8 + 8 + 36, 1)
    width, height = struct.unpack(">II", source.read(8))
    width, height = width >> 16, height >> 16
    if width and height and meta.width is None:  # the first track with a size is the video
        return VideoMeta(width, height, meta.duration)
    return meta
