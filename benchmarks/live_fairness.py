"""Do live streams share the server fairly? Processed frames per second of each of several streams
at once, beside uploads, niced busy processes and threads busy in Python.

    python -m benchmarks.live_fairness [--seconds 30] [--uploads 2] [--busy 0] [--python-threads 0]
                                       [--switch-interval-ms MS] [--clips SQUAT PUSH_UP ...]

Each stream is a `LiveSession` fed by a thread of its own, as streamlit-webrtc feeds the Live
page's callback: the camera makes a frame every 1/15 s (real clips, letterboxed to 640 × 480,
as yuv420p frames), and the thread processes the newest frame whenever it is free (frames that
arrive meanwhile are dropped), with the model's references of good form as the Live page gives
them. `--uploads N` analyses N real clips at a time, again and again, on a worker pool as the
Upload page has them analysed (below this process's priority, within the CPU budget); `--busy N`
starts N processes spinning at `BACKGROUND_NICENESS` below this one instead or as well;
`--python-threads N` keeps N threads of this process busy in Python, as page scripts are (they
share the interpreter lock with the streams); `--switch-interval-ms 5` measures the streams as
they were before a LiveSession set a 1 ms switch interval (`wpa.workers.priority`). Prints each
stream's frames/s over the run, its worst 5 s, and the time a frame took (median, p95).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.live_callback import camera_frames
from wpa.movement.form.feedback import form_references
from wpa.paths import DEFAULT_MODEL_DIR, REPO_DIR
from wpa.recognition.model import load_model
from wpa.serving.analysis_queue import AnalysisQueue
from wpa.serving.live import LiveSession, LiveSettings
from wpa.workers.pool import WorkerPool
from wpa.workers.priority import BACKGROUND_NICENESS

VIDEOS = REPO_DIR.parent / "shared" / "data" / "videos"
DEFAULT_CLIPS = ("squat/Sarvesh521__Rep-Right__Ayush.mp4", "push_up/krishnawin__FitCenter__push-up_1.mp4")
CAMERA_FPS = 15.0
SIZE = (640, 480)
SPIN = "import os, sys\nos.nice(int(sys.argv[1]))\nwhile True:\n    pass\n"
UPLOAD_CLIPS = ("squat/Sarvesh521__Rep-Right__Ayush.mp4", "push_up/krishnawin__FitCenter__push-up_1.mp4",
                "deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4",
                "jumping_jack/kaiakol__computervision__jumpingjack_correct_003.mp4")


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


def keep_uploading(clips: list[Path], pool: WorkerPool, stop: threading.Event, rounds: list[int]) -> None:
    """Analyse `clips` at once on `pool`, again and again (fresh caches each round) until `stop`."""
    model = load_model(DEFAULT_MODEL_DIR)
    with tempfile.TemporaryDirectory(prefix="wpa-fairness-") as scratch:
        while not stop.is_set():
            folder = Path(scratch) / str(len(rounds))
            folder.mkdir()
            queue = AnalysisQueue(workers=len(clips), pool=pool, pose_cache_dir=folder / "poses",
                                  video_cache_dir=folder / "videos")
            tickets = []
            for clip in clips:
                shutil.copy(clip, folder / clip.name)
                tickets.append(queue.submit(folder / clip.name, model, DEFAULT_MODEL_DIR))
            while not stop.is_set() and not all(ticket.status().finished for ticket in tickets):
                time.sleep(0.1)
            queue.close()
            rounds.append(sum(ticket.status().state == "done" for ticket in tickets))


def busy_in_python(stop: threading.Event) -> None:
    """Hold the interpreter as a page script building a chart does, until `stop`."""
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def worst_window(times: list[float], seconds: float, window_s: float = 5.0) -> float:
    """The fewest frames/s over any `window_s` of the run (whole seconds apart)."""
    rates = [sum(start <= t < start + window_s for t in times) / window_s
             for start in range(0, max(1, int(seconds - window_s)) + 1)]
    return min(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--busy", type=int, default=0, help="niced busy processes beside the streams")
    parser.add_argument("--uploads", type=int, default=2, help="clips analysed at a time beside the streams")
    parser.add_argument("--switch-interval-ms", type=float,
                        help="the interpreter's switch interval, in ms, in place of the live sessions' 1 ms")
    parser.add_argument("--python-threads", type=int, default=0,
                        help="threads of this process busy in Python (as page scripts are) beside the streams")
    parser.add_argument("--clips", nargs="+", default=list(DEFAULT_CLIPS), help="one stream per clip (under videos/)")
    args = parser.parse_args()
    model = load_model(DEFAULT_MODEL_DIR)
    feeds = [camera_frames(VIDEOS / clip, SIZE, int(CAMERA_FPS * 20)) for clip in args.clips]
    sessions = [LiveSession(model) for _ in args.clips]
    for session in sessions:
        session.update(model, LiveSettings(), form_references(DEFAULT_MODEL_DIR))
        session.prepare()
    if args.switch_interval_ms:  # in place of the one a LiveSession sets (5: Python's own, as before it did)
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    load = os.getloadavg()[0]
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN, str(BACKGROUND_NICENESS)]) for _ in range(args.busy)]
    pool, stop, rounds = WorkerPool(), threading.Event(), []
    uploader = threading.Thread(target=keep_uploading, args=(
        [VIDEOS / clip for clip in UPLOAD_CLIPS[:args.uploads]], pool, stop, rounds), daemon=True)
    for _ in range(args.python_threads):
        threading.Thread(target=busy_in_python, args=(stop,), daemon=True).start()
    go, done = threading.Event(), [[] for _ in args.clips]
    threads = [threading.Thread(target=stream, args=(session, frames, args.seconds, times, go))
               for session, frames, times in zip(sessions, feeds, done)]
    try:
        if args.uploads:
            uploader.start()
            time.sleep(10)  # the workers started and into their clips
        for thread in threads:
            thread.start()
        go.set()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        if uploader.is_alive():
            uploader.join()
        pool.close()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    print(f"switch interval {sys.getswitchinterval() * 1000:.0f} ms; {len(args.clips)} streams at {CAMERA_FPS:.0f} frames/s offered, {args.uploads} uploads at a time "
          f"({sum(rounds)} analysed), {args.busy} busy processes at niceness +{BACKGROUND_NICENESS}, "
          f"{args.python_threads} threads busy in Python, {args.seconds:.0f} s, {os.cpu_count()} cores (load average before: {load:.2f})")
    for clip, session, times in zip(args.clips, sessions, done):
        stats = session.stats()
        print(f"  {Path(clip).parent.name:>8}: {len(times) / args.seconds:5.1f} frames/s "
              f"(worst 5 s: {worst_window(times, args.seconds):4.1f}), median {stats.median_ms:.0f} ms a frame, "
              f"p95 {stats.p95_ms:.0f} ms")
    rates = [len(times) / args.seconds for times in done]
    print(f"  fewest / most: {min(rates) / max(rates):.2f}; mean {statistics.mean(rates):.1f} frames/s")


if __name__ == "__main__":
    main()
