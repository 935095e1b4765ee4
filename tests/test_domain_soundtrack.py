"""Custom audio (bot/domain/soundtrack.py): what a file's first bytes say it is, the limits
at their edges, what a refusal tells the user, and the address it is served at."""

from __future__ import annotations

import struct

import pytest

from bot.domain.soundtrack import (
    MAX_AUDIO_BYTES,
    AudioFile,
    SoundtrackError,
    check_audio,
    check_downloaded,
    check_voice,
    served_url,
    sniffed_format,
)

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x21TIT2"
MPEG_FRAME = b"\xff\xfb\x90\x64" + bytes(8)  # MPEG-1 layer III, no tag
WAV = (
    b"RIFF"
    + struct.pack("<I", 36)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16)
    + b"data"
    + bytes(4)
)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (ID3, ".mp3"),
        (MPEG_FRAME, ".mp3"),
        (MPEG_FRAME[:2], ".mp3"),  # the frame sync alone
        (WAV, ".wav"),
        (WAV[:12], ".wav"),  # what the bot reads of a download
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),  # RIFF, but a video
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", None),  # a JPEG starts with 0xFF too
        (b"\xe0\xe9 text in Latin-1", None),  # a sync-like second byte only
        (b"OggS\x00\x02", None),
        (b"id3 lower case", None),
        (b"\xff", None),
        (b"", None),
    ],
)
def test_the_first_bytes_tell_mp3_and_wav_from_anything_else(
    head: bytes, kind: str | None
) -> None:
    assert sniffed_format(head) == kind


def test_a_download_must_be_what_its_name_said_and_within_the_size_limit() -> None:
    check_downloaded(WAV[:12], MAX_AUDIO_BYTES, ".wav")
    check_downloaded(ID3, 1000, ".mp3")
    with pytest.raises(SoundtrackError) as too_big:
        check_downloaded(WAV[:12], MAX_AUDIO_BYTES + 1, ".wav")
    assert (too_big.value.kind, str(too_big.value.details["megabytes"])) == ("size", "15")
    with pytest.raises(SoundtrackError) as renamed:
        check_downloaded(WAV[:12], 1000, ".mp3")
    assert renamed.value.kind == "format"


@pytest.mark.parametrize(
    ("name", "mime", "extension"),
    [("song.wav", None, ".wav"), ("SONG.WAV", None, ".wav"), ("voice", "audio/x-wav", ".wav")],
)
def test_a_wav_is_known_by_its_name_or_its_type(
    name: str, mime: str | None, extension: str
) -> None:
    assert check_audio(AudioFile(name, mime, 1000, 10)) == extension


def test_the_limits_take_their_edges_and_refuse_past_them() -> None:
    assert check_audio(AudioFile("a.mp3", None, MAX_AUDIO_BYTES, 3)) == ".mp3"
    assert check_audio(AudioFile("a.mp3", None, None, 30)) == ".mp3"
    with pytest.raises(SoundtrackError) as too_big:
        check_audio(AudioFile("a.mp3", None, MAX_AUDIO_BYTES + 1, 10))
    # shown to the user as "at most 15 MB": a whole number
    assert (too_big.value.kind, str(too_big.value.details["megabytes"])) == ("size", "15")
    for seconds in (2, 31):
        with pytest.raises(SoundtrackError) as wrong_length:
            check_audio(AudioFile("a.mp3", None, 1000, seconds))
        assert (wrong_length.value.kind, wrong_length.value.details) == (
            "duration",
            {"seconds": seconds},
        )
    assert str(wrong_length.value) == "duration"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://bot.example", "https://bot.example/audio/abc.mp3"),
        ("https://bot.example/", "https://bot.example/audio/abc.mp3"),
        ("https://bot.example/MIX/", "https://bot.example/MIX/audio/abc.mp3"),
    ],
)
def test_a_served_file_lives_under_the_public_address(base: str, url: str) -> None:
    assert served_url(base, "abc.mp3") == url


def test_a_voice_note_is_refused_by_what_telegram_says_before_any_download() -> None:
    check_voice(MAX_AUDIO_BYTES, 30)  # the edges
    check_voice(None, None)  # nothing said: the decoded file decides
    check_voice(1000, 0)  # a duration Telegram rounded to 0 s: decided after decoding too
    with pytest.raises(SoundtrackError) as too_big:
        check_voice(MAX_AUDIO_BYTES + 1, 10)
    assert too_big.value.kind == "size"
    for claimed in (2, 31):
        with pytest.raises(SoundtrackError) as out_of_range:
            check_voice(1000, claimed)
        assert out_of_range.value.kind == "duration"
