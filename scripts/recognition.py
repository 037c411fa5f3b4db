"""Recognition on sources a model never saw, and "unknown" for exercises it does not know, in one measurement.

Every clip — the shipped exercises of `../shared/data` (clip list), Countix-Fitness's videos (each
its own group), the exercises of `more/` the model does not ship — is dealt into stratified group
k-folds together, so no group is ever on both sides. Each fold's model trains, by a setup's recipe,
on the other folds' clips the setup uses (always our clips of the shipped exercises; Countix's
shipped exercises and examples of other exercises when the setup says so) and judges every clip of
its own fold, calling a clip unknown when its confidence is below the threshold that model
calibrated on its own validation groups. Reported, mean over seeds:

* our clips of shipped exercises: clip accuracy, time-weighted frame accuracy, each class's recall;
* Countix-Fitness's shipped exercises (each video held out as its own group): clip accuracy;
* exercises not shipped and not a variant of a shipped one (`more/`, Countix's front raise, rope
  pushdown and sit up): the share called unknown; and the share of known clips called unknown;
* variants (hammer curl, incline bench press, Romanian deadlift): named as their shipped exercise,
  called unknown, or named otherwise — apart, since the first two answers are acceptable.

Run with `make recognition`; `--json-out` keeps every clip's verdict.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from wpa.paths import POSE_CACHE_DIR
from wpa.poses.clip import Clip
from wpa.recognition.countix import load_countix_clips
from wpa.recognition.features import compute_features
from wpa.recognition.inference import is_sure
from wpa.recognition.metrics import HeldOut, evaluate_probabilities
from wpa.recognition.model import save_model
from wpa.recognition.sources import load_clips
from wpa.recognition.train import _align, calibrate, fold_of_each_clip, train_model
from wpa.recognition.train_config import TrainConfig
import wpa.recognition.training_rows

# A variant is an acceptable answer when named as its shipped exercise (or called unknown).
VARIANTS = {"hammer_curl": "biceps_curl", "incline_bench_press": "bench_press", "romanian_deadlift": "deadlift"}
OURS, COUNTIX, OTHER_MORE, OTHER_COUNTIX, VARIANT = "ours", "countix", "other (more/)", "other (Countix)", "variant"


@dataclass(frozen=True)
class Setup:
    """A training recipe and the data it trains on beside our clips of the shipped exercises."""

    config: TrainConfig
    countix: bool = False  # also train on Countix-Fitness's clips of shipped exercises
    others: tuple[str, ...] = ()  # kinds of other-exercise clips trained on as "none of these"


# Every setup trains (and validates) on at most 30 evenly spaced frames of each clip and copy:
# neighbouring frames are nearly alike, Countix's videos are long, and the measurement must fit
# two busy cores.
BASE = TrainConfig(max_rows_per_clip=30)
SETUPS: dict[str, Setup] = {
    "shipped before (world-travel)": Setup(BASE),
    "+ other exercises of more/": Setup(BASE, others=(OTHER_MORE,)),
    "+ Countix, all other exercises": Setup(BASE, countix=True, others=(OTHER_MORE, OTHER_COUNTIX)),
    "+ Countix, all other exercises, box copies": Setup(replace(BASE, box_copy=True), countix=True,
                                                        others=(OTHER_MORE, OTHER_COUNTIX)),
    "box-travel + Countix, all other exercises": Setup(replace(BASE, feature_set="box-travel"), countix=True,
                                                       others=(OTHER_MORE, OTHER_COUNTIX)),
}


def remember_features() -> None:
    """Let training reuse the features of a pose it has computed before (every fold trains on most
    clips again): the same function's rows, kept by the pose's content."""
    remembered: dict[tuple, np.ndarray] = {}

    def features(pose, feature_set: str) -> np.ndarray:
        key = (feature_set, hash(pose.landmarks.tobytes()), hash(pose.world_landmarks.tobytes()), len(pose))
        if key not in remembered:
            remembered[key] = compute_features(pose, feature_set)
        return remembered[key]

    wpa.recognition.training_rows.compute_features = features


def kinds_of(clips: list[Clip], classes: tuple[str, ...], countix: set[str]) -> list[str]:
    """What each clip is for the measurement."""
    kinds = []
    for clip in clips:
        from_countix = clip.clip_id in countix
        if clip.label in classes:
            kinds.append(COUNTIX if from_countix else OURS)
        elif clip.label in VARIANTS:
            kinds.append(VARIANT)
        else:
            kinds.append(OTHER_COUNTIX if from_countix else OTHER_MORE)
    return kinds


def recipe(clips: list[Clip], kinds: list[str], setup: Setup, seed: int) -> tuple[set[str], TrainConfig]:
    """The kinds of clips `setup` trains on, and its config (naming the other exercises' labels)."""
    trained_kinds = {OURS, *((COUNTIX,) if setup.countix else ()), *setup.others}
    other_labels = tuple(sorted({c.label for c, k in zip(clips, kinds) if k in setup.others}))
    return trained_kinds, replace(setup.config, seed=seed, other_labels=other_labels)


def run_once(clips: list[Clip], kinds: list[str], classes: tuple[str, ...], setup: Setup, seed: int,
             folds: int) -> list[dict]:
    """One grouped cross-validation: a record per clip with its verdict."""
    trained_kinds, config = recipe(clips, kinds, setup, seed)
    fold_of = fold_of_each_clip([c.label for c in clips], [c.split_group for c in clips], folds, seed)
    records = []
    for fold in range(folds):
        training = [c for c, k, f in zip(clips, kinds, fold_of) if f != fold and k in trained_kinds]
        model = train_model(training, replace(config, seed=seed + fold)).model
        for clip, kind, f in zip(clips, kinds, fold_of):
            if f == fold:
                probabilities = _align(model, clip, classes)
                records.append({"clip": clip.clip_id, "label": clip.label, "kind": kind, "fold": fold,
                                "probabilities": probabilities, "timestamps_s": clip.pose.timestamps_s,
                                "threshold": model.unknown_threshold})
    return records


def summarise(records: list[dict], classes: tuple[str, ...]) -> dict:
    """The figures of one run."""
    def evaluation(kind: str):
        return evaluate_probabilities(classes, [HeldOut(r["clip"], r["label"], r["probabilities"], r["timestamps_s"],
                                                        r["threshold"]) for r in records if r["kind"] == kind])

    def verdicts(kind: str) -> list[tuple[str, bool]]:
        """(exercise named, called unknown) of each clip of `kind` with a person in it."""
        found = []
        for record in (r for r in records if r["kind"] == kind):
            present = ~np.isnan(record["probabilities"]).any(axis=1)
            if present.any():
                mean = record["probabilities"][present].mean(axis=0)
                found.append((classes[int(mean.argmax())], not is_sure(float(mean.max()), record["threshold"])))
        return found

    summary = {}
    for name, kind in (("ours", OURS), ("countix", COUNTIX)):
        judged = evaluation(kind)
        summary[name] = {"clips": len(judged.clips), "clip_accuracy": judged.clip_accuracy if judged.clips else None,
                         "time_accuracy": judged.time_accuracy if judged.clips else None,
                         "called_unknown": judged.unknown_share,
                         "recall": {row["label"]: row["recall"] for row in judged.per_class("clip") if row["support"]}
                         if judged.clips else {}}
    for kind in (OTHER_MORE, OTHER_COUNTIX):
        called = [unknown for _, unknown in verdicts(kind)]
        summary[kind] = {"clips": len(called), "called_unknown": float(np.mean(called)) if called else None}
    variant_records = [r for r in records if r["kind"] == VARIANT and not np.isnan(r["probabilities"]).all()]
    named = verdicts(VARIANT)
    summary[VARIANT] = {"clips": len(named),
                        "as_shipped": float(np.mean([not u and p == VARIANTS[r["label"]]
                                                     for (p, u), r in zip(named, variant_records)])) if named else None,
                        "called_unknown": float(np.mean([u for _, u in named])) if named else None}
    return summary


def mean_of(runs: list[dict]) -> dict:
    """Means over seeds of every figure in `summarise`'s layout (None where a run had none)."""
    def average(values):
        if isinstance(values[0], dict):
            return {key: average([value.get(key) for value in values]) for key in values[0]}
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None
    return average(runs)


def share(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def print_table(name: str, figures: dict, seeds: list[int]) -> None:
    """One row of the table `main` prints."""
    ours, countix, variants = figures["ours"], figures["countix"], figures[VARIANT]
    weakest = min(ours["recall"].items(), key=lambda item: item[1], default=("–", None))
    print(f"| {name} | {share(ours['clip_accuracy'], 1)} | {share(ours['time_accuracy'], 1)} | "
          f"{weakest[0]} {share(weakest[1])} | {share(countix['clip_accuracy'], 1)} | "
          f"{share(figures[OTHER_MORE]['called_unknown'])} / {share(figures[OTHER_COUNTIX]['called_unknown'])} | "
          f"{share(ours['called_unknown'], 1)} / {share(countix['called_unknown'], 1)} | "
          f"{share(variants['as_shipped'])} / {share(variants['called_unknown'])} | {len(seeds)} |", flush=True)
    print("  clip recall: " + ", ".join(f"{label} {share(value)}" for label, value in ours["recall"].items())
          + " | Countix: " + ", ".join(f"{label} {share(value)}" for label, value in countix["recall"].items()),
          flush=True)


def save_shipped(clips: list[Clip], kinds: list[str], classes: tuple[str, ...], setup: Setup, records: list[dict],
                 figures: dict, folds: int, out: Path) -> None:
    """Train the model to ship on every clip `setup` uses; its unknown threshold is calibrated on our
    clips of the shipped exercises as the cross-validation (`records`) held them out, and the
    figures are stored with it."""
    trained_kinds, config = recipe(clips, kinds, setup, seed=0)
    result = train_model([c for c, k in zip(clips, kinds) if k in trained_kinds], config)
    held_out = evaluate_probabilities(classes, [HeldOut(r["clip"], r["label"], r["probabilities"], r["timestamps_s"])
                                                for r in records if r["kind"] == OURS])
    calibrate(result.model, held_out, config.known_called_unknown,
              f"{len(held_out.clips)} clips of ours held out by stratified group {folds}-fold cross-validation")
    result.model.card = result.model.card.scored(cross_validation={**held_out.to_dict(), "folds": folds},
                                                 recognition=figures)
    save_model(result.model, out)
    print(f"saved to {out}: {len(result.train_clips)} training clips, threshold {result.model.unknown_threshold:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="the clip list of ../shared/data (path, label, group)")
    parser.add_argument("--classes", required=True, help="the shipped exercises (comma-separated)")
    parser.add_argument("--countix", type=Path, help="the Countix-Fitness folder (annotation/, poses/)")
    parser.add_argument("--cache", type=Path, default=POSE_CACHE_DIR)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--json-out", type=Path, help="write every run's figures here")
    parser.add_argument("--save", type=Path, help="then train the model to ship by the (one) setup, and save it here")
    args = parser.parse_args()
    if args.save and len(args.setups) != 1:
        parser.error("--save needs exactly one --setups")
    torch.set_num_threads(1)
    remember_features()
    classes = tuple(sorted(args.classes.split(",")))
    clips = load_clips(args.clips, args.cache).clips
    countix = load_countix_clips(args.countix) if args.countix else []
    clips += countix
    kinds = kinds_of(clips, classes, {clip.clip_id for clip in countix})
    counts = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    print(f"{len(clips)} clips ({', '.join(f'{n} {k}' for k, n in counts.items())}) in "
          f"{len({c.split_group for c in clips})} groups; stratified group {args.folds}-fold, seeds {args.seeds}\n")
    print("| setup | our clips: clip accuracy | time-weighted frame accuracy | weakest class (recall) | "
          "Countix clip accuracy | not shipped called unknown (more/ / Countix) | known called unknown "
          "(ours / Countix) | variants named as shipped / unknown | seeds |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = {}
    for name in args.setups:
        started = time.monotonic()
        records = [run_once(clips, kinds, classes, SETUPS[name], seed, args.folds) for seed in args.seeds]
        runs = [summarise(run, classes) for run in records]
        figures = mean_of(runs)
        print_table(name, figures, args.seeds)
        results[name] = {"mean": figures, "runs": runs, "seeds": args.seeds, "setup": asdict(SETUPS[name]),
                         "seconds": round(time.monotonic() - started)}
        if args.json_out:
            args.json_out.write_text(json.dumps(results, indent=1, default=list))
        if args.save:
            save_shipped(clips, kinds, classes, SETUPS[name], records[0], figures, args.folds, args.save)


if __name__ == "__main__":
    main()
