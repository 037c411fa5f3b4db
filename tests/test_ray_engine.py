"""The Ray extraction engine: a task on its own, and real clips on a two-node cluster of this machine
giving the same cache as local extraction, with a worker killed mid-run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.support.data import REPO, SQUAT_CLIP
from tests.support.media import write_video
from wpa.poses.cache import pose_from_arrays
from wpa.poses.extract import extract_pose
from wpa.poses.extraction import extract_clip
from wpa.poses.sequence import PoseOptions
from wpa.recognition.manifest import CACHE_SUBDIR, read_cached_dataset

pytest.importorskip("ray", reason="Ray is in requirements-dev.txt")


def task_settings() -> dict:
    return {"min_detection_confidence": 0.5, "min_presence_confidence": 0.5, "min_tracking_confidence": 0.5,
            "max_side": None, "model_path": None}


def test_a_task_sent_a_clips_bytes_finds_the_same_poses(videos):
    clip = videos / SQUAT_CLIP
    model = PoseOptions().model_path.read_bytes()
    answer = extract_clip(clip.read_bytes(), clip.suffix, model, task_settings())
    here = extract_pose(clip)
    sent_back = pose_from_arrays(answer)
    np.testing.assert_array_equal(sent_back.timestamps_s, here.timestamps_s)
    np.testing.assert_array_equal(sent_back.landmarks, here.landmarks)
    assert sent_back.frame_size == here.frame_size and sent_back.fps == here.fps


def test_a_task_says_why_a_clip_cannot_be_read(tmp_path):
    model = PoseOptions().model_path.read_bytes()
    answer = extract_clip(b"this is not a video", ".mp4", model, task_settings())
    assert isinstance(answer, str) and answer
    nobody = write_video(tmp_path / "clip.mp4", frames=5)
    assert isinstance(extract_clip(str(nobody), ".mp4", model, task_settings()), dict)  # a shared path


def test_an_address_where_no_cluster_answers_is_a_clear_error(small_dataset, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "wpa", "extract", str(small_dataset), "--out", str(tmp_path / "out"),
                          "--ray", f"127.0.0.1:{port}"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert f"No Ray cluster answers at 127.0.0.1:{port}" in run.stderr and "leave out --ray" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_two_node_cluster_makes_the_cache_local_extraction_makes(network_namespace, small_dataset, small_clips,
                                                                  tmp_path):
    report_path = tmp_path / "ray.json"
    run = subprocess.run([*network_namespace, sys.executable, "-m", "tests.support.ray_check", str(small_dataset),
                          str(tmp_path), str(report_path)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert report_path.is_file(), run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    print(json.dumps(report, indent=1))
    assert run.returncode == 0, run.stderr[-3000:]

    plain = report["plain"]
    assert plain["returncode"] == 0, plain["stderr"]
    on_cluster = {clip.clip_id: clip for clip in read_cached_dataset(tmp_path / "ray")}
    local = {clip.clip_id: clip for clip in small_clips}
    assert sorted(on_cluster) == sorted(local)
    assert sorted(p.name for p in (tmp_path / "ray" / CACHE_SUBDIR).glob("*.npz")) == \
        sorted(f"{clip.cache_key}.npz" for clip in small_clips)
    for clip_id, clip in local.items():
        remote = on_cluster[clip_id].pose
        assert on_cluster[clip_id].cache_key == clip.cache_key
        np.testing.assert_array_equal(remote.timestamps_s, clip.pose.timestamps_s)
        assert (remote.present == clip.pose.present).mean() > 0.98
        # The split test's tolerance for tracking differences: a pixel or so.
        assert np.nanmedian(np.abs(remote.landmarks[..., :2] - clip.pose.landmarks[..., :2])) < 0.005

    killed = report["killed"]
    assert killed["killed_pid"], "no Ray worker was seen running a clip"
    manifest = json.loads((tmp_path / "killed" / "manifest.json").read_text())
    accounted = [entry["clip_id"] for entry in manifest["clips"] + manifest["failures"]]
    assert sorted(accounted) == sorted(local)  # retried or reported, never lost
    assert all("failed on the cluster" in entry["reason"] for entry in manifest["failures"])

    cancelled = report["cancelled"]
    assert cancelled["message"] and "stopped after 1 of" in cancelled["message"]
    assert cancelled["cached"] < cancelled["clips"] and cancelled["tasks_still_running"] == 0
