"""The Live page through a real TURN relay (coturn, started by the test in a private network
namespace) with Chromium allowed relayed candidates only, and with a wrong secret; and the Live page
at a phone's size with a portrait camera. Each runs tests/support/relay_check.py in the namespace."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import CAMERA_CLIP, REPO
from tests.support.media import write_y4m
from tests.support.servers import TURNSERVER

# A squat filmed on a phone held upright (478 × 850): the portrait camera of the phone-sized test.
PORTRAIT_CLIP = "squat/Sarvesh521__Rep-Right__Ayush.mp4"
PHONE = {"width": 390, "height": 844}


def run_in_namespace(namespace: list[str], camera: Path, home: Path, *options: str) -> dict:
    """relay_check.py with `options` in the private network namespace `namespace` makes; its report."""
    home.mkdir()
    out = home / "report.json"
    run = subprocess.run([*namespace, sys.executable, "-m", "tests.support.relay_check", str(camera), str(home),
                          str(out), *options], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.is_file(), run.stderr[-3000:]
    report = json.loads(out.read_text())
    print("report:", json.dumps(report))
    assert run.returncode == 0, run.stderr[-3000:]
    return report


def keep_screenshots(home: Path, screenshots: Path, prefix: str) -> None:
    for picture in home.glob("*.png"):
        shutil.copy(picture, screenshots / f"{prefix}-{picture.name}")


@pytest.fixture
def coturn():
    if not Path(TURNSERVER).is_file():
        pytest.skip("coturn's turnserver is not installed (Debian package coturn; .ci/run installs it)")


@pytest.fixture
def landscape_camera(videos, tmp_path) -> Path:
    return write_y4m(videos / CAMERA_CLIP, tmp_path / "squat.y4m", size=(640, 480), fps=15)


def test_the_live_page_streams_through_the_relay_only(network_namespace, coturn, playwright_api, landscape_camera,
                                                      tmp_path, screenshots):
    report = run_in_namespace(network_namespace, landscape_camera, tmp_path / "relay",
                              "--turn-secret", "wpa-test-secret")
    keep_screenshots(tmp_path / "relay", screenshots, "relay")
    # Chromium was told relayed candidates only, had nothing else, and its stream went through one.
    pair = report["selected_pair"]
    assert pair["policy"] == "relay" and set(pair["local_candidate_types"]) == {"relay"}
    assert pair["local_type"] == "relay" and pair["bytes_sent"] > 0
    assert report["turn_allocations"] >= 1 and report["turn_refusals"] == 0  # coturn took the app's credentials
    assert report["label_shown"] == "squat" and report["frames"] > 0
    assert not report["traceback_in_log"]


def test_a_wrong_relay_secret_is_said_within_seconds(network_namespace, coturn, playwright_api, landscape_camera,
                                                     tmp_path, screenshots):
    report = run_in_namespace(network_namespace, landscape_camera, tmp_path / "wrong", "--turn-secret",
                              "wpa-test-secret", "--app-secret", "not-the-secret", "--expect", "error")
    keep_screenshots(tmp_path / "wrong", screenshots, "relay-wrong-secret")
    assert report["error_before_start"]  # the page says so as soon as it opens
    assert report["seconds_to_connection_error"] <= 10
    assert any("could not connect through the relay" in error and "refused the credentials" in error
               for error in report["errors_shown"]), report["errors_shown"]
    assert not report["frames_classified_shown"] and report["turn_refusals"] >= 1
    assert not report["traceback_in_log"]


def test_the_live_page_on_a_phone(network_namespace, playwright_api, videos, tmp_path, screenshots):
    camera = write_y4m(videos / PORTRAIT_CLIP, tmp_path / "portrait.y4m", size=(360, 640), fps=15)
    report = run_in_namespace(network_namespace, camera, tmp_path / "phone", "--viewport",
                              f"{PHONE['width']}x{PHONE['height']}", "--mobile", "--screenshot", "phone.png")
    keep_screenshots(tmp_path / "phone", screenshots, "phone")
    width, height = report["video_size"]
    assert height > width  # the portrait camera's frames come back portrait: upright, not turned
    box = report["video_box"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # the whole video fits the screen's width
    # Uncropped: the element's box keeps the picture's shape or is wider (letterboxed), never narrower.
    assert box["height"] / box["width"] <= height / width + 0.02
    stop = report["stop_box"]  # the stream's button on the first screen, without scrolling
    assert stop["y"] >= 0 and stop["y"] + stop["height"] <= PHONE["height"] and stop["x"] + stop["width"] <= PHONE["width"]
    for metric in report["metric_boxes"]:  # exercise and count side by side, inside the screen
        assert metric["x"] >= 0 and metric["x"] + metric["width"] <= PHONE["width"]
    assert report["label_shown"] == "squat"
    assert not report["traceback_in_log"]


def test_a_refused_camera_is_said_with_what_to_do(network_namespace, playwright_api, landscape_camera, tmp_path,
                                                  screenshots):
    report = run_in_namespace(network_namespace, landscape_camera, tmp_path / "refused", "--expect", "camera-refused",
                              "--screenshot", "refused.png")
    keep_screenshots(tmp_path / "refused", screenshots, "camera-refused")
    # The component says which (the browser's own error), at once; the page's help says what to do.
    assert report["component_says"].startswith("NotAllowedError") and report["seconds_to_camera_error"] <= 10
    assert "Allow it in the browser's site settings" in report["help_says"] and report["start_shown_again"]
    assert not report["traceback_in_log"]
