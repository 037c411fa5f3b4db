"""Shared fixtures (the helpers are in tests/support). Real clips come from ../shared/data (or
$WPA_TEST_DATA); they are never copied into the repository, and tests that need them skip, saying
why, where they are absent."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.data import SMALL_CLIPS, VIDEOS
from tests.support.namespace import NoNamespace, namespace_command
from tests.support.sandbox import DATASETS  # first: it sets the environment wpa reads on import


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


@pytest.fixture
def network_namespace() -> list[str]:
    """The command that runs a driver in a private network namespace, or a skip saying why none
    can be made here."""
    try:
        return namespace_command()
    except NoNamespace as missing:
        pytest.skip(str(missing))


@pytest.fixture
def webrtc_calls(monkeypatch):
    """streamlit-webrtc needs a real server session (the browser test has one); here the
    component is replaced by a recorder of how the page sets it up."""
    import streamlit_webrtc

    calls = []

    def fake_streamer(**options):
        calls.append(options)
        return SimpleNamespace(state=SimpleNamespace(playing=False, signalling=False))
    monkeypatch.setattr(streamlit_webrtc, "webrtc_streamer", fake_streamer)
    return calls
