"""Judging a classifier on clips it did not train on: frame and clip accuracy, per-class precision,
recall and F1, confusion matrices, and the list of clips it got wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClipResult:
    """How one held-out clip was classified."""

    clip_id: str
    label: str
    predicted: str
    confidence: float  # mean probability of `predicted` over the clip's frames with a person
    frames: int  # frames with a person
    frame_accuracy: float

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass(frozen=True)
class Evaluation:
    """Frame- and clip-level results over a set of held-out clips. Rows of the confusion
    matrices are true classes, columns predicted ones."""

    labels: tuple[str, ...]
    frame_confusion: np.ndarray
    clip_confusion: np.ndarray
    clips: tuple[ClipResult, ...]

    @property
    def frame_accuracy(self) -> float:
        return _accuracy(self.frame_confusion)

    @property
    def clip_accuracy(self) -> float:
        return _accuracy(self.clip_confusion)

    @property
    def wrong_clips(self) -> list[ClipResult]:
        return [clip for clip in self.clips if not clip.correct]

    def per_class(self, level: str = "frame") -> list[dict[str, Any]]:
        """Precision, recall, F1 and support of each class, on frames or on clips."""
        confusion = self.frame_confusion if level == "frame" else self.clip_confusion
        true_positive = np.diag(confusion).astype(float)
        predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
        precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
        recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
        return [{"label": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                for label, p, r, f, n in zip(self.labels, precision, recall, f1, actual)]

    def macro_f1(self, level: str = "frame") -> float:
        """Mean F1 over the classes that occur in the evaluated clips."""
        scores = [row["f1"] for row in self.per_class(level) if row["support"] > 0]
        return float(np.mean(scores)) if scores else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (stored in model.json and printed by the CLI)."""
        return {
            "frame_accuracy": self.frame_accuracy,
            "clip_accuracy": self.clip_accuracy,
            "frame_macro_f1": self.macro_f1("frame"),
            "clip_macro_f1": self.macro_f1("clip"),
            "frames": int(self.frame_confusion.sum()),
            "clips": len(self.clips),
            "labels": list(self.labels),
            "per_class": self.per_class("frame"),
            "frame_confusion": self.frame_confusion.tolist(),
            "clip_confusion": self.clip_confusion.tolist(),
            "wrong_clips": [{"clip_id": c.clip_id, "label": c.label, "predicted": c.predicted,
                             "confidence": round(c.confidence, 4)} for c in self.wrong_clips],
        }


def evaluate_probabilities(labels: tuple[str, ...], clips: list[tuple[str, str, np.ndarray]]) -> Evaluation:
    """Build an Evaluation from (clip id, true label, per-frame probabilities (T, classes)).

    Frames with NaN probabilities (nobody in them) are left out. A clip's prediction is the class
    with the highest mean probability over its frames; a clip with no frame left is skipped.
    """
    index = {label: i for i, label in enumerate(labels)}
    frame_confusion = np.zeros((len(labels), len(labels)), np.int64)
    clip_confusion = np.zeros_like(frame_confusion)
    results = []
    for clip_id, label, probabilities in clips:
        probabilities = probabilities[~np.isnan(probabilities).any(axis=1)]
        if len(probabilities) == 0:
            continue
        truth = index[label]
        frame_predictions = probabilities.argmax(axis=1)
        np.add.at(frame_confusion, (truth, frame_predictions), 1)
        mean = probabilities.mean(axis=0)
        clip_prediction = int(mean.argmax())
        clip_confusion[truth, clip_prediction] += 1
        results.append(ClipResult(clip_id=clip_id, label=label, predicted=labels[clip_prediction],
                                  confidence=float(mean[clip_prediction]), frames=len(probabilities),
                                  frame_accuracy=float((frame_predictions == truth).mean())))
    return Evaluation(labels=tuple(labels), frame_confusion=frame_confusion, clip_confusion=clip_confusion,
                      clips=tuple(results))


def _accuracy(confusion: np.ndarray) -> float:
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else 0.0
