"""A model's card: how it was trained (the recipe and the data) and what it scored on clips it never
saw, saved with its weights in model.json.

Frozen: a step that measures the model again (cross-validation, calibrating its unknown threshold)
makes a new card with `scored` or `calibrated` rather than changing this one. The JSON keys are
those model.json has always had (`created`, `train_config`, `data_summary`, `metrics`), so models
saved before the card existed load with theirs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from wpa import __version__


@dataclass(frozen=True)
class TrainingData:
    """What the model was trained on (its `data_summary` in model.json)."""

    clips: int = 0
    frames: int = 0
    frames_with_pose: int = 0
    classes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # label: clips, frames, frames_with_pose
    train_clips: tuple[str, ...] = ()
    val_clips: tuple[str, ...] = ()
    # What `evaluate` leaves out: a clip of a group the model has seen is not a fair test.
    groups_seen: tuple[str, ...] = ()
    other_exercises: Mapping[str, int] = field(default_factory=dict)  # clips trained as exercises not to name

    @property
    def seen_clips(self) -> frozenset[str]:
        """Clips the model was trained or validated on."""
        return frozenset(self.train_clips) | frozenset(self.val_clips)

    def to_json(self) -> dict[str, Any]:
        data = {"clips": self.clips, "frames": self.frames, "frames_with_pose": self.frames_with_pose,
                "classes": {label: dict(counts) for label, counts in self.classes.items()},
                "train_clips": list(self.train_clips), "val_clips": list(self.val_clips),
                "groups_seen": list(self.groups_seen)}
        if self.other_exercises:
            data["other_exercises"] = dict(self.other_exercises)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingData:
        return cls(clips=int(data.get("clips", 0)), frames=int(data.get("frames", 0)),
                   frames_with_pose=int(data.get("frames_with_pose", 0)), classes=dict(data.get("classes", {})),
                   train_clips=tuple(data.get("train_clips", ())), val_clips=tuple(data.get("val_clips", ())),
                   groups_seen=tuple(data.get("groups_seen", ())), other_exercises=dict(data.get("other_exercises", {})))


@dataclass(frozen=True)
class Calibration:
    """How the unknown threshold was fitted: below `threshold` about `known_called_unknown` of the
    held-out clips of known exercises (`calibrated_on`) would be called unknown."""

    threshold: float
    calibrated_on: str
    known_called_unknown: float


@dataclass(frozen=True)
class Headline:
    """The model's accuracy on clips it never saw, as a page shows it."""

    clip_accuracy: float | None
    frame_accuracy: float | None
    time_accuracy: float | None
    measured_by: str  # e.g. "held-out validation clips"


@dataclass(frozen=True)
class Scores:
    """What the model scored (its `metrics` in model.json). Evaluations are kept as
    `wpa.recognition.metrics.Evaluation.to_dict()` writes them."""

    validation: Mapping[str, Any] | None = None  # the grouped validation split of training
    cross_validation: Mapping[str, Any] | None = None  # with "folds"
    recognition: Mapping[str, Any] | None = None  # scripts/recognition.py's figures (the shipped model)
    unknown_threshold: Calibration | None = None
    stop_reason: str = ""
    epochs_run: int = 0
    best_epoch: int = 0

    def headline(self) -> Headline | None:
        """Accuracy on unseen clips: cross-validation if it was run, else the validation split."""
        if self.cross_validation:
            source = self.cross_validation
            measured_by = f"whole sources held out, {source.get('folds', '?')}-fold cross-validation"
        elif self.validation:
            source, measured_by = self.validation, "held-out validation clips"
        else:
            return None
        return Headline(clip_accuracy=source.get("clip_accuracy"), frame_accuracy=source.get("frame_accuracy"),
                        time_accuracy=source.get("time_accuracy"), measured_by=measured_by)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.unknown_threshold is not None:
            data["unknown_threshold"] = vars(self.unknown_threshold).copy()
        for name in ("validation", "cross_validation", "recognition"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.stop_reason:
            data.update(stop_reason=self.stop_reason, epochs_run=self.epochs_run, best_epoch=self.best_epoch)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scores:
        calibration = data.get("unknown_threshold")
        return cls(validation=data.get("validation"), cross_validation=data.get("cross_validation"),
                   recognition=data.get("recognition"),
                   unknown_threshold=Calibration(float(calibration["threshold"]), str(calibration["calibrated_on"]),
                                                 float(calibration["known_called_unknown"]))
                   if isinstance(calibration, Mapping) else None,
                   stop_reason=str(data.get("stop_reason", "")), epochs_run=int(data.get("epochs_run", 0)),
                   best_epoch=int(data.get("best_epoch", 0)))


@dataclass(frozen=True)
class ModelCard:
    """What the model is for, how it was trained and what it scored."""

    train_config: Mapping[str, Any] = field(default_factory=dict)  # wpa.recognition.train_config.TrainConfig as a dict
    data: TrainingData = field(default_factory=TrainingData)
    scores: Scores = field(default_factory=Scores)
    created: str = ""  # when it was trained, ISO 8601
    wpa_version: str = __version__

    def scored(self, **scores: Any) -> ModelCard:
        """This card with more scores (e.g. `cross_validation=...`)."""
        return replace(self, scores=replace(self.scores, **scores))

    def calibrated(self, calibration: Calibration) -> ModelCard:
        return self.scored(unknown_threshold=calibration)

    def to_json(self) -> dict[str, Any]:
        """model.json's keys for the card."""
        return {"wpa_version": self.wpa_version, "created": self.created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "train_config": dict(self.train_config), "metrics": self.scores.to_json(),
                "data_summary": self.data.to_json()}

    @classmethod
    def from_json(cls, metadata: Mapping[str, Any]) -> ModelCard:
        """The card of a model.json, old ones included (keys they lack take their defaults)."""
        return cls(train_config=dict(metadata.get("train_config") or {}),
                   data=TrainingData.from_json(metadata.get("data_summary") or {}),
                   scores=Scores.from_json(metadata.get("metrics") or {}), created=str(metadata.get("created", "")),
                   wpa_version=str(metadata.get("wpa_version", "")))
