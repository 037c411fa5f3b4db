"""What the recogniser says about a clip, and the rules it says it by: per-frame class
probabilities smoothed over time (`smoothing_weights`), one unknown rule (`is_sure`), one top-k
(`top_classes`), the clip's label, the segments where the exercise changes and the repetitions
of each (`count_segment_repetitions`). `wpa.recognition.recognizer.Recognizer` applies them, to a
whole clip or to a stream of frames.

Frames with nobody in them are marked NO_PERSON, never guessed; frames whose smoothed
confidence is below the threshold are UNKNOWN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wpa.movement.reps import RepConfig, Repetition, count_repetitions
from wpa.poses.sequence import PoseSequence

UNKNOWN = "unknown"
NO_PERSON = "no_person"
TOP_K = 3  # the most likely classes shown beside a clip or a live reading
REACH_SIGMAS = 3  # the smoothing weighs frames up to this many σ away
# A label must hold this long to change a set: shorter, between two stretches of one exercise, it is
# the classifier flickering where one movement looks like another (Live's sets wait as long).
LABEL_HOLD_S = 2.0


def readable(label: str) -> str:
    """A label as words: 'biceps_curl' -> 'biceps curl', 'no_person' -> 'nobody visible'."""
    return {NO_PERSON: "nobody visible", UNKNOWN: "unsure"}.get(label, label.replace("_", " "))


# What the smoothing setting means, for a person (the Upload and Live pages' sliders).
SMOOTHING_HELP = ("How many seconds of predictions are averaged: the σ of a Gaussian weighting over time "
                  "(0: none). Live can weigh only the past, so its label follows a change a fraction of "
                  "this later than the uploaded clip's.")


@dataclass(frozen=True)
class InferenceConfig:
    """How per-frame predictions become labels and segments."""

    # Standard deviation σ, in seconds, of the Gaussian weighting that smooths probabilities over
    # time (`smoothing_weights`; 0: none): the same for an uploaded clip, its video and a live stream.
    smoothing_s: float = 0.5
    # A smoothed probability below this makes a frame (or clip) UNKNOWN; None: the model's own
    # calibrated threshold (ExerciseModel.unknown_threshold).
    min_confidence: float | None = None
    min_segment_s: float = 1.0  # shorter runs of one label are merged into their neighbours


@dataclass(frozen=True)
class Segment:
    """A stretch of the clip with one label (an exercise, UNKNOWN or NO_PERSON)."""

    label: str
    start_s: float
    end_s: float
    confidence: float  # mean smoothed probability of `label` over the segment's frames (0 for NO_PERSON)
    repetitions: tuple[Repetition, ...] = ()  # counted by `count_segment_repetitions`

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def reps(self) -> int:
        return len(self.repetitions)


@dataclass(frozen=True)
class ClipPrediction:
    """Everything the model says about one clip."""

    labels: tuple[str, ...]
    timestamps_s: np.ndarray  # (T,)
    probabilities: np.ndarray  # (T, classes), NaN where nobody
    smoothed: np.ndarray  # (T, classes), NaN where nobody
    frame_labels: tuple[str, ...]  # (T,) a class, UNKNOWN or NO_PERSON
    label: str  # the clip's exercise, UNKNOWN, or NO_PERSON when nobody was ever found
    confidence: float  # mean probability of the clip's best class over frames with a person
    best_guess: str  # that best class, even when `label` is UNKNOWN
    segments: tuple[Segment, ...]

    @property
    def present(self) -> np.ndarray:
        return ~np.isnan(self.probabilities).any(axis=1) if len(self.probabilities) else np.zeros(0, bool)

    @property
    def frames_with_pose(self) -> int:
        return int(self.present.sum())

    @property
    def repetitions(self) -> tuple[Repetition, ...]:
        """Every repetition of every segment, in time order (none before `count_segment_repetitions`)."""
        return tuple(repetition for segment in self.segments for repetition in segment.repetitions)

    @property
    def reps(self) -> int:
        return len(self.repetitions)

    def top(self, count: int = TOP_K) -> tuple[tuple[str, float], ...]:
        """The `count` most likely classes of the whole clip, with their mean probabilities."""
        if not self.present.any():
            return ()
        return top_classes(self.probabilities[self.present].mean(axis=0), self.labels, count)

    def reps_done(self) -> np.ndarray:
        """Each frame's running count, as the annotated video shows it: the repetitions of the
        frame's segment that have ended by the frame (numbered within the segment, as the CSV's
        `rep` is). A segment's repetition that ends after its last frame (each goes to the segment
        holding its middle) is counted on that last frame, so every segment's last frame shows
        its whole count, and the counts shown add up to the clip's."""
        times = self.timestamps_s
        done = np.zeros(len(times), dtype=np.int64)
        for segment in self.segments:
            inside = np.flatnonzero((times >= segment.start_s) & (times < segment.end_s))
            if not len(inside):
                continue
            last_s = float(times[inside[-1]])
            ends = np.array([min(r.end_s, last_s) for r in segment.repetitions])
            done[inside] = np.searchsorted(np.sort(ends), times[inside], side="right")
        return done

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary of the clip."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "best_guess": self.best_guess,
            "top": [{"label": label, "probability": round(p, 4)} for label, p in self.top()],
            "frames": len(self.timestamps_s),
            "frames_with_pose": self.frames_with_pose,
            "duration_s": round(_end_time(self.timestamps_s), 3),
            "reps": self.reps,
            "segments": [{"label": s.label, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3),
                          "confidence": round(s.confidence, 4), "reps": s.reps,
                          "rep_times_s": [[round(r.start_s, 3), round(r.end_s, 3)] for r in s.repetitions]}
                         for s in self.segments],
        }


