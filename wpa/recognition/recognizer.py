"""The recogniser: one way from poses to what is being done, for a whole clip and for a stream.

`Recognizer(model, config)` is built like a scikit-learn estimator (its settings in `__init__`,
nothing learnt: the model was fitted by `wpa.recognition.train`):

- `predict_proba(pose)`: the model's own probabilities of every frame (training's evaluation);
- `predict_clip(pose)`: a whole clip smoothed, labelled, cut into segments and its repetitions
  counted (the Upload page, its annotated video, the command line);
- `stream()`: a `RecognizerStream` that takes one frame's pose at a time and says at once what
  that frame is (the Live page).

Both run the same features, the same smoothing (`wpa.recognition.inference.smoothing_weights`:
a stream, which cannot see the future, weighs the past half of it), the same unknown rule and the
same top-k, so streaming a clip's frames gives the labels `predict_clip` gives, but for a moment
where the exercise changes (tests/test_recognizer.py measures how close).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from wpa.movement.reps import RepConfig
from wpa.poses.sequence import PoseSequence
from wpa.recognition.features import FEATURE_SETS
from wpa.recognition.inference import (NO_PERSON, REACH_SIGMAS, ClipPrediction, InferenceConfig,
                                       count_segment_repetitions, find_segments, label_frames, label_of, smooth_at,
                                       smooth_probabilities, top_classes)
from wpa.recognition.model import ExerciseModel

# Poses kept a little longer than the features' window, so that a late frame does not shorten it.
WINDOW_MARGIN_S = 0.1


class Recognizer:
    """A model with the settings that turn its per-frame probabilities into labels, segments and
    repetitions. See the module docstring."""

    def __init__(self, model: ExerciseModel, config: InferenceConfig = InferenceConfig(),
                 reps: RepConfig = RepConfig()):
        self.model, self.config, self.reps = model, config, reps

    @property
    def threshold(self) -> float:
        """The confidence below which a frame or clip is UNKNOWN: the one asked for, else the
        model's own (calibrated when it was trained)."""
        asked = self.config.min_confidence
        return self.model.unknown_threshold if asked is None else asked

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    def predict_proba(self, pose: PoseSequence) -> np.ndarray:
        """The model's probabilities (T, classes) of every frame, unsmoothed; NaN where nobody."""
        return self.model.predict_pose(pose)

    def predict_clip(self, pose: PoseSequence) -> ClipPrediction:
        """Classify every frame of `pose`, smooth over time, label the clip, find its segments and
        count the repetitions of each (`count_segment_repetitions`)."""
        probabilities = self.predict_proba(pose)
        smoothed = smooth_probabilities(probabilities, pose.timestamps_s, self.config.smoothing_s)
        frame_labels = label_frames(smoothed, self.labels, self.threshold)
        present = ~np.isnan(probabilities).any(axis=1)
        if present.any():
            mean = probabilities[present].mean(axis=0)
            best_guess, confidence = self.labels[int(mean.argmax())], float(mean.max())
            label = label_of(mean, self.labels, self.threshold)
        else:
            best_guess, confidence, label = NO_PERSON, 0.0, NO_PERSON
        prediction = ClipPrediction(
            labels=self.labels, timestamps_s=pose.timestamps_s, probabilities=probabilities,
            smoothed=smoothed, frame_labels=frame_labels, label=label, confidence=confidence,
            best_guess=best_guess,
            segments=find_segments(frame_labels, pose.timestamps_s, smoothed, self.labels, self.config.min_segment_s))
        return count_segment_repetitions(prediction, pose, self.reps)

    def stream(self, settle: bool = False) -> RecognizerStream:
        """A stream of frames to recognise one at a time (one per camera stream); `settle`: keep
        each frame until its reading can be settled (`RecognizerStream.settled`)."""
        return RecognizerStream(self, settle)


@dataclass(frozen=True)
class FrameReading:
    """What the recogniser says about one frame of a stream."""

    time_s: float
    label: str  # an exercise, UNKNOWN or NO_PERSON
    confidence: float  # smoothed probability of the most likely exercise (0 with nobody)
    top: tuple[tuple[str, float], ...]  # the TOP_K most likely exercises, smoothed (none with nobody)


