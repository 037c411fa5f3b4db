"""Analysing one clip for the Upload page: poses, predictions, the annotated video and the files
to download.

Poses are cached by the clip's content (and pose settings), annotated videos by content, model
and settings, so the same clip uploaded again is not processed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wpa.annotate import RENDER_MAX_SIDE, render_annotated_video
from wpa.dataset import PoseCache
from wpa.inference import NO_PERSON, UNKNOWN, ClipPrediction, InferenceConfig, predict_clip, readable
from wpa.model import ExerciseModel
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.pose import PoseOptions, PoseSequence, extract_pose
from wpa.video import VideoInfo, probe_video

ANNOTATION_VERSION = 1  # bump when the drawing changes, so cached videos are redrawn


@dataclass(frozen=True)
class AnalysisProgress:
    """Where an analysis is: `stage` is "pose" (finding the person) or "video" (drawing)."""

    stage: str
    done: int
    total: int  # frames expected (the container's estimate; 0 if unknown)
    elapsed_s: float  # since this stage started

    @property
    def frames_per_second(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.frames_per_second
        return max(self.total - self.done, 0) / rate if rate and self.total else None


@dataclass(frozen=True)
class VideoAnalysis:
    """Everything the Upload page shows about one clip."""

    video_name: str
    info: VideoInfo
    pose: PoseSequence
    prediction: ClipPrediction
    annotated_video: Path
    model_name: str
    reused: bool  # nothing had to be computed again

    def frames_table(self) -> pd.DataFrame:
        """One row per frame: time, whether a person was found, the smoothed label and its
        confidence, the model's own top label, and every class's probability."""
        prediction = self.prediction
        present = prediction.present
        raw = prediction.probabilities
        labels = np.array(prediction.labels)
        table = pd.DataFrame({
            "frame": np.arange(len(prediction.timestamps_s)),
            "time_s": np.round(prediction.timestamps_s, 4),
            "person": present,
            "label": prediction.frame_labels,
            "confidence": np.round(np.where(present, np.nan_to_num(prediction.smoothed).max(axis=1), np.nan), 4),
            "raw_label": np.where(present, labels[np.nan_to_num(raw).argmax(axis=1)], ""),
        })
        for column, label in enumerate(prediction.labels):
            table[f"p_{label}"] = np.round(raw[:, column], 4)
        return table

    def segments_table(self) -> pd.DataFrame:
        """The segments as a person reads them: exercise, start, end, duration, mean confidence."""
        return pd.DataFrame([{
            "exercise": readable(segment.label),
            "start (s)": round(segment.start_s, 2),
            "end (s)": round(segment.end_s, 2),
            "duration (s)": round(segment.duration_s, 2),
            "confidence": round(segment.confidence, 3) if segment.label != NO_PERSON else None,
        } for segment in self.prediction.segments])

    def verdict(self) -> tuple[str, str]:
        """What the clip shows, for a person: a title ("Squat · 94% confident") and a sentence or
        two of detail (changes of exercise, frames with nobody)."""
        prediction = self.prediction
        if prediction.label == NO_PERSON:
            return "Nobody found", "No person was found in any frame. Film the whole body, in good light, and try again."
        exercises = [s for s in prediction.segments if s.label not in (NO_PERSON, UNKNOWN)]
        details = []
        if len({s.label for s in exercises}) > 1:
            order = [readable(s.label) for s in exercises]
            if len(order) <= 3:
                title = ", then ".join(order).capitalize()
            else:
                title = f"{len(set(order))} exercises in {len(order)} stretches"
            details.append("The exercise changes: " + ", then ".join(
                f"{readable(s.label)} ({s.start_s:.0f}–{s.end_s:.0f} s, {s.confidence:.0%})" for s in exercises) + ".")
        elif prediction.label == UNKNOWN:
            title = f"Not sure · most like {readable(prediction.best_guess)} ({prediction.confidence:.0%})"
        else:
            title = f"{readable(prediction.label).capitalize()} · {prediction.confidence:.0%} confident"
        hidden = 1 - prediction.frames_with_pose / max(len(prediction.timestamps_s), 1)
        if hidden > 0.05:
            details.append(f"Nobody was visible in {hidden:.0%} of the frames.")
        if not details:
            details.append("One exercise throughout, with a person visible in every frame.")
        return title, " ".join(details)

    def summary(self) -> dict[str, Any]:
        """The JSON summary offered for download."""
        return {
            "video": self.video_name,
            "model": self.model_name,
            "width": self.info.width,
            "height": self.info.height,
            "fps": round(self.info.fps, 3),
            "codec": self.info.codec,
            **self.prediction.summary(),
        }

    def summary_json(self) -> str:
        return json.dumps(self.summary(), indent=1)


def analyze_video(video_path: str | Path, model: ExerciseModel, *, model_name: str = "model",
                  video_name: str | None = None, pose_options: PoseOptions | None = None,
                  inference: InferenceConfig = InferenceConfig(),
                  pose_cache_dir: Path = POSE_CACHE_DIR, video_cache_dir: Path = ANNOTATED_CACHE_DIR,
                  progress: Callable[[AnalysisProgress], None] | None = None) -> VideoAnalysis:
    """Poses of every frame, the model's predictions and an annotated H.264 video of `video_path`.

    Raises VideoError if the clip cannot be read. An exception raised by `progress` (a page that
    is left, a new upload) stops the work; nothing half-done is left in the caches.
    """
    video_path = Path(video_path)
    info = probe_video(video_path)
    pose_options = pose_options or PoseOptions()
    pose_cache = PoseCache(pose_cache_dir, pose_options)
    pose_key = pose_cache.key(video_path)
    pose = pose_cache.load(pose_key)
    reused = pose is not None
    if pose is None:
        pose = extract_pose(video_path, pose_options, progress=_stage_reporter("pose", progress))
        pose_cache.save(pose_key, pose)
    prediction = predict_clip(model, pose, inference)

    annotated = video_cache_dir / f"{pose_key}-{_settings_digest(model, inference)}.mp4"
    if not annotated.is_file():
        reused = False
        video_cache_dir.mkdir(parents=True, exist_ok=True)
        partial = annotated.with_name(f".{annotated.stem}.{uuid.uuid4().hex}.partial.mp4")
        try:
            render_annotated_video(video_path, pose, prediction, partial,
                                   progress=_stage_reporter("video", progress, total=len(pose)))
            os.replace(partial, annotated)
        finally:
            partial.unlink(missing_ok=True)
    return VideoAnalysis(video_name=video_name or video_path.name, info=info, pose=pose, prediction=prediction,
                         annotated_video=annotated, model_name=model_name, reused=reused)


def _stage_reporter(stage: str, progress: Callable[[AnalysisProgress], None] | None,
                    total: int | None = None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    started = time.monotonic()

    def report(done: int, expected: int) -> None:
        progress(AnalysisProgress(stage=stage, done=done, total=total or expected, elapsed_s=time.monotonic() - started))
    return report


def _settings_digest(model: ExerciseModel, inference: InferenceConfig) -> str:
    settings = json.dumps([ANNOTATION_VERSION, RENDER_MAX_SIDE, model.fingerprint, asdict(inference)])
    return hashlib.sha256(settings.encode()).hexdigest()[:16]
