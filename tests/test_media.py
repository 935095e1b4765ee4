"""bot.media on real files: H.264+AAC clips and Opus voice notes made by tests/fakes/clips.py."""

from __future__ import annotations

import array
import io
import itertools
import struct
from pathlib import Path

import av
import pytest
from PIL import Image, ImageStat

from bot.domain.soundtrack import sniffed_format
from bot.images import MIN_SIDE, TARGET_LONG_SIDE, prepare_image
from bot.media import (
    MAX_CLIPS,
    MAX_NOTE_SECONDS,
    JoinTooLargeError,
    MediaError,
    VoiceTooLongError,
    join_clips,
    last_frame,
    video_note,
    voice_to_wav,
)
from tests.fakes.clips import clip_bytes, make_clip, make_voice, probe

RED = (220, 30, 40)
GREEN = (30, 200, 60)


def clip(
    folder: Path,
    name: str,
    *,
    width: int,
    height: int,
    seconds: float,
    fps: int = 12,
    audio: bool = True,
    last_colour: tuple[int, int, int] | None = None,
) -> Path:
    """`make_clip`'s clip written to `folder`, made once for the whole run (`clip_bytes`)."""
    path = folder / name
    path.write_bytes(clip_bytes(width, height, seconds, fps, audio, last_colour))
    return path


def mean_colour(jpeg: bytes) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(Image.open(io.BytesIO(jpeg))).mean)


def close_to(
    colour: tuple[float, ...], expected: tuple[int, int, int], within: float = 12
) -> bool:
    return all(abs(a - b) <= within for a, b in zip(colour, expected, strict=True))


def pictures_in_order(path: Path) -> bool:
    """Every frame decodes, each shown after the one before."""
    with av.open(str(path)) as container:
        times = [frame.pts for frame in container.decode(video=0)]
    return all(a is not None and b is not None and b > a for a, b in itertools.pairwise(times))


def loudness(path: Path) -> list[float]:
    """The loudest sample of each tenth of a second of the file's (mono) sound."""
    samples = array.array("f")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples.frombytes(bytes(frame.planes[0])[: frame.samples * samples.itemsize])
    tenth = 4_800
    return [max(map(abs, samples[i : i + tenth])) for i in range(0, len(samples), tenth)]


# last_frame


def test_the_last_frame_is_the_last_one_not_an_earlier_keyframe(tmp_path: Path) -> None:
    # 5 s at 12 fps with a keyframe every 2 s: the last frame is 11 frames after the last one.
    video = clip(tmp_path, "a.mp4", width=480, height=270, seconds=5, last_colour=RED)
    prepared = last_frame(video)
    assert (prepared.width, prepared.height) == (480, 270)
    assert close_to(mean_colour(prepared.jpeg), RED)
    plain = clip(tmp_path, "b.mp4", width=480, height=270, seconds=5)
    assert not close_to(mean_colour(last_frame(plain).jpeg), RED, within=60)


def test_a_tag_in_a_broken_encoding_does_not_fail_the_file(tmp_path: Path) -> None:
    """Phones and editors write tags in any encoding; the encoder's name made invalid UTF-8."""
    data = clip_bytes(320, 240, 1, 12, True, RED)
    assert data.count(b"Lavf") == 1
    video = tmp_path / "tagged.mp4"
    video.write_bytes(data.replace(b"Lavf", b"\xff\xfe\xfd\xfc"))
    assert close_to(mean_colour(last_frame(video).jpeg), RED)
    joined = join_clips([video, video], tmp_path / "joined.mp4", max_bytes=10_000_000)
    assert joined.seconds > 1.5 and not joined.reencoded


def test_a_tiny_frame_is_enlarged_to_what_the_api_takes(tmp_path: Path) -> None:
    video = clip(tmp_path, "tiny.mp4", width=160, height=90, seconds=1, last_colour=GREEN)
    prepared = last_frame(video)
    assert min(prepared.width, prepared.height) >= MIN_SIDE
    assert prepared.width > prepared.height  # still landscape
    assert abs(prepared.width / prepared.height - 16 / 9) < 0.01
    again = prepare_image(prepared.jpeg)  # the photo rules pass it as it is
    assert (again.width, again.height) == (prepared.width, prepared.height)
    assert close_to(mean_colour(prepared.jpeg), GREEN)