def count_segment_repetitions(prediction: ClipPrediction, pose: PoseSequence,
                              config: RepConfig = RepConfig()) -> ClipPrediction:
    """`prediction` with the repetitions of each of its segments where someone is moving: an
    exercise's, and UNKNOWN's too (an exercise the model was not trained on is still one), never
    NO_PERSON's.

    The counter (`wpa.movement.reps.count_repetitions`) runs once over each stretch of one exercise (see
    `counting_stretches`), and each repetition goes to the segment that holds its middle: a
    repetition where two segments meet is neither lost nor counted twice, and a moment the model
    was unsure does not cut a set in two. Getting into position or resting is left out by the
    counter itself."""
    segments = prediction.segments
    found: list[list[Repetition]] = [[] for _ in segments]
    for stretch in counting_stretches(segments):
        start_s, end_s = segments[stretch[0]].start_s, segments[stretch[-1]].end_s
        for repetition in count_repetitions(pose, start_s, end_s, config).repetitions:
            middle = (repetition.start_s + repetition.end_s) / 2
            owner = next((i for i in stretch if middle < segments[i].end_s), stretch[-1])
            found[owner].append(repetition)
    return replace(prediction, segments=tuple(replace(segment, repetitions=tuple(repetitions))
                                              for segment, repetitions in zip(segments, found)))


def counting_stretches(segments: tuple[Segment, ...]) -> list[list[int]]:
    """The segments (their indices) that show one exercise in a row: runs of segments with someone
    in view, cut where another exercise starts; an UNKNOWN segment joins the run it is in, and so
    does a flicker (`is_flicker`)."""
    stretches: list[list[int]] = []
    exercise = None  # the known exercise of the last stretch, if it has one yet
    for index, segment in enumerate(segments):
        if segment.label == NO_PERSON:
            exercise = None
            continue
        if is_flicker(segments, index):
            segment = replace(segment, label=UNKNOWN)
        joins = (stretches and stretches[-1][-1] == index - 1
                 and (segment.label == UNKNOWN or exercise in (None, segment.label)))
        if joins:
            stretches[-1].append(index)
        else:
            stretches.append([index])
            exercise = None
        if segment.label != UNKNOWN:
            exercise = segment.label
    return stretches


