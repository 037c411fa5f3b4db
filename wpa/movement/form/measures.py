"""A coach's measurements of a pose, the same for every exercise.

Two steps, each one function:

* `frame_measures`: per frame, angles a coach would look at: each main joint's angle (elbows,
  shoulders, hips, knees; both sides' mean, and left minus right), how far the torso leans from
  upright (towards the way the person faces is positive), and the body line (how far the hips lie
  off the shoulder–ankle line; up, or forward when upright, is positive). Computed from whatever
  joints are there: a measure whose joints are missing on a frame is NaN on that frame.

* `unit_measures`: per repetition (or per window of a static hold), each frame measure's extremes
  and middle (10th, 50th, 90th percentiles) and range, the time the unit took, and how steady the
  body was. Each measurement is a `Measure` that knows its body part and unit, so that cues can be
  worded without knowing the exercise.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

# MediaPipe's indices of the joints used (pose.LANDMARK_NAMES).
NOSE = 0
SHOULDERS = (11, 12)
ELBOWS = (13, 14)
WRISTS = (15, 16)
HIPS = (23, 24)
KNEES = (25, 26)
ANKLES = (27, 28)
EARS = (7, 8)
HEELS = (29, 30)
TOES = (31, 32)

MIN_VISIBILITY = 0.2  # landmarks less visible than this are guesses: taken as missing


@dataclass(frozen=True)
class FrameMeasure:
    """A measurement taken on every frame."""

    name: str  # "knee angle"
    part: str  # the body part a cue names: "knees"
    kind: str  # "joint" (an angle, 180° = straight), "lean", "line" or "asymmetry"


# (end, vertex, end) joint triplets per side: left, right.
JOINTS = {
    "elbow": ((SHOULDERS[0], ELBOWS[0], WRISTS[0]), (SHOULDERS[1], ELBOWS[1], WRISTS[1]), "elbows"),
    "shoulder": ((HIPS[0], SHOULDERS[0], ELBOWS[0]), (HIPS[1], SHOULDERS[1], ELBOWS[1]), "upper arms"),
    "hip": ((SHOULDERS[0], HIPS[0], KNEES[0]), (SHOULDERS[1], HIPS[1], KNEES[1]), "hips"),
    "knee": ((HIPS[0], KNEES[0], ANKLES[0]), (HIPS[1], KNEES[1], ANKLES[1]), "knees"),
}

FRAME_MEASURES = tuple(
    [FrameMeasure(f"{joint} angle", part, "joint") for joint, (_, _, part) in JOINTS.items()]
    + [FrameMeasure(f"{joint} asymmetry", part, "asymmetry") for joint, (_, _, part) in JOINTS.items()]
    + [FrameMeasure("torso lean", "torso", "lean"), FrameMeasure("body line", "hips", "line")])

STATISTICS = ("low", "middle", "high", "range")  # 10th, 50th, 90th percentile, 90th − 10th


@dataclass(frozen=True)
class Measure:
    """One measurement of a unit (a repetition or a window of a hold)."""

    name: str  # "knee angle low"
    part: str
    kind: str  # as FrameMeasure.kind, or "duration", "steadiness"
    statistic: str  # one of STATISTICS, or "" for duration and steadiness


MEASURES = tuple(
    [Measure(f"{m.name} {s}", m.part, m.kind, s) for m in FRAME_MEASURES for s in STATISTICS]
    + [Measure("duration", "pace", "duration", ""), Measure("steadiness", "body", "steadiness", "")])
MEASURE_NAMES = tuple(m.name for m in MEASURES)


def visible_points(landmarks: np.ndarray, aspect_ratio: float = 1.0) -> np.ndarray:
    """(T, 33, ≥2) landmarks → (T, 33, 2) x, y on one scale, NaN where missing or barely visible."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    points = landmarks[:, :, :2] * np.array([aspect_ratio, 1.0])
    if landmarks.shape[2] >= 4:
        points = np.where((landmarks[:, :, 3:4] >= MIN_VISIBILITY) | np.isnan(landmarks[:, :, 3:4]), points, np.nan)
    return points


