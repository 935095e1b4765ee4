"""Clips of one format joined without decoding: their packets copied one after another, each
clip's timestamps moved past the end of the clips before it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from bot.media.reading import audio_stream, fraction, reading, video_stream
from bot.media.writing import Budget, writing


@dataclass
class _Track:
    """One stream of the output, and where the clip being copied into it has got to."""

    out: Stream
    last_dts: int | None = None  # in the output, in ticks of the clips' time base
    shift: int = 0  # the clip's move, in ticks
    end: int | None = None  # the clip's latest end of a packet, in its own ticks

    def start_clip(self, shift: int) -> None:
        self.shift, self.end = shift, None

    def place(self, packet: Packet) -> bool:
        """Move `packet` into the output's time; False when it would go back in time."""
        dts, pts = packet.dts, packet.pts
        assert dts is not None  # the caller skips the empty packets that end a stream
        if pts is not None:
            self.end = max(self.end or 0, pts + (packet.duration or 0))
        dts += self.shift
        if self.last_dts is not None and dts <= self.last_dts:
            if self.out.type == "audio":
                # The encoder priming that starts a clip's sound overlaps the end of the
                # previous clip's: an audio packet stands alone, dropping it costs 21 ms.
                return False
            dts = self.last_dts + 1
        packet.dts = self.last_dts = dts
        packet.pts = dts if pts is None else max(pts + self.shift, dts)
        packet.stream = self.out
        return True


def remux(clips: Sequence[Path], out: Path, max_bytes: int) -> float:
    """`clips`, all of the same format and time bases (the caller checks), copied into one MP4
    at `out`; its duration in seconds. One clip is open at a time."""
    budget = Budget(max_bytes)
    offset = Fraction(0)
    with writing(out) as output:
        tracks: dict[str, _Track] = {}
        for clip in clips:
            with reading(clip, probe=False) as container:
                tracks = tracks or _tracks(output, container)
                offset += _copy(container, output, tracks, offset, budget)
    return float(offset)


def _tracks(output: OutputContainer, container: InputContainer) -> dict[str, _Track]:
    streams = [video_stream(container), audio_stream(container)]
    return {s.type: _Track(output.add_stream_from_template(s)) for s in streams if s}


def _copy(
    container: InputContainer,
    output: OutputContainer,
    tracks: dict[str, _Track],
    offset: Fraction,
    budget: Budget,
) -> Fraction:
    """Copy one clip, its first picture at `offset` seconds; its length in seconds: its
    video's, so a sound track a little longer does not push every next clip later."""
    video = video_stream(container)
    streams = [s for s in (video, audio_stream(container)) if s]
    start = _start(video)
    for stream in streams:
        tracks[stream.type].start_clip(round((offset - start) / _time_base(stream)))
    for packet in container.demux(*streams):
        if packet.dts is not None and tracks[packet.stream.type].place(packet):
            budget.mux(output, packet)
    return _end(video, tracks["video"].end) - start


def _start(video: VideoStream) -> Fraction:
    return (video.start_time or 0) * _time_base(video)


def _end(video: VideoStream, end: int | None) -> Fraction:
    """The end of the clip's last picture in seconds; the header's when no packet had a time."""
    if end is None:
        end = (video.start_time or 0) + (video.duration or 0)
    return end * _time_base(video)


def _time_base(stream: Stream) -> Fraction:
    assert stream.time_base is not None  # a demuxed stream always has one
    return fraction(stream.time_base)
