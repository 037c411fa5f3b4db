"""Shared fixtures. Real clips come from ../shared/data (or $WPA_TEST_DATA); they are never copied
into the repository, and tests that need them skip, saying why, where they are absent."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tests never read or write the user's caches and models: wpa reads these when it is imported.
# (This file is imported twice, as pytest's conftest and as tests.conftest: one sandbox for both.)
if "WPA_TEST_SANDBOX" not in os.environ:
    os.environ["WPA_TEST_SANDBOX"] = tempfile.mkdtemp(prefix="wpa-tests-")
_SANDBOX = Path(os.environ["WPA_TEST_SANDBOX"])
os.environ["WPA_CACHE_DIR"] = str(_SANDBOX / "cache")
os.environ["WPA_DATA_DIR"] = str(_SANDBOX / "data")
os.environ["WPA_DATA_ROOTS"] = str(_SANDBOX / "datasets")
USER_MODELS = _SANDBOX / "data" / "models"
DATASETS = _SANDBOX / "datasets"
SHARED_DATA = Path(os.environ.get("WPA_TEST_DATA", REPO.parent / "shared" / "data"))
VIDEOS = SHARED_DATA / "videos"

# Small real clips of distinct exercises, a few seconds each (one is a GIF, one a portrait phone clip).
SQUAT_CLIP = "squat/Sarvesh521__Rep-Right__Ayush.mp4"
SMALL_CLIPS = {
    "squat": ["squat/Sarvesh521__Rep-Right__Ayush.mp4", "squat/NgoQuocBao1010__Exercise-Correction__squat.gif"],
    "push_up": ["push_up/krishnawin__FitCenter__push-up_15.mp4", "push_up/krishnawin__FitCenter__push-up_18.mp4"],
    "jumping_jack": ["jumping_jack/kaiakol__computervision__jumpingjack_correct_003.mp4",
                     "jumping_jack/kaiakol__computervision__jumpingjack_correct_004.mp4"],
    "deadlift": ["deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4",
                 "deadlift/4a454646__MediaPipe-PoseReader__heellift.mp4"],
}


@pytest.fixture(autouse=True)
def settings_read_again():
    """Each test's wpa settings come from the environment it sets (monkeypatch.setenv): read again
    before and after it (wpa.settings reads the environment once per process otherwise)."""
    from wpa.settings import reread

    reread()
    yield
    reread()


@pytest.fixture
def threads_left():
    """A function listing the `wpa-` threads still running that the test itself started. Threads
    already there when it began are not its own: an upload queue's slot from an earlier test waits
    a while for the next clip before it ends."""
    before = set(threading.enumerate())
    return lambda: [t for t in threading.enumerate() if t.name.startswith("wpa-") and t not in before]


@pytest.fixture(scope="session")
def videos() -> Path:
    """The folder of real clips, or a skip saying where it was looked for."""
    if not VIDEOS.is_dir():
        pytest.skip(f"real clips not found at {VIDEOS} (set WPA_TEST_DATA to the shared data folder)")
    return VIDEOS


@pytest.fixture(scope="session")
def small_dataset(videos: Path) -> Path:
    """A DATA/<exercise>/<clip> folder of links to eight small real clips (four exercises), in the
    data folder the app offers (WPA_DATA_ROOTS)."""
    root = DATASETS / "small"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for label, clips in SMALL_CLIPS.items():
        (root / label).mkdir()
        for clip in clips:
            source = videos / clip
            if not source.is_file():
                pytest.skip(f"{source} is missing from the shared data")
            (root / label / source.name).symlink_to(source)
    return root


@pytest.fixture(scope="session")
def small_cache(tmp_path_factory) -> Path:
    """The pose cache folder the small dataset is extracted into (copy it to reuse the entries)."""
    return tmp_path_factory.mktemp("pose-cache")


@pytest.fixture(scope="session")
def small_clips(small_dataset: Path, small_cache: Path):
    """Pose sequences of the small dataset, extracted once per test session."""
    from wpa.recognition.dataset import extract_dataset
    from wpa.recognition.folders import scan_dataset

    extraction = extract_dataset(scan_dataset(small_dataset).clips, small_cache)
    assert not extraction.failures, extraction.failures
    return extraction.clips
