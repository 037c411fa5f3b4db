"""Analysing one clip for the Upload page: poses, predictions, repetitions, the annotated video
and the files to download.

Poses are cached by the clip's content (and pose settings), annotated videos by content, model
and settings, so the same clip uploaded again is not processed again. Predictions and
repetitions are not cached: they are computed from the poses each time (in well under a second),
so they always come from the current code, however old the cached poses.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wpa.annotate import (RENDER_MAX_SIDE, Annotation, draw_video, frame_caption, render_annotated_video,
                          running_count)
from wpa.features import FEATURE_SETS
from wpa.files import written_atomically
from wpa.inference import (NO_PERSON, UNKNOWN, ClipPrediction, InferenceConfig, clip_warnings,
                           count_segment_repetitions, predict_clip, readable)
from wpa.model import ExerciseModel
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.pose import PoseOptions, PoseSequence, PoseTrack, extract_pose
from wpa.pose_cache import PoseCache
from wpa.reps import reps_text
from wpa.sets import SetTracker
from wpa.video import VideoInfo, probe_video

# Measured with benchmarks/pipeline.py: the drawing thread at niceness 10 costs the pose model less.
DRAWING_NICENESS = 10
# Clips at least this long are split among one pose model per core. The video of the later parts
# can only be drawn once the first part's poses are all in, so splitting a shorter clip costs more
# than it saves (measured with benchmarks/pipeline.py: 9 s clips were slower split, 14 s faster).
SPLIT_MIN_S = 12.0
ANNOTATION_VERSION = 2  # bump when the drawing changes, so cached videos are redrawn (2: the running count)


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
        confidence, the model's own top label, the repetition the frame is part of (`rep`: its
        number within its segment, from 1; 0 outside any repetition) and every class's probability."""
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
            "rep": self._frame_repetitions(),
        })
        for column, label in enumerate(prediction.labels):
            table[f"p_{label}"] = np.round(raw[:, column], 4)
        return table

    def _frame_repetitions(self) -> np.ndarray:
        """Each frame's repetition number within its segment (from 1), 0 outside any repetition."""
        times = self.prediction.timestamps_s
        numbers = np.zeros(len(times), dtype=np.int64)
        for segment in self.prediction.segments:
            for number, repetition in enumerate(segment.repetitions, start=1):
                numbers[(times >= repetition.start_s) & (times < repetition.end_s)] = number
        return numbers

    def segments_table(self) -> pd.DataFrame:
        """The segments as a person reads them: exercise, start, end, duration, repetitions, mean
        confidence (the last two blank where nobody is visible)."""
        table = pd.DataFrame([{
            "exercise": readable(segment.label),
            "start (s)": round(segment.start_s, 2),
            "end (s)": round(segment.end_s, 2),
            "duration (s)": round(segment.duration_s, 2),
            "reps": segment.reps if segment.label != NO_PERSON else None,
            "confidence": round(segment.confidence, 3) if segment.label != NO_PERSON else None,
        } for segment in self.prediction.segments],
            columns=["exercise", "start (s)", "end (s)", "duration (s)", "reps", "confidence"])
        # Whole numbers even beside a blank (pandas would otherwise show 3 as 3.0).
        table["reps"] = table["reps"].astype("Int64")
        return table

    def verdict(self) -> tuple[str, str]:
        """What the clip shows, for a person: a title ("Squat · 12 reps · 94% confident") and a
        sentence or two of detail (changes of exercise, frames with nobody, no repetition found)."""
        prediction = self.prediction
        if prediction.label == NO_PERSON:
            return "Nobody found", "With no person in view there is nothing to classify."
        exercises = [s for s in prediction.segments if s.label not in (NO_PERSON, UNKNOWN)]
        details = []
        if len({s.label for s in exercises}) > 1:
            order = [readable(s.label) for s in exercises]
            if len(order) <= 3:
                title = ", then ".join(order).capitalize()
            else:
                title = f"{len(set(order))} exercises in {len(order)} stretches"
            if prediction.reps:
                title += f" · {reps_text(prediction.reps)}"
            details.append("The exercise changes: " + ", then ".join(
                f"{readable(s.label)} ({s.start_s:.0f}–{s.end_s:.0f} s, "
                f"{reps_text(s.reps) if s.reps else 'no repetition'}, {s.confidence:.0%})" for s in exercises) + ".")
        elif prediction.label == UNKNOWN:
            title = f"Not sure · most like {readable(prediction.best_guess)} ({prediction.confidence:.0%})"
            if prediction.reps:
                title += f" · {reps_text(prediction.reps)}"
        else:
            reps = f" · {reps_text(prediction.reps)}" if prediction.reps else ""
            title = f"{readable(prediction.label).capitalize()}{reps} · {prediction.confidence:.0%} confident"
        if not prediction.reps:
            # Said in words rather than a "0 reps" headline: holding a position (a plank) is no failure.
            details.append("No repetition was found: the movement does not repeat, or too little of it was seen.")
        hidden = 1 - prediction.frames_with_pose / max(len(prediction.timestamps_s), 1)
        if hidden > 0.05:
            details.append(f"Nobody was visible in {hidden:.0%} of the frames.")
        if not details:
            details.append("One exercise throughout, with a person visible in every frame.")
        return title, " ".join(details)

    def repetitions_text(self) -> str:
        """The repetitions in a sentence, for under the timeline."""
        prediction = self.prediction
        if not prediction.reps:
            return "No repetition was found."
        counted = [s for s in prediction.segments if s.reps]
        if len(counted) == 1:
            segment = counted[0]
            return (f"{reps_text(segment.reps).capitalize()} of {readable(segment.label)}, from "
                    f"{segment.repetitions[0].start_s:.1f} to {segment.repetitions[-1].end_s:.1f} s; "
                    "each is marked on the timeline at its end.")
        parts = ", ".join(f"{reps_text(s.reps)} of {readable(s.label)}" for s in counted)
        return f"{reps_text(prediction.reps).capitalize()} in all: {parts}; each is marked on the timeline at its end."

    def warnings(self) -> list[str]:
        """What to know before trusting the result (several people in view, a clip cut short...)."""
        return clip_warnings(self.pose, self.info.duration_s)

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
            "people": self.pose.people,
            "warnings": self.warnings(),
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
    annotated = video_cache_dir / f"{pose_key}-{_settings_digest(model, inference)}.mp4"
    pose = pose_cache.load(pose_key)
    reused = pose is not None and annotated.is_file()
    if pose is None:
        with written_atomically(annotated) as partial:
            pose = _estimate_and_draw(video_path, info, model, inference, pose_options, partial, progress)
        pose_cache.save(pose_key, pose)
    prediction = count_segment_repetitions(predict_clip(model, pose, inference), pose)
    if not annotated.is_file():  # poses from the cache, drawn with another model or settings
        with written_atomically(annotated) as partial:
            render_annotated_video(video_path, pose, prediction, partial,
                                   progress=_stage_reporter("video", progress, total=len(pose)))
    return VideoAnalysis(video_name=video_name or video_path.name, info=info, pose=pose, prediction=prediction,
                         annotated_video=annotated, model_name=model_name, reused=reused)


