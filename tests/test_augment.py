"""Augmentation: geometry kept or changed as a moved camera or another body would, and no damage
to missing frames, visibility, dtypes or the input."""

import math

import numpy as np
import pytest

from wpa.recognition.augment import (LIMB_BONES, AugmentConfig, augment_pose, augmented_copies, rotate_in_plane, rotate_view,
                         scale_limbs)
from wpa.poses.sequence import NUM_LANDMARKS, POSE_CONNECTIONS, PoseSequence
from wpa.recognition.features import compute_features

FRAME_SIZE = (1280, 720)
ASPECT = 16 / 9
MISSING = 3
SCALE = 0.35  # image heights per metre

# A person facing the camera, arms out, in world coordinates: metres, origin between the hips,
# y down; the person's left side at +x (as MediaPipe reports a person facing the camera).
STANDING = np.array([
    (0.0, -0.62, -0.10),  # nose
    (0.03, -0.66, -0.09), (0.04, -0.66, -0.09), (0.05, -0.66, -0.08),  # left eye
    (-0.03, -0.66, -0.09), (-0.04, -0.66, -0.09), (-0.05, -0.66, -0.08),  # right eye
    (0.08, -0.64, -0.02), (-0.08, -0.64, -0.02),  # ears
    (0.025, -0.58, -0.09), (-0.025, -0.58, -0.09),  # mouth
    (0.18, -0.48, 0.0), (-0.18, -0.48, 0.0),  # shoulders
    (0.45, -0.46, 0.03), (-0.45, -0.46, 0.03),  # elbows
    (0.70, -0.44, -0.02), (-0.70, -0.44, -0.02),  # wrists
    (0.78, -0.43, -0.01), (-0.78, -0.43, -0.01),  # pinkies
    (0.80, -0.45, -0.03), (-0.80, -0.45, -0.03),  # index fingers
    (0.75, -0.47, -0.05), (-0.75, -0.47, -0.05),  # thumbs
    (0.10, 0.0, 0.0), (-0.10, 0.0, 0.0),  # hips
    (0.11, 0.42, -0.02), (-0.11, 0.42, -0.02),  # knees
    (0.12, 0.82, 0.03), (-0.12, 0.82, 0.03),  # ankles
    (0.12, 0.87, 0.08), (-0.12, 0.87, 0.08),  # heels
    (0.13, 0.89, -0.10), (-0.13, 0.89, -0.10),  # foot indices
])


def standing_pose(frames: int = 12, seed: int = 0) -> PoseSequence:
    """A slightly moving standing person whose image landmarks are an exact orthographic
    projection of the world skeleton (scaled, placed in the frame); frame MISSING has nobody."""
    rng = np.random.default_rng(seed)
    world = STANDING[None] + rng.normal(0, 0.01, size=(frames, NUM_LANDMARKS, 3))
    world -= (world[:, 23:24] + world[:, 24:25]) / 2  # origin between the hips
    centre = np.column_stack([rng.uniform(0.8, 1.0, frames), rng.uniform(0.45, 0.55, frames), np.zeros(frames)])
    image = SCALE * world + centre[:, None]  # aspect-corrected: x and z on y's scale
    landmarks = np.empty((frames, NUM_LANDMARKS, 4))
    landmarks[..., :3] = image
    landmarks[..., [0, 2]] /= ASPECT
    landmarks[..., 3] = rng.uniform(0.5, 1.0, size=(frames, NUM_LANDMARKS))
    landmarks[MISSING] = np.nan
    world[MISSING] = np.nan
    return PoseSequence(landmarks=landmarks.astype(np.float32), world_landmarks=world.astype(np.float32),
                        timestamps_s=np.arange(frames) / 30.0, fps=30.0, frame_size=FRAME_SIZE)


def image_points(pose: PoseSequence) -> np.ndarray:
    points = pose.landmarks[..., :3].astype(np.float64)
    points[..., [0, 2]] *= pose.aspect_ratio
    return points


def bone_lengths(points: np.ndarray) -> np.ndarray:
    """(T, bones) lengths of POSE_CONNECTIONS."""
    return np.stack([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in POSE_CONNECTIONS], axis=1)


def present(pose: PoseSequence) -> np.ndarray:
    return np.delete(np.arange(len(pose)), MISSING)


