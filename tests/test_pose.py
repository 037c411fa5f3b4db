"""Pose estimation on a real clip, on a picture with nobody, and with unusable model files."""

import threading
import time

import numpy as np
import pytest

from tests.support.data import SQUAT_CLIP
from tests.support.media import concatenate, write_image
from wpa.errors import PoseModelError
from wpa.media.video import read_frames
from wpa.paths import DEFAULT_POSE_MODEL
from wpa.poses.estimator import PoseEstimator
from wpa.poses.extract import extract_pose
from wpa.poses.sequence import PoseOptions


def test_the_shipped_pose_model_is_in_the_repository():
    assert DEFAULT_POSE_MODEL.is_file() and DEFAULT_POSE_MODEL.stat().st_size > 5_000_000


def test_a_real_clip_gives_a_pose_on_almost_every_frame(videos):
    calls = []
    pose = extract_pose(videos / SQUAT_CLIP, progress=lambda done, total: calls.append((done, total)))
    assert len(pose) == 175 and pose.landmarks.shape == (175, 33, 4) and pose.world_landmarks.shape == (175, 33, 3)
    assert pose.present.mean() > 0.95
    seen = pose.landmarks[pose.present]
    assert np.all((seen[..., :2] > -0.5) & (seen[..., :2] < 1.5))
    assert np.all((seen[..., 3] >= 0) & (seen[..., 3] <= 1))
    assert np.all(np.diff(pose.timestamps_s) > 0) and pose.timestamps_s[0] == 0
    assert pose.frame_size == (478, 850) and 29 < pose.fps < 31
    assert calls[-1] == (175, 175)
    # In a standing squat filmed upright, the head is above the hips.
    assert np.nanmedian(pose.landmarks[:, 0, 1]) < np.nanmedian(pose.landmarks[:, 23, 1])


def test_a_picture_with_nobody_gives_no_pose(tmp_path):
    pose = extract_pose(write_image(tmp_path / "empty-room.png"))
    assert len(pose) == 1 and not pose.present.any()
    assert np.isnan(pose.landmarks).all()


def test_strided_frames_are_accepted(videos):
    """A view with padded rows (as PyAV gives for many widths) must still find the person."""
    frame = next(read_frames(videos / SQUAT_CLIP)).rgb
    padded = np.zeros((frame.shape[0], frame.shape[1] + 10, 3), np.uint8)
    padded[:, : frame.shape[1]] = frame
    view = padded[:, : frame.shape[1]]
    assert not view.flags.c_contiguous
    with PoseEstimator() as estimator:
        assert estimator.detect(view, 0.0) is not None


def test_timestamps_that_do_not_increase_are_nudged(videos):
    frame = next(read_frames(videos / SQUAT_CLIP)).rgb
    with PoseEstimator() as estimator:
        for _ in range(3):
            estimator.detect(frame, 0.0)  # MediaPipe itself would refuse the repeated timestamp


def test_missing_pose_model(tmp_path):
    with pytest.raises(PoseModelError, match="not found"):
        PoseEstimator(PoseOptions(model_path=tmp_path / "nope.task"))


def test_a_file_that_is_not_a_pose_model(tmp_path):
    fake = tmp_path / "fake.task"
    fake.write_bytes(b"PK\x03\x04 not really a model")
    with pytest.raises(PoseModelError, match="not a usable"):
        PoseEstimator(PoseOptions(model_path=fake))


def test_a_clip_split_among_pose_models_gives_the_same_frames(videos, tmp_path, threads_left):
    clip = concatenate([videos / SQUAT_CLIP] * 2, tmp_path / "two-sets.mp4")
    whole = extract_pose(clip)
    calls = []
    split = extract_pose(clip, parts=2, progress=lambda done, total: calls.append(done))
    np.testing.assert_array_equal(split.timestamps_s, whole.timestamps_s)
    assert (split.present == whole.present).mean() > 0.98
    # After the split the second pose model tracks on its own: the poses differ by a pixel or so.
    assert np.nanmedian(np.abs(split.landmarks[..., :2] - whole.landmarks[..., :2])) < 0.005
    assert calls[-1] == len(whole) and calls == sorted(calls)
    assert not threads_left()


def test_stderr_comes_back_after_overlapping_silences():
    """Two threads creating pose models at once (two live sessions) must not leave the process's
    stderr pointing at /dev/null: A silences, B silences, A finishes, B finishes."""
    import os
    import threading

    from wpa.poses.estimator import native_logs_silenced

    def identity():
        status = os.fstat(2)
        return status.st_dev, status.st_ino

    before = identity()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with native_logs_silenced():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with native_logs_silenced():
            b_in.set()
            a_out.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert identity() == before


def test_a_pose_estimator_dropped_in_a_reference_cycle_is_closed_off_the_collector():
    """An estimator nobody closed (a Live page prepared, then the session left) is closed once it is
    garbage, by a thread of its own: closing it from inside the garbage collector could hang."""
    import gc

    estimator = PoseEstimator()
    landmarker = estimator._landmarker
    cycle = {"estimator": estimator}
    cycle["itself"] = cycle
    del estimator, cycle
    collected = threading.Event()
    threading.Thread(target=lambda: (gc.collect(), collected.set()), daemon=True).start()
    assert collected.wait(60)
    deadline = time.monotonic() + 30
    while landmarker._handle and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not landmarker._handle
