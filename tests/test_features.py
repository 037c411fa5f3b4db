"""Features: shapes, invariances, and the causal window statistics."""

import numpy as np
import pytest

from tests.support.poses import random_pose, with_landmarks
from wpa.recognition.augment import rotate_view
from wpa.recognition.features import (BODY_DIM, DEFAULT_FEATURE_SET, FEATURE_SETS, JOINT_ANGLES, body_coordinates,
                          compute_features, joint_angles, trailing_statistics)
from wpa.poses.sequence import MIRROR_INDEX, PoseSequence, mirror_pose


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_shapes_and_missing_frames(name):
    pose = random_pose(frames=25, missing=(3, 10))
    features = compute_features(pose, name)
    assert features.shape == (25, FEATURE_SETS[name].dim)
    assert features.dtype == np.float32
    assert np.isnan(features[[3, 10]]).all()
    assert not np.isnan(np.delete(features, [3, 10], axis=0)).any()


def test_empty_sequence_gives_no_rows():
    pose = random_pose(frames=1)
    empty = PoseSequence(pose.landmarks[:0], pose.world_landmarks[:0], pose.timestamps_s[:0], 30.0, (640, 480))
    assert compute_features(empty, DEFAULT_FEATURE_SET).shape == (0, FEATURE_SETS[DEFAULT_FEATURE_SET].dim)


def test_raw_features_are_the_original_interleaved_layout():
    pose = random_pose(frames=2)
    features = compute_features(pose, "raw")
    assert features.shape == (2, 99)
    # x, y, z of landmark 0, then landmark 1, ... as the original notebook built its rows.
    np.testing.assert_allclose(features[0, :6], pose.landmarks[0, :2, :3].reshape(-1))


def test_body_features_ignore_where_the_person_stands():
    pose = random_pose()
    shifted = pose.landmarks.copy()
    shifted[..., 0] += 0.17
    shifted[..., 1] -= 0.11
    np.testing.assert_allclose(compute_features(with_landmarks(pose, shifted), DEFAULT_FEATURE_SET),
                               compute_features(pose, DEFAULT_FEATURE_SET), atol=2e-4)


def test_body_features_ignore_how_large_the_person_appears():
    pose = random_pose()
    scaled = pose.landmarks.copy()
    scaled[..., :3] *= 0.6  # further from the camera: x, y and z all shrink
    scaled[..., :2] += 0.2
    np.testing.assert_allclose(compute_features(with_landmarks(pose, scaled), DEFAULT_FEATURE_SET),
                               compute_features(pose, DEFAULT_FEATURE_SET), atol=2e-4)


def test_raw_features_do_depend_on_position():
    pose = random_pose()
    shifted = pose.landmarks.copy()
    shifted[..., 0] += 0.1
    assert not np.allclose(compute_features(with_landmarks(pose, shifted), "raw"), compute_features(pose, "raw"))


def test_body_coordinates_of_a_mirror_image_are_reflected_with_sides_swapped():
    pose = random_pose()
    mirrored = body_coordinates(mirror_pose(pose))
    expected = body_coordinates(pose)[:, MIRROR_INDEX] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(mirrored, expected, atol=1e-5)


def test_joint_angles_of_a_mirror_image_swap_left_and_right():
    pose = random_pose()
    original, mirrored = joint_angles(body_coordinates(pose)), joint_angles(body_coordinates(mirror_pose(pose)))
    pairs = len(JOINT_ANGLES) // 2
    for k in range(pairs):  # JOINT_ANGLES lists each joint as (left, right)
        np.testing.assert_allclose(mirrored[:, 2 * k], original[:, 2 * k + 1], atol=1e-4)
        np.testing.assert_allclose(mirrored[:, 2 * k + 1], original[:, 2 * k], atol=1e-4)
    np.testing.assert_allclose(mirrored[:, -2:], original[:, -2:], atol=1e-4)  # torso tilt: symmetric


def test_mirroring_twice_gives_back_the_pose():
    pose = random_pose()
    np.testing.assert_allclose(mirror_pose(mirror_pose(pose)).landmarks, pose.landmarks, atol=1e-6)


