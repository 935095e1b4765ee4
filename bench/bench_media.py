"""Media (issue 22): the last frame of a clip, the clips of a story joined, a round video note
and a voice note turned into a WAV soundtrack, on input like the API's and Telegram's.

The clip: 1920x1080, 15 s at 24 fps, libx264 preset `veryfast` (B-frames, CABAC) with a
keyframe every 2 s (48 frames), AAC mono 48 kHz; a sliding gradient under noise, for a bitrate
like a real video's. Made once per run, with a second one at x264's default keyframe distance
(250 frames, 10.4 s) for the last frame's worst case. Peak memory is measured in a fresh
process for each join, so that one clip's join and ten clips' can be compared.

Run: `.venv/bin/python -m bench.bench_media` (about two minutes; `make bench`). It rewrites
its section of docs/benchmarks.md; `--no-write` prints only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import DOCS, ROOT, ms, replace_section, seconds, table
from bot.media import JoinTooLargeError, join_clips, last_frame, video_note, voice_to_wav
from tests.fakes.clips import make_clip, make_voice

WIDTH, HEIGHT, SECONDS, FPS = 1920, 1080, 15, 24
KEYINT_SECONDS = 2.0
X264_DEFAULT_KEYINT = 250 / FPS
STORY = 10  # clips joined, the most a story has
TELEGRAM_UPLOAD = 50 * 1024 * 1024  # a bot's upload cap: the limit a real join is given


@dataclass
class Timings:
    wall: list[float]
    cpu: list[float]  # of every thread of the process: what the work costs, whatever the load


@dataclass
class Row:
    what: str
    goal: str
    median: str
    worst: str
    cpu: str
    runs: int
    note: str = ""

    def cells(self) -> dict[str, str]:
        return {
            "operation": self.what,
            "goal": self.goal,
            "median": self.median,
            "slowest": self.worst,
            "CPU time, median": self.cpu,
            "runs": str(self.runs),
            "": self.note,
        }


def after_last_keyframe(keyint_seconds: float) -> int:
    count, keyint = SECONDS * FPS, round(keyint_seconds * FPS)
    return count - (count - 1) // keyint * keyint


def timed(action: Callable[[], object], runs: int) -> Timings:
    action()  # the first run warms the file cache and loads the codecs
    timings = Timings([], [])
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        action()
        timings.wall.append(time.perf_counter() - start)
        timings.cpu.append(time.process_time() - cpu)
    return timings


def row(what: str, goal: str, timings: Timings, note: str = "", unit: str = "ms") -> Row:
    scale = 1000 if unit == "ms" else 1

    def show(value: float) -> str:
        return ms(value * scale) if unit == "ms" else seconds(value)

    return Row(
        what,
        goal,
        show(statistics.median(timings.wall)),
        show(max(timings.wall)),
        show(statistics.median(timings.cpu)),
        len(timings.wall),
        note,
    )


def child_peak(mode: str, *args: str) -> dict[str, float]:
    """Run `mode` in a fresh interpreter; its VmHWM before and after, in MiB."""
    found = subprocess.run(
        [sys.executable, "-m", "bench.bench_media", "--child", mode, *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(found.stdout.strip().splitlines()[-1]))


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(mode: str, args: list[str]) -> None:
    """In the fresh process: the figures of one operation, as one JSON line."""
    before = vm_hwm_mib()  # the interpreter with PyAV and bot.media loaded
    if mode == "join":
        count, clip, out = int(args[0]), Path(args[1]), Path(args[2])
        join_clips([clip] * count, out, max_bytes=2**40)
    elif mode == "note":
        video_note(Path(args[0]), Path(args[1]))
    elif mode == "frame":
        last_frame(Path(args[0]))
    print(json.dumps({"before": before, "peak": vm_hwm_mib()}))


def measure(folder: Path) -> tuple[list[Row], list[dict[str, str]], dict[str, float]]:
    clip, far = folder / "clip.mp4", folder / "far.mp4"
    made = time.perf_counter()
    for path, keyint in ((clip, KEYINT_SECONDS), (far, X264_DEFAULT_KEYINT)):
        make_clip(
            path,
            width=WIDTH,
            height=HEIGHT,
            seconds=SECONDS,
            fps=FPS,
            preset="veryfast",
            keyint_seconds=keyint,
            detail=True,
        )
    facts = {
        "load_before": os.getloadavg()[0],
        "clip_mb": clip.stat().st_size / 1e6,
        "far_mb": far.stat().st_size / 1e6,
        "made_s": time.perf_counter() - made,
    }
    print(f"clips made in {facts['made_s']:.0f} s: {facts['clip_mb']:.1f} MB", flush=True)
    rows = [
        row(
            "`last_frame`, keyframe every 2 s",
            "< 200 ms",
            timed(lambda: last_frame(clip), 15),
            f"{after_last_keyframe(KEYINT_SECONDS)} frames decoded from the last keyframe",
        ),
        row(
            "`last_frame`, keyframe every 10.4 s (x264's default)",
            "—",
            timed(lambda: last_frame(far), 10),
            f"{after_last_keyframe(X264_DEFAULT_KEYINT)} frames decoded",
        ),
    ]
    print(json.dumps(rows[-1].cells()), flush=True)
    joined = folder / "joined.mp4"
    rows.append(
        row(
            f"`join_clips`, {STORY} clips (copied)",
            "< 1 s",
            timed(lambda: join_clips([clip] * STORY, joined, max_bytes=2**40), 5),
            f"{joined.stat().st_size / 1e6:.0f} MB out, {STORY * SECONDS} s",
        )
    )
    rows.append(
        row(
            f"`join_clips`, {STORY} clips, refused at Telegram's 50 MB",
            "—",
            timed(lambda: refused(clip, folder / "refused.mp4"), 3),
            "stopped past 50 MB, file removed",
        )
    )
    print(json.dumps(rows[-1].cells()), flush=True)
    small = make_clip(
        folder / "small.mp4", width=1280, height=720, seconds=5, fps=FPS, preset="veryfast"
    )
    rows.append(
        row(
            "`join_clips`, the clip + a 1280x720 5 s one (re-encoded)",
            "—",
            timed(lambda: join_clips([clip, small], joined, max_bytes=2**40), 1),
            f"{(SECONDS + 5) * FPS} frames encoded at 1080p, `veryfast`",
            unit="s",
        )
    )
    note = folder / "note.mp4"
    rows.append(
        row(
            "`video_note`, the 1080p 15 s clip",
            "—",
            timed(lambda: video_note(clip, note), 2),
            f"640x640, {note.stat().st_size / 1e6:.1f} MB",
            unit="s",
        )
    )
    voice = make_voice(folder / "voice.ogg", seconds=30)
    rows.append(
        row(
            "`voice_to_wav`, a 30 s voice note (Opus, mono 48 kHz)",
            "—",
            timed(lambda: voice_to_wav(voice, folder / "voice.wav"), 10),
            f"{(folder / 'voice.wav').stat().st_size / 1e6:.1f} MB WAV",
        )
    )
    print(json.dumps(rows[-1].cells()), flush=True)
    peaks = memory(clip, folder)
    facts["load_after"] = os.getloadavg()[0]
    return rows, peaks, facts


def refused(clip: Path, out: Path) -> None:
    try:
        join_clips([clip] * STORY, out, max_bytes=TELEGRAM_UPLOAD)
    except JoinTooLargeError:
        return
    raise AssertionError("the join was not refused")


def memory(clip: Path, folder: Path) -> list[dict[str, str]]:
    """Peak resident memory of each operation in its own fresh process."""
    cases = [
        ("`join_clips`, 1 clip", "join", "1", str(clip), str(folder / "m1.mp4")),
        (f"`join_clips`, {STORY} clips", "join", str(STORY), str(clip), str(folder / "m.mp4")),
        ("`last_frame`", "frame", str(clip)),
        ("`video_note`", "note", str(clip), str(folder / "mnote.mp4")),
    ]
    found = []
    for what, mode, *args in cases:
        peak = child_peak(mode, *args)
        found.append(
            {
                "operation (a fresh process each)": what,
                "VmHWM before": f"{peak['before']:.0f} MiB",
                "VmHWM after": f"{peak['peak']:.0f} MiB",
                "growth": f"{peak['peak'] - peak['before']:.0f} MiB",
            }
        )
        print(json.dumps(found[-1]), flush=True)
    return found


def report(rows: list[Row], peaks: list[dict[str, str]], facts: dict[str, float]) -> str:
    today = datetime.date.today().isoformat()
    setting = textwrap.fill(
        f"Input, made once per run (in {facts['made_s']:.0f} s): a {WIDTH}x{HEIGHT} clip, "
        f"{SECONDS} s at {FPS} fps, libx264 preset `veryfast` (B-frames) with a keyframe every "
        f"{KEYINT_SECONDS:.0f} s, AAC mono 48 kHz, a sliding gradient under noise: "
        f"{facts['clip_mb']:.1f} MB ({facts['clip_mb'] * 8 / SECONDS:.1f} Mbit/s). A second "
        f"one at x264's default keyframe distance (250 frames) for the last frame's worst case "
        f"({facts['far_mb']:.1f} MB). A join of {STORY} is the clip {STORY} times. The machine "
        f"is the shared 2-core box, other jobs running on it meanwhile (load average "
        f"{facts['load_before']:.1f} at the start, {facts['load_after']:.1f} at the end): the "
        f"figures are what a busy bot would see, not a quiet machine's best; the CPU time "
        f"(every thread's) is what the work itself costs.",
        width=99,
    )
    return f"""
