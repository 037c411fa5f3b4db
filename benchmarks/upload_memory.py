"""Where one upload's memory goes: an analysis worker's work on one clip, under memray.

    python -m benchmarks.upload_memory [--data DIR] [--seconds 30] [--top 15] [--keep FILE.bin]   (~2 minutes)

A fresh process does what an analysis worker process does for one upload (`upload`: its process
setup, `import wpa.serving.processing`, the shipped model loaded, `locate_files` and `make_files` into
empty caches) on the 720p clip of benchmarks.pipeline looped to --seconds, under
`memray run --native`. Printed: the process's peak RSS as memray sampled it, and the memory
allocated at the moment the most was (memray's high-water mark) split into parts — imports,
pose models, their frames and decoders, the drawing's, the encoder, captions — and by call site.

memray counts what was allocated, which is not quite what is resident. Mapped memory (the
"mmap" column) counts in full though little of it may be: OpenBLAS reserves 32 MB for a thread's
first LAPACK call and touches a few pages of it (the captions' `eigh`), and the pose model bundle
is a mapped file, resident once read. Not counted at all: free pages the heap has not returned,
the libraries' code and their relocated data (most of what `import torch` costs). The RSS that
counts is `python -m benchmarks.pipeline --memory-only`'s; this says what it is made of. The
tracked run is several times slower than a plain one, so the moment of its peak may differ.

`upload` is also what benchmarks.pipeline measures the peak RSS of, so it imports only what a
worker does (no pandas, no benchmarks.pipeline).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

def part_of(python: set[tuple[str, str]], native: list[str]) -> str:
    """Which part of an upload's memory an allocation is, by its stack: the Python functions on it
    (with their files' names) and its native functions. Allocations in FFmpeg's and x264's own
    threads have no Python frames."""
    functions = {function for function, _ in python}
    if "_find_and_load" in functions:  # importlib's
        return "imports"
    if "load_model" in functions:
        return "exercise model (load_model)"
    if functions & {"predict_clip", "caption_timeline"}:
        return "prediction and captions (MLP, repetition counter)"
    if ("H264Writer" in functions or python & {("write", "annotate.py"), ("close", "annotate.py")}
            or any(name.startswith("x264") for name in native)):
        return "encoder (libx264, H264Writer)"
    if functions & {"_decode", "_seek"} or (not python and any(name.startswith(("av_", "ff_", "h264"))
                                                              for name in native)):
        return "decoders (FFmpeg, the pose models' and the drawing's)"
    if "to_upright_rgb" in functions:
        return "RGB frames for the drawing" if "draw_video" in functions else "RGB frames for the pose models"
    if "draw_video" in functions:
        return "drawing (frame copies, OpenCV)"
    if any("mediapipe" in file for _, file in python) or functions & {"detect", "_create_landmarker"} or any(
            key in name for name in native for key in ("mediapipe", "tflite", "xnn")):
        return "pose models (MediaPipe: weights, XNNPACK plans, images)"
    if any(file in ("pose.py", "pose_cache.py", "processing.py") for _, file in python):
        return "poses (PoseTrack, pose cache)"
    return "other"


def upload(clip: Path) -> None:
    """What an analysis worker process does for one upload of `clip`, into empty caches."""
    import wpa.serving.processing as processing

    getattr(processing, "prepare_worker_process", lambda: None)()  # absent before it was written: `before` figures
    from wpa.recognition.inference import InferenceConfig
    from wpa.recognition.model import load_model
    from wpa.paths import DEFAULT_MODEL_DIR
    from wpa.media.video import probe_video

    model = load_model(DEFAULT_MODEL_DIR)
    with tempfile.TemporaryDirectory() as caches:
        files = processing.locate_files(clip, model, InferenceConfig(), pose_cache_dir=Path(caches) / "poses",
                                        video_cache_dir=Path(caches) / "videos")
        processing.make_files(clip, probe_video(clip), model, InferenceConfig(), files)
    heavy = sorted({"pandas", "plotly", "streamlit", "sklearn"} & set(sys.modules))
    if heavy:
        print(f"warning: the upload imported {', '.join(heavy)}, which an analysis worker does not need",
              file=sys.stderr)


def summarise(results: Path, top: int) -> None:
    from memray import AllocatorType, FileReader

    reader = FileReader(str(results))
    peak_rss = max((s.rss for s in reader.get_memory_snapshots()), default=0)
    records = list(reader.get_high_watermark_allocation_records(merge_threads=False))
    total = sum(r.size for r in records)
    parts: collections.Counter[str] = collections.Counter()
    mapped: collections.Counter[str] = collections.Counter()
    sites: collections.Counter[str] = collections.Counter()
    for record in records:
        stack = record.hybrid_stack_trace(max_stacks=64)
        python = [(function, Path(file).name, line) for function, file, line in stack if _is_python(file)]
        part = part_of({(function, file) for function, file, _ in python},
                       [function for function, file, _ in stack if not _is_python(file)])
        parts[part] += record.size
        if record.allocator == AllocatorType.MMAP:
            mapped[part] += record.size
        site = (" <- ".join(f"{function}@{file}:{line}" for function, file, line in python[:2]) if python
                else " <- ".join(function for function, _, _ in stack[:2]))
        sites[f"{site}  [{record.thread_name or '?'}]"] += record.size
    mb = 1 << 20
    print(f"peak RSS (memray's samples, tracking included): {peak_rss / mb:.0f} MB")
    print(f"allocated at the high-water mark: {total / mb:.0f} MB\n")
    print(f"{'part':58s} {'MB':>6s} {'of which mmap':>14s}")
    for name, size in parts.most_common():
        print(f"{name:58s} {size / mb:6.1f} {mapped[name] / mb:14.1f}")
    print("\nlargest call sites at the high-water mark (innermost Python frames, [thread]):")
    for site, size in sites.most_common(top):
        print(f"{size / mb:7.1f} MB  {site}")


def _is_python(file: str) -> bool:
    return file.endswith(".py") or file.startswith("<frozen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder of the clips (default: benchmarks.pipeline's)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length the clip is looped to")
    parser.add_argument("--top", type=int, default=15, help="call sites to list")
    parser.add_argument("--keep", type=Path, help="keep memray's results in this file (for `memray flamegraph`)")
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)  # the tracked process's work
    args = parser.parse_args()
    if args.clip:
        upload(args.clip)
        return
    from benchmarks.pipeline import CLIP_720P, DATA, loop_clip  # not in the tracked process

    with tempfile.TemporaryDirectory() as scratch:
        clip = loop_clip((args.data or DATA) / CLIP_720P, args.seconds, Path(scratch) / "720p.mp4")
        results = args.keep or Path(scratch) / "upload.bin"
        subprocess.run([sys.executable, "-m", "memray", "run", "--native", "--force", "--quiet", "-o", str(results),
                        "-m", "benchmarks.upload_memory", "--clip", str(clip)], check=True)
        summarise(results, args.top)


if __name__ == "__main__":
    main()