def world_points(world_landmarks: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """(T, 33, 3) world landmarks, NaN where the image landmark is missing (`points`); None where
    most frames have none (poses from other tools), so that a clip is measured one way throughout."""
    world = np.asarray(world_landmarks, dtype=np.float64)
    if world.ndim != 3 or world.shape[-1] != 3 or np.isfinite(world[:, :, 0]).any(axis=1).mean() < 0.5:
        return None
    return np.where(np.isfinite(points[:, :, :1]), world, np.nan)


def frame_measures(points: np.ndarray, world: np.ndarray | None = None) -> np.ndarray:
    """(T, 33, 2) points (`visible_points`) → (T, len(FRAME_MEASURES)) measures in degrees.

    With `world` (T, 33, 3), MediaPipe's metric 3-D landmarks (`world_points`), joint angles are
    measured in 3-D, as the body bends them, whatever the camera's angle; the lean and the body
    line need the image's upright and stay in the image."""
    joints = world if world is not None else points
    columns = [_joint_angles(joints, left, right) for left, right, _ in JOINTS.values()]
    with _quiet():
        both = [np.nanmean(np.stack(angles), axis=0) for angles in columns]
    asymmetry = [angles[0] - angles[1] for angles in columns]
    facing = _facing(points)
    return np.stack(both + asymmetry + [_torso_lean(points, facing), _body_line(points, facing)], axis=1)


def unit_measures(measures: np.ndarray, points: np.ndarray, times_s: np.ndarray, static: bool) -> np.ndarray:
    """One unit's frame measures (T, M) with its points and times → (len(MEASURES),) values.

    A static unit (a window of a hold) has no duration of its own: NaN there."""
    values = []
    with np.errstate(all="ignore"):
        for column in measures.T:
            seen = column[np.isfinite(column)]
            if len(seen) == 0:
                values += [np.nan] * len(STATISTICS)
                continue
            low, middle, high = np.percentile(seen, [10, 50, 90])
            values += [low, middle, high, high - low]
    duration = np.nan if static or len(times_s) < 2 else float(times_s[-1] - times_s[0])
    return np.array(values + [duration, _steadiness(points, times_s)])


def _joint_angles(points: np.ndarray, left: tuple, right: tuple) -> tuple[np.ndarray, np.ndarray]:
    return _angle(points, *left), _angle(points, *right)


def _angle(points: np.ndarray, a: int, vertex: int, b: int) -> np.ndarray:
    """The angle at `vertex` between the segments to `a` and `b`, degrees (180 = straight)."""
    u, v = points[:, a] - points[:, vertex], points[:, b] - points[:, vertex]
    with _quiet():  # a segment of length 0 (two joints on one point) has no angle: NaN
        cosine = (u * v).sum(axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def _centre(points: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """The mean of a left/right pair, or the one that is there."""
    with _quiet():
        return np.nanmean(points[:, list(pair)], axis=1)


def _facing(points: np.ndarray) -> float:
    """+1 when the person faces the image's right, −1 left, over the whole unit: one sign, so that
    a lean does not flip with a frame's jitter. A body nearer lying than upright faces where its
    head is; an upright one where its nose is: in front of the ears, else (toes in front of the
    heels) or the shoulders."""
    with _quiet():
        torso = np.nanmedian(_centre(points, SHOULDERS) - _centre(points, HIPS), axis=0)
    if np.isfinite(torso).all() and abs(torso[0]) > abs(torso[1]):
        return 1.0 if torso[0] >= 0 else -1.0
    for front, back in ((points[:, NOSE], _centre(points, EARS)), (_centre(points, TOES), _centre(points, HEELS)),
                        (points[:, NOSE], _centre(points, SHOULDERS))):
        with _quiet():
            offset = np.nanmedian(front[:, 0] - back[:, 0])
        if np.isfinite(offset):
            return 1.0 if offset >= 0 else -1.0
    return 1.0


def _torso_lean(points: np.ndarray, facing: float) -> np.ndarray:
    """The torso's angle from upright (hips → shoulders), degrees; leaning towards the face is +."""
    torso = _centre(points, SHOULDERS) - _centre(points, HIPS)
    return np.degrees(np.arctan2(facing * torso[:, 0], -torso[:, 1]))


def _body_line(points: np.ndarray, facing: float) -> np.ndarray:
    """How far the hips lie off the shoulder–ankle line (knees where ankles are missing), as the
    angle at the shoulder between the line and the hips, degrees. + is up for a body lying down
    and forward (the face's way) for one standing."""
    shoulders, hips = _centre(points, SHOULDERS), _centre(points, HIPS)
    feet = _centre(points, ANKLES)
    feet = np.where(np.isnan(feet), _centre(points, KNEES), feet)
    line, offset = feet - shoulders, hips - shoulders
    normal = np.stack([line[:, 1], -line[:, 0]], axis=1)  # perpendicular to the line
    # Point the normal up, and towards the face: (facing, −2) decides for lines near upright.
    flip = np.sign(normal @ np.array([0.5 * facing, -1.0]))
    normal = normal * np.where(flip == 0, 1.0, flip)[:, None]
    across = (normal * offset).sum(axis=1) / np.linalg.norm(line, axis=1)
    along = (line * offset).sum(axis=1) / np.linalg.norm(line, axis=1)
    return np.degrees(np.arctan2(across, along))


def _steadiness(points: np.ndarray, times_s: np.ndarray) -> float:
    """How much the hips wander, in torso lengths per second of frame-to-frame movement beyond a
    smooth path: the median of |second differences| divided by the frame interval."""
    hips = _centre(points, HIPS)
    torso = np.linalg.norm(_centre(points, SHOULDERS) - hips, axis=1)
    with _quiet():
        scale = np.nanmedian(torso)
    if len(hips) < 3 or not np.isfinite(scale) or scale <= 0:
        return np.nan
    jerk = np.linalg.norm(hips[2:] - 2 * hips[1:-1] + hips[:-2], axis=1) / scale
    step = np.median(np.diff(times_s)) if len(times_s) > 1 else 1.0
    with _quiet():
        return float(np.nanmedian(jerk) / max(step, 1e-3))


@contextmanager
def _quiet() -> Iterator[None]:
    """NaN-aware reductions over all-NaN slices warn; a missing joint is normal here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