def _estimate_and_draw(video_path: Path, info: VideoInfo, model: ExerciseModel, inference: InferenceConfig,
                       pose_options: PoseOptions, out_path: Path,
                       progress: Callable[[AnalysisProgress], None] | None) -> PoseSequence:
    """The pose pass (a long clip split among one pose model per core), with the annotated video
    drawn at the same time by another thread a few seconds behind the poses, at lower priority:
    decoding, drawing and encoding fill the time the pose models leave."""
    track = PoseTrack(info.fps, (info.width, info.height))
    captions = CaptionsAsPosesArrive(track, model, inference)
    drawn = [0]
    failure: list[BaseException] = []

    def draw() -> None:
        try:
            _yield_to_pose_model()
            draw_video(video_path, out_path, captions, info.frame_count,
                       progress=lambda done, total: drawn.__setitem__(0, done))
        except BaseException as error:  # raised in the caller's thread once the pose pass is over
            failure.append(error)

    drawer = threading.Thread(target=draw, name="wpa-draw", daemon=True)
    drawer.start()
    try:
        pose = extract_pose(video_path, pose_options, progress=_stage_reporter("pose", progress), track=track,
                            parts=(os.cpu_count() or 1) if info.duration_s >= SPLIT_MIN_S else 1, count_people=True,
                            info=info)
        report = _stage_reporter("video", progress, total=len(pose))
        while drawer.is_alive():  # the last seconds of the video are drawn once all poses are in
            if report:
                report(drawn[0], len(pose))
            drawer.join(timeout=0.1)
        if report and not failure:
            report(drawn[0], len(pose))
    finally:
        captions.stop()
        drawer.join()
    if failure and not isinstance(failure[0], _Stopped):
        raise failure[0]
    return pose