## Media: frames, joins, round notes, voice notes (issue 22), {today}, `bench/bench_media.py`

{setting}

{table([r.cells() for r in rows])}

Peak resident memory (VmHWM), each operation in a new interpreter that has loaded PyAV and
`bot.media` ("before"):

{table(peaks)}

A join copies packets one clip at a time: its memory does not grow with the story (the
output's MP4 index, held to the end, is under 100 kB for 10 clips). The last frame costs
decoding from the last keyframe, so a video whose keyframes are far apart takes longer (second
row); opening a clip skips FFmpeg's probing, which would decode its first frames only to learn
what the MP4 header says (~90 ms on this clip). Its memory is the decoder's frame buffers
(H.264's reference frames at 1080p, and the frames in flight on each decoding thread),
whatever the clip's length; `video_note` adds the encoder's.
"""


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options, rest = parser.parse_known_args(argv)
    if options.child:
        child(options.child, rest)
        return
    with tempfile.TemporaryDirectory(prefix="bench-media-") as folder:
        rows, peaks, facts = measure(Path(folder))
    text = report(rows, peaks, facts)
    print(text)
    if not options.no_write:
        replace_section(DOCS / "benchmarks.md", "bench_media", text)


if __name__ == "__main__":
    main(sys.argv[1:])
