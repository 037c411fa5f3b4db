"""The rows a training run learns from and validates on: feature rows of every frame with a
person, of each clip and the copies the config asks for, with their targets and loss weights.

A clip of an exercise the model must not name (outlier exposure, `TrainConfig.other_labels`) has
target OTHER: its frames are trained toward equal probabilities for every class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from wpa.poses.clip import Clip
from wpa.poses.sequence import PoseSequence, mirror_pose
from wpa.recognition.augment import augmented_copies
from wpa.recognition.features import box_stretched, compute_features
from wpa.recognition.model import Scaler
from wpa.recognition.train_config import TrainConfig


OTHER = -1  # the target of a frame of an exercise the model must not name


def training_rows(clips: Sequence[Clip], labels: tuple[str, ...],
                  config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, class indices (OTHER for clips of `config.other_labels`) and loss weights of
    every training frame with a person (at most `config.max_rows_per_clip` of each, evenly spaced):
    of each clip, its augmented copies (when it augments), its box-stretched copy (when the config
    asks for one) and the mirror image of each (when it mirrors)."""
    index = {label: i for i, label in enumerate(labels)}
    rng = np.random.default_rng(config.seed)
    rows, targets, owners = [], [], []
    for clip in clips:
        poses = [clip.pose]
        if config.augment is not None:
            poses += augmented_copies(clip.pose, rng, config.augment)
        if config.box_copy:
            poses.append(box_stretched(clip.pose))
        if config.mirror:
            poses += [mirror_pose(pose) for pose in poses]
        target = index.get(clip.label, OTHER)
        for pose in poses:
            features = at_most(rows_with_a_person(pose, config.feature_set), config.max_rows_per_clip)
            rows.append(features)
            targets.append(np.full(len(features), target, np.int64))
            owners += [(clip.label, clip.split_group)] * len(features)
    weights = balancing_weights(owners, config.balance)
    others = np.concatenate(targets) == OTHER
    weights[others] *= config.outlier_weight
    return np.concatenate(rows), np.concatenate(targets), weights


def balancing_weights(owners: list[tuple[str, str]], balance: str) -> np.ndarray:
    """Each frame's loss weight, from the (class, group) it belongs to; they average to 1."""
    if balance == "none":
        return np.ones(len(owners), np.float32)
    if balance == "class":
        frames_of_class = Counter(label for label, _ in owners)
        weights = np.array([1 / frames_of_class[label] for label, _ in owners])
    else:
        frames_of_group = Counter(owners)
        groups_of_class = Counter(label for label, _ in frames_of_group)
        weights = np.array([1 / (frames_of_group[owner] * groups_of_class[owner[0]]) for owner in owners])
    return (weights * len(weights) / weights.sum()).astype(np.float32)


def validation_views(clips: Sequence[Clip], labels: tuple[str, ...], config: TrainConfig,
                     scaler: Scaler) -> tuple[list[torch.Tensor], torch.Tensor] | None:
    """The scaled rows of the validation clips as recorded (and mirrored, when the config mirrors;
    at most `config.max_rows_per_clip` of each), with their class indices; None without validation clips."""
    if not clips:
        return None
    index = {label: i for i, label in enumerate(labels)}
    recorded = [at_most(rows_with_a_person(clip.pose, config.feature_set), config.max_rows_per_clip) for clip in clips]
    targets = np.concatenate([np.full(len(rows), index[clip.label], np.int64) for clip, rows in zip(clips, recorded)])
    views = [torch.from_numpy(scaler.transform(np.concatenate(recorded)))]
    if config.mirror:
        mirrored = [at_most(rows_with_a_person(mirror_pose(clip.pose), config.feature_set), config.max_rows_per_clip)
                    for clip in clips]
        views.append(torch.from_numpy(scaler.transform(np.concatenate(mirrored))))
    return views, torch.from_numpy(targets)


def at_most(rows: np.ndarray, count: int | None) -> np.ndarray:
    """`count` evenly spaced rows of `rows` (all of them when there are no more, or `count` is None)."""
    if count is None or len(rows) <= count:
        return rows
    return rows[np.linspace(0, len(rows) - 1, count).round().astype(int)]


def rows_with_a_person(pose: PoseSequence, feature_set: str) -> np.ndarray:
    """The feature rows of the frames of `pose` where someone was found."""
    features = compute_features(pose, feature_set)
    return features[~np.isnan(features).any(axis=1)]
