"""A voice note as a soundtrack: Telegram records OGG/Opus, the video API takes WAV or MP3."""

from __future__ import annotations

from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import InputContainer

from bot.media.errors import MediaError, VoiceTooLongError
from bot.media.reading import audio_stream, reading
from bot.media.writing import mixed_layout

# Telegram gives a voice note's length in whole seconds: one it calls 30 s may last 30.9 s.
# Decoding goes this far past the limit before the note is called too long.
SLACK_SECONDS = 1.0
MAX_WAV_RATE = 48_000
MAX_SOURCE_RATE = 192_000  # the highest rate real audio is recorded at
MAX_SOURCE_CHANNELS = 8  # 7.1


def voice_to_wav(voice: Path, out: Path, *, max_seconds: float = 30) -> float:
    """Decode any sound FFmpeg reads into a 16-bit PCM WAV at `out`, at the source's sample
    rate up to MAX_WAV_RATE, mono or stereo as the source; its duration in seconds. Decoding
    stops past `max_seconds` + SLACK_SECONDS with VoiceTooLongError (so the work is bounded
    whatever the file claims); unreadable: MediaError. Nothing is left at `out` when it
    fails."""
    try:
        with reading(voice) as container:
            source = audio_stream(container)
            if source is None:
                raise MediaError("no audio stream")
            _check_claims(source)
            samples = _convert(container, source, out, max_seconds + SLACK_SECONDS)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return samples / source.rate


def _check_claims(source: AudioStream) -> None:
    """The work is bounded by the seconds decoded, counted at the rate the file claims: a
    file claiming 2 GHz would be decoded for minutes before reaching 31 "seconds". No real
    voice note passes these (Telegram records 48 kHz mono)."""
    if not 0 < source.rate <= MAX_SOURCE_RATE or source.channels > MAX_SOURCE_CHANNELS:
        raise MediaError(f"not a voice: {source.rate} Hz, {source.channels} channels")


def _convert(container: InputContainer, source: AudioStream, out: Path, limit: float) -> int:
    """Write `source` as WAV at `out`, frame by frame; the samples written."""
    rate = source.rate
    layout = mixed_layout(source.channels)
    samples = 0
    with av.open(str(out), "w", format="wav") as output:
        # At most 48 kHz (Opus's own rate): a file claiming 384 kHz would make a WAV past the
        # service's 15 MB; so the WAV stays under 6 MB whatever the source.
        wav = output.add_stream("pcm_s16le", rate=min(rate, MAX_WAV_RATE), layout=layout)
        for frame in container.decode(source):
            samples += frame.samples
            if samples > limit * rate:
                raise VoiceTooLongError(samples / rate)
            # The encoder converts to 16-bit samples of `layout` and `rate` itself.
            output.mux(wav.encode(frame))
        output.mux(wav.encode(None))
    if not samples:
        raise MediaError("no sound decoded")
    return samples
