"""Faults: a process killed while it trains or saves, a damaged cache entry, a restarted server.

The killed process is real (tests/support/fault_driver.py sends itself SIGKILL at the chosen moment);
afterwards every saved model must load, the active one must still be active, and the app must
open cleanly on the same store, as it would after a restart.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.data import REPO, SQUAT_CLIP
from tests.support.models import make_model
from tests.support.poses import random_pose
from tests.support.sandbox import USER_MODELS
from wpa.poses.clip import Clip
from wpa.poses.table import write_landmarks_table
from wpa.recognition.model import load_model
from wpa.serving.analysis import analyze_video
from wpa.serving.store import active_entry, active_model_name, list_models, save_user_model, set_active_model


def fingerprint(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


@pytest.fixture
def store():
    """Two saved models, 'kept' and 'working' (the active one); emptied afterwards."""
    save_user_model(make_model(seed=1), "kept")
    save_user_model(make_model(seed=2), "working")
    set_active_model("working")
    yield {name: fingerprint(USER_MODELS / name) for name in ("kept", "working")}
    shutil.rmtree(USER_MODELS, ignore_errors=True)
    set_active_model(None)


@pytest.fixture(scope="module")
def training_table(tmp_path_factory) -> Path:
    """Landmarks of three made-up exercises, two clips each: enough for 40 optimiser steps to
    fall in the second epoch."""
    clips = [Clip(clip_id=f"{label}/{n}.mp4", label=label, pose=random_pose(frames=150, seed=seed * 2 + n))
             for seed, label in enumerate(("plank", "push_up", "squat")) for n in range(2)]
    return write_landmarks_table(clips, tmp_path_factory.mktemp("table") / "landmarks.csv")


def killed(point: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "tests.support.fault_driver", point, "--", *args], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == -9, (run.returncode, run.stderr[-2000:])  # it really died by SIGKILL
    return run


def assert_store_whole(before: dict[str, dict[str, str]], replaced: str | None = None) -> None:
    """Every model loads; those not being replaced are byte for byte as they were; the one being
    replaced is either its old self or a complete new model; the active model is still active."""
    entries = {entry.name: entry for entry in list_models()}
    assert set(entries) == {"default (shipped)", *before}, set(entries)
    for name, files in before.items():
        assert entries[name].usable, entries[name].problem
        load_model(USER_MODELS / name)
        if name != replaced:
            assert fingerprint(USER_MODELS / name) == files
    assert active_model_name() == "working" and active_entry().name == "working"


def assert_app_opens() -> None:
    """The app, started afresh on this store, opens every page with the active model chosen."""
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception and at.selectbox[0].value == "working"
    assert not at.sidebar.warning, [w.value for w in at.sidebar.warning]
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.error


def test_training_killed_mid_epoch(store, training_table):
    run = killed("mid-epoch", "train", str(training_table), "--out", str(USER_MODELS / "working"), "--force")
    assert "epoch   1/" in run.stderr and "epoch   2/" not in run.stderr  # it died inside the second epoch
    assert_store_whole(store)
    assert_app_opens()


@pytest.mark.parametrize("point", ["mid-weights", "before-swap", "after-swap"])
def test_saving_killed(point, store, training_table):
    killed(point, "train", str(training_table), "--out", str(USER_MODELS / "working"), "--force", "--epochs", "2")
    assert_store_whole(store, replaced="working")
    replaced_now = fingerprint(USER_MODELS / "working") != store["working"]
    assert replaced_now == (point == "after-swap")  # the new model is in place only once swapped in
    assert_app_opens()
    # The next save clears what the killed one left behind.
    save_user_model(make_model(seed=3), "another")
    assert sorted(p.name for p in USER_MODELS.iterdir()) == [".lock", "another", "kept", "working"]


def test_making_a_model_active_killed(store):
    killed("activate", "kept")
    assert_store_whole(store)
    assert_app_opens()


def test_a_damaged_pose_cache_entry_of_an_upload_is_found_again(videos, tmp_path):
    from wpa.recognition.model import load_model as load
    from wpa.paths import DEFAULT_MODEL_DIR

    model = load(DEFAULT_MODEL_DIR)
    caches = {"pose_cache_dir": tmp_path / "poses", "video_cache_dir": tmp_path / "videos"}
    first = analyze_video(videos / SQUAT_CLIP, model, **caches)
    (entry,) = (tmp_path / "poses").glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:200])  # a disk error, a copy cut short
    again = analyze_video(videos / SQUAT_CLIP, model, **caches)
    assert not again.reused and again.prediction.label == first.prediction.label == "squat"
    np.testing.assert_array_equal(again.pose.timestamps_s, first.pose.timestamps_s)
    assert analyze_video(videos / SQUAT_CLIP, model, **caches).reused  # rebuilt, and whole again


def test_a_training_job_lost_in_a_restart_is_explained():
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    at.switch_page("pages/train.py")
    at.query_params["job"] = "0123456789ab"
    at.run()
    assert not at.exception
    assert any("no longer on the server" in w.value for w in at.warning)
    assert any(b.label == "Start training" for b in at.button)
