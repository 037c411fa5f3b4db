"""Features: the one function that turns poses into the classifier's input.

`compute_features(pose, feature_set)` serves dataset building, training, upload and live alike.
It returns one row per frame, computed from that frame and, for temporal sets, the frames of the
preceding window only (causal), so a live stream gets exactly what training saw.

Feature sets:

raw          the original design: x, y, z of the 33 landmarks as MediaPipe gives them (99 values,
             normalised to the frame). Kept for comparison and for data in the original CSV layout.
body         the frame alone: landmarks centred on the hips and scaled by torso length, in the
             frame's true proportions, and ten joint angles (109 values).
body-motion  `body`, plus the mean and standard deviation of its values over the last
             WINDOW_S seconds, which tell a squat's standing phase from standing still and a
             push-up from a plank (327 values).
body-travel  `body-motion`, plus how the body moves in the frame: where the hips, shoulders,
             wrists and ankles are against their mean over the window, and how far they range, in
             torso lengths. Hip-centred coordinates cannot tell a pull-up (the body rises to fixed
             hands) from a shoulder press (the hands leave a still body); this can (351 values).
world-travel (default) `body-travel` with the frame's body taken from MediaPipe's 3-D world
             skeleton, turned so that the hips face the same way whatever the camera: a squat
             filmed from the side gives what one filmed from the front does (351 values).
box-travel   `body-travel` of the pose first stretched to the skeleton's box in every frame (x, y
             and z each to 0..1, `box_stretched`): the same for data published only in that form
             (Countix-Fitness) as for our own clips, at the cost of the body's true proportions
             and its travel in the frame (351 values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# (a, b, c): the angle at b between the segments to a and to c.
JOINT_ANGLES = (
    (11, 13, 15), (12, 14, 16),  # elbows
    (13, 11, 23), (14, 12, 24),  # shoulders (upper arm against torso side)
    (11, 23, 25), (12, 24, 26),  # hips
    (23, 25, 27), (24, 26, 28),  # knees
)
# Torso lengths below this (in frame heights) mean a degenerate pose; they are clamped so that
# dividing by them cannot blow up.
MIN_TORSO = 1e-3
WINDOW_S = 2.0
# Points whose travel in the frame `body-travel` follows: the midpoints of the hips and of the
# shoulders, each wrist and each ankle.
ANCHORS = ((LEFT_HIP, RIGHT_HIP), (LEFT_SHOULDER, RIGHT_SHOULDER), (15,), (16,), (27,), (28,))


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned way of turning poses into feature rows."""

    name: str
    version: int  # bump whenever the numbers change: models trained on older ones are refused
    dim: int
    window_s: float  # seconds of past frames each row depends on (0: the frame alone)
    compute: Callable[[PoseSequence], np.ndarray]
    description: str


def compute_features(pose: PoseSequence, feature_set: str) -> np.ndarray:
    """Feature rows (T, dim) float32 for a pose sequence; rows of frames with nobody are NaN."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set '{feature_set}' (known: {', '.join(FEATURE_SETS)})")
    if len(pose) == 0:
        return np.empty((0, FEATURE_SETS[feature_set].dim), np.float32)
    return FEATURE_SETS[feature_set].compute(pose).astype(np.float32)


def feature_dim(feature_set: str) -> int:
    """Number of features a row of `feature_set` has."""
    return FEATURE_SETS[feature_set].dim


def raw_features(pose: PoseSequence) -> np.ndarray:
    """x, y, z of each landmark in MediaPipe's normalised frame coordinates: (T, 99)."""
    return pose.landmarks[:, :, :3].reshape(len(pose), NUM_LANDMARKS * 3).astype(np.float64)


def body_coordinates(pose: PoseSequence) -> np.ndarray:
    """Landmarks (T, 33, 3) with the hip midpoint at the origin and torso length 1.

    x and z are first put on y's scale (normalised x runs over the frame's width, y over its
    height), so the skeleton keeps its true shape in a portrait or landscape frame. The result no
    longer depends on where the person stands in the frame, or how large they appear.
    """
    points = pose.landmarks[:, :, :3].astype(np.float64)
    points[..., 0] *= pose.aspect_ratio
    points[..., 2] *= pose.aspect_ratio
    hips = (points[:, LEFT_HIP] + points[:, RIGHT_HIP]) / 2
    shoulders = (points[:, LEFT_SHOULDER] + points[:, RIGHT_SHOULDER]) / 2
    torso = np.maximum(np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1), MIN_TORSO)
    points[..., :2] -= hips[:, None, :2]  # z is already relative to the hips' depth
    return points / torso[:, None, None]


