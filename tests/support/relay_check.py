"""The Live page through a TURN relay, or at a phone's size: run inside a private network namespace,
report what happened as JSON.

    unshare -n python -m tests.support.relay_check CLIP.y4m HOME OUT.json [--turn-secret S --app-secret S]
        [--viewport 390x844 --mobile] [--expect stream|error|camera-refused] [--screenshot NAME]

With --turn-secret, coturn runs beside the app (tests/support/servers.py) and the app is told to use
it with --app-secret and relay only: Chromium then has relayed candidates only (iceTransportPolicy
"relay"), so a stream that plays went through coturn. `--expect error` clicks START once and
times how long the page takes to say why it cannot connect.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browsers import RECORD_PEERS, launch_chromium, press_start, stream_component
from tests.support.namespace import bring_up_loopback
from tests.support.servers import app_log, start_app, start_coturn, stop, turn_url

LABEL_WAIT_S = 40  # the exercise needs a few seconds of poses in its window, more on a busy machine
# Which candidates the stream really uses: the last peer connection RECORD_PEERS kept, its chosen pair.
SELECTED_PAIR = """async () => {
  const recorded = (window.__wpaPeers || []).at(-1);
  if (!recorded) return null;
  const stats = await recorded.peer.getStats();
  let pair = null;
  stats.forEach(s => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) stats.forEach(s => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
  const local = pair ? stats.get(pair.localCandidateId) : null;
  const types = [];
  stats.forEach(s => { if (s.type === "local-candidate") types.push(s.candidateType); });
  return {policy: (recorded.configuration || {}).iceTransportPolicy || "all", local_type: local && local.candidateType,
          bytes_sent: pair && pair.bytesSent, local_candidate_types: types};
}"""
ERROR_TEXT = re.compile(r"refused the credentials|did not connect|No route|did not answer")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("y4m")
    parser.add_argument("home", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--turn-secret")
    parser.add_argument("--app-secret")
    parser.add_argument("--viewport", default="1400x1000")
    parser.add_argument("--mobile", action="store_true")
    parser.add_argument("--expect", choices=("stream", "error", "camera-refused"), default="stream")
    parser.add_argument("--screenshot", default="relay.png")
    return parser.parse_args()


def relay_environment(args: argparse.Namespace) -> dict:
    if not args.turn_secret:
        return {}
    return {"WPA_TURN_URLS": turn_url(), "WPA_TURN_SECRET": args.app_secret or args.turn_secret,
            "WPA_RELAY_ONLY": "1"}


def watch_stream(page, report: dict, home: Path) -> None:
    """START, then the exercise the page names once frames are classified."""
    started = time.monotonic()
    press_start(page)
    report["seconds_to_first_classified_frame"] = round(time.monotonic() - started, 1)
    exercise = page.locator('[data-testid="stMetric"]').filter(has_text="Exercise").locator(
        '[data-testid="stMetricValue"]').first
    deadline = time.monotonic() + LABEL_WAIT_S
    labels = []
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        labels.append(exercise.inner_text())
        if len(labels) >= 3 and len(set(labels[-3:])) == 1 and labels[-1] not in ("nobody visible", "unsure"):
            break
    report["labels_seen"] = labels
    report["label_shown"] = labels[-1] if labels else None
    stats = page.get_by_text("frames classified").inner_text()
    report["frames"] = int(re.search(r"(\d+) frames classified", stats).group(1))
    report["frames_per_second"] = float(re.search(r"([\d.]+) frames/s", stats).group(1))
    video = stream_component(page).locator("video").first
    report["video_size"] = video.evaluate("v => [v.videoWidth, v.videoHeight]")
    report["video_box"] = video.bounding_box()
    report["metric_boxes"] = [page.locator('[data-testid="stMetric"]').nth(i).bounding_box() for i in range(2)]
    report["selected_pair"] = component_frame(page).evaluate(SELECTED_PAIR)
    report["stop_box"] = stream_component(page).get_by_role("button", name="STOP").bounding_box()
    page.screenshot(path=str(home / "streaming.png"))
    page.locator('[data-testid="stMetric"]').first.scroll_into_view_if_needed()
    page.screenshot(path=str(home / "readings.png"))
    stop_stream(page, home)


def stop_stream(page, home: Path) -> None:
    """STOP, and wait for the server to close its side (the relay's allocations with it)."""
    stream_component(page).get_by_role("button", name="STOP").click()
    deadline = time.monotonic() + 30
    while "live session ended" not in app_log(home) and time.monotonic() < deadline:
        time.sleep(0.5)


def component_frame(page):
    return next(frame for frame in page.frames if "streamlit_webrtc" in frame.url or "webrtc" in (frame.name or ""))


def watch_failure(page, report: dict, home: Path) -> None:
    """START once; how long until the page says why the stream cannot connect."""
    report["error_before_start"] = page.get_by_text(ERROR_TEXT).count() > 0
    component = stream_component(page)
    for _ in range(3):  # a START click sometimes bounces back before the offer is sent: click again
        component.get_by_role("button", name="START").click(timeout=60_000)
        clicked = time.monotonic()
        said = False
        while not said and time.monotonic() < clicked + 15:
            # The relay check's message is there from the start; the connection's own comes after START.
            said = bool(page.get_by_text("did not connect").count() or page.get_by_text("could not connect").count())
            page.wait_for_timeout(250)
        if said or component.get_by_role("button", name="STOP").count():
            break
    report["seconds_to_connection_error"] = round(time.monotonic() - clicked, 1)
    report["errors_shown"] = [e.inner_text() for e in page.locator('[data-testid="stAlertContentError"]').all()]
    report["frames_classified_shown"] = page.get_by_text("frames classified").count() > 0


def watch_refusal(page, report: dict, home: Path) -> None:
    """START once with the camera refused; how long until the page says so, and what it says."""
    component = stream_component(page)
    component.get_by_role("button", name="START").click(timeout=60_000)
    clicked = time.monotonic()
    component.get_by_text("NotAllowedError").wait_for(timeout=20_000)
    report["seconds_to_camera_error"] = round(time.monotonic() - clicked, 1)
    report["component_says"] = component.get_by_text("NotAllowedError").inner_text()
    page.get_by_text("The video does not start?").click()
    report["help_says"] = page.get_by_text("the camera was refused").inner_text()
    report["start_shown_again"] = component.get_by_role("button", name="START").is_visible()


def main() -> None:
    args = arguments()
    bring_up_loopback()
    home = args.home
    coturn = start_coturn(home, args.turn_secret) if args.turn_secret else None
    process, url = start_app(home, extra_env=relay_environment(args))
    width, height = (int(side) for side in args.viewport.split("x"))
    report: dict = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, camera=args.y4m, allow_camera=args.expect != "camera-refused")
            context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=args.mobile,
                                          has_touch=args.mobile)
            context.add_init_script(RECORD_PEERS)
            page = context.new_page()
            page.goto(f"{url}/live")
            page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
            stream_component(page).get_by_role("button", name="START").wait_for(timeout=60_000)
            page.screenshot(path=str(home / ("start-" + args.screenshot)))
            watch = {"stream": watch_stream, "error": watch_failure, "camera-refused": watch_refusal}[args.expect]
            watch(page, report, home)
            page.screenshot(path=str(home / args.screenshot))
            browser.close()
    finally:
        stop(process, timeout_s=30)
        if coturn is not None:
            stop(coturn, timeout_s=10)
            turn_log = (home / "turnserver.log").read_text(errors="replace")
            report["turn_allocations"] = len(re.findall(r"ALLOCATE processed, success", turn_log))
            report["turn_refusals"] = len(re.findall(r"Cannot find credentials", turn_log))
            report["turn_peer_permissions"] = len(re.findall(r"CREATE_PERMISSION processed, success", turn_log))
            report["turn_usage"] = re.findall(r"usage: [^\n]*", turn_log)[-4:]
        report["traceback_in_log"] = "Traceback" in app_log(home)
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
