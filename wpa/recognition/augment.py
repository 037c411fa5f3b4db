"""Training-time augmentation of pose sequences.

The training clips come from few cameras: mostly front or side views, level cameras and a handful
of bodies. A classifier trained only on those learns the camera as much as the exercise, and meets
a squat filmed from 45° or a phone propped at a tilt as something new. These functions make the
poses a clip would have given from another camera, or with another person's proportions, so that
training sees them too.

Each change is geometric and is applied to the image landmarks and the world landmarks alike, so
the two stay consistent. Visibility, timestamps and frames with nobody (NaN) are left as they are,
and every function returns a new PoseSequence. A clip gets one draw for all of its frames: a real
other camera stays where it is for the whole clip.

Image landmarks are worked on in the aspect-corrected space of `wpa.recognition.features.body_coordinates`
(x and z times the aspect ratio, so x, y, z share y's scale); rotations there keep true angles.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from wpa.poses.sequence import PoseSequence
from wpa.recognition.features import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# Bone groups that `scale_limbs` lengthens or shortens: (start, end, joints that move with the
# end: the end itself and everything further down the chain). Proximal groups come first.
LIMB_BONES: dict[str, tuple[tuple[int, int, tuple[int, ...]], ...]] = {
    "upper_arm": ((11, 13, (13, 15, 17, 19, 21)), (12, 14, (14, 16, 18, 20, 22))),
    "forearm": ((13, 15, (15, 17, 19, 21)), (14, 16, (16, 18, 20, 22))),
    "thigh": ((23, 25, (25, 27, 29, 31)), (24, 26, (26, 28, 30, 32))),
    "shin": ((25, 27, (27, 29, 31)), (26, 28, (28, 30, 32))),
}
# World torsos shorter than this (metres, in the x-y plane) cannot give a metres-to-image scale.
MIN_WORLD_TORSO_M = 1e-6


@dataclass(frozen=True)
class AugmentConfig:
    """How far augmented copies may stray from the recorded clip."""

    copies: int = 2  # augmented copies per clip
    max_yaw_deg: float = 60.0  # camera moved round the person
    max_pitch_deg: float = 15.0  # camera raised or lowered
    max_roll_deg: float = 10.0  # camera tilted
    limb_jitter: float = 0.1  # each bone group's length factor is uniform in 1 ± this

    def __post_init__(self) -> None:
        if self.copies < 0:
            raise ValueError(f"copies must be 0 or more, not {self.copies}")
        for name in ("max_yaw_deg", "max_pitch_deg", "max_roll_deg", "limb_jitter"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number, 0 or more, not {value}")
        if self.max_yaw_deg > 180:
            raise ValueError(f"max_yaw_deg must be at most 180 (a full turn either way), not {self.max_yaw_deg}")
        if self.limb_jitter >= 1:
            raise ValueError(f"limb_jitter must be below 1 so bones keep a positive length, not {self.limb_jitter}")


def rotate_view(pose: PoseSequence, yaw_rad: float, pitch_rad: float = 0.0) -> PoseSequence:
    """The poses seen from a camera moved round the person.

    The world skeleton turns about the vertical axis by `yaw_rad` (x' = x cos + z sin), then about
    the camera's horizontal axis by `pitch_rad` (y' = y cos - z sin). The image landmarks move by
    the orthographic projection of that change, scaled per frame from metres to image units, so
    where the person stands in the frame and the pose model's own image estimate are kept: a zero
    rotation is the identity, and a yaw of 90° turns a front view into a side view.
    """
    rotation = _rotation_about_x(pitch_rad) @ _rotation_about_y(yaw_rad)
    world = pose.world_landmarks.astype(np.float64)
    rotated = world @ rotation.T
    change = _metres_to_image(pose)[:, None, None] * (rotated - world)
    return _with_points(pose, _image_points(pose) + change, rotated)


def rotate_in_plane(pose: PoseSequence, roll_rad: float) -> PoseSequence:
    """The poses seen by a camera tilted by `roll_rad` about its viewing axis.

    Image landmarks turn about each frame's hip midpoint (so the person stays where they stand),
    world landmarks about their origin, which lies between the hips; depth is unchanged.
    """
    rotation = _rotation_2d(roll_rad)
    image = _image_points(pose)
    hips = (image[:, LEFT_HIP, None, :2] + image[:, RIGHT_HIP, None, :2]) / 2
    image[..., :2] = (image[..., :2] - hips) @ rotation.T + hips
    world = pose.world_landmarks.astype(np.float64)
    world[..., :2] = world[..., :2] @ rotation.T
    return _with_points(pose, image, world)


def scale_limbs(pose: PoseSequence, factors: Mapping[str, float]) -> PoseSequence:
    """Another body's proportions: each bone group of `LIMB_BONES` lengthened by its factor.

    A bone's end joint moves along the bone, and everything further down the chain moves with it,
    so all other bones keep their lengths. Groups missing from `factors` keep factor 1.
    """
    unknown = set(factors) - set(LIMB_BONES)
    if unknown:
        raise ValueError(f"unknown bone groups {sorted(unknown)} (known: {', '.join(LIMB_BONES)})")
    image, world = _image_points(pose), pose.world_landmarks.astype(np.float64)
    for group, bones in LIMB_BONES.items():
        factor = float(factors.get(group, 1.0))
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"factor for {group} must be a positive number, not {factor}")
        for start, end, moved in bones:
            image = _stretch_bone(image, start, end, moved, factor)
            world = _stretch_bone(world, start, end, moved, factor)
    return _with_points(pose, image, world)


def augment_pose(pose: PoseSequence, rng: np.random.Generator, config: AugmentConfig) -> PoseSequence:
    """One random variant of a clip: other proportions, seen from another camera.

    One draw serves the whole clip. Draws come in a fixed order (yaw, pitch, roll, then the bone
    groups in `LIMB_BONES` order), so a seeded `rng` repeats its variants.
    """
    yaw = rng.uniform(-1.0, 1.0) * math.radians(config.max_yaw_deg)
    pitch = rng.uniform(-1.0, 1.0) * math.radians(config.max_pitch_deg)
    roll = rng.uniform(-1.0, 1.0) * math.radians(config.max_roll_deg)
    factors = _draw_limb_factors(rng, config.limb_jitter)
    return rotate_in_plane(rotate_view(scale_limbs(pose, factors), yaw, pitch), roll)


def augmented_copies(pose: PoseSequence, rng: np.random.Generator, config: AugmentConfig) -> list[PoseSequence]:
    """`config.copies` random variants of a clip (the clip itself is not among them)."""
    return [augment_pose(pose, rng, config) for _ in range(config.copies)]


def _draw_limb_factors(rng: np.random.Generator, jitter: float) -> dict[str, float]:
    """One factor per bone group, the same for both sides (people are roughly symmetric)."""
    return {group: 1.0 + rng.uniform(-1.0, 1.0) * jitter for group in LIMB_BONES}


def _stretch_bone(points: np.ndarray, start: int, end: int, moved: tuple[int, ...], factor: float) -> np.ndarray:
    """`points` (T, 33, k) with the bone start→end scaled by `factor`, its chain following."""
    if factor == 1.0:
        return points  # keeps unit factors the exact identity
    shift = (factor - 1.0) * (points[:, end] - points[:, start])
    stretched = points.copy()
    stretched[:, list(moved)] += shift[:, None]
    return stretched


def _metres_to_image(pose: PoseSequence) -> np.ndarray:
    """(T,) image units (on y's scale) per metre of each frame: the torso's length in the image
    over its length in the world skeleton, both in the x-y plane.

    Frames whose world torso is degenerate take the clip's median; a clip with none to go by gets
    0, which leaves the image landmarks as they are.
    """
    image_torso = _torso_length(_image_points(pose))
    world_torso = _torso_length(pose.world_landmarks.astype(np.float64))
    valid = np.isfinite(image_torso) & np.isfinite(world_torso) & (world_torso > MIN_WORLD_TORSO_M)
    scale = image_torso / np.maximum(world_torso, MIN_WORLD_TORSO_M)
    fallback = float(np.median(scale[valid])) if valid.any() else 0.0
    return np.where(valid, scale, fallback)


def _torso_length(points: np.ndarray) -> np.ndarray:
    """(T,) distance in the x-y plane from the shoulder midpoint to the hip midpoint."""
    shoulders = (points[:, LEFT_SHOULDER, :2] + points[:, RIGHT_SHOULDER, :2]) / 2
    hips = (points[:, LEFT_HIP, :2] + points[:, RIGHT_HIP, :2]) / 2
    return np.linalg.norm(shoulders - hips, axis=1)


def _image_points(pose: PoseSequence) -> np.ndarray:
    """Image landmarks (T, 33, 3) float64 in the aspect-corrected space (x, z times aspect)."""
    points = pose.landmarks[..., :3].astype(np.float64)
    points[..., [0, 2]] *= pose.aspect_ratio
    return points


def _with_points(pose: PoseSequence, image: np.ndarray, world: np.ndarray) -> PoseSequence:
    """`pose` with new aspect-corrected image points and world points; visibility is kept."""
    landmarks = pose.landmarks.copy()
    landmarks[..., :3] = image
    landmarks[..., [0, 2]] = image[..., [0, 2]] / pose.aspect_ratio
    return dataclasses.replace(pose, landmarks=landmarks.astype(np.float32),
                               world_landmarks=world.astype(np.float32))


def _rotation_about_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rotation_about_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rotation_2d(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])
