"""Do live streams share the server fairly? Processed frames per second of each of several streams
at once, with niced busy processes beside them (as uploads' workers are).

    python -m benchmarks.live_fairness [--seconds 30] [--busy 2] [--clips SQUAT PUSH_UP ...]

Each stream is a `LiveSession` fed by a thread of its own, as streamlit-webrtc feeds the Live
page's callback: the camera makes a frame every 1/15 s (real clips, letterboxed to 640 × 480,
as yuv420p frames), and the thread processes the newest frame whenever it is free (frames that
arrive meanwhile are dropped). `--busy N` starts N processes spinning at `BACKGROUND_NICENESS`
below this one, standing in for uploads' analyses. Prints each stream's frames/s over the run,
its worst 5 s, and the pose+model step's median time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.live_callback import camera_frames
from wpa.paths import DEFAULT_MODEL_DIR, REPO_DIR
from wpa.recognition.model import load_model
from wpa.serving.live import LiveSession
from wpa.workers.priority import BACKGROUND_NICENESS

VIDEOS = REPO_DIR.parent / "shared" / "data" / "videos"
DEFAULT_CLIPS = ("squat/Sarvesh521__Rep-Right__Ayush.mp4", "push_up/krishnawin__FitCenter__push-up_1.mp4")
CAMERA_FPS = 15.0
SIZE = (640, 480)
SPIN = "import os, sys\nos.nice(int(sys.argv[1]))\nwhile True:\n    pass\n"


def stream(session: LiveSession, frames: list, seconds: float, done: list[float], go: threading.Event) -> None:
    """Process the newest camera frame whenever free, for `seconds`; the times frames were done."""
    go.wait()
    started = time.monotonic()
    last = -1
    while (now := time.monotonic()) - started < seconds:
        index = int((now - started) * CAMERA_FPS)
        if index == last:  # nothing new from the camera yet
            time.sleep((index + 1) / CAMERA_FPS - (now - started))
            continue
        session.process_frame(frames[index % len(frames)])
        last = index
        done.append(time.monotonic() - started)


def worst_window(times: list[float], seconds: float, window_s: float = 5.0) -> float:
    """The fewest frames/s over any `window_s` of the run (whole seconds apart)."""
    rates = [sum(start <= t < start + window_s for t in times) / window_s
             for start in range(0, max(1, int(seconds - window_s)) + 1)]
    return min(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--busy", type=int, default=2, help="niced busy processes beside the streams")
    parser.add_argument("--clips", nargs="+", default=list(DEFAULT_CLIPS), help="one stream per clip (under videos/)")
    args = parser.parse_args()
    model = load_model(DEFAULT_MODEL_DIR)
    feeds = [camera_frames(VIDEOS / clip, SIZE, int(CAMERA_FPS * 20)) for clip in args.clips]
    sessions = [LiveSession(model) for _ in args.clips]
    for session in sessions:
        session.prepare()
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN, str(BACKGROUND_NICENESS)]) for _ in range(args.busy)]
    go, done = threading.Event(), [[] for _ in args.clips]
    threads = [threading.Thread(target=stream, args=(session, frames, args.seconds, times, go))
               for session, frames, times in zip(sessions, feeds, done)]
    try:
        for thread in threads:
            thread.start()
        go.set()
        for thread in threads:
            thread.join()
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    print(f"{len(args.clips)} streams at {CAMERA_FPS:.0f} frames/s offered, {args.busy} busy processes at "
          f"niceness +{BACKGROUND_NICENESS}, {args.seconds:.0f} s, {os.cpu_count()} cores "
          f"(load before: {os.getloadavg()[0]:.2f})")
    for clip, session, times in zip(args.clips, sessions, done):
        stats = session.stats()
        print(f"  {Path(clip).parent.name:>8}: {len(times) / args.seconds:5.1f} frames/s "
              f"(worst 5 s: {worst_window(times, args.seconds):4.1f}), median {stats.median_ms:.0f} ms a frame, "
              f"p95 {stats.p95_ms:.0f} ms")
    rates = [len(times) / args.seconds for times in done]
    print(f"  fewest / most: {min(rates) / max(rates):.2f}; mean {statistics.mean(rates):.1f} frames/s")


if __name__ == "__main__":
    main()