class RecognizerStream:
    """Frames' poses in, one at a time, in increasing time; each frame's reading out at once.

    A reading out at once (`push`) can only weigh the past. A stream made to `settle` also keeps
    each frame until the frames σ × REACH_SIGMAS after it are in; its reading is then settled
    (`settled`: the smoothing both ways, as `predict_clip` does), and `finish` settles the rest
    when the stream ends: the settled readings of a clip's frames are `predict_clip`'s frame
    labels. (Live needs only the readings at once, and keeps nothing longer than it needs them.)

    It keeps the last seconds of poses the features need and of probabilities the smoothing
    weighs. Not thread-safe: a caller that shares it between threads holds a lock around it."""

    def __init__(self, recognizer: Recognizer, settle: bool = False):
        self.recognizer, self._settle_frames = recognizer, settle
        self._poses: collections.deque[tuple[float, np.ndarray, np.ndarray]] = collections.deque()
        self._probabilities: collections.deque[tuple[float, np.ndarray]] = collections.deque()
        self._unsettled: collections.deque[tuple[float, bool]] = collections.deque()  # (time, someone there)

    def use(self, recognizer: Recognizer) -> None:
        """Go on with another recogniser's settings (a slider moved while streaming); another
        model starts afresh, since its classes and features are its own."""
        if recognizer.model is not self.recognizer.model:
            self.reset()
        self.recognizer = recognizer

    def reset(self) -> None:
        """Forget the poses, probabilities and unsettled frames (a new stream, another model)."""
        self._poses.clear()
        self._probabilities.clear()
        self._unsettled.clear()

    def push(self, time_s: float, landmarks: np.ndarray | None, world_landmarks: np.ndarray | None,
             frame_size: tuple[int, int]) -> FrameReading:
        """One frame: its pose (landmarks (33, 4) and world landmarks (33, 3); None with nobody)
        at `time_s` seconds, in a frame of `frame_size` (width, height). Its reading from it and
        the frames before it."""
        recognizer = self.recognizer
        window_s = FEATURE_SETS[recognizer.model.feature_set].window_s
        while self._poses and self._poses[0][0] <= time_s - window_s - WINDOW_MARGIN_S:
            self._poses.popleft()
        probabilities = None
        if landmarks is not None:
            self._poses.append((time_s, landmarks, world_landmarks))
            window = PoseSequence(landmarks=np.stack([p for _, p, _ in self._poses]),
                                  world_landmarks=np.stack([w for _, _, w in self._poses]),
                                  timestamps_s=np.array([t for t, _, _ in self._poses]), fps=0.0,
                                  frame_size=frame_size)
            probabilities = recognizer.predict_proba(window)[-1]
        someone = probabilities is not None and not np.isnan(probabilities).any()
        if self._settle_frames:
            self._unsettled.append((time_s, someone))
        if someone:
            self._probabilities.append((time_s, probabilities))
        self._forget_before(self._unsettled[0][0] if self._unsettled else time_s)
        return self._reading_at(time_s) if someone else FrameReading(time_s, NO_PERSON, 0.0, ())

    def settled(self) -> list[FrameReading]:
        """The readings of the frames settled since the last call, oldest first (none unless the
        stream was made to `settle`)."""
        reach_s = REACH_SIGMAS * self.recognizer.config.smoothing_s
        latest_s = self._unsettled[-1][0] if self._unsettled else -np.inf
        return self._settle(lambda time_s: time_s + reach_s < latest_s)

    def finish(self) -> list[FrameReading]:
        """The stream ended: the readings of every frame not settled yet, oldest first."""
        return self._settle(lambda time_s: True)

    def _settle(self, ready) -> list[FrameReading]:
        readings = []
        while self._unsettled and ready(self._unsettled[0][0]):
            time_s, someone = self._unsettled.popleft()
            readings.append(self._reading_at(time_s) if someone else FrameReading(time_s, NO_PERSON, 0.0, ()))
        if self._unsettled:
            self._forget_before(self._unsettled[0][0])
        return readings

    def _forget_before(self, time_s: float) -> None:
        """Drop the probabilities no reading at or after `time_s` weighs."""
        reach_s = REACH_SIGMAS * self.recognizer.config.smoothing_s
        while self._probabilities and self._probabilities[0][0] < time_s - reach_s:
            self._probabilities.popleft()

    def _reading_at(self, time_s: float) -> FrameReading:
        recognizer = self.recognizer
        smoothed = smooth_at(np.stack([p for _, p in self._probabilities]),
                             np.array([t for t, _ in self._probabilities]), time_s, recognizer.config.smoothing_s)
        top = top_classes(smoothed, recognizer.labels)
        return FrameReading(time_s, label_of(smoothed, recognizer.labels, recognizer.threshold), top[0][1], top)
