"""How well form feedback learnt from good examples only separates good from bad form.

    python -m benchmarks.form [--data ../shared/data/form] [--videos ../shared/data/clips.csv]

For each labelled set of ../shared/data/form (see its README): every example (a clip, or a stretch
of consecutive frames of one label for frame-level sets) is scored against a profile fitted on the
good examples of the *other* groups only (a clip or stretch is its own group; VAY's sessions are
groups). Printed per set: AUROC of the score, bad vs good; the same for the plain baseline
(distance to the nearest held-out good example, both resampled to a fixed length); and, where the
kind of error is known, the share of bad examples whose top cue names the right body part.

With --videos: the share of repetitions of real clips (../shared/data/clips.csv rows under
data/videos) that get a cue from their exercise's profile fitted on the other groups' clips.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from wpa.movement.form import FormProfile, Unit, form_units, judge_units
from wpa.poses.clip import Clip
from wpa.poses.layouts import (exercise_correction_clips, mediapipe17_clip, openpose18_clip,
                              openpose18_table_clips)
from wpa.movement.form.measures import visible_points

BASELINE_FRAMES = 32


@dataclass
class Example:
    clip: Clip
    good: bool
    group: str
    parts: frozenset[str] = frozenset()  # body parts a right top cue names ("" where unknown)
    units: list[Unit] = field(default_factory=list)


def load_sets(root: Path) -> dict[str, list[Example]]:
    """The labelled sets under `root` that are there."""
    sets: dict[str, list[Example]] = {}
    ec = root / "exercise-correction"
    if (ec / "bicep" / "test.csv").is_file():
        sets["EC biceps curl (stretches)"] = [
            Example(c, c.label == "C", c.clip_id, frozenset({"torso"}) if c.label == "L" else frozenset())
            for c in exercise_correction_clips(ec / "bicep" / "test.csv")]
    if (ec / "plank" / "test.csv").is_file():
        sets["EC plank (stretches)"] = [
            Example(c, c.label == "C", c.clip_id, frozenset() if c.label == "C" else frozenset({"hips"}))
            for c in exercise_correction_clips(ec / "plank" / "test.csv")]
    for name, folder, reader in (("Pose Trainer biceps curl", root / "pose-trainer" / "bicep", openpose18_clip),
                                 ("Pose Trainer front raise", root / "pose-trainer" / "frontraise", openpose18_clip),
                                 ("kaiakol squat", root / "kaiakol" / "squat", mediapipe17_clip)):
        files = sorted(folder.glob("*/*.npy"))
        if files:
            sets[name] = [Example(reader(np.load(f), f"{f.parent.name}/{f.stem}", f.parent.name),
                                  f.parent.name == "correct", f.stem) for f in files]
    vay = root / "vay-plank" / "fullDataFrame.csv"
    if vay.is_file():
        clips = openpose18_table_clips(vay, {"0.0": "low", "1.0": "correct", "2.0": "high"})
        sets["VAY plank (stretches, by session)"] = [
            Example(c, c.label == "correct", c.group, frozenset() if c.label == "correct" else frozenset({"hips"}))
            for c in clips]
    return sets


def evaluate(examples: list[Example]) -> dict:
    """Held-out scores, AUROC, baseline AUROC, right-part share for one set."""
    for example in examples:
        example.units = form_units(example.clip.pose)
    examples = [e for e in examples if e.units]
    shapes = {id(e): _resampled(e.clip) for e in examples}
    scores, baseline, right = [], [], []
    for group in dict.fromkeys(e.group for e in examples):
        references = [e for e in examples if e.good and e.group != group]
        profile = FormProfile().fit(np.stack([u.values for e in references for u in e.units]),
                                    groups=np.array([e.group for e in references for u in e.units]))
        for example in (e for e in examples if e.group == group):
            form = judge_units(profile, example.units)
            scores.append((example.good, form.score))
            baseline.append(min(_distance(shapes[id(example)], shapes[id(r)]) for r in references))
            if example.parts:
                right.append(bool(form.cues) and form.cues[0].part in example.parts)
    labels = np.array([not good for good, _ in scores])
    return {"good": int((~labels).sum()), "bad": int(labels.sum()),
            "auroc": roc_auc_score(labels, np.nan_to_num([s for _, s in scores], nan=0.0)),
            "baseline": roc_auc_score(labels, np.nan_to_num(baseline, nan=0.0)),
            "right_part": (float(np.mean(right)), len(right)) if right else None}


def _resampled(clip: Clip) -> np.ndarray:
    """The plain baseline's view of a clip: joints relative to the hips' centre in torso lengths,
    resampled to BASELINE_FRAMES frames."""
    points = visible_points(clip.pose.landmarks, clip.pose.aspect_ratio)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            hips = np.nanmean(points[:, [23, 24]], axis=1)
            shoulders = np.nanmean(points[:, [11, 12]], axis=1)
            scale = np.nanmedian(np.linalg.norm(shoulders - hips, axis=1))
            points = (points - hips[:, None]) / scale
    index = np.linspace(0, len(points) - 1, BASELINE_FRAMES)
    lower = np.floor(index).astype(int)
    upper = np.minimum(lower + 1, len(points) - 1)
    weight = (index - lower)[:, None, None]
    return points[lower] * (1 - weight) + points[upper] * weight


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.mean((a[both] - b[both]) ** 2)) if both.any() else np.inf


def video_false_cues(clip_list: Path, poses: Path | None = None) -> dict[str, tuple[int, int]]:
    """Per exercise: (repetitions or hold windows that got a cue, all of them) over the real clips
    of data/videos, each judged by its exercise's profile fitted on the other groups' clips. Poses
    from `poses` (a folder `wpa extract` wrote) when given, else extracted or read from the cache."""
    from wpa.recognition.folders import with_groups
    from wpa.recognition.sources import load_clips

    loaded = with_groups(load_clips(poses or clip_list).clips, clip_list)
    clips = [c for c in loaded if c.source and "/data/videos/" in c.source.as_posix()]
    units = {c.clip_id: form_units(c.pose) for c in clips}
    counts: dict[str, tuple[int, int]] = {}
    for label in sorted({c.label for c in clips}):
        of_label = [c for c in clips if c.label == label]
        cued = total = 0
        for group in dict.fromkeys(c.split_group for c in of_label):
            references = [(u.values, c.split_group) for c in of_label if c.split_group != group
                          for u in units[c.clip_id]]
            if len(references) < 3:
                continue
            profile = FormProfile().fit(np.stack([values for values, _ in references]), label=label,
                                        groups=np.array([source for _, source in references]))
            for clip in (c for c in of_label if c.split_group == group):
                form = judge_units(profile, units[clip.clip_id])
                cued += sum(1 for rep in form.reps if rep.cues)
                total += len(form.reps)
        counts[label] = (cued, total)
    return counts


def live_cost_ms(repeats: int = 200) -> float:
    """Milliseconds per frame the form model adds to Live: judging one repetition of 60 frames
    (measures, score, cues) once it has been counted, divided by its frames."""
    from wpa.poses.sequence import PoseSequence
    from wpa.movement.reps import Repetition

    rng = np.random.default_rng(0)
    frames = 60
    landmarks = rng.uniform(0.3, 0.7, (frames, 33, 4)).astype(np.float32)
    landmarks[:, :, 3] = 1.0
    pose = PoseSequence(landmarks, np.full((frames, 33, 3), np.nan, np.float32), np.arange(frames) / 30.0, 30.0, (640, 480))
    profile = FormProfile().fit(np.stack([u.values for u in form_units(pose, (Repetition(0.0, 2.0),))] * 5))
    began = time.perf_counter()
    for _ in range(repeats):
        judge_units(profile, form_units(pose, (Repetition(0.0, 2.0),)))
    return (time.perf_counter() - began) / repeats / frames * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/form"))
    parser.add_argument("--videos", type=Path, help="also the cue rate on the real clips of this clip list's data/videos")
    parser.add_argument("--poses", type=Path, help="their poses: a folder `wpa extract` wrote from that clip list")
    args = parser.parse_args(argv)
    print(f"form model cost on Live: {live_cost_ms():.3f} ms per frame (one 60-frame repetition judged after it ends)")
    sets = load_sets(args.data)
    if not sets:
        print(f"no labelled sets under {args.data}", file=sys.stderr)
        return 1
    print(f"{'set':38} {'good':>5} {'bad':>5} {'AUROC':>6} {'baseline':>8} {'top cue right':>14} {'s':>5}")
    aurocs = []
    for name, examples in sets.items():
        began = time.perf_counter()
        result = evaluate(examples)
        aurocs.append(result["auroc"])
        part = result["right_part"]
        part_text = f"{part[0]:.0%} of {part[1]}" if part else "-"
        print(f"{name:38} {result['good']:5d} {result['bad']:5d} {result['auroc']:6.3f} {result['baseline']:8.3f} "
              f"{part_text:>14} {time.perf_counter() - began:5.1f}", flush=True)
    print(f"mean AUROC {np.mean(aurocs):.3f}")
    if args.videos:
        counts = video_false_cues(args.videos, args.poses)
        for label, (cued, total) in counts.items():
            print(f"  {label:20} {cued:3d} of {total:3d} repetitions cued")
        cued, total = (sum(values) for values in zip(*counts.values()))
        print(f"real clips (data/videos, reference held out by group): {cued} of {total} repetitions "
              f"({cued / max(total, 1):.1%}) got a cue")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
