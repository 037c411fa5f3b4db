"""Run the Live page end to end inside a private network namespace and report what happened as JSON.

Started by tests/browser/test_live_browser.py as
`unshare -n python -m tests.support.live_check CLIP.y4m HOME OUT.json`. Inside the namespace only
loopback exists (tests/support/namespace.py). The app and Chromium (whose fake camera plays
CLIP.y4m in a loop) both run here, so all traffic stays on loopback.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browsers import launch_chromium, press_start, shown_reps, stream_component
from tests.support.namespace import bring_up_loopback
from tests.support.servers import app_log, start_app, stop

WATCH_S = 24  # how long the stream is watched once frames are classified
# When the running count is read: its first repetitions wait for the exercise to hold (2 s) and for
# the counter to see two of them; the second reading is a few repetitions later.
FIRST_COUNT_S, SECOND_COUNT_S = 12, WATCH_S


def main(y4m: str, home: str, out: str) -> None:
    bring_up_loopback()
    home_path = Path(home)
    process, url = start_app(home_path)
    report: dict = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, camera=y4m)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/live")
            page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
            page.get_by_text("Press START").wait_for(timeout=60_000)
            started = time.monotonic()
            press_start(page)
            report["seconds_to_first_classified_frame"] = round(time.monotonic() - started, 1)
            page.wait_for_timeout(FIRST_COUNT_S * 1000)
            report["reps_first"] = shown_reps(page)
            page.wait_for_timeout((SECOND_COUNT_S - FIRST_COUNT_S) * 1000)
            report["reps_second"] = shown_reps(page)
            stats = page.get_by_text("frames classified").inner_text()
            report["stats_text"] = stats
            report["frames"] = int(re.search(r"(\d+) frames classified", stats).group(1))
            report["frames_per_second"] = float(re.search(r"([\d.]+) frames/s", stats).group(1))
            report["label_shown"] = page.locator('[data-testid="stMetricValue"]').first.inner_text()
            cue = page.locator(".st-key-form-cue")  # shown for a few seconds after each repetition
            report["form_cue"] = cue.first.inner_text() if cue.count() else None
            page.screenshot(path=str(home_path / "live.png"))
            stream_component(page).get_by_role("button", name="STOP").click()
            deadline = time.monotonic() + 30
            while "live session ended" not in app_log(home_path) and time.monotonic() < deadline:
                time.sleep(0.5)
            report["server_log"] = [line for line in app_log(home_path).splitlines() if "live session ended" in line]
            # The stream stopped: its set is in the log, and the CSV download is there.
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=20_000)
            report["sets_table_shown"] = True
            report["sets_csv_enabled"] = page.get_by_role("button", name="Sets (CSV)").is_enabled()
            page.screenshot(path=str(home_path / "live-sets.png"))
            browser.close()
    finally:
        stop(process, timeout_s=30)
        report["traceback_in_log"] = "Traceback" in app_log(home_path)
        Path(out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
