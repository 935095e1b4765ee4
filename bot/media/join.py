"""Clips joined into one video: the parts of a story, sent as one file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.media.errors import JoinTooLargeError
from bot.media.formats import clip_format
from bot.media.reencode import reencode
from bot.media.remux import remux

MAX_CLIPS = 10


@dataclass(frozen=True)
class JoinedVideo:
    path: Path
    size: int
    seconds: float
    reencoded: bool


def join_clips(clips: Sequence[Path], out: Path, *, max_bytes: int) -> JoinedVideo:
    """One MP4 at `out` of `clips` in order: their packets copied when all share one format,
    else everything re-encoded (H.264 at the first clip's size, AAC). Larger than `max_bytes`:
    JoinTooLargeError, raised as soon as it is certain, and no file left. A clip that cannot
    be read: MediaError, before anything is written."""
    if not 1 <= len(clips) <= MAX_CLIPS:
        raise ValueError(f"{len(clips)} clips: between 1 and {MAX_CLIPS} can be joined")
    formats = [clip_format(clip) for clip in clips]
    copied = len(set(formats)) == 1
    seconds = remux(clips, out, max_bytes) if copied else reencode(clips, formats, out, max_bytes)
    size = out.stat().st_size
    if size > max_bytes:  # the index, written last, took it over the limit
        out.unlink()
        raise JoinTooLargeError(max_bytes)
    return JoinedVideo(out, size, seconds, reencoded=not copied)
