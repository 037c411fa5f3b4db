"""Run the Live page end to end inside a private network namespace and report what happened as JSON.

Started by test_live_browser.py as `unshare -n python -m tests.browser.live_check CLIP.y4m HOME OUT.json`.
Inside the namespace only loopback exists: it is brought up with a second address, 127.0.0.2,
because the ICE library never offers 127.0.0.1 as a candidate. The app and Chromium (whose fake
camera plays CLIP.y4m in a loop) both run here, so all traffic stays on loopback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, fake_camera_flags, start_app

WATCH_S = 24  # how long the stream is watched once frames are classified
# When the running count is read: its first repetitions wait for the exercise to hold (2 s) and for
# the counter to see two of them; the second reading is a few repetitions later.
FIRST_COUNT_S, SECOND_COUNT_S = 12, WATCH_S


def bring_up_loopback() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], check=True)


def press_start(page) -> None:
    """Click START until the stream is really playing (the first click sometimes bounces back)."""
    component = page.frame_locator('iframe[title*="webrtc_streamer"]')
    for _ in range(6):
        component.get_by_role("button", name="START").click(timeout=60_000)
        try:
            component.get_by_role("button", name="STOP").wait_for(timeout=20_000)
            page.get_by_text("frames classified").wait_for(timeout=30_000)
            return
        except Exception:  # bounced back to START, or no frame arrived: try again
            page.wait_for_timeout(2_000)
    raise RuntimeError("the stream never started after six START clicks")


def main(y4m: str, home: str, out: str) -> None:
    bring_up_loopback()
    home_path = Path(home)
    process, url = start_app(home_path)
    report: dict = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=fake_camera_flags(y4m))
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/live")
            page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
            page.get_by_text("Press START").wait_for(timeout=60_000)
            started = time.monotonic()
            press_start(page)
            report["seconds_to_first_classified_frame"] = round(time.monotonic() - started, 1)
            page.wait_for_timeout(FIRST_COUNT_S * 1000)
            report["reps_first"] = _reps(page)
            page.wait_for_timeout((SECOND_COUNT_S - FIRST_COUNT_S) * 1000)
            report["reps_second"] = _reps(page)
            stats = page.get_by_text("frames classified").inner_text()
            report["stats_text"] = stats
            report["frames"] = int(re.search(r"(\d+) frames classified", stats).group(1))
            report["frames_per_second"] = float(re.search(r"([\d.]+) frames/s", stats).group(1))
            report["label_shown"] = page.locator('[data-testid="stMetricValue"]').first.inner_text()
            cue = page.locator(".st-key-form-cue")  # shown for a few seconds after each repetition
            report["form_cue"] = cue.first.inner_text() if cue.count() else None
            page.screenshot(path=str(home_path / "live.png"))
            component = page.frame_locator('iframe[title*="webrtc_streamer"]')
            component.get_by_role("button", name="STOP").click()
            deadline = time.monotonic() + 30
            while "live session ended" not in _log(home_path) and time.monotonic() < deadline:
                time.sleep(0.5)
            report["server_log"] = [line for line in _log(home_path).splitlines() if "live session ended" in line]
            # The stream stopped: its set is in the log, and the CSV download is there.
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=20_000)
            report["sets_table_shown"] = True
            report["sets_csv_enabled"] = page.get_by_role("button", name="Sets (CSV)").is_enabled()
            page.screenshot(path=str(home_path / "live-sets.png"))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        report["traceback_in_log"] = "Traceback" in _log(home_path)
        Path(out).write_text(json.dumps(report, indent=1))


def _reps(page) -> int:
    """The running count the page shows (its "Reps" metric)."""
    value = page.locator('[data-testid="stMetric"]').filter(has_text="Reps").locator('[data-testid="stMetricValue"]')
    return int(value.first.inner_text())


def _log(home: Path) -> str:
    return "".join(path.read_text() for path in home.glob("streamlit-*.log"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