def _yield_to_pose_model() -> None:
    """Lower the calling thread's CPU priority (and that of the decoder and encoder threads it
    starts, which inherit it): the pose model is the critical path, drawing can wait for a core."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), DRAWING_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


class _Stopped(Exception):
    """The pose pass ended early (an error, a cancelled analysis): stop drawing."""


class CaptionsAsPosesArrive:
    """What `draw_video` draws on each frame, while the poses are still being found.

    A frame's caption depends on the poses of the seconds around it: the features look back over
    their window, the smoothing looks `3 × smoothing_s` both ways. So captions are predicted a
    block of frames at a time, once the poses reach that far past the block, from the block and
    that context alone; they equal `predict_clip` on the whole clip up to float rounding. The
    running count (`running_count`) is fed each frame as it is drawn, as `pose_annotations` feeds
    it from cached poses, so both draw the same video.
    """

    BLOCK_S = 1.0
    WAIT_S = 0.1

    def __init__(self, track: PoseTrack, model: ExerciseModel, inference: InferenceConfig):
        self._track, self._model, self._inference = track, model, inference
        self._reach_s = 3 * inference.smoothing_s
        self._context_s = FEATURE_SETS[model.feature_set].window_s + self._reach_s
        self._stopped = threading.Event()
        self._first, self._end = 0, 0  # the block predicted: frames [first, end) of the clip
        self._window: PoseSequence | None = None
        self._prediction: ClipPrediction | None = None
        self._sets = SetTracker()

    def stop(self) -> None:
        self._stopped.set()

    def __call__(self, index: int, timestamp_s: float) -> Annotation | None:
        if index >= self._end:
            self._predict_block(timestamp_s)
        if index >= self._end:
            return None  # the pose pass ended before this frame (a trailing frame, or an error)
        row = index - self._first
        # The clip's last frame: the pose pass is over (no frame comes at `inf`: only the end of the
        # track answers) and this is its last pose. In that order: the length is final once it is over.
        last = self._track.wait_until(math.inf, 0) and index == len(self._track) - 1
        reps = running_count(self._sets, self._window.landmarks[row], float(self._window.timestamps_s[row]),
                             self._prediction.frame_labels[row], self._window.aspect_ratio, last=last)
        return (self._window.landmarks[row], *frame_caption(self._prediction, row, reps))

    def _predict_block(self, start_s: float) -> None:
        end_s = start_s + self.BLOCK_S
        while not self._track.wait_until(end_s + self._reach_s, self.WAIT_S):
            if self._stopped.is_set():
                raise _Stopped()
        if self._stopped.is_set():
            raise _Stopped()
        # Context frames before the block feed its features and smoothing; those after, its smoothing.
        self._first = self._track.index_after(start_s - self._context_s - 1e-9)
        self._end = self._track.index_after(end_s)
        self._window = self._track.sequence(self._first, self._track.index_after(end_s + self._reach_s))
        self._prediction = predict_clip(self._model, self._window, self._inference)




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
