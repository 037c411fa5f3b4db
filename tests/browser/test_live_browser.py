"""Live page in a real browser: Chromium's fake camera plays a real squat clip into the app through
WebRTC, inside a private network namespace; the server classifies the frames and the page shows
the exercise."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, SQUAT_CLIP
from tests.media import write_y4m


def namespace_command() -> list[str]:
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("unshare and ip (util-linux, iproute2) are needed for a private network namespace")
    command = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    if subprocess.run([*command, "true"], capture_output=True).returncode != 0:
        pytest.skip(f"cannot make a network namespace here ({' '.join(command)} failed)")
    return command


def test_live_stream_is_classified(playwright_api, videos, tmp_path, screenshots):
    command = namespace_command()
    camera = write_y4m(videos / SQUAT_CLIP, tmp_path / "squat.y4m", size=(640, 480), fps=15)
    home = tmp_path / "app-home"
    home.mkdir()
    report_path = tmp_path / "live.json"
    run = subprocess.run([*command, sys.executable, "-m", "tests.browser.live_check", str(camera), str(home),
                          str(report_path)], cwd=REPO, capture_output=True, text=True, timeout=420)
    assert report_path.is_file(), run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    print("live report:", json.dumps(report))
    if (home / "live.png").is_file():
        shutil.copy(home / "live.png", screenshots / "live.png")
    assert run.returncode == 0, run.stderr[-3000:]
    assert report["label_shown"] == "squat"
    assert report["frames"] > 50 and report["frames_per_second"] > 5
    assert report["server_log"] and "last label squat" in report["server_log"][-1]
    assert not report["traceback_in_log"]
