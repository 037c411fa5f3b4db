"""How fast wpa analyses video on this machine, against the bare pose model and the original loop.

    python -m benchmarks.pipeline [--data ../shared/data/videos] [--seconds 30] [--long-seconds 120]

On real clips of ../shared/data (a 720p and a 1080p one at 30 frames/s, each looped without
re-encoding to --seconds, a typical upload's length), one after another, it prints:

- bare pose model: frames/s of PoseLandmarker.detect_for_video alone on decoded frames, the
  process pinned to one core — the ceiling;
- original loop: the notebook's per-frame loop rebuilt (OpenCV read, BGR→RGB, pose, 99 raw
  features, scaler and torch call for each frame);
- wpa classify: what `python -m wpa classify` does for a clip (decoding in a second thread, the
  MLP once over the clip, smoothing, segments);
- wpa upload: the Upload page's work (the above plus the annotated H.264 video, drawn by a thread
  running a few seconds behind the pose model), with fresh caches;
- `python -m wpa extract` on a folder of clips, with one process and with two;
- the Live page's frame callback at 640×480 (median and p95);
- peak memory (RSS) of one upload in an analysis worker process, on the 720p clip looped to
  --seconds and to --long-seconds, and of the worker's imports alone.

    python -m benchmarks.pipeline --memory-only   (about 2 minutes)

prints only the memory figures. `python -m benchmarks.upload_memory` says where that memory goes.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import mediapipe as mp
import numpy as np
import torch

from benchmarks.live_callback import DEFAULT_CLIP as LIVE_CLIP
from benchmarks.live_callback import time_callback
from wpa.media.video import probe_video, read_frames
from wpa.paths import DEFAULT_MODEL_DIR, REPO_DIR
from wpa.poses.estimator import PoseEstimator
from wpa.poses.extract import extract_pose
from wpa.poses.sequence import PoseSequence
from wpa.recognition.features import raw_features
from wpa.recognition.model import ExerciseMLP, ExerciseModel, ModelConfig, Scaler, load_model
from wpa.recognition.recognizer import Recognizer
from wpa.serving.analysis import analyze_video

DATA = REPO_DIR.parent / "shared" / "data" / "videos"
CLIP_720P = "pull_up/calimiro-ai__WorkoutTracker__pull-up_7.mp4"
CLIP_1080P = "chest_fly_machine/krishnawin__FitCenter__chest_fly_machine_21.mp4"
EXTRACT_CLIPS_PER_CLASS = 1


@dataclass(frozen=True)
class Rate:
    frames: int
    seconds: float
    video_seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def real_time_factor(self) -> float:
        return self.video_seconds / self.seconds


def loop_clip(clip: Path, seconds: float, out: Path) -> Path:
    """`clip` repeated until it lasts `seconds`, by copying its packets (no re-encoding)."""
    with av.open(str(clip)) as source:
        stream = source.streams.video[0]
        packets = [(bytes(p), p.pts, p.dts, p.is_keyframe) for p in source.demux(stream) if p.size]
        step = packets[1][1] - packets[0][1] if len(packets) > 1 else 1
        span = max(p[1] for p in packets) - min(p[1] for p in packets) + abs(step)
        loops = max(1, math.ceil(seconds / float(span * stream.time_base)))
        with av.open(str(out), "w") as target:
            copy = target.add_stream_from_template(stream)
            for loop in range(loops):
                for data, pts, dts, keyframe in packets:
                    packet = av.Packet(data)
                    packet.pts, packet.dts = pts + loop * span, dts + loop * span
                    packet.time_base, packet.is_keyframe, packet.stream = stream.time_base, keyframe, copy
                    target.mux(packet)
    return out


def bare_pose_rate(clip: Path) -> Rate:
    """PoseLandmarker alone: only the detect calls are timed, frames are decoded between them."""
    busy, frames = 0.0, 0
    with PoseEstimator() as estimator:
        for frame in read_frames(clip):
            started = time.perf_counter()
            estimator.detect(frame.rgb, frame.timestamp_s)
            busy += time.perf_counter() - started
            frames += 1
    return Rate(frames, busy, probe_video(clip).duration_s)


def original_loop_rate(clip: Path, model: ExerciseModel) -> Rate:
    """The notebook's loop: OpenCV decoding, and for each frame a pose call, then the 99 raw
    features scaled and classified on their own."""
    scaler = Scaler(mean=np.zeros(99, np.float32), scale=np.ones(99, np.float32))
    network = ExerciseMLP(ModelConfig(input_dim=99, num_classes=len(model.labels))).eval()  # the original's shape
    started = time.perf_counter()
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = 0
    with PoseEstimator() as estimator:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            found = estimator.detect(rgb, frames / fps)
            if found is not None:
                pose = PoseSequence(found[0][None], found[1][None], np.zeros(1), fps, (rgb.shape[1], rgb.shape[0]))
                row = scaler.transform(raw_features(pose))
                with torch.no_grad():
                    int(network(torch.from_numpy(row)).argmax())
            frames += 1
    capture.release()
    return Rate(frames, time.perf_counter() - started, frames / fps)


def classify_rate(clip: Path, model: ExerciseModel) -> Rate:
    started = time.perf_counter()
    pose = extract_pose(clip, parts=os.cpu_count() or 1, count_people=True)  # what `wpa classify` does
    Recognizer(model).predict_clip(pose)
    return Rate(len(pose), time.perf_counter() - started, probe_video(clip).duration_s)


def upload_rate(clip: Path, model: ExerciseModel) -> Rate:
    with tempfile.TemporaryDirectory() as caches:
        started = time.perf_counter()
        analysis = analyze_video(clip, model, pose_cache_dir=Path(caches) / "poses",
                                 video_cache_dir=Path(caches) / "videos")
        seconds = time.perf_counter() - started
    return Rate(len(analysis.pose), seconds, analysis.info.duration_s)


def extract_rate(data: Path, workers: int, scratch: Path) -> Rate:
    """`python -m wpa extract` on `data` with `workers` processes, into an empty cache."""
    frames = sum(probe_video(clip).frame_count for clip in sorted(data.rglob("*.mp4")))
    with tempfile.TemporaryDirectory(dir=scratch) as cache:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wpa", "extract", str(data), "--out", cache, "--workers", str(workers)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "WPA_CACHE_DIR": cache})
        seconds = time.perf_counter() - started
    return Rate(frames, seconds, 0.0)


def extraction_folder(data: Path, scratch: Path) -> Path:
    """A folder of links to the first clips of every class of `data`."""
    folder = scratch / "extract-data"
    for class_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for clip in sorted(class_dir.glob("*.mp4"))[:EXTRACT_CLIPS_PER_CLASS]:
            (folder / class_dir.name).mkdir(parents=True, exist_ok=True)
            (folder / class_dir.name / clip.name).symlink_to(clip)
    return folder


def peak_rss_mb(clip: Path) -> float:
    """Peak resident memory of a fresh process doing what an analysis worker does for one upload of
    `clip` (`benchmarks.upload_memory.upload`: the worker's process setup, `import wpa.serving.processing`,
    the shipped model, `locate_files` and `make_files` into empty caches)."""
    return fresh_process_peak_rss_mb("from benchmarks.upload_memory import upload; upload(Path(sys.argv[1]))", clip)


def import_rss_mb() -> float:
    """Peak resident memory of a fresh process that only gets ready to: the worker's process setup,
    `import wpa.serving.processing` and the shipped model."""
    return fresh_process_peak_rss_mb(
        "import wpa.serving.processing; getattr(wpa.serving.processing, 'prepare_worker_process', lambda: None)(); "
        "from wpa.recognition.model import load_model; "
        "from wpa.paths import DEFAULT_MODEL_DIR; load_model(DEFAULT_MODEL_DIR)", Path(os.devnull))


def print_memory(data: Path, seconds: float, long_seconds: float, scratch: Path) -> None:
    short = loop_clip(data / CLIP_720P, seconds, scratch / "memory-short.mp4")
    long = loop_clip(data / CLIP_720P, long_seconds, scratch / "memory-long.mp4")
    ready_mb, short_mb, long_mb = import_rss_mb(), peak_rss_mb(short), peak_rss_mb(long)
    print("\npeak memory (RSS) of one upload in an analysis worker process (720p): "
          f"imports and model {ready_mb:.0f} MB; {probe_video(short).duration_s:.0f} s clip {short_mb:.0f} MB, "
          f"{probe_video(long).duration_s:.0f} s clip {long_mb:.0f} MB ({long_mb - short_mb:+.0f} MB)   "
          "(target <= 600 MB)", flush=True)


def fresh_process_peak_rss_mb(work: str, clip: Path) -> float:
    """Peak resident memory of a fresh Python process running the statements `work` (which see
    `sys`, `Path` and the clip's path in sys.argv[1]).

    The process's own peak, VmHWM of /proc/self/status where there is one: Linux carries
    `ru_maxrss` over an exec, so a process started by this one (torch and MediaPipe imported, a
    1080p upload done: 1.2 GB) reported this one's peak as its own (the "1201 MB / 1201 MB" once
    written in docs/BENCHMARKS.md); VmHWM belongs to the memory the process maps after its exec."""
    code = (f"import sys, resource; from pathlib import Path; {work}; "
            "hwm = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')] "
            "if sys.platform == 'linux' else []; "
            "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code, str(clip)], check=True, capture_output=True, text=True,
                            cwd=REPO_DIR)
    return int(result.stdout.split()[-1]) / 1024


def pinned(function: Callable[[], Rate]) -> Rate:
    """Run `function` with this process on one core, as the single-core ceiling is defined."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(everything)})
    try:
        return function()
    finally:
        os.sched_setaffinity(0, everything)