def joint_angles(coordinates: np.ndarray) -> np.ndarray:
    """Angles (T, 10): the eight JOINT_ANGLES in radians (in the image plane), then the torso's
    direction as cos and |sin| of its angle from upright (standing 1, 0; lying 0, 1)."""
    planar = coordinates[..., :2]
    angles = [_angle_at(planar[:, b], planar[:, a], planar[:, c]) for a, b, c in JOINT_ANGLES]
    torso = (planar[:, LEFT_SHOULDER] + planar[:, RIGHT_SHOULDER]) / 2  # hips are at the origin
    tilt = np.arctan2(torso[:, 0], -torso[:, 1])  # image y points down: upright torso has y < 0
    return np.column_stack(angles + [np.cos(tilt), np.abs(np.sin(tilt))])


def body_features(pose: PoseSequence) -> np.ndarray:
    """Body-centred coordinates and joint angles of each frame: (T, 99 + 10)."""
    coordinates = body_coordinates(pose)
    return np.concatenate([coordinates.reshape(len(pose), -1), joint_angles(coordinates)], axis=1)


def body_motion_features(pose: PoseSequence) -> np.ndarray:
    """`body_features`, then their mean and standard deviation over the last WINDOW_S seconds:
    (T, 3 × 109)."""
    frame = body_features(pose)
    mean, std = trailing_statistics(frame, pose.timestamps_s, WINDOW_S)
    return np.concatenate([frame, mean, std], axis=1)


def body_travel_features(pose: PoseSequence) -> np.ndarray:
    """`body_motion_features`, then `travel_features`: (T, 3 × 109 + 4 × len(ANCHORS))."""
    return np.concatenate([body_motion_features(pose), travel_features(pose)], axis=1)