def test_a_frame_recorded_sideways_is_turned_upright(tmp_path: Path) -> None:
    # Green on the left as stored; the header turns it a quarter counterclockwise: green below.
    picture = Image.new("RGB", (320, 240), RED)
    picture.paste(GREEN, (0, 0, 160, 240))
    video = make_clip(
        tmp_path / "a.mp4", width=320, height=240, seconds=1, last_picture=picture, rotation=90
    )
    prepared = last_frame(video)
    assert (prepared.width, prepared.height) == (240, 320)
    image = Image.open(io.BytesIO(prepared.jpeg))
    below, above = image.getpixel((120, 300)), image.getpixel((120, 20))
    assert isinstance(below, tuple) and isinstance(above, tuple)
    assert close_to(below, GREEN) and close_to(above, RED)


def test_a_large_frame_is_fitted_like_a_photo(tmp_path: Path) -> None:
    video = clip(tmp_path, "big.mp4", width=2880, height=1620, seconds=0.25, fps=4, audio=False)
    prepared = last_frame(video)
    assert (prepared.width, prepared.height) == (TARGET_LONG_SIDE, 1440)
    narrow = clip(tmp_path, "narrow.mp4", width=3000, height=256, seconds=0.25, fps=4)
    prepared = last_frame(narrow)  # fitted no further than the short side's minimum
    assert (prepared.width, prepared.height) == (2812, MIN_SIDE)


def test_the_last_frame_of_a_stream_without_an_index(tmp_path: Path) -> None:
    """A raw H.264 stream cannot be seeked: it is decoded from its start."""
    source = clip(tmp_path, "a.mp4", width=320, height=240, seconds=3, last_colour=RED)
    raw = tmp_path / "a.h264"
    with av.open(str(source)) as container, av.open(str(raw), "w", format="h264") as output:
        stream = output.add_stream_from_template(container.streams.video[0])
        for packet in container.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                output.mux(packet)
    assert close_to(mean_colour(last_frame(raw).jpeg), RED)


@pytest.mark.parametrize(
    "content", [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypmp42"]
)
def test_garbage_is_a_media_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError):
        last_frame(path)