TRANSFORMS = {
    "rotate_view": lambda pose: rotate_view(pose, 0.7, 0.2),
    "rotate_in_plane": lambda pose: rotate_in_plane(pose, 0.3),
    "scale_limbs": lambda pose: scale_limbs(pose, {"upper_arm": 1.1, "shin": 0.9}),
    "augment_pose": lambda pose: augment_pose(pose, np.random.default_rng(1), AugmentConfig()),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_shapes_dtypes_missing_frames_and_visibility_are_kept(name):
    pose = standing_pose()
    result = TRANSFORMS[name](pose)
    assert isinstance(result, PoseSequence) and result is not pose
    assert result.landmarks.shape == pose.landmarks.shape and result.landmarks.dtype == np.float32
    assert result.world_landmarks.shape == pose.world_landmarks.shape and result.world_landmarks.dtype == np.float32
    assert np.isnan(result.landmarks[MISSING]).all() and np.isnan(result.world_landmarks[MISSING]).all()
    assert np.isfinite(result.landmarks[present(pose)]).all()
    assert np.isfinite(result.world_landmarks[present(pose)]).all()
    np.testing.assert_array_equal(result.landmarks[..., 3], pose.landmarks[..., 3])
    np.testing.assert_array_equal(result.timestamps_s, pose.timestamps_s)
    assert (result.fps, result.frame_size) == (pose.fps, pose.frame_size)
    assert not np.allclose(result.landmarks[present(pose)], pose.landmarks[present(pose)])


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_input_is_not_mutated(name):
    pose = standing_pose()
    landmarks, world = pose.landmarks.copy(), pose.world_landmarks.copy()
    TRANSFORMS[name](pose)
    np.testing.assert_array_equal(pose.landmarks, landmarks)
    np.testing.assert_array_equal(pose.world_landmarks, world)


@pytest.mark.parametrize("transform", [
    lambda pose: rotate_view(pose, 0.0),
    lambda pose: rotate_view(pose, 0.0, 0.0),
    lambda pose: rotate_in_plane(pose, 0.0),
    lambda pose: scale_limbs(pose, {}),
    lambda pose: scale_limbs(pose, dict.fromkeys(LIMB_BONES, 1.0)),
    lambda pose: augment_pose(pose, np.random.default_rng(0),
                              AugmentConfig(max_yaw_deg=0, max_pitch_deg=0, max_roll_deg=0, limb_jitter=0)),
])
def test_no_change_is_the_identity(transform):
    pose = standing_pose()
    result = transform(pose)
    np.testing.assert_allclose(result.landmarks, pose.landmarks, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(result.world_landmarks, pose.world_landmarks, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("yaw, pitch", [(0.5, 0.0), (-1.2, 0.0), (2.5, 0.3), (0.0, -0.4)])
def test_rotate_view_keeps_bone_lengths(yaw, pitch):
    pose = standing_pose()
    rotated = rotate_view(pose, yaw, pitch)
    frames = present(pose)
    np.testing.assert_allclose(bone_lengths(rotated.world_landmarks)[frames],
                               bone_lengths(pose.world_landmarks)[frames], atol=1e-5)
    np.testing.assert_allclose(bone_lengths(image_points(rotated))[frames],
                               bone_lengths(image_points(pose))[frames], atol=1e-5)


def test_rotate_view_keeps_the_hips_in_place():
    pose = standing_pose()
    rotated = rotate_view(pose, 1.0, 0.2)
    frames = present(pose)
    before, after = image_points(pose)[frames], image_points(rotated)[frames]
    np.testing.assert_allclose(after[:, [23, 24], :2].mean(axis=1), before[:, [23, 24], :2].mean(axis=1), atol=1e-5)


def test_yaw_of_90_degrees_turns_the_shoulder_line_into_depth():
    pose = standing_pose()
    side = rotate_view(pose, math.pi / 2)
    frames = present(pose)
    for points in (image_points(side)[frames], side.world_landmarks[frames].astype(np.float64)):
        shoulders = points[:, 11] - points[:, 12]
        assert np.abs(shoulders[:, 0]).max() < 0.25 * np.abs(shoulders[:, 2]).min()
    front = image_points(pose)[frames]
    np.testing.assert_allclose(np.abs(image_points(side)[frames, 11, 2] - image_points(side)[frames, 12, 2]),
                               np.abs(front[:, 11, 0] - front[:, 12, 0]), rtol=1e-3)


def test_yaw_of_180_degrees_swaps_left_and_right_in_the_image():
    pose = standing_pose()
    back = rotate_view(pose, math.pi)
    frames = present(pose)
    assert (pose.landmarks[frames, 11, 0] > pose.landmarks[frames, 12, 0]).all()
    assert (back.landmarks[frames, 11, 0] < back.landmarks[frames, 12, 0]).all()


def test_rotate_view_falls_back_to_the_clips_scale_for_a_degenerate_world_torso():
    pose = standing_pose()
    world = pose.world_landmarks.copy()
    world[5, [11, 12]] = world[5, [23, 24]]  # shoulders on the hips: no torso to measure
    degenerate = PoseSequence(pose.landmarks, world, pose.timestamps_s, pose.fps, pose.frame_size)
    rotated = rotate_view(degenerate, 0.8)
    assert np.isfinite(rotated.landmarks[present(pose)]).all()
    # frame 5's arms still move as the other frames' scale says
    moved = image_points(rotated)[5, 15] - image_points(degenerate)[5, 15]
    expected = rotate_view(pose, 0.8)
    np.testing.assert_allclose(moved, image_points(expected)[5, 15] - image_points(pose)[5, 15], rtol=0.1)


def test_rotate_view_without_a_usable_world_skeleton_leaves_the_image_alone():
    pose = standing_pose()
    flat = PoseSequence(pose.landmarks, np.zeros_like(pose.world_landmarks), pose.timestamps_s, pose.fps,
                        pose.frame_size)
    np.testing.assert_allclose(rotate_view(flat, 1.0).landmarks, pose.landmarks, equal_nan=True)


def test_rotate_in_plane_keeps_distances_to_the_hips_and_depth():
    pose = standing_pose()
    rolled = rotate_in_plane(pose, 0.4)
    frames = present(pose)

    def hip_distances(points):
        hips = (points[:, 23:24, :2] + points[:, 24:25, :2]) / 2
        return np.linalg.norm(points[..., :2] - hips, axis=-1)

    np.testing.assert_allclose(hip_distances(image_points(rolled)[frames]), hip_distances(image_points(pose)[frames]),
                               atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(rolled.world_landmarks[frames, :, :2], axis=-1),
                               np.linalg.norm(pose.world_landmarks[frames, :, :2], axis=-1), atol=1e-5)
    np.testing.assert_array_equal(rolled.landmarks[..., 2], pose.landmarks[..., 2])
    np.testing.assert_array_equal(rolled.world_landmarks[..., 2], pose.world_landmarks[..., 2])
    # the torso now leans: the shoulders' midpoint is no longer straight above the hips
    shoulders = image_points(rolled)[frames][:, [11, 12], 0].mean(axis=1)
    hips = image_points(rolled)[frames][:, [23, 24], 0].mean(axis=1)
    assert (np.abs(shoulders - hips) > 0.05).all()


@pytest.mark.parametrize("group, factor", [("upper_arm", 1.2), ("forearm", 0.85), ("thigh", 1.15), ("shin", 0.9)])
def test_scale_limbs_scales_the_chosen_bones_only(group, factor):
    pose = standing_pose()
    scaled = scale_limbs(pose, {group: factor})
    frames = present(pose)
    chosen = {(start, end) for start, end, _ in LIMB_BONES[group]}
    is_chosen = np.array([(a, b) in chosen for a, b in POSE_CONNECTIONS])
    assert is_chosen.sum() == 2
    for points_of in (image_points, lambda p: p.world_landmarks.astype(np.float64)):
        before, after = bone_lengths(points_of(pose))[frames], bone_lengths(points_of(scaled))[frames]
        np.testing.assert_allclose(after[:, is_chosen], factor * before[:, is_chosen], rtol=1e-4)
        np.testing.assert_allclose(after[:, ~is_chosen], before[:, ~is_chosen], atol=1e-5)


def test_scale_limbs_rejects_unknown_groups_and_bad_factors():
    pose = standing_pose()
    with pytest.raises(ValueError, match="unknown bone groups"):
        scale_limbs(pose, {"neck": 1.1})
    with pytest.raises(ValueError, match="positive"):
        scale_limbs(pose, {"thigh": 0.0})


@pytest.mark.parametrize("kwargs", [
    {"copies": -1}, {"max_yaw_deg": -1.0}, {"max_yaw_deg": 181.0}, {"max_pitch_deg": -5.0},
    {"max_roll_deg": -0.1}, {"limb_jitter": -0.1}, {"limb_jitter": 1.0}, {"max_roll_deg": math.nan},
])
def test_augment_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        AugmentConfig(**kwargs)


def test_augment_config_accepts_the_limits():
    AugmentConfig(copies=0, max_yaw_deg=180.0, max_pitch_deg=0.0, max_roll_deg=0.0, limb_jitter=0.0)


def test_augment_pose_is_repeatable_with_a_seed_and_varies_between_draws():
    pose = standing_pose()
    config = AugmentConfig()
    first = augment_pose(pose, np.random.default_rng(42), config)
    again = augment_pose(pose, np.random.default_rng(42), config)
    np.testing.assert_array_equal(first.landmarks, again.landmarks)
    np.testing.assert_array_equal(first.world_landmarks, again.world_landmarks)
    rng = np.random.default_rng(42)
    one, two = augment_pose(pose, rng, config), augment_pose(pose, rng, config)
    assert not np.allclose(one.landmarks[present(pose)], two.landmarks[present(pose)])


def test_augmented_copies_gives_the_configured_number_of_variants():
    pose = standing_pose()
    copies = augmented_copies(pose, np.random.default_rng(3), AugmentConfig(copies=3))
    assert len(copies) == 3
    assert not np.allclose(copies[0].landmarks[present(pose)], copies[1].landmarks[present(pose)])
    assert augmented_copies(pose, np.random.default_rng(3), AugmentConfig(copies=0)) == []


def test_augmented_poses_give_finite_features():
    pose = standing_pose(frames=40)
    for augmented in augmented_copies(pose, np.random.default_rng(5), AugmentConfig(copies=3, max_yaw_deg=180)):
        features = compute_features(augmented, "body-motion")
        assert np.isnan(features[MISSING]).all()
        assert np.isfinite(features[present(pose)]).all()


def test_empty_sequence_is_handled():
    pose = standing_pose()
    empty = PoseSequence(pose.landmarks[:0], pose.world_landmarks[:0], pose.timestamps_s[:0], 30.0, FRAME_SIZE)
    for transform in TRANSFORMS.values():
        assert len(transform(empty)) == 0
