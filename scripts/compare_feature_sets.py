"""Grouped cross-validation of the feature sets and mirroring, over several seeds: the table in
models/README.md. Run with `make compare` (DATA defaults to ../shared/data/videos)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from wpa.dataset import load_clips
from wpa.paths import POSE_CACHE_DIR
from wpa.train import TrainConfig, cross_validate

SETUPS = (  # (feature set, mirror)
    ("raw", False),
    ("raw", True),
    ("body", True),
    ("body-motion", False),
    ("body-motion", True),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--cache", type=Path, default=POSE_CACHE_DIR)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    clips = load_clips(args.data, args.cache).clips
    print(f"{len(clips)} clips, grouped {args.folds}-fold cross-validation, seeds {args.seeds}\n")
    print("| features | mirror | frame accuracy | clip accuracy | clip macro-F1 | clip accuracy per seed |")
    print("|---|---|---|---|---|---|")
    for feature_set, mirror in SETUPS:
        started = time.monotonic()
        runs = [cross_validate(clips, TrainConfig(feature_set=feature_set, mirror=mirror, seed=seed), args.folds)
                for seed in args.seeds]
        frame = np.mean([run.frame_accuracy for run in runs])
        clip = np.mean([run.clip_accuracy for run in runs])
        f1 = np.mean([run.macro_f1("clip") for run in runs])
        per_seed = ", ".join(f"{run.clip_accuracy:.1%}" for run in runs)
        print(f"| {feature_set} | {'yes' if mirror else 'no'} | {frame:.1%} | {clip:.1%} | {f1:.3f} | {per_seed} |"
              f"  <!-- {time.monotonic() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