def is_flicker(segments: tuple[Segment, ...], index: int) -> bool:
    """Whether segment `index` is an exercise held less than LABEL_HOLD_S between two segments of
    one other label: the classifier's moment of doubt inside a set, which must not cut it in two."""
    segment = segments[index]
    if segment.label in (NO_PERSON, UNKNOWN) or segment.duration_s >= LABEL_HOLD_S:
        return False
    if index == 0 or index == len(segments) - 1:
        return False
    before, after = segments[index - 1].label, segments[index + 1].label
    return before == after and before not in (NO_PERSON, segment.label)


def clip_warnings(pose: PoseSequence, declared_duration_s: float = 0.0) -> list[str]:
    """What a person should know before trusting a clip's result: nobody found, several people in
    view, or less of the clip read than its file declares."""
    warnings = []
    if len(pose) and not pose.present.any():
        warnings.append("Nobody was found in any frame: film the whole body, in good light.")
    if pose.people and pose.people > 1:
        warnings.append(f"{pose.people} people are in view. wpa follows one of them, so the result is that "
                        "person's exercise; film one person at a time for a sure result.")
    read_s = _end_time(pose.timestamps_s)
    if declared_duration_s > read_s + max(1.0, 0.1 * declared_duration_s):
        warnings.append(f"Only {read_s:.1f} s of the {declared_duration_s:.1f} s the file declares could be "
                        "read: it may be cut short or damaged. The result is for the part that was read.")
    return warnings


def smoothing_weights(gaps_s: np.ndarray, sigma_s: float) -> np.ndarray:
    """The one smoothing over time: a frame `gap` seconds away weighs exp(-gap² / 2σ²), none
    beyond REACH_SIGMAS σ. A whole clip is smoothed with the frames on both sides
    (`smooth_probabilities`); a stream, which cannot see the future, with the past half only
    (`smooth_at`), so a live label trails the clip's by a fraction of σ where the exercise
    changes and equals it elsewhere."""
    return np.exp(-0.5 * (gaps_s / sigma_s) ** 2) * (np.abs(gaps_s) <= REACH_SIGMAS * sigma_s)


def smooth_at(probabilities: np.ndarray, timestamps_s: np.ndarray, time_s: float, sigma_s: float) -> np.ndarray:
    """The smoothed probabilities at `time_s` from the frames given (rows of frames with someone,
    one of them at `time_s`; `smoothing_weights`): a stream passes the frames it has so far."""
    if sigma_s <= 0:
        return probabilities[np.searchsorted(timestamps_s, time_s)].astype(np.float32)
    weights = smoothing_weights(timestamps_s - time_s, sigma_s)
    return (weights @ probabilities.astype(np.float64) / weights.sum()).astype(np.float32)


def smooth_probabilities(probabilities: np.ndarray, timestamps_s: np.ndarray, sigma_s: float) -> np.ndarray:
    """Every frame of a whole clip smoothed (`smoothing_weights`, both ways in time).

    Frames with nobody neither contribute nor receive a value (they stay NaN).
    """
    present = ~np.isnan(probabilities).any(axis=1)
    if sigma_s <= 0 or not present.any():
        return probabilities.copy()
    values = np.where(present[:, None], probabilities, 0.0).astype(np.float64)
    reach = REACH_SIGMAS * sigma_s
    count = len(timestamps_s)
    # The furthest index offset any frame's window reaches, given the actual timestamps.
    span = int((np.searchsorted(timestamps_s, timestamps_s + reach, side="right") - np.arange(count)).max())
    total = np.zeros_like(values)
    weight = np.zeros(count)
    for offset in range(-span, span + 1):
        if abs(offset) >= count:
            continue
        target = slice(max(0, -offset), count - max(0, offset))
        source = slice(max(0, offset), count - max(0, -offset))
        gap = timestamps_s[source] - timestamps_s[target]
        w = smoothing_weights(gap, sigma_s) * present[source]
        total[target] += w[:, None] * values[source]
        weight[target] += w
    smoothed = total / np.maximum(weight, 1e-12)[:, None]
    smoothed[~present] = np.nan
    return smoothed.astype(np.float32)


