"""A tiny but well-formed MP4 header (ftyp + moov/mvhd + trak/tkhd) for tests."""

from __future__ import annotations

import struct


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def make_mp4(
    width: int = 1280, height: int = 720, seconds: int = 5, padding: int = 0, tag: bytes = b""
) -> bytes:
    """`tag` goes into the media data, so each fake task's video is distinguishable."""
    timescale = 1000
    mvhd = _box(
        b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, timescale, seconds * timescale) + bytes(80)
    )
    tkhd = _box(
        b"tkhd",
        bytes([0, 0, 0, 3])
        + struct.pack(">IIIII", 0, 0, 1, 0, seconds * timescale)
        + bytes(8)
        + bytes(8)
        + bytes(36)
        + struct.pack(">II", width << 16, height << 16),
    )
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mdat = _box(b"mdat", tag + bytes(padding))
    return ftyp + moov + mdat
