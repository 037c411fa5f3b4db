"""Stream whole clips through the Live page and report the count each ended with, as JSON.

Started by tests/browser/test_live_count_browser.py as
`unshare -n python -m tests.support.live_count_check HOME OUT.json CAMERA.y4m:WATCH_S ...`. One app
serves every clip; each clip gets a Chromium of its own, because the fake camera's file is fixed
when Chromium starts. Each camera video is a still lead-in, the clip once, and a long still tail
(`camera_video`): the stream is watched for WATCH_S seconds from the START click that took (the fake
camera starts its video at each click), which ends inside the tail, so the clip is seen once,
whole, and the loop never starts it again. Then STOP, and once the app has settled the stream's sets
(its log says the stream ended) they are read from the page's CSV download.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.support.browsers import launch_chromium, press_start, shown_reps, stream_component
from tests.support.namespace import bring_up_loopback
from tests.support.servers import app_log, start_app, stop

ENDED = "live session ended"  # the app's log line once a stream's sets are settled
SETS_REDRAWN_S = 3  # the page redraws its sets log every 2 s (pages/live.py, TIMELINE_EVERY_S)


def main(home: str, out: str, *cameras: str) -> None:
    bring_up_loopback()
    home_path = Path(home)
    process, url = start_app(home_path)
    reports = []
    try:
        with sync_playwright() as playwright:
            for camera in cameras:
                y4m, watch_s = camera.rsplit(":", 1)
                reports.append(stream_once(playwright, url, Path(y4m), float(watch_s), home_path))
    finally:
        stop(process, timeout_s=30)
        Path(out).write_text(json.dumps({"clips": reports, "traceback_in_log": "Traceback" in app_log(home_path)},
                                        indent=1))


def stream_once(playwright, url: str, camera: Path, watch_s: float, home: Path) -> dict:
    """Play `camera` into a fresh Live session for `watch_s` seconds, STOP, and read its sets."""
    browser = launch_chromium(playwright, camera=camera)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/live")
        page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
        page.get_by_text("Press START").wait_for(timeout=60_000)
        clicked_at = [time.monotonic()]  # and each START click after it
        press_start(page, clicked_at=clicked_at)
        page.wait_for_timeout(max(0.0, clicked_at[-1] + watch_s - time.monotonic()) * 1000)
        report = {"camera": camera.name, "reps_shown": shown_reps(page),
                  "stats_text": page.get_by_text("frames classified").inner_text()}
        page.screenshot(path=str(home / f"{camera.stem}.png"))
        ended = app_log(home).count(ENDED)
        stream_component(page).get_by_role("button", name="STOP").click()
        deadline = time.monotonic() + 60
        while app_log(home).count(ENDED) == ended and time.monotonic() < deadline:  # its sets are settled
            page.wait_for_timeout(500)
        page.wait_for_timeout(SETS_REDRAWN_S * 1000)  # and the page's sets log shows them
        report["sets"] = downloaded_sets(page)
        return report
    finally:
        browser.close()


def downloaded_sets(page, tries: int = 3) -> list[dict[str, str]]:
    """The rows of the page's "Sets (CSV)" download (tried again if a redraw of the log cancels it)."""
    for attempt in range(tries):
        try:
            with page.expect_download(timeout=30_000) as download:
                page.get_by_role("button", name="Sets (CSV)").click()
            return list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        except PlaywrightError:
            if attempt == tries - 1:
                raise
            page.wait_for_timeout(1000)
    return []


if __name__ == "__main__":
    main(*sys.argv[1:])