def test_aspect_ratio_keeps_true_proportions():
    """The same body filmed in a landscape and a portrait frame gives the same body coordinates."""
    pose = random_pose(frame_size=(640, 480))
    portrait = pose.landmarks.copy()
    # Pixel position px = x * 640 in the landscape frame; in a 360-wide portrait frame the same
    # pixel offsets (from the frame's left edge) give normalised x = px / 360.
    portrait[..., 0] = pose.landmarks[..., 0] * 640 / 360
    portrait[..., 2] = pose.landmarks[..., 2] * 640 / 360
    portrait_pose = PoseSequence(portrait, pose.world_landmarks, pose.timestamps_s, pose.fps, (360, 480))
    np.testing.assert_allclose(body_coordinates(portrait_pose), body_coordinates(pose), atol=1e-4)


def test_trailing_statistics_match_a_plain_loop():
    rng = np.random.default_rng(1)
    timestamps = np.cumsum(rng.uniform(0.02, 0.06, size=60))  # variable frame rate
    rows = rng.normal(size=(60, 4))
    rows[[5, 6, 30]] = np.nan
    mean, std = trailing_statistics(rows, timestamps, window_s=0.5)
    for t in range(60):
        if np.isnan(rows[t]).any():
            assert np.isnan(mean[t]).all() and np.isnan(std[t]).all()
            continue
        inside = [j for j in range(t + 1) if timestamps[j] > timestamps[t] - 0.5 and not np.isnan(rows[j]).any()]
        np.testing.assert_allclose(mean[t], rows[inside].mean(axis=0), atol=1e-9)
        np.testing.assert_allclose(std[t], rows[inside].std(axis=0), atol=1e-6)


def test_features_are_causal():
    """A frame's features do not change when later frames change (live sees no future)."""
    pose = random_pose(frames=30)
    changed = pose.landmarks.copy()
    changed[20:] += 0.05
    before = compute_features(pose, DEFAULT_FEATURE_SET)
    after = compute_features(with_landmarks(pose, changed), DEFAULT_FEATURE_SET)
    np.testing.assert_array_equal(before[:20], after[:20])
    assert not np.allclose(before[20:], after[20:])


def test_unknown_feature_set_is_refused():
    with pytest.raises(ValueError, match="unknown feature set"):
        compute_features(random_pose(), "nope")


def test_the_world_skeleton_looks_the_same_from_any_camera_round_the_person():
    pose = random_pose(frames=30, seed=5)
    frame_part = slice(0, BODY_DIM)  # the body of the frame; travel in the frame does depend on the camera
    original = compute_features(pose, "world-travel")[:, frame_part]
    for yaw_deg in (30, 90, 150):
        turned = compute_features(rotate_view(pose, np.radians(yaw_deg)), "world-travel")[:, frame_part]
        np.testing.assert_allclose(turned, original, atol=1e-4)
    # The image-based body does change when the camera moves: that is what the world skeleton fixes.
    assert not np.allclose(compute_features(rotate_view(pose, np.radians(90)), "body")[:, :99],
                           compute_features(pose, "body")[:, :99], atol=1e-2)


def test_travel_tells_hands_that_move_from_a_body_that_moves():
    # A pull-up lifts the body to still hands; a press moves the hands off a still body.
    pose = random_pose(frames=60, seed=2)
    still = np.repeat(pose.landmarks[:1], len(pose), axis=0)
    wave = 0.1 * np.sin(2 * np.pi * pose.timestamps_s)[:, None]
    hands = list(range(15, 23))
    body_rises, hands_rise = still.copy(), still.copy()
    body_rises[:, [i for i in range(33) if i not in hands], 1] -= wave
    hands_rise[:, hands, 1] -= wave

    def spread(landmarks):  # travel's standard deviation over the window, y of: hips, shoulders, left wrist
        return compute_features(with_landmarks(pose, landmarks), "world-travel")[-1, -12:][[1, 3, 5]]

    hips, shoulders, wrist = spread(body_rises)
    assert hips > 0.1 and shoulders > 0.1 and wrist < 1e-6
    hips, shoulders, wrist = spread(hands_rise)
    assert hips < 1e-6 and shoulders < 1e-6 and wrist > 0.1