def test_sound_alone_has_no_frame(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no video stream"):
        last_frame(make_voice(tmp_path / "v.ogg", seconds=1))


# join_clips


def test_clips_of_one_format_are_copied_not_encoded(tmp_path: Path) -> None:
    clips = [
        clip(tmp_path, f"{n}.mp4", width=480, height=270, seconds=2, last_colour=colour)
        for n, colour in enumerate([RED, GREEN, RED])
    ]
    joined = join_clips(clips, tmp_path / "joined.mp4", max_bytes=10_000_000)
    assert joined.reencoded is False
    assert joined.path == tmp_path / "joined.mp4" and joined.size == joined.path.stat().st_size
    assert joined.size > max(c.stat().st_size for c in clips)
    assert joined.seconds == pytest.approx(6.0, abs=0.05)
    found = probe(joined.path)
    assert (found.width, found.height, found.video_codec, found.audio_codec) == (
        480,
        270,
        "h264",
        "aac",
    )
    assert found.seconds == pytest.approx(6.0, abs=0.1)
    assert found.frames == sum(probe(c).frames for c in clips) == 72
    assert pictures_in_order(joined.path)
    assert close_to(mean_colour(last_frame(joined.path).jpeg), RED)


def test_the_index_comes_first(tmp_path: Path) -> None:
    clips = [clip(tmp_path, f"{n}.mp4", width=320, height=240, seconds=1) for n in range(2)]
    joined = join_clips(clips, tmp_path / "joined.mp4", max_bytes=10_000_000)
    head = joined.path.read_bytes()[:64]
    assert head.index(b"moov") < len(head)  # before any media data: playable while loading


def test_clips_of_other_sizes_are_encoded_at_the_first_ones_size(tmp_path: Path) -> None:
    clips = [
        clip(tmp_path, "a.mp4", width=480, height=270, seconds=2),
        clip(tmp_path, "b.mp4", width=320, height=240, seconds=1, audio=False),
        clip(tmp_path, "c.mp4", width=640, height=360, seconds=1.5, fps=24, last_colour=GREEN),
    ]
    joined = join_clips(clips, tmp_path / "joined.mp4", max_bytes=10_000_000)
    assert joined.reencoded is True
    found = probe(joined.path)
    assert (found.width, found.height, found.video_codec, found.audio_codec) == (
        480,
        270,
        "h264",
        "aac",
    )
    assert found.frames == 24 + 12 + 36
    assert joined.seconds == pytest.approx(4.5, abs=0.1)
    assert found.seconds == pytest.approx(4.5, abs=0.15)
    assert pictures_in_order(joined.path)
    sound = loudness(joined.path)  # silence where the clip without sound is, not after
    assert len(sound) == pytest.approx(4.5 * 10, abs=1)
    assert min(sound[1:19]) > 0.2 and max(sound[21:29]) < 0.01 and min(sound[31:44]) > 0.2
    assert close_to(mean_colour(last_frame(joined.path).jpeg), GREEN)


@pytest.mark.parametrize("other", [(480, 270), (320, 240)], ids=["copied", "re-encoded"])
def test_past_the_limit_nothing_is_left(tmp_path: Path, other: tuple[int, int]) -> None:
    clips = [
        clip(tmp_path, "a.mp4", width=480, height=270, seconds=2),
        clip(tmp_path, "b.mp4", width=other[0], height=other[1], seconds=2),
    ]
    out = tmp_path / "joined.mp4"
    limit = sum(c.stat().st_size for c in clips) // 2
    with pytest.raises(JoinTooLargeError) as caught:
        join_clips(clips, out, max_bytes=limit)
    assert caught.value.limit == limit
    assert not out.exists()


def test_the_limit_counts_the_whole_file(tmp_path: Path) -> None:
    clips = [clip(tmp_path, f"{n}.mp4", width=320, height=240, seconds=1) for n in range(2)]
    size = join_clips(clips, tmp_path / "first.mp4", max_bytes=10_000_000).size
    with pytest.raises(JoinTooLargeError):
        join_clips(clips, tmp_path / "second.mp4", max_bytes=size - 1)
    assert not (tmp_path / "second.mp4").exists()
    assert join_clips(clips, tmp_path / "third.mp4", max_bytes=size).size == size


def test_an_unreadable_clip_is_a_media_error(tmp_path: Path) -> None:
    good = clip(tmp_path, "a.mp4", width=320, height=240, seconds=1)
    bad = tmp_path / "b.mp4"
    bad.write_bytes(b"\x00" * 5000)
    with pytest.raises(MediaError):
        join_clips([good, bad], tmp_path / "joined.mp4", max_bytes=10_000_000)
    assert not (tmp_path / "joined.mp4").exists()


def test_one_to_ten_clips(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        join_clips([], tmp_path / "joined.mp4", max_bytes=10_000_000)
    one = clip(tmp_path, "a.mp4", width=320, height=240, seconds=1)
    with pytest.raises(ValueError):
        join_clips([one] * (MAX_CLIPS + 1), tmp_path / "joined.mp4", max_bytes=10_000_000)
    assert join_clips([one], tmp_path / "joined.mp4", max_bytes=10_000_000).reencoded is False


# voice_to_wav


def test_a_voice_note_becomes_a_wav_soundtrack(tmp_path: Path) -> None:
    voice = make_voice(tmp_path / "voice.ogg", seconds=5)
    out = tmp_path / "voice.wav"
    seconds = voice_to_wav(voice, out)
    assert seconds == pytest.approx(5.0, abs=0.1)
    head = out.read_bytes()[:12]
    assert head[:4] == b"RIFF" and sniffed_format(head) == ".wav"
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == (
            "pcm_s16le",
            48_000,
            1,
        )
    assert out.stat().st_size == pytest.approx(44 + seconds * 48_000 * 2, abs=100)


def test_a_long_voice_note_is_refused_without_decoding_it_all(tmp_path: Path) -> None:
    voice = make_voice(tmp_path / "voice.ogg", seconds=40)
    out = tmp_path / "voice.wav"
    with pytest.raises(VoiceTooLongError) as caught:
        voice_to_wav(voice, out, max_seconds=30)
    assert 31 < caught.value.seconds < 32
    assert isinstance(caught.value, MediaError)
    assert not out.exists()


def test_a_voice_at_a_huge_sample_rate_makes_a_wav_of_48_khz(tmp_path: Path) -> None:
    """A "voice note" a userbot built as stereo FLAC at 192 kHz (the most real audio has):
    kept at 192 kHz, 30 s of it would be a 23 MB WAV (the service takes 15 MB); at 48 kHz
    it is under 6 MB."""
    voice = tmp_path / "voice.oga"
    rate, seconds = 192_000, 30
    with av.open(str(voice), "w", format="ogg") as output:
        sound = output.add_stream("flac", rate=rate, layout="stereo")
        silence = av.AudioFrame(format="s16", layout="stereo", samples=rate // 10)
        for plane in silence.planes:
            plane.update(bytes(plane.buffer_size))
        silence.rate = rate
        for n in range(seconds * 10):
            silence.pts = n * (rate // 10)
            output.mux(sound.encode(silence))
        output.mux(sound.encode(None))
    out = tmp_path / "voice.wav"
    assert voice_to_wav(voice, out) == pytest.approx(seconds, abs=0.1)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].rate == 48_000
    assert out.stat().st_size < 6 * 1024 * 1024


def test_a_voice_claiming_an_absurd_sample_rate_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    """Decoding is bounded by seconds counted at the claimed rate: a file claiming 2 GHz
    made of tiny packets kept the video slot busy for minutes (the attacker's review)."""
    voice = tmp_path / "voice.ogg"
    with av.open(str(voice), "w", format="ogg") as output:
        # FFmpeg's own Vorbis encoder: stereo only, and "experimental"
        sound = output.add_stream("vorbis", rate=48_000, layout="stereo")
        sound.codec_context.options = {"strict": "experimental"}
        silence = av.AudioFrame(format="fltp", layout="stereo", samples=4800)
        for plane in silence.planes:
            plane.update(bytes(plane.buffer_size))
        silence.sample_rate = 48_000
        for n in range(5):
            silence.pts = n * 4800
            output.mux(sound.encode(silence))
        output.mux(sound.encode(None))
    data = bytearray(voice.read_bytes())
    ident = data.index(b"\x01vorbis")  # the identification header, in the first page
    data[ident + 12 : ident + 16] = struct.pack("<I", 2_000_000_000)
    _fix_page_crc(data, 0)
    voice.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="not a voice"):
        voice_to_wav(voice, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def _fix_page_crc(data: bytearray, start: int) -> None:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, no reflection) after an edit."""
    segments = data[start + 26]
    size = 27 + segments + sum(data[start + 27 : start + 27 + segments])
    data[start + 22 : start + 26] = bytes(4)
    crc = 0
    for byte in data[start : start + size]:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
    data[start + 22 : start + 26] = struct.pack("<I", crc & 0xFFFFFFFF)


def test_the_sound_of_a_video_is_a_voice_too(tmp_path: Path) -> None:
    video = clip(tmp_path, "a.mp4", width=320, height=240, seconds=3)
    assert voice_to_wav(video, tmp_path / "a.wav") == pytest.approx(3.0, abs=0.1)


def test_no_sound_is_a_media_error(tmp_path: Path) -> None:
    silent = clip(tmp_path, "a.mp4", width=320, height=240, seconds=1, audio=False)
    garbage = tmp_path / "b.ogg"
    garbage.write_bytes(b"OggS" + bytes(200))
    for source in (silent, garbage):
        with pytest.raises(MediaError):
            voice_to_wav(source, tmp_path / "out.wav")
        assert not (tmp_path / "out.wav").exists()


# video_note


def test_a_landscape_clip_becomes_its_centre_square(tmp_path: Path) -> None:
    # Red bands left and right, green in the centre square: the note is green only.
    picture = Image.new("RGB", (480, 270), RED)
    picture.paste(GREEN, (105, 0, 375, 270))
    video = make_clip(tmp_path / "a.mp4", width=480, height=270, seconds=2, last_picture=picture)
    note = video_note(video, tmp_path / "note.mp4")
    assert (note.path, note.side, note.seconds) == (tmp_path / "note.mp4", 270, 2)
    found = probe(note.path)
    assert (found.width, found.height, found.video_codec, found.audio_codec) == (
        270,
        270,
        "h264",
        "aac",
    )
    assert found.seconds == pytest.approx(2.0, abs=0.1)
    assert found.frames == 24
    assert len(loudness(note.path)) == pytest.approx(20, abs=1)  # the sound kept, in step
    assert close_to(mean_colour(last_frame(note.path).jpeg), GREEN, within=20)


def test_a_full_hd_clip_becomes_a_note_of_640(tmp_path: Path) -> None:
    video = clip(tmp_path, "a.mp4", width=1920, height=1080, seconds=0.5, audio=False)
    note = video_note(video, tmp_path / "note.mp4")
    found = probe(note.path)
    assert note.side == found.width == found.height == 640
    assert found.audio_codec is None


def test_a_note_is_cut_at_a_minute(tmp_path: Path) -> None:
    video = clip(tmp_path, "a.mp4", width=160, height=90, seconds=63, fps=2, audio=False)
    note = video_note(video, tmp_path / "note.mp4", max_side=64)
    found = probe(note.path)
    assert note.seconds == MAX_NOTE_SECONDS
    assert found.frames == MAX_NOTE_SECONDS * 2
    assert note.side == found.width == 64


def test_a_note_of_garbage_is_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "a.mp4"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(MediaError):
        video_note(bad, tmp_path / "note.mp4")
    assert not (tmp_path / "note.mp4").exists()
