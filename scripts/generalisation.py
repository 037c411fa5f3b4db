"""How well training recipes hold on people, cameras and gyms they never saw: stratified group
k-fold cross-validation (groups from a clip list such as ../shared/data/clips.csv) of each setup,
over several seeds. The lever table of models/README.md; run with `make compare`.

Each setup changes one thing against the one before it in SETUPS, so each row shows what one
lever buys. Results also go to a JSON file, one entry per setup and seed.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from wpa.paths import POSE_CACHE_DIR
from wpa.recognition.augment import AugmentConfig
from wpa.recognition.folders import with_groups
from wpa.recognition.metrics import Evaluation
from wpa.recognition.sources import load_clips
from wpa.recognition.train import cross_validate
from wpa.recognition.train_config import TrainConfig

ORIGINAL = TrainConfig(feature_set="raw", mirror=False)
SETUPS: dict[str, TrainConfig] = {
    "raw (original design)": ORIGINAL,
    "body-motion, mirrored (shipped before)": TrainConfig(feature_set="body-motion"),
    "body-travel": TrainConfig(feature_set="body-travel"),
    "body-travel + view augmentation": TrainConfig(feature_set="body-travel", augment=AugmentConfig()),
    "body-travel + view augmentation + group balance": TrainConfig(feature_set="body-travel", augment=AugmentConfig(),
                                                                   balance="group"),
    "body-travel + view augmentation + label smoothing 0.1": TrainConfig(feature_set="body-travel",
                                                                         augment=AugmentConfig(), label_smoothing=0.1),
    "world-travel (shipped)": TrainConfig(),
    "world-travel + view augmentation": TrainConfig(augment=AugmentConfig()),
}


def summarise(runs: list[Evaluation]) -> dict:
    """Means over seeds of the headline figures, and the lowest clip recall of any class."""
    recalls = np.mean([[row["recall"] for row in run.per_class("clip")] for run in runs], axis=0)
    labels = runs[0].labels
    return {"clip_accuracy": float(np.mean([run.clip_accuracy for run in runs])),
            "time_accuracy": float(np.mean([run.time_accuracy for run in runs])),
            "frame_accuracy": float(np.mean([run.frame_accuracy for run in runs])),
            "clip_macro_f1": float(np.mean([run.macro_f1("clip") for run in runs])),
            "lowest_recall": {"label": labels[int(recalls.argmin())], "recall": float(recalls.min())},
            "clip_recall": dict(zip(labels, map(float, recalls))),
            "per_seed_clip_accuracy": [run.clip_accuracy for run in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a clip list (path, label, group) or a folder of class folders")
    parser.add_argument("--groups", type=Path, help="a clip list giving the groups of a folder's clips")
    parser.add_argument("--cache", type=Path, default=POSE_CACHE_DIR)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--json-out", type=Path, help="write every run's figures here")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (run several scripts side by side)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = load_clips(args.data, args.cache).clips
    if args.groups:
        clips = with_groups(clips, args.groups)
    groups = len({clip.split_group for clip in clips})
    print(f"{len(clips)} clips in {groups} groups, stratified group {args.folds}-fold cross-validation, "
          f"seeds {args.seeds}\n")
    print("| setup | clip accuracy | time-weighted frame accuracy | clip macro-F1 | lowest class recall | per seed |")
    print("|---|---|---|---|---|---|")
    results = {}
    for name in args.setups:
        started = time.monotonic()
        runs = [cross_validate(clips, replace(SETUPS[name], seed=seed), args.folds) for seed in args.seeds]
        summary = summarise(runs)
        results[name] = {**summary, "config": asdict(SETUPS[name]), "seconds": round(time.monotonic() - started)}
        lowest = summary["lowest_recall"]
        print(f"| {name} | {summary['clip_accuracy']:.1%} | {summary['time_accuracy']:.1%} | "
              f"{summary['clip_macro_f1']:.3f} | {lowest['label']} {lowest['recall']:.0%} | "
              f"{', '.join(f'{a:.1%}' for a in summary['per_seed_clip_accuracy'])} |"
              f"  <!-- {time.monotonic() - started:.0f} s -->", flush=True)
        if args.json_out:
            args.json_out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
