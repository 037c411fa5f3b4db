"""Judging a classifier on clips it did not train on: frame, time-weighted and clip accuracy,
per-class precision, recall and F1, confusion matrices (scikit-learn computes them), the clips it
got wrong, and how often known clips would be called unknown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from wpa.recognition.inference import is_sure


class HeldOut(NamedTuple):
    """A clip's per-frame probabilities from a model that never saw it."""

    clip_id: str
    label: str
    probabilities: np.ndarray  # (T, classes), NaN where nobody was found
    timestamps_s: np.ndarray | None = None  # (T,); None counts every frame alike
    # The predicting model's unknown threshold: below it, the clip would be called unknown.
    unknown_threshold: float | None = None


@dataclass(frozen=True)
class ClipResult:
    """How one held-out clip was classified."""

    clip_id: str
    label: str
    predicted: str
    confidence: float  # mean probability of `predicted` over the clip's frames with a person
    frames: int  # frames with a person
    frame_accuracy: float
    unknown_threshold: float | None = None  # that of the model that predicted it

    @property
    def called_unknown(self) -> bool:
        """Whether the app would call this clip unknown rather than name an exercise."""
        return self.unknown_threshold is not None and not is_sure(self.confidence, self.unknown_threshold)

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass(frozen=True)
class Evaluation:
    """Frame- and clip-level results over a set of held-out clips.

    The frame arrays hold one entry per frame with a person: its true and predicted class indices
    and how long it lasted (so a 60 fps clip does not count twice as much as a 30 fps one).
    """

    labels: tuple[str, ...]
    frame_truth: np.ndarray
    frame_predicted: np.ndarray
    frame_seconds: np.ndarray
    clips: tuple[ClipResult, ...]

    @property
    def frame_confusion(self) -> np.ndarray:
        """Frames per (true, predicted) class; rows are true classes."""
        return confusion_matrix(self.frame_truth, self.frame_predicted, labels=range(len(self.labels)))

    @property
    def clip_confusion(self) -> np.ndarray:
        return confusion_matrix(*self._clip_classes(), labels=range(len(self.labels)))

    @property
    def frame_accuracy(self) -> float:
        return float((self.frame_truth == self.frame_predicted).mean()) if len(self.frame_truth) else 0.0

    @property
    def time_accuracy(self) -> float:
        """The share of the time with a person on screen that is labelled right."""
        total = self.frame_seconds.sum()
        return float(self.frame_seconds[self.frame_truth == self.frame_predicted].sum() / total) if total else 0.0

    @property
    def clip_accuracy(self) -> float:
        return float(np.mean([clip.correct for clip in self.clips])) if self.clips else 0.0

    @property
    def wrong_clips(self) -> list[ClipResult]:
        return [clip for clip in self.clips if not clip.correct]

    @property
    def unknown_share(self) -> float | None:
        """The share of clips the app would call unknown (None when no model threshold is known)."""
        judged = [clip for clip in self.clips if clip.unknown_threshold is not None]
        return sum(clip.called_unknown for clip in judged) / len(judged) if judged else None

    def per_class(self, level: str = "frame") -> list[dict[str, Any]]:
        """Precision, recall, F1 and support of each class, on frames or on clips."""
        truth, predicted = (self.frame_truth, self.frame_predicted) if level == "frame" else self._clip_classes()
        precision, recall, f1, support = precision_recall_fscore_support(
            truth, predicted, labels=range(len(self.labels)), zero_division=0)
        return [{"label": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                for label, p, r, f, n in zip(self.labels, precision, recall, f1, support)]

    def macro_f1(self, level: str = "frame") -> float:
        """Mean F1 over the classes that occur in the evaluated clips."""
        scores = [row["f1"] for row in self.per_class(level) if row["support"] > 0]
        return float(np.mean(scores)) if scores else 0.0

    def _clip_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """Each clip's true and predicted class index."""
        index = {label: i for i, label in enumerate(self.labels)}
        return (np.array([index[c.label] for c in self.clips], np.int64),
                np.array([index[c.predicted] for c in self.clips], np.int64))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (stored in model.json and printed by the CLI)."""
        summary = {
            "frame_accuracy": self.frame_accuracy,
            "time_accuracy": self.time_accuracy,
            "clip_accuracy": self.clip_accuracy,
            "frame_macro_f1": self.macro_f1("frame"),
            "clip_macro_f1": self.macro_f1("clip"),
            "frames": len(self.frame_truth),
            "clips": len(self.clips),
            "labels": list(self.labels),
            "per_class": self.per_class("frame"),
            "per_class_clips": self.per_class("clip"),
            "frame_confusion": self.frame_confusion.tolist(),
            "clip_confusion": self.clip_confusion.tolist(),
            "wrong_clips": [{"clip_id": c.clip_id, "label": c.label, "predicted": c.predicted,
                             "confidence": round(c.confidence, 4)} for c in self.wrong_clips],
        }
        if self.unknown_share is not None:
            summary["clips_called_unknown"] = self.unknown_share
        return summary


def evaluate_probabilities(labels: tuple[str, ...], clips: list[HeldOut] | list[tuple]) -> Evaluation:
    """Build an Evaluation from held-out clips (`HeldOut`, or tuples of its leading fields).

    Frames with NaN probabilities (nobody in them) are left out. A clip's prediction is the class
    with the highest mean probability over its frames; a clip with no frame left is skipped.
    """
    index = {label: i for i, label in enumerate(labels)}
    truths, predictions, seconds, results = [], [], [], []
    for clip in clips:
        clip = HeldOut(*clip)
        present = ~np.isnan(clip.probabilities).any(axis=1)
        if not present.any():
            continue
        probabilities = clip.probabilities[present]
        truth = index[clip.label]
        frame_predictions = probabilities.argmax(axis=1)
        truths.append(np.full(len(probabilities), truth, np.int64))
        predictions.append(frame_predictions)
        seconds.append(frame_durations(clip.timestamps_s, present))
        mean = probabilities.mean(axis=0)
        best = int(mean.argmax())
        results.append(ClipResult(clip_id=clip.clip_id, label=clip.label, predicted=labels[best],
                                  confidence=float(mean[best]), frames=len(probabilities),
                                  frame_accuracy=float((frame_predictions == truth).mean()),
                                  unknown_threshold=clip.unknown_threshold))
    joined = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
    return Evaluation(labels=tuple(labels), frame_truth=joined(truths, np.int64),
                      frame_predicted=joined(predictions, np.int64), frame_seconds=joined(seconds, np.float64),
                      clips=tuple(results))


def calibrate_unknown_threshold(evaluation: Evaluation, called_unknown: float) -> float | None:
    """The confidence below which about `called_unknown` of `evaluation`'s clips (known
    exercises, from groups the model did not train on) fall: a model's unknown threshold.
    None without clips to go by."""
    confidences = [clip.confidence for clip in evaluation.clips]
    return float(np.quantile(confidences, called_unknown)) if confidences else None


def frame_durations(timestamps_s: np.ndarray | None, present: np.ndarray) -> np.ndarray:
    """How long each frame with a person lasts: until the next frame, at most twice the clip's
    usual interval (so a gap where nobody was found is not credited to the frame before it).
    Without timestamps every frame counts one."""
    if timestamps_s is None or len(timestamps_s) < 2:
        return np.ones(int(present.sum()))
    gaps = np.diff(timestamps_s)
    usual = float(np.median(gaps))
    durations = np.minimum(np.append(gaps, usual), 2 * usual)
    return durations[present]
