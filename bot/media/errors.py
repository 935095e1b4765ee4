"""What goes wrong with a media file: one family, so a caller catches `MediaError` once."""

from __future__ import annotations


class MediaError(Exception):
    """A file FFmpeg cannot read as the media expected: not a video, no video stream, no frame,
    a damaged stream."""


class JoinTooLargeError(MediaError):
    """The joined video would be larger than `limit` bytes; nothing is left behind."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the joined video would be larger than {limit} bytes")
        self.limit = limit


class VoiceTooLongError(MediaError):
    """A voice note longer than allowed; `seconds` is what was decoded before stopping."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the voice note lasts more than {seconds:.1f} s")
        self.seconds = seconds
