"""A clip's prediction on disk: what the analysis worker found, read back by the page that shows
it, so the model runs once per upload. One `.npz` (no pickle): the per-frame arrays, and the rest
(labels, segments and their repetitions) as JSON."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from wpa.files import written_atomically
from wpa.movement.reps import Repetition
from wpa.recognition.inference import ClipPrediction, Segment

FORMAT = 1


def save_prediction(prediction: ClipPrediction, path: str | Path) -> None:
    """Write `prediction` to `path` in one atomic step."""
    record = {"format": FORMAT, "labels": list(prediction.labels), "frame_labels": list(prediction.frame_labels),
              "label": prediction.label, "confidence": prediction.confidence, "best_guess": prediction.best_guess,
              "segments": [{"label": s.label, "start_s": s.start_s, "end_s": s.end_s, "confidence": s.confidence,
                            "repetitions": [[r.start_s, r.end_s] for r in s.repetitions]}
                           for s in prediction.segments]}
    with written_atomically(path) as partial:
        with open(partial, "wb") as file:
            np.savez(file, timestamps_s=prediction.timestamps_s, probabilities=prediction.probabilities,
                     smoothed=prediction.smoothed, record=np.array(json.dumps(record)))


def load_prediction(path: str | Path) -> ClipPrediction | None:
    """The prediction saved at `path`; None if there is none, or it cannot be read (it is then
    made again)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            record = json.loads(str(arrays["record"]))
            if record.get("format") != FORMAT:
                return None
            return ClipPrediction(
                labels=tuple(record["labels"]), timestamps_s=arrays["timestamps_s"],
                probabilities=arrays["probabilities"], smoothed=arrays["smoothed"],
                frame_labels=tuple(record["frame_labels"]), label=record["label"],
                confidence=float(record["confidence"]), best_guess=record["best_guess"],
                segments=tuple(Segment(label=s["label"], start_s=s["start_s"], end_s=s["end_s"],
                                       confidence=s["confidence"],
                                       repetitions=tuple(Repetition(a, b) for a, b in s["repetitions"]))
                               for s in record["segments"]))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
