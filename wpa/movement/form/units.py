"""The units form is judged on: the repetitions the counter found, or, where nothing repeats (a
static hold such as a plank), windows of a few seconds. And the form of a whole clip from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wpa.movement.form.cues import Cue, unit_cues
from wpa.movement.form.measures import MEASURES, frame_measures, unit_measures, visible_points, world_points
from wpa.movement.form.profile import FormProfile
from wpa.movement.reps import Repetition, count_repetitions
from wpa.poses.sequence import PoseSequence

WINDOW_S = 3.0  # a hold is judged in windows this long
MIN_FRAMES = 1  # a unit needs at least this many frames with a person


@dataclass(frozen=True)
class Unit:
    """A repetition, or a window of a hold, with its measurements (`wpa.movement.form.measures.MEASURES`)."""

    start_s: float
    end_s: float
    static: bool
    values: np.ndarray


@dataclass(frozen=True)
class RepForm:
    """The form of one unit: its score (0 typical, higher further from good form) and cues."""

    start_s: float
    end_s: float
    score: float
    cues: tuple[Cue, ...]

    def to_json(self) -> dict:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "score": _rounded(self.score), "cues": [cue.text for cue in self.cues]}


@dataclass(frozen=True)
class ClipForm:
    """The form of a clip: one RepForm per unit, the clip's score (the mean of its units') and the
    cues of its worst unit."""

    reps: tuple[RepForm, ...]
    score: float
    cues: tuple[Cue, ...]

    def to_json(self) -> dict:
        return {"score": _rounded(self.score), "reps": [rep.to_json() for rep in self.reps],
                "cues": [cue.text for cue in self.cues]}


def form_units(pose: PoseSequence, repetitions: tuple[Repetition, ...] | None = None,
               window_s: float = WINDOW_S) -> list[Unit]:
    """The units of `pose`: its repetitions (counted here unless given), else windows of a hold."""
    if len(pose) == 0:
        return []
    points = visible_points(pose.landmarks, pose.aspect_ratio)
    measures = frame_measures(points, world_points(pose.world_landmarks, points))
    times = np.asarray(pose.timestamps_s, dtype=np.float64)
    if repetitions is None:
        repetitions = count_repetitions(pose).repetitions
    static = not repetitions
    spans = [(r.start_s, r.end_s) for r in repetitions] if repetitions else _windows(times, window_s)
    units = []
    for start, end in spans:
        rows = np.flatnonzero((times >= start - 1e-9) & (times <= end + 1e-9))
        if np.isfinite(points[rows, :, 0]).any(axis=1).sum() < MIN_FRAMES:
            continue
        units.append(Unit(float(start), float(end), static,
                          unit_measures(measures[rows], points[rows], times[rows], static)))
    return units


def judge_units(profile: FormProfile, units: list[Unit]) -> ClipForm:
    """Score each unit against `profile` and find its cues."""
    if not units:
        return ClipForm((), float("nan"), ())
    values = np.stack([unit.values for unit in units])
    scores = profile.score(values)
    reps = tuple(RepForm(u.start_s, u.end_s, float(s), unit_cues(profile, u.values)) for u, s in zip(units, scores))
    worst = int(np.nanargmax(np.nan_to_num(scores, nan=-1.0)))
    with np.errstate(invalid="ignore"):
        score = float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")
    return ClipForm(reps, score, reps[worst].cues)


def judge_pose(profile: FormProfile, pose: PoseSequence,
               repetitions: tuple[Repetition, ...] | None = None) -> ClipForm:
    """The form of a pose sequence against `profile`."""
    return judge_units(profile, form_units(pose, repetitions))


def fit_profile(poses: list[PoseSequence], label: str = "", profile: FormProfile | None = None,
                groups: list[str] | None = None) -> FormProfile:
    """A profile from the units of poses all taken as good form. `groups`: one a pose (its person,
    camera or source; default: each pose its own), so the cue threshold is learnt from held-out
    groups (`FormProfile.fit`)."""
    groups = groups if groups is not None else [str(index) for index in range(len(poses))]
    found = [(unit.values, group) for pose, group in zip(poses, groups, strict=True) for unit in form_units(pose)]
    profile = profile or FormProfile()
    if not found:
        return profile.fit(np.zeros((0, len(MEASURES))), label=label)
    return profile.fit(np.stack([values for values, _ in found]), label=label,
                       groups=np.array([group for _, group in found]))


def _windows(times: np.ndarray, window_s: float) -> list[tuple[float, float]]:
    """Back-to-back windows of `window_s` over the clip; a last piece shorter than half a window
    joins the one before."""
    if len(times) == 0:
        return []
    first, last = float(times[0]), float(times[-1])
    count = max(1, int(round((last - first) / window_s)))
    edges = np.linspace(first, last + 1e-6, count + 1)
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def _rounded(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
