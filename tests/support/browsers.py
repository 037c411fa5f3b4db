"""Chromium driven by Playwright, as tests and benchmarks use it: Debian's /usr/bin/chromium
($WPA_CHROMIUM), never one Playwright downloads; a fake camera playing a .y4m file in a loop
(`tests.support.media.write_y4m` makes one); and the steps every Live or Upload page driver takes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("WPA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
START_TIMEOUT_S = 240  # from the first START click to the first classified frame, on two busy cores
START_SETTLE_S = 10  # after a START click, before it counts as bounced back
UPLOAD_RESULT_TIMEOUT_MS = 240_000  # an upload's result, on two busy cores

# In every frame (the component's too): keep each RTCPeerConnection and the configuration it was given,
# so a driver can ask which candidates the stream really uses, or read the frames it shows.
RECORD_PEERS = """(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__wpaPeers = [];
  function Recorded(configuration, ...rest) {
    const peer = new Native(configuration, ...rest);
    window.__wpaPeers.push({peer, configuration});
    return peer;
  }
  Recorded.prototype = Native.prototype;
  Object.setPrototypeOf(Recorded, Native);
  window.RTCPeerConnection = Recorded;
})();"""


def fake_camera_flags(y4m: Path | str, allow_camera: bool = True) -> list[str]:
    """Chromium's flags for a camera playing the video `y4m` in a loop, over loopback, allowed
    without asking (without `allow_camera`, headless Chromium refuses it as a person would)."""
    return (["--use-fake-ui-for-media-stream"] if allow_camera else []) + [
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}",
        "--allow-loopback-in-peer-connection"]


def launch_chromium(playwright, camera: Path | str | None = None, allow_camera: bool = True,
                    timeout_ms: float = 30_000):
    """Headless Chromium from `playwright` (a sync_playwright()), with a fake `camera` if given.
    Several starting at once on two cores can take longer than Playwright's default `timeout_ms`."""
    flags = CHROMIUM_FLAGS + (fake_camera_flags(camera, allow_camera) if camera is not None else [])
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags, timeout=timeout_ms)


def stream_component(page):
    """The Live page's streamlit-webrtc component (its START and STOP buttons, its video)."""
    return page.frame_locator('iframe[title*="webrtc_streamer"]')


def press_start(page, timeout_s: float = START_TIMEOUT_S, clicked_at: list | None = None) -> int:
    """Click START until frames are classified; return the clicks it took. START is clicked again
    when it bounces back (more often on a busy machine); a stream that shows STOP but has no frame
    yet is given time, not clicked at. `clicked_at` gets the time.monotonic() of each click (the
    fake camera starts its video again at each)."""
    from playwright.sync_api import Error as PlaywrightError

    start = stream_component(page).get_by_role("button", name="START")
    classified = page.get_by_text("frames classified")
    clicks, started = 0, time.monotonic()
    while not classified.count():
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"no frame classified after {clicks} START clicks in {time.monotonic() - started:.0f} s")
        try:
            start.click(timeout=1_000)  # there, and enabled: never pressed, or bounced back
        except PlaywrightError:  # STOP is showing: connecting, or playing before the first frame
            page.wait_for_timeout(500)
            continue
        clicks += 1
        if clicked_at is not None:
            clicked_at.append(time.monotonic())
        settled = time.monotonic() + START_SETTLE_S  # no second click before the first had time to connect
        while time.monotonic() < settled and not classified.count():
            page.wait_for_timeout(500)
    return clicks


def shown_reps(page) -> int:
    """The running count the Live page shows (its "Reps" metric)."""
    value = page.locator('[data-testid="stMetric"]').filter(has_text="Reps").locator('[data-testid="stMetricValue"]')
    return int(value.first.inner_text())


def open_upload_page(page, url: str, timeout_ms: float = 60_000) -> None:
    page.goto(url)
    page.get_by_text("What exercise is this?").wait_for(timeout=timeout_ms)
