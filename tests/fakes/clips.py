"""Real media for tests: H.264+AAC clips, Opus voice notes, and a probe to check what came out.

Made with PyAV (the bot's own FFmpeg), so a test of `bot.media` reads the kind of file the
image-to-video API and Telegram send, not a header-only stand-in like `tests/fakes/mp4.py`.
"""

from __future__ import annotations

import functools
import math
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream
from PIL import Image

SAMPLE_RATE = 48_000
AAC_FRAME = 1024
OPUS_FRAME = 960  # 20 ms at 48 kHz, what Telegram's clients record
# A whole number of periods per second: one second of it, made once, is sliced for any length.
TONE_HZ = 480


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    seconds: float
    video_codec: str | None
    audio_codec: str | None
    frames: int


def make_clip(
    path: Path,
    *,
    width: int,
    height: int,
    seconds: float,
    fps: int = 12,
    audio: bool = True,
    last_colour: tuple[int, int, int] | None = None,
    last_picture: Image.Image | None = None,
    preset: str = "ultrafast",
    keyint_seconds: float = 2.0,
    detail: bool = False,
    rotation: int = 0,
) -> Path:
    """An H.264 (yuv420p) + AAC MP4 of a gradient sliding sideways, so every frame differs;
    its last frame flat `last_colour` (or `last_picture`) when given. `detail` adds noise, for
    a bitrate like a real video's (benchmarks); `keyint_seconds` apart are its keyframes.
    `rotation` (degrees counterclockwise) goes in the header, as phones record portrait."""
    count = max(1, round(seconds * fps))
    with av.open(str(path), "w", format="mp4") as output:
        video = output.add_stream("libx264", rate=fps, options={"preset": preset})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.gop_size = max(1, round(keyint_seconds * fps))
        if rotation:
            video.set_display_rotation(rotation)
        sound = output.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio else None
        tones = _tone_frames(sound, count / fps) if sound else iter(())
        samples_muxed = 0
        for index, picture in enumerate(_pictures(width, height, count, detail)):
            if index == count - 1 and last_colour is not None:
                picture = Image.new("RGB", (width, height), last_colour)
            if index == count - 1 and last_picture is not None:
                picture = last_picture
            frame = av.VideoFrame.from_image(picture)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            output.mux(video.encode(frame))
            # Audio up to this frame's time: the file comes out interleaved, as real ones are.
            while sound and samples_muxed < (index + 1) * SAMPLE_RATE / fps:
                tone = next(tones, None)
                if tone is None:
                    break
                samples_muxed += tone.samples
                output.mux(sound.encode(tone))
        _flush(output, video, sound, tones)
    return path


def _flush(
    output: OutputContainer,
    video: VideoStream,
    sound: AudioStream | None,
    tones: Iterator[av.AudioFrame],
) -> None:
    output.mux(video.encode(None))
    if sound:
        for tone in tones:
            output.mux(sound.encode(tone))
        output.mux(sound.encode(None))


def _pictures(width: int, height: int, count: int, detail: bool) -> Iterator[Image.Image]:
    """A picture twice as wide as the frame, seen through a window sliding across it."""
    ramp = Image.linear_gradient("L").rotate(90, expand=True).resize((width * 2, height))
    colour = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp))
    if detail:
        noise = Image.effect_noise((width * 2, height), 60).convert("RGB")
        colour = Image.blend(colour, noise, 0.35)
    for index in range(count):
        left = index * width // max(1, count - 1)
        yield colour.crop((left, 0, left + width, height))


def _tone_frames(sound: AudioStream, seconds: float, channels: int = 1) -> Iterator[av.AudioFrame]:
    """A sine tone, `seconds` long, in frames of the encoder's size (float planar)."""
    total = round(seconds * sound.rate)
    size = sound.codec_context.frame_size or AAC_FRAME
    yield from _sine(total, size, sound.rate, channels)


def _sine(total: int, size: int, rate: int, channels: int) -> Iterator[av.AudioFrame]:
    second = _one_second(rate)
    sample = struct.calcsize("<f")
    for start in range(0, total, size):
        samples = min(size, total - start)
        offset = start % rate
        wave = second[offset * sample : (offset + samples) * sample]
        frame = av.AudioFrame(
            format="fltp", layout="mono" if channels == 1 else "stereo", samples=samples
        )
        for plane in frame.planes:
            plane.update(wave + bytes(plane.buffer_size - len(wave)))
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


@functools.cache
def _one_second(rate: int) -> bytes:
    """One second of the tone as little-endian floats, twice: a frame starting anywhere in the
    first second is a slice of it."""
    wave = (0.3 * math.sin(2 * math.pi * TONE_HZ * i / rate) for i in range(rate))
    return struct.pack(f"<{rate}f", *wave) * 2


@functools.lru_cache(maxsize=32)
def clip_bytes(
    width: int,
    height: int,
    seconds: float,
    fps: int = 12,
    audio: bool = True,
    last_colour: tuple[int, int, int] | None = None,
) -> bytes:
    """`make_clip`'s file as bytes, made once per set of arguments."""
    with tempfile.TemporaryDirectory(prefix="clip-") as folder:
        path = Path(folder) / "clip.mp4"
        make_clip(
            path,
            width=width,
            height=height,
            seconds=seconds,
            fps=fps,
            audio=audio,
            last_colour=last_colour,
        )
        return path.read_bytes()


def make_voice(path: Path, *, seconds: float) -> Path:
    """An OGG/Opus voice note as Telegram's clients record it: mono, 48 kHz, a sine tone."""
    with av.open(str(path), "w", format="ogg") as output:
        sound = output.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        for frame in _sine(round(seconds * SAMPLE_RATE), OPUS_FRAME, SAMPLE_RATE, 1):
            output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return path


def probe(source: Path | bytes) -> Probe:
    """What a media file holds, every video frame decoded and counted."""
    if isinstance(source, bytes):
        with tempfile.NamedTemporaryFile(suffix=".media") as file:
            file.write(source)
            file.flush()
            return probe(Path(file.name))
    with av.open(str(source)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        seconds = (container.duration or 0) / av.time_base
        frames = sum(1 for _ in container.decode(video)) if video else 0
        return Probe(
            width=video.width if video else 0,
            height=video.height if video else 0,
            seconds=seconds,
            video_codec=video.codec_context.name if video else None,
            audio_codec=audio.codec_context.name if audio else None,
            frames=frames,
        )