def travel_features(pose: PoseSequence) -> np.ndarray:
    """The travel of ANCHORS in the frame: each one's position against its mean over the last
    WINDOW_S seconds, and its standard deviation over them, in torso lengths (T, 4 × len(ANCHORS))."""
    points = pose.landmarks[:, :, :2].astype(np.float64)
    points[..., 0] *= pose.aspect_ratio
    anchors = np.stack([points[:, group].mean(axis=1) for group in ANCHORS], axis=1).reshape(len(pose), -1)
    hips = points[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    shoulders = points[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1)
    # The window's mean torso, not each frame's: bending over shortens the torso on screen.
    torso, _ = trailing_statistics(np.linalg.norm(shoulders - hips, axis=1)[:, None], pose.timestamps_s, WINDOW_S)
    torso = np.maximum(torso, MIN_TORSO)
    mean, std = trailing_statistics(anchors, pose.timestamps_s, WINDOW_S)
    return np.concatenate([(anchors - mean) / torso, std / torso], axis=1)


def box_stretched(pose: PoseSequence) -> PoseSequence:
    """The image landmarks as a release that stretches each frame's skeleton to its box gives
    them: x, y and z each mapped to 0..1 over the 33 landmarks of the frame, no world landmarks,
    a square frame. Stretching twice gives what stretching once does."""
    points = pose.landmarks[..., :3].astype(np.float64)
    low, high = points.min(axis=1, keepdims=True), points.max(axis=1, keepdims=True)
    landmarks = pose.landmarks.copy()
    landmarks[..., :3] = (points - low) / np.maximum(high - low, 1e-9)
    return replace(pose, landmarks=landmarks, world_landmarks=np.full_like(pose.world_landmarks, np.nan),
                   frame_size=(1, 1))


def box_travel_features(pose: PoseSequence) -> np.ndarray:
    """`body_travel_features` of `box_stretched(pose)`: features that survive the box stretch."""
    return body_travel_features(box_stretched(pose))


def world_coordinates(pose: PoseSequence) -> np.ndarray:
    """MediaPipe's metric world landmarks (T, 33, 3), turned about the vertical axis so that the
    hips lie along x (the same for any camera round the person) and scaled to torso length 1.

    Frames whose world landmarks are missing (poses read from a table in the original layout)
    take the image landmarks' own depth estimate instead (`body_coordinates`).
    """
    points = pose.world_landmarks.astype(np.float64)
    missing = np.isnan(points).all(axis=(1, 2)) & pose.present
    if missing.any():
        points[missing] = body_coordinates(pose)[missing]
    across = points[:, RIGHT_HIP] - points[:, LEFT_HIP]
    heading = np.arctan2(across[:, 2], across[:, 0])
    cos, sin = np.cos(heading)[:, None], np.sin(heading)[:, None]
    turned = points.copy()
    turned[..., 0] = cos * points[..., 0] + sin * points[..., 2]
    turned[..., 2] = -sin * points[..., 0] + cos * points[..., 2]
    shoulders = (turned[:, LEFT_SHOULDER] + turned[:, RIGHT_SHOULDER]) / 2
    hips = (turned[:, LEFT_HIP] + turned[:, RIGHT_HIP]) / 2
    torso = np.maximum(np.linalg.norm(shoulders - hips, axis=1), MIN_TORSO)
    return turned / torso[:, None, None]


def world_body_features(pose: PoseSequence) -> np.ndarray:
    """The world skeleton seen from a fixed side of the hips, and its joint angles in 3-D: (T, 109)."""
    coordinates = world_coordinates(pose)
    angles = [_angle_at(coordinates[:, b], coordinates[:, a], coordinates[:, c]) for a, b, c in JOINT_ANGLES]
    torso = (coordinates[:, LEFT_SHOULDER] + coordinates[:, RIGHT_SHOULDER]) / 2
    tilt = np.arctan2(np.linalg.norm(torso[:, [0, 2]], axis=1), -torso[:, 1])
    return np.concatenate([coordinates.reshape(len(pose), -1), np.column_stack(angles + [np.cos(tilt), np.sin(tilt)])],
                          axis=1)


def world_travel_features(pose: PoseSequence) -> np.ndarray:
    """Like `body_travel_features`, with the frame's body taken from the world skeleton."""
    frame = world_body_features(pose)
    mean, std = trailing_statistics(frame, pose.timestamps_s, WINDOW_S)
    return np.concatenate([frame, mean, std, travel_features(pose)], axis=1)


def trailing_statistics(rows: np.ndarray, timestamps_s: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of `rows` over each frame's window (t - window_s, t].

    Rows holding NaN (nobody in the frame) are left out of every window, and their own output
    stays NaN. Windows are in seconds, not frames, so clips of any frame rate agree.
    """
    count, width = rows.shape
    valid = ~np.isnan(rows).any(axis=1)
    zeroed = np.where(valid[:, None], rows, 0.0)
    # Running sums turn every window's sum into a difference of two prefix sums.
    counts = np.concatenate([[0], np.cumsum(valid)])
    sums = np.concatenate([np.zeros((1, width)), np.cumsum(zeroed, axis=0)])
    squares = np.concatenate([np.zeros((1, width)), np.cumsum(zeroed * zeroed, axis=0)])
    start = np.searchsorted(timestamps_s, timestamps_s - window_s, side="right")
    end = np.arange(1, count + 1)
    n = np.maximum(counts[end] - counts[start], 1)[:, None]
    mean = (sums[end] - sums[start]) / n
    std = np.sqrt(np.maximum((squares[end] - squares[start]) / n - mean * mean, 0.0))
    mean[~valid] = np.nan
    std[~valid] = np.nan
    return mean, std


def _angle_at(vertex: np.ndarray, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    first, second = a - vertex, c - vertex
    norms = np.maximum(np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1), 1e-12)
    return np.arccos(np.clip((first * second).sum(axis=1) / norms, -1.0, 1.0))


BODY_DIM = NUM_LANDMARKS * 3 + len(JOINT_ANGLES) + 2
FEATURE_SETS: dict[str, FeatureSet] = {
    "raw": FeatureSet("raw", 1, NUM_LANDMARKS * 3, 0.0, raw_features,
                      "x, y, z of 33 landmarks as MediaPipe gives them (the original design)"),
    "body": FeatureSet("body", 1, BODY_DIM, 0.0, body_features,
                       "hip-centred, torso-scaled landmarks and joint angles of the frame alone"),
    "body-motion": FeatureSet("body-motion", 1, 3 * BODY_DIM, WINDOW_S,
                              body_motion_features,
                              "hip-centred, torso-scaled landmarks and joint angles, with their mean and "
                              f"spread over the last {WINDOW_S:g} s"),
    "body-travel": FeatureSet("body-travel", 1, 3 * BODY_DIM + 4 * len(ANCHORS), WINDOW_S,
                              body_travel_features,
                              "body-motion, and how the hips, shoulders, wrists and ankles travel in the frame "
                              f"over the last {WINDOW_S:g} s"),
    "world-travel": FeatureSet("world-travel", 1, 3 * BODY_DIM + 4 * len(ANCHORS), WINDOW_S,
                               world_travel_features,
                               "the 3-D skeleton as seen from in front of the hips (the same from any camera), its "
                               f"joint angles, their mean and spread over the last {WINDOW_S:g} s, and how the body "
                               "travels in the frame"),
    "box-travel": FeatureSet("box-travel", 1, 3 * BODY_DIM + 4 * len(ANCHORS), WINDOW_S, box_travel_features,
                             "body-travel of the skeleton stretched to its box in every frame (x, y, z each to "
                             "0..1): the same for data published only in that form as for video"),
}
DEFAULT_FEATURE_SET = "world-travel"
