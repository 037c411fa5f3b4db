"""The pose record every later step works on, and how poses are found.

A `PoseSequence` holds 33 landmarks per frame with x, y (normalised to the frame), z (depth, same
scale as x) and visibility, plus MediaPipe's metric world landmarks, true timestamps and which
frames had nobody in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wpa.paths import DEFAULT_POSE_MODEL

NUM_LANDMARKS = 33
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
# Bones of the skeleton, as MediaPipe draws them.
POSE_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)
# Landmark i of a mirrored image is landmark MIRROR_INDEX[i] of the original (left <-> right).
MIRROR_INDEX = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                         22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31])



@dataclass(frozen=True)
class PoseOptions:
    """How poses are found. `model_path` may point to any PoseLandmarker `.task` (lite, full, heavy)."""

    model_path: Path = DEFAULT_POSE_MODEL
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Frames are scaled so that neither side exceeds this many pixels before pose estimation
    # (None: full size). The pose models look at 224–256 px crops, so most of a 1080p frame's
    # pixels are never used.
    max_side: int | None = None


@dataclass(frozen=True)
class PoseSequence:
    """Poses of one clip.

    landmarks:       (T, 33, 4) float32, x and y normalised to the frame (0..1), z relative depth
                     on x's scale, visibility 0..1; NaN on frames where nobody was found.
    world_landmarks: (T, 33, 3) float32, metres, origin between the hips; NaN where nobody.
    timestamps_s:    (T,) float64, strictly increasing, first frame at 0.
    fps:             the container's average frame rate.
    frame_size:      (width, height) of the upright frames the landmarks refer to.
    people:          how many people were in view (see `people_in_view`); None where not counted.
                     The landmarks always follow one person.
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray
    timestamps_s: np.ndarray
    fps: float
    frame_size: tuple[int, int]
    people: int | None = None

    def __len__(self) -> int:
        return len(self.timestamps_s)

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: whether a person was found on each frame."""
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def aspect_ratio(self) -> float:
        """Width / height: multiplies normalised x (and z) to put them on y's scale."""
        width, height = self.frame_size
        return width / height if height else 1.0


def mirror_pose(pose: PoseSequence) -> PoseSequence:
    """The poses MediaPipe would report for the left–right mirrored video.

    x is reflected and left/right landmarks trade places (the person's left hand appears as a
    right hand in a mirror). Mirroring twice gives back the original.
    """
    landmarks = pose.landmarks[:, MIRROR_INDEX].copy()
    landmarks[..., 0] = 1.0 - landmarks[..., 0]
    world = pose.world_landmarks[:, MIRROR_INDEX].copy()
    world[..., 0] = -world[..., 0]
    return PoseSequence(landmarks=landmarks, world_landmarks=world, timestamps_s=pose.timestamps_s,
                        fps=pose.fps, frame_size=pose.frame_size, people=pose.people)
