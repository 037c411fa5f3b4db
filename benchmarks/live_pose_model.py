"""What Live's lite pose model costs in accuracy, beside the full model clips are analysed with.

    python -m benchmarks.live_pose_model [--every 3] [--cache DIR]

Every `--every`-th clip of `../shared/data/videos` (clips.csv's rows in order of exercise and path,
so every exercise is in) has its poses found twice, once with each bundle (`models/`), each cached
in `--cache` (the pose cache, keyed by model): the shipped classifier and repetition counter then
run on both, as on an uploaded clip. Printed per model: clip accuracy (the clip's label is its
exercise), frame accuracy weighted by time (frames with a person), frames where nobody was found,
agreement with the full model's frame labels, and repetition counts within ±1 of the by-eye counts
(tests/rep_counts*.csv, `tests.support.rep_data.read_counts`) for the clips that have one; then the pose models' time a frame.

The shipped classifier was trained on these clips' full-model poses, so the figures flatter the
full model: the lite model's shortfall is at most what is printed, not a held-out accuracy.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support.rep_data import read_counts
from wpa.paths import DEFAULT_MODEL_DIR, LIVE_POSE_MODEL, POSE_CACHE_DIR, REPO_DIR
from wpa.poses.sequence import PoseOptions
from wpa.recognition.inference import NO_PERSON, InferenceConfig
from wpa.recognition.model import load_model
from wpa.recognition.recognizer import Recognizer
from wpa.recognition.sources import load_clips
from wpa.settings import shipped_models_dir

SHARED = REPO_DIR.parent / "shared"
MODELS = {"full": shipped_models_dir() / "pose_landmarker_full.task", "lite": LIVE_POSE_MODEL}


def chosen_clips(clip_list: Path, every: int) -> list[dict[str, str]]:
    """Every `every`-th clip of `data/videos`, in order of exercise and path."""
    with clip_list.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["path"].startswith("data/videos/")]
    rows.sort(key=lambda row: (row["label"], row["path"]))
    return rows[::every]


def write_clip_list(rows: list[dict[str, str]], folder: Path) -> Path:
    """The chosen clips as a clip list with absolute paths (what `load_clips` reads)."""
    path = folder / "clips.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["path", "label", "group"])
        writer.writeheader()
        writer.writerows({"path": str(SHARED / row["path"]), "label": row["label"], "group": row["group"]}
                         for row in rows)
    return path


def score(clip_list: Path, model_path: Path, cache: Path) -> dict:
    """Extract (or read from the cache) and classify every clip with one pose model."""
    started = time.perf_counter()
    data = load_clips(clip_list, cache, PoseOptions(model_path=model_path))
    seconds = time.perf_counter() - started
    recognizer = Recognizer(load_model(DEFAULT_MODEL_DIR), InferenceConfig())
    counts = {path: reps for path, _, reps in read_counts().clips}  # paths from the shared folder
    results = {}
    for clip in data.clips:
        prediction = recognizer.predict_clip(clip.pose)
        name = Path(clip.source).relative_to(SHARED).as_posix()
        results[name] = {"truth": clip.label, "label": prediction.label, "frames": np.array(prediction.frame_labels),
                         "times": np.diff(prediction.timestamps_s, append=prediction.timestamps_s[-1]),
                         "reps": prediction.reps, "by_eye": counts.get(name)}
    frames = sum(len(clip.pose.timestamps_s) for clip in data.clips)
    return {"results": results, "seconds": seconds, "frames": frames}


def summarise(name: str, scored: dict, full: dict) -> str:
    results = scored["results"]
    clips_right = [r["label"] == r["truth"] for r in results.values()]
    present = [(r["frames"] != NO_PERSON, r) for r in results.values()]
    weight = sum(float(r["times"][mask].sum()) for mask, r in present)
    right = sum(float(r["times"][mask & (r["frames"] == r["truth"])].sum()) for mask, r in present)
    nobody = sum(int((~mask).sum()) for mask, _ in present) / max(1, sum(len(r["frames"]) for r in results.values()))
    same = [float(np.mean(r["frames"] == full["results"][clip]["frames"])) for clip, r in results.items()
            if clip in full["results"] and len(r["frames"]) == len(full["results"][clip]["frames"])]
    counted = [r for r in results.values() if r["by_eye"] is not None]
    within = sum(abs(r["reps"] - r["by_eye"]) <= 1 for r in counted)
    return (f"| {name} | {sum(clips_right)}/{len(clips_right)} ({np.mean(clips_right):.1%}) | {right / weight:.1%} | "
            f"{nobody:.1%} | {np.mean(same):.1%} | {within}/{len(counted)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=SHARED / "data" / "clips.csv")
    parser.add_argument("--every", type=int, default=3, help="take every N-th clip (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=POSE_CACHE_DIR, help="pose cache (default: %(default)s)")
    args = parser.parse_args()
    rows = chosen_clips(args.clips, args.every)
    with tempfile.TemporaryDirectory() as folder:
        clip_list = write_clip_list(rows, Path(folder))
        scored = {name: score(clip_list, path, args.cache) for name, path in MODELS.items()}
    print(f"{len(rows)} clips of {len({row['label'] for row in rows})} exercises (one in {args.every} of data/videos)")
    print("| pose model | clips right | frames right (by time) | frames with nobody | frame labels as full's | "
          "reps within ±1 of by eye |")
    print("|---|---|---|---|---|---|")
    for name, result in scored.items():
        print(summarise(name, result, scored["full"]))


if __name__ == "__main__":
    main()
