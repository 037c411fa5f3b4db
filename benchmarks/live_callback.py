"""Time the Live page's frame callback: pose → features → MLP → smoothing → drawing, per frame.

    python -m benchmarks.live_callback [CLIP] [--size 640x480] [--frames 300]

Frames of a real clip (default: a squat from ../shared/data), letterboxed to the camera size and
given as the yuv420p av.VideoFrames WebRTC delivers, go through `LiveSession.process_frame` one
after another on this machine, the session's clock running at 15 frames/s as a camera's would (the
repetition counter analyses once a second of stream time). Prints the median and 95th percentile
time a frame and the frame rate that allows, then the part of it the repetition counting takes
(`SetTracker.update`, timed alone: mean and 99th percentile) and the count it reached.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from tests.support.media import camera_frames
from wpa.movement.sets import SetTracker
from wpa.paths import DEFAULT_MODEL_DIR, REPO_DIR
from wpa.recognition.model import load_model
from wpa.serving.live import LiveSession

DEFAULT_CLIP = REPO_DIR.parent / "shared" / "data" / "videos" / "squat" / "Sarvesh521__Rep-Right__Ayush.mp4"


CAMERA_FPS = 15.0


class TimedTracker(SetTracker):
    """A SetTracker that records how long each `update` took (milliseconds): wall clock, and the
    CPU time of its thread (which other programs on a busy machine do not inflate)."""

    def __init__(self):
        super().__init__()
        self.timings: list[float] = []
        self.cpu_timings: list[float] = []

    def update(self, *args, **kwargs) -> int:
        started, cpu_started = time.perf_counter(), time.thread_time()
        reps = super().update(*args, **kwargs)
        self.timings.append((time.perf_counter() - started) * 1000)
        self.cpu_timings.append((time.thread_time() - cpu_started) * 1000)
        return reps


def time_callback(clip: Path, size: tuple[int, int], count: int) -> tuple[list[float], TimedTracker, int]:
    """Milliseconds `LiveSession.process_frame` took on each of `count` camera frames made from
    `clip`, leaving out the first ten (a stream's first frames set up MediaPipe's tracking); the
    tracker that timed the repetition counting; the count reached."""
    frames = camera_frames(clip, size, count)
    camera_time = iter(np.arange(count + 10) / CAMERA_FPS)
    session = LiveSession(load_model(DEFAULT_MODEL_DIR), clock=lambda: next(camera_time))
    tracker = session._sets = TimedTracker()  # the session's own tracker, timed
    session.prepare()
    timings = []
    for frame in frames:
        started = time.perf_counter()
        session.process_frame(frame)
        timings.append((time.perf_counter() - started) * 1000)
    reps = session.latest().reps
    session.close()
    return timings[10:], tracker, reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, nargs="?", default=DEFAULT_CLIP)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    size = tuple(int(side) for side in args.size.split("x"))
    timings, tracker, reps = time_callback(args.clip, size, args.frames)
    counting, cpu = tracker.timings[10:], tracker.cpu_timings[10:]
    p95 = float(np.percentile(timings, 95))
    print(f"live callback at {size[0]}x{size[1]}, {len(timings)} frames of {args.clip.name}")
    print(f"  median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
          f"mean {statistics.mean(timings):.1f} ms -> {1000 / statistics.mean(timings):.1f} frames/s on one stream")
    print(f"  of which repetition counting (SetTracker.update): mean {statistics.mean(counting):.2f} ms, "
          f"p99 {float(np.percentile(counting, 99)):.2f} ms, max {max(counting):.1f} ms a frame "
          f"(CPU time: mean {statistics.mean(cpu):.2f} ms, p99 {float(np.percentile(cpu, 99)):.2f} ms); "
          f"count reached {reps}")


if __name__ == "__main__":
    main()
