"""Video and sound files, with FFmpeg's libraries (PyAV): the last frame of a clip as a photo,
clips joined into one video, round video notes, voice notes as WAV soundtracks.

Pure functions on files: no Telegram, no storage, no network. Each runs in the calling thread
and holds at most one clip's frames at a time, whatever the length of the story."""

from bot.media.errors import JoinTooLargeError, MediaError, VoiceTooLongError
from bot.media.frames import last_frame
from bot.media.join import MAX_CLIPS, JoinedVideo, join_clips
from bot.media.round import MAX_NOTE_SECONDS, MAX_NOTE_SIDE, VideoNote, video_note
from bot.media.voice import voice_to_wav

__all__ = [
    "MAX_CLIPS",
    "MAX_NOTE_SECONDS",
    "MAX_NOTE_SIDE",
    "JoinTooLargeError",
    "JoinedVideo",
    "MediaError",
    "VideoNote",
    "VoiceTooLongError",
    "join_clips",
    "last_frame",
    "video_note",
    "voice_to_wav",
]
