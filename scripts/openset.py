"""Does the model say "I don't know" to exercises it was not trained on, and only to those?

Three measurements, all on groups (people, cameras, gyms) the judging model never trained on:

* known clips called unknown: stratified group k-fold cross-validation of the recipe; each fold's
  model has its own threshold, calibrated on its own validation groups.
* leave one class out: for each class, a model trained without it (threshold from its own
  validation groups) judges that class's clips; every one it calls unknown is right.
* exercises no model here knows: the clips of the classes of `--unknown` that the shipped model
  does not know, judged by the shipped model.

Beside the share each threshold rejects, the table compares clip scores by how well they rank
unknown clips below known ones (AUROC): the mean probability of the best class (what wpa uses),
the energy of the logits, and the cosine similarity and Mahalanobis distance of the penultimate
layer to the class centroids of the training frames. Run with `make openset` (about 40 minutes on
two cores); results are written as JSON with `--json-out`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from wpa.paths import DEFAULT_MODEL_DIR, POSE_CACHE_DIR
from wpa.poses.clip import Clip
from wpa.poses.sequence import mirror_pose
from wpa.recognition.features import compute_features
from wpa.recognition.folders import with_groups
from wpa.recognition.inference import is_sure
from wpa.recognition.model import ExerciseModel, load_model
from wpa.recognition.sources import load_clips
from wpa.recognition.train import fold_of_each_clip, train_model
from wpa.recognition.train_config import TrainConfig

SCORES = ("mean top probability", "energy", "centroid cosine", "Mahalanobis")


def clip_scores(model: ExerciseModel, pose, centroids: np.ndarray, precision: np.ndarray) -> dict[str, float] | None:
    """Each candidate score of one clip (higher: more like a known exercise), and its confidence."""
    embeddings, logits = [], []
    for view in [pose, mirror_pose(pose)] if model.mirror_average else [pose]:
        hidden = penultimate(model, view)
        if not len(hidden):
            return None
        with torch.no_grad():
            logits.append(model.network.layers[-1](torch.from_numpy(hidden)).numpy())
        embeddings.append(hidden)
    probabilities = np.mean([torch.softmax(torch.from_numpy(view), 1).numpy() for view in logits], axis=0)
    energy = np.mean([torch.logsumexp(torch.from_numpy(view), 1).numpy() for view in logits], axis=0)
    embedding = np.mean(embeddings, axis=0)
    unit = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-9)
    unit_centroids = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    offsets = embedding[:, None, :] - centroids[None]
    distances = np.einsum("ncd,de,nce->nc", offsets, precision, offsets).min(axis=1)
    return {"mean top probability": float(probabilities.mean(axis=0).max()), "energy": float(energy.mean()),
            "centroid cosine": float((unit @ unit_centroids.T).max(axis=1).mean()),
            "Mahalanobis": float(-np.median(distances))}


def penultimate(model: ExerciseModel, pose) -> np.ndarray:
    """The last hidden layer's activations for each frame of `pose` with a person."""
    features = compute_features(pose, model.feature_set)
    features = features[~np.isnan(features).any(axis=1)]
    with torch.no_grad():
        return model.network.layers[:-1](torch.from_numpy(model.scaler.transform(features))).numpy()


def class_centroids(model: ExerciseModel, clips: list[Clip]) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of the penultimate layer per class over `clips`' frames, and the precision
    matrix of a covariance shared by all classes."""
    rows, owners = [], []
    for clip in clips:
        rows.append(penultimate(model, clip.pose))
        owners += [model.labels.index(clip.label)] * len(rows[-1])
    rows, owners = np.concatenate(rows), np.array(owners)
    centroids = np.stack([rows[owners == i].mean(axis=0) for i in range(len(model.labels))])
    residuals = rows - centroids[owners]
    covariance = np.cov(residuals.T) + 1e-3 * np.eye(rows.shape[1])
    return centroids, np.linalg.inv(covariance)


def judge(model: ExerciseModel, training: list[Clip], clips: list[Clip], kind: str) -> list[dict]:
    """One record per clip: its scores, the model's verdict and the threshold it used."""
    centroids, precision = class_centroids(model, training)
    records = []
    for clip in clips:
        scores = clip_scores(model, clip.pose, centroids, precision)
        if scores is not None:
            records.append({"kind": kind, "clip": clip.clip_id, "label": clip.label, **scores,
                            "threshold": model.unknown_threshold,
                            "called_unknown": not is_sure(scores["mean top probability"], model.unknown_threshold)})
    return records