def best(repeats: int, function: Callable[[], Rate]) -> Rate:
    """The fastest of `repeats` runs: the machine's noise only ever slows a run down."""
    return max((function() for _ in range(repeats)), key=lambda rate: rate.fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seconds", type=float, default=30.0, help="length the clips are looped to")
    parser.add_argument("--long-seconds", type=float, default=120.0, help="length of the clip for the memory check")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each rate measurement; the best counts")
    parser.add_argument("--memory-only", action="store_true", help="print only the peak memory figures")
    args = parser.parse_args()
    if args.memory_only:
        with tempfile.TemporaryDirectory() as scratch:
            print_memory(args.data, args.seconds, args.long_seconds, Path(scratch))
        return
    model = load_model(DEFAULT_MODEL_DIR)
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, torch {torch.__version__}, mediapipe {mp.__version__}, PyAV {av.__version__}")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        rows = []
        for name, relative in (("720p", CLIP_720P), ("1080p", CLIP_1080P)):
            clip = loop_clip(args.data / relative, args.seconds, scratch / f"{name}.mp4")
            info = probe_video(clip)
            print(f"\n{name}: {relative} looped to {info.duration_s:.0f} s "
                  f"({info.width}x{info.height}, {info.fps:.2f} frames/s, {info.frame_count} frames)", flush=True)
            bare = best(args.repeats, lambda: pinned(lambda: bare_pose_rate(clip)))
            original = best(args.repeats, lambda: original_loop_rate(clip, model))
            classify = best(args.repeats, lambda: classify_rate(clip, model))
            upload = best(args.repeats, lambda: upload_rate(clip, model))
            for label, rate in (("bare pose model (1 core)", bare), ("original loop", original),
                                ("wpa classify", classify), ("wpa upload", upload)):
                print(f"  {label:26s} {rate.fps:6.1f} frames/s  real-time factor {rate.real_time_factor:5.2f}",
                      flush=True)
            print(f"  classify / original loop   {classify.fps / original.fps:6.2f}x   (target >= 1.18)")
            print(f"  upload / original loop     {upload.fps / original.fps:6.2f}x")
            print(f"  upload / bare pose model   {upload.fps / bare.fps:6.1%}   (target >= 90%)")
            rows.append((name, bare, original, classify, upload))

        folder = extraction_folder(args.data, scratch)
        one = extract_rate(folder, 1, scratch)
        two = extract_rate(folder, 2, scratch)
        clips = len(list(folder.rglob("*.mp4")))
        print(f"\npython -m wpa extract, {clips} clips, {one.frames} frames:")
        print(f"  1 process   {one.fps:6.1f} frames/s ({one.seconds:.0f} s)")
        print(f"  2 processes {two.fps:6.1f} frames/s ({two.seconds:.0f} s)   {two.fps / one.fps:.2f}x   (target >= 1.7)")

        timings, _, _ = time_callback(LIVE_CLIP, (640, 480), 300)
        print(f"\nlive callback at 640x480: median {statistics.median(timings):.1f} ms, "
              f"p95 {float(np.percentile(timings, 95)):.1f} ms   (target p95 <= 40 ms)")

        print_memory(args.data, args.seconds, args.long_seconds, scratch)


if __name__ == "__main__":
    main()