def is_sure(confidence: float, threshold: float) -> bool:
    """The one unknown rule: a frame, a reading or a clip names its best class when its confidence
    reaches `threshold`, and is UNKNOWN below it."""
    return confidence >= threshold


def label_of(probabilities: np.ndarray, labels: tuple[str, ...], threshold: float) -> str:
    """One row's label: the most likely class, UNKNOWN below `threshold`, NO_PERSON if empty."""
    if np.isnan(probabilities).any():
        return NO_PERSON
    best = int(probabilities.argmax())
    return labels[best] if is_sure(float(probabilities[best]), threshold) else UNKNOWN


def top_classes(probabilities: np.ndarray, labels: tuple[str, ...],
                count: int = TOP_K) -> tuple[tuple[str, float], ...]:
    """The one top-k: the `count` most likely classes of a row, most likely first (none if empty)."""
    if len(probabilities) == 0 or np.isnan(probabilities).any():
        return ()
    order = np.argsort(probabilities)[::-1][:count]
    return tuple((labels[i], float(probabilities[i])) for i in order)


def label_frames(probabilities: np.ndarray, labels: tuple[str, ...], threshold: float) -> tuple[str, ...]:
    """Each frame's label (`label_of`)."""
    return tuple(label_of(row, labels, threshold) for row in probabilities)


def find_segments(frame_labels: tuple[str, ...], timestamps_s: np.ndarray, smoothed: np.ndarray,
                  labels: tuple[str, ...], min_segment_s: float) -> tuple[Segment, ...]:
    """Runs of one label, with runs shorter than `min_segment_s` folded into the longer of their
    neighbours, so that a flicker does not become a segment of its own."""
    if not frame_labels:
        return ()
    ends = np.append(timestamps_s[1:], _end_time(timestamps_s))
    runs = []  # [label, first frame, last frame]
    for i, label in enumerate(frame_labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i
        else:
            runs.append([label, i, i])
    while len(runs) > 1:
        durations = [ends[last] - timestamps_s[first] for _, first, last in runs]
        shortest = int(np.argmin(durations))
        if durations[shortest] >= min_segment_s:
            break
        before = durations[shortest - 1] if shortest > 0 else -1.0
        after = durations[shortest + 1] if shortest + 1 < len(runs) else -1.0
        neighbour = shortest - 1 if before >= after else shortest + 1
        runs[neighbour][1] = min(runs[neighbour][1], runs[shortest][1])
        runs[neighbour][2] = max(runs[neighbour][2], runs[shortest][2])
        del runs[shortest]
        runs = _merge_equal_neighbours(runs)
    return tuple(Segment(label=label, start_s=float(timestamps_s[first]), end_s=float(ends[last]),
                         confidence=_segment_confidence(smoothed[first:last + 1], labels, label))
                 for label, first, last in runs)


def _merge_equal_neighbours(runs: list[list]) -> list[list]:
    merged: list[list] = []
    for run in runs:
        if merged and merged[-1][0] == run[0]:
            merged[-1][2] = run[2]
        else:
            merged.append(run)
    return merged


def _segment_confidence(smoothed: np.ndarray, labels: tuple[str, ...], label: str) -> float:
    rows = smoothed[~np.isnan(smoothed).any(axis=1)]
    if label not in labels or len(rows) == 0:
        return 0.0
    return float(rows[:, labels.index(label)].mean())


def _end_time(timestamps_s: np.ndarray) -> float:
    """When the last frame ends: its timestamp plus the typical frame interval."""
    if len(timestamps_s) == 0:
        return 0.0
    if len(timestamps_s) == 1:
        return float(timestamps_s[0]) + 1 / 30
    interval = float(np.median(np.diff(timestamps_s)))
    return float(timestamps_s[-1]) + (interval if math.isfinite(interval) else 0.0)