def auroc(known: list[float], unknown: list[float]) -> float:
    """The chance that a known clip scores above an unknown one (ties count half)."""
    known, unknown = np.array(known)[:, None], np.array(unknown)[None]
    return float((known > unknown).mean() + 0.5 * (known == unknown).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="clips of the known exercises: a clip list or a folder")
    parser.add_argument("--groups", type=Path, help="a clip list giving the groups of a folder's clips")
    parser.add_argument("--unknown", type=Path, required=True, help="clips of exercises to be called unknown")
    parser.add_argument("--classes", help="use only these classes of DATA (comma-separated)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="the shipped model")
    parser.add_argument("--cache", type=Path, default=POSE_CACHE_DIR)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)

    shipped = load_model(args.model)
    config = replace(TrainConfig.from_dict(shipped.card.train_config), seed=args.seed)
    clips = load_clips(args.data, args.cache, labels=args.classes.split(",") if args.classes else None).clips
    if args.groups:
        clips = with_groups(clips, args.groups)
    records: list[dict] = []
    started = time.monotonic()

    fold_of = fold_of_each_clip([c.label for c in clips], [c.split_group for c in clips], args.folds, args.seed)
    for fold in range(args.folds):
        rest = [clip for clip, f in zip(clips, fold_of) if f != fold]
        result = train_model(rest, replace(config, seed=args.seed + fold))
        trained = [clip for clip in rest if clip.clip_id in set(result.train_clips)]
        held_out = [clip for clip, f in zip(clips, fold_of) if f == fold and clip.label in result.model.labels]
        records += judge(result.model, trained, held_out, "known")
        print(f"fold {fold + 1}/{args.folds} ({time.monotonic() - started:.0f} s)", flush=True)

    for label in sorted({clip.label for clip in clips}):
        rest = [clip for clip in clips if clip.label != label]
        result = train_model(rest, config)
        trained = [clip for clip in rest if clip.clip_id in set(result.train_clips)]
        records += judge(result.model, trained, [clip for clip in clips if clip.label == label], "left out")
        print(f"left out {label} ({time.monotonic() - started:.0f} s)", flush=True)

    others = [clip for clip in load_clips(args.unknown, args.cache).clips if clip.label not in shipped.labels]
    shipped_training = [clip for clip in clips if clip.clip_id in set(shipped.card.data.train_clips)]
    records += judge(shipped, shipped_training or clips, others, "not in the shipped model")

    print(f"\nthreshold: mean top probability below the model's calibrated threshold "
          f"(shipped model: {shipped.unknown_threshold:.3f})\n")
    print("| clips | how many | called unknown |")
    print("|---|---|---|")
    for kind in ("known", "left out", "not in the shipped model"):
        chosen = [r for r in records if r["kind"] == kind]
        share = np.mean([r["called_unknown"] for r in chosen]) if chosen else float("nan")
        print(f"| {kind} | {len(chosen)} | {share:.0%} |")
    print("\n| score | AUROC, left-out classes | AUROC, exercises not in the shipped model |")
    print("|---|---|---|")
    known = [r for r in records if r["kind"] == "known"]
    for score in SCORES:
        cells = [auroc([r[score] for r in known], [r[score] for r in records if r["kind"] == kind])
                 for kind in ("left out", "not in the shipped model")]
        print(f"| {score} | {cells[0]:.3f} | {cells[1]:.3f} |")
    if args.json_out:
        args.json_out.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
