"""Load test of the running app: several people at once, and one person uploading clip after clip.

    python -m benchmarks.load [--uploads 3] [--lives 2] [--repeat 30] [--watch 30] [--json OUT.json]
                              [--skip-concurrent] [--skip-repeated]

It starts `streamlit run streamlit_app.py` (caches and models in a temporary folder) and drives it
with Debian's Chromium through Playwright, as tests/browser does. It re-runs itself inside a
private network namespace (`unshare -n`): WebRTC only connects there, on loopback's second address.

- concurrent: at the same moment, --uploads Upload pages (each its own Chromium, each uploading a
  real clip of a different exercise) and --lives Live pages (each its own Chromium, since the fake
  camera is a launch flag, each filming a different clip). Each session reports the label its page
  shows against its clip's folder name, the seconds to the result, frames/s (an upload: the clip's
  frames over the seconds from file chosen to result, and the page's own progress figure; a live
  stream: the page's figures after --watch seconds) and any error. No session may see another's
  data: an upload's heading names its own exercise, its "Length" is its own clip's (±0.2 s) and
  its JSON summary download names its own file; a live page shows its own camera's exercise.
  The server's memory (the RSS of streamlit and all its descendants) is sampled every 0.5 s, and
  the CPU used by the server and by the browsers is reported: on a small machine the browsers
  (about 40% of a core for each live stream) take CPU the server would have with real users.
  Each live stream is STOPped, and the browser closed once the page is ready for a new stream:
  closing at once races with the server's handling of STOP.
- repeated: one page uploads --repeat distinct real clips one after another (from clips.csv,
  round-robin over the exercises; distinct, since results are cached by content), reading the
  server's memory after each: does it grow without bound? Labels that differ from the folder's
  are counted, not failed: accuracy is not the point here.

Exits non-zero if a concurrent session shows a wrong label or fails a check, if any session or
upload errs (a download the browser gives up on included), if the server does not log the end of
every live stream, or if the server's log holds a Python traceback. Clips are read from ../shared/data;
everything made from them (camera files, downloads) lives in a temporary folder, deleted after.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from benchmarks.namespace import inside_namespace, rerun_in_namespace
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, start_app
from tests.browser.live_check import bring_up_loopback
from tests.media import write_y4m
from wpa.inference import readable
from wpa.paths import REPO_DIR
from wpa.video import probe_video

SHARED = REPO_DIR.parent / "shared"
VIDEOS = SHARED / "data" / "videos"
CLIPS_CSV = SHARED / "data" / "clips.csv"

# Clips the shipped model gets right (`python -m wpa classify CLIP --json`), one per exercise.
UPLOAD_CLIPS = ["squat/Sarvesh521__Rep-Right__Ayush.mp4", "push_up/krishnawin__FitCenter__push-up_1.mp4",
                "deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4",
                "jumping_jack/kaiakol__computervision__jumpingjack_correct_003.mp4"]
# Clips the live path recognises when played as a 640×480, 15 frames/s camera (looped).
LIVE_CLIPS = ["squat/Sarvesh521__Rep-Right__Ayush.mp4", "push_up/krishnawin__FitCenter__push-up_1.mp4",
              "deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4",
              "jumping_jack/kaiakol__computervision__jumpingjack_correct_003.mp4"]

RESULT_TIMEOUT_S = 300  # an upload on two busy cores
LENGTH_TOLERANCE_S = 0.2
MEMORY_INTERVAL_S = 0.5
LABEL_SAMPLE_S = 2.0  # how often a live page's label is read while it is watched
START_TIMEOUT_S = 240  # from the first START click to the first classified frame, on two busy cores
START_SETTLE_S = 10  # after a START click, before it counts as bounced back
MAX_REPEAT_CLIP_S = 15.0  # longer clips are left out of the repeated phase, to keep it to minutes
GROWTH_FROM_UPLOAD = 10  # memory growth is measured from this upload to the last


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str  # the folder name: what the page should show
    duration_s: float
    frame_count: int

    @property
    def name(self) -> str:
        return f"{self.label}/{self.path.name}"


def load_clip(path: Path) -> Clip:
    info = probe_video(path)
    return Clip(path, path.parent.name, info.duration_s, info.frame_count)


@dataclass
class SessionResult:
    kind: str  # "upload" or "live"
    clip: str
    expected: str
    label_shown: str | None = None
    seconds_to_result: float | None = None  # upload: file chosen → result; live: START → first classified frame
    frames: int | None = None  # upload: the clip's frames; live: frames the page says were classified
    frames_per_second: float | None = None  # upload: frames / seconds_to_result; live: the page's figure
    page_frames_per_second: float | None = None  # upload: the last figure of the page's progress bar
    checks: dict[str, bool] = field(default_factory=dict)  # no session sees another's data
    details: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def matches(self) -> bool:
        return self.label_shown == self.expected

    @property
    def ok(self) -> bool:
        return self.error is None and self.matches and all(self.checks.values())


# --- the server's memory and CPU -----------------------------------------------------------------

def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        # The command name, in parentheses, may hold spaces: the parent id is after the last ")".
        parent = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """CPU time used so far by `root`'s process tree: each live member's own and that of the children
    it has reaped (so a browser that has exited still counts, through its parent)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(ticks) for ticks in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Average CPU use of the server and of this load generator (its browsers) since it was made, in
    percent of one core: on a small machine the browsers take CPU the server would otherwise have."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.started = time.monotonic()
        self.server_s, self.browsers_s = cpu_seconds(server_pid), cpu_seconds(os.getpid())

    def summary(self) -> dict:
        elapsed = time.monotonic() - self.started
        return {"server_percent_of_a_core": round(100 * (cpu_seconds(self.server_pid) - self.server_s) / elapsed),
                "browsers_percent_of_a_core": round(100 * (cpu_seconds(os.getpid()) - self.browsers_s) / elapsed)}


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0  # gone, or a kernel thread


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server and every process it started, in MB."""
    return sum(rss_mb(member) for member in process_tree(pid))


class MemorySampler:
    """Samples `server_rss_mb(pid)` every MEMORY_INTERVAL_S in a background thread, while in `with`."""

    def __init__(self, pid: int):
        self.pid, self.samples_mb = pid, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples_mb.append(server_rss_mb(self.pid))
            self._stop.wait(MEMORY_INTERVAL_S)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples_mb.append(server_rss_mb(self.pid))  # the final figure, once all sessions ended

    def summary(self) -> dict:
        return {"samples": len(self.samples_mb), "start_mb": round(self.samples_mb[0]),
                "peak_mb": round(max(self.samples_mb)), "final_mb": round(self.samples_mb[-1])}


# --- browsers and sessions -----------------------------------------------------------------------

def launch_browser(playwright, extra_flags: tuple[str, ...] = ()):
    # Five browsers starting at once on two cores can take longer than Playwright's default 30 s.
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS + list(extra_flags),
                                      timeout=120_000)


def keep_screenshot(page, path: Path | None) -> None:
    """What a failed session's page showed, for a person to look at (with --json only)."""
    if path is not None:
        try:
            page.screenshot(path=str(path), timeout=30_000)
        except Exception:  # the page itself is what failed
            pass


def start_together(start: threading.Barrier, result: SessionResult) -> None:
    """Wait for every session to be ready (or to have failed getting ready) before acting."""
    try:
        start.wait()
    except threading.BrokenBarrierError:  # a session never got here: its thread died
        result.error = result.error or "the other sessions never got ready"


# --- the Upload page -----------------------------------------------------------------------------

def open_upload_page(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("What exercise is this?").wait_for(timeout=120_000)


def label_from_heading(heading: str) -> str:
    """The label a result heading shows, spelt as a folder name: "Push up · 93% confident" -> push_up."""
    if "confident" in heading:
        return heading.split(" · ")[0].lower().replace(" ", "_")
    if heading.startswith("Nobody found"):
        return "no_person"
    return heading  # "Not sure · most like …", "Squat, then push up": shown as it is


@dataclass
class UploadOutcome:
    seconds: float
    heading: str | None = None
    length_s: float | None = None
    page_frames_per_second: float | None = None
    warnings: list[str] = field(default_factory=list)  # shown beside a result, e.g. more than one person
    error: str | None = None


def upload_and_wait(page, clip: Clip) -> UploadOutcome:
    """Choose `clip` in the page's uploader and wait for its result (or an error), reading the
    progress bar's frames/s on the way. The page must show no earlier result."""
    main = page.get_by_test_id("stMain")
    length = main.get_by_test_id("stMetric").filter(has_text="Length")
    # Warnings come with a result; an error or an exception instead of one.
    failure = main.get_by_test_id("stAlertContentError").or_(main.get_by_test_id("stException"))
    progress = main.get_by_text(re.compile(r"Finding the person.*frames/s"))
    page_fps = None
    started = time.monotonic()
    page.locator('input[type="file"]').set_input_files(str(clip.path))
    while not (length.count() or failure.count()):
        if time.monotonic() - started > RESULT_TIMEOUT_S:
            return UploadOutcome(time.monotonic() - started, error=f"no result within {RESULT_TIMEOUT_S} s")
        try:
            page_fps = float(re.search(r"([\d.]+) frames/s", progress.first.inner_text(timeout=200)).group(1))
        except Exception:  # no progress bar at this instant (not yet, or just replaced)
            pass
        page.wait_for_timeout(250)
    seconds = time.monotonic() - started
    if failure.count():
        return UploadOutcome(seconds, page_frames_per_second=page_fps, error=failure.first.inner_text()[:300])
    heading = main.locator("h2").first.inner_text()
    length_s = float(length.get_by_test_id("stMetricValue").inner_text().split()[0])
    warnings = main.get_by_test_id("stAlertContentWarning").all_inner_texts()
    return UploadOutcome(seconds, heading, length_s, page_fps, warnings)


def clear_upload(page) -> None:
    """Remove the chosen file, as a person would, so the next result cannot be mistaken for the last."""
    page.get_by_test_id("stFileChipDeleteBtn").first.click(timeout=30_000)
    page.get_by_text("Film the whole body").wait_for(timeout=60_000)
    page.get_by_test_id("stMain").locator("h2").first.wait_for(state="detached", timeout=60_000)


def downloaded_summary(page, folder: Path) -> dict:
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="JSON summary").click()
    failure = download.value.failure()  # waits for the download to end
    if failure:
        raise RuntimeError(f"the JSON summary download failed in the browser ({failure})")
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return json.loads(path.read_text())


def in_a_browser_of_its_own(result: SessionResult, flags: tuple[str, ...], open_page: Callable,
                            work: Callable, start: threading.Barrier, screenshot: Path | None) -> SessionResult:
    """One person's session in a Chromium of its own: `open_page(browser)` opens the page, the
    session waits for the others, then `work(page)` does what the person does and fills `result`."""
    with sync_playwright() as playwright:  # one per thread: Playwright's sync API is not thread-safe
        browser = page = None
        try:
            browser = launch_browser(playwright, flags)
            page = open_page(browser)
        except Exception as error:
            result.error = f"page did not open: {error}"
        start_together(start, result)
        try:
            if result.error is None:
                work(page)
        except Exception as error:
            result.error = str(error).splitlines()[0]
            keep_screenshot(page, screenshot)
        finally:
            if browser is not None:
                browser.close()
    return result


def upload_session(url: str, clip: Clip, start: threading.Barrier, scratch: Path,
                   screenshot: Path | None) -> SessionResult:
    """One person on the Upload page: opens it, waits for the others, uploads `clip`, checks the result."""
    result = SessionResult("upload", clip.name, clip.label, frames=clip.frame_count)

    def open_page(browser):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        open_upload_page(page, url)
        return page
    return in_a_browser_of_its_own(result, (), open_page, lambda page: check_upload(page, clip, result, scratch),
                                   start, screenshot)


def check_upload(page, clip: Clip, result: SessionResult, scratch: Path) -> None:
    outcome = upload_and_wait(page, clip)
    result.seconds_to_result = round(outcome.seconds, 1)
    result.page_frames_per_second = outcome.page_frames_per_second
    if outcome.error:
        result.error = outcome.error
        return
    result.label_shown = label_from_heading(outcome.heading)
    result.frames_per_second = round(clip.frame_count / outcome.seconds, 1)
    result.details = {"heading": outcome.heading, "length_s": outcome.length_s, "clip_length_s": clip.duration_s,
                      "warnings": outcome.warnings}
    result.checks = {
        "heading names its own exercise": result.matches,
        "length is its own clip's": abs(outcome.length_s - clip.duration_s) <= LENGTH_TOLERANCE_S,
    }
    folder = scratch / f"downloads-{threading.get_ident()}"
    folder.mkdir()
    summary = downloaded_summary(page, folder)
    result.details["summary"] = {key: summary.get(key) for key in ("video", "label", "duration_s", "frames")}
    result.checks["JSON summary names its own clip"] = (summary.get("video") == clip.path.name
                                                       and summary.get("label") == clip.label)


# --- the Live page -------------------------------------------------------------------------------

def press_start(page) -> int:
    """Click START until frames are classified; return the clicks it took.

    As tests/browser/live_check.py, START is clicked again when it bounces back (more often on a busy
    machine); unlike it, a stream that shows STOP but has no frame yet is given time, not clicked at.
    """
    start = page.frame_locator('iframe[title*="webrtc_streamer"]').get_by_role("button", name="START")
    classified = page.get_by_text("frames classified")
    clicks, started = 0, time.monotonic()
    while not classified.count():
        if time.monotonic() - started > START_TIMEOUT_S:
            raise RuntimeError(f"no frame classified after {clicks} START clicks in {time.monotonic() - started:.0f} s")
        try:
            start.click(timeout=1_000)  # there, and enabled: never pressed, or bounced back
        except PlaywrightError:  # STOP is showing: connecting, or playing before the first frame
            page.wait_for_timeout(500)
            continue
        clicks += 1
        settled = time.monotonic() + START_SETTLE_S  # no second click before the first had time to connect
        while time.monotonic() < settled and not classified.count():
            page.wait_for_timeout(500)
    return clicks


def live_session(url: str, clip: Clip, camera: Path, watch_s: float, start: threading.Barrier,
                 screenshot: Path | None) -> SessionResult:
    """One person on the Live page, filming `clip` (Chromium's fake camera plays `camera` in a loop)."""
    result = SessionResult("live", clip.name, clip.label)

    def open_page(browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/live")
        page.get_by_text("Press START").wait_for(timeout=120_000)
        return page
    flags = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-video-capture={camera}", "--allow-loopback-in-peer-connection")
    return in_a_browser_of_its_own(result, flags, open_page, lambda page: watch_stream(page, clip, watch_s, result),
                                   start, screenshot)


def watch_stream(page, clip: Clip, watch_s: float, result: SessionResult) -> None:
    started = time.monotonic()
    start_clicks = press_start(page)
    result.seconds_to_result = round(time.monotonic() - started, 1)
    label = page.get_by_test_id("stMetricValue").first
    seen = []
    watch_until = time.monotonic() + watch_s
    while time.monotonic() < watch_until:
        page.wait_for_timeout(LABEL_SAMPLE_S * 1000)
        try:
            seen.append(label.inner_text(timeout=5_000))
        except Exception:  # the panel redraws twice a second: read it at the next turn
            pass
    stats = page.get_by_text("frames classified").inner_text()
    result.frames = int(re.search(r"(\d+) frames classified", stats).group(1))
    result.frames_per_second = float(re.search(r"([\d.]+) frames/s", stats).group(1))
    # The page shows labels as words ("push up"); folder names have underscores.
    result.label_shown = label.inner_text().replace(" ", "_")
    own_share = sum(text == readable(clip.label) for text in seen) / max(len(seen), 1)
    result.details = {"stats": stats, "labels_seen": len(seen), "share_showing_own_label": round(own_share, 2),
                      "start_clicks": start_clicks}
    result.checks = {"shows its own camera's exercise": result.matches}
    # Stop as a person would. The server ends its side (LiveSession.close) on the rerun STOP causes,
    # and the page is ready for a new stream again ("Press START"); close the browser only then.
    component = page.frame_locator('iframe[title*="webrtc_streamer"]')
    component.get_by_role("button", name="STOP").click()
    stopped = time.monotonic()
    try:
        page.get_by_text("Press START").wait_for(timeout=60_000)
        result.details["seconds_stop_to_ready_again"] = round(time.monotonic() - stopped, 1)
        result.checks["server ended the stream on STOP"] = True
    except PlaywrightError:
        result.checks["server ended the stream on STOP"] = False


# --- the phases ----------------------------------------------------------------------------------

def run_concurrent(url: str, server_pid: int, uploads: list[Clip], lives: list[Clip], watch_s: float,
                   scratch: Path, server_log, screenshots: str | None) -> dict:
    """Both kinds of session at once; `screenshots` (a path prefix) keeps what failed pages showed."""
    # The camera files are made first: writing them is CPU work that must not count as load.
    cameras = [write_y4m(clip.path, scratch / f"camera-{i}.y4m", size=(640, 480), fps=15)
               for i, clip in enumerate(lives)]
    start = threading.Barrier(len(uploads) + len(lives), timeout=600)
    ended_before = server_log().count("live session ended")
    began, cpu = time.monotonic(), CpuMeter(server_pid)
    with MemorySampler(server_pid) as memory, ThreadPoolExecutor(len(uploads) + len(lives)) as pool:
        def shot(name: str) -> Path | None:
            return Path(f"{screenshots}-{name}.png") if screenshots else None

        futures = [pool.submit(upload_session, url, clip, start, scratch, shot(f"upload-{i}"))
                   for i, clip in enumerate(uploads, 1)]
        futures += [pool.submit(live_session, url, clip, camera, watch_s, start, shot(f"live-{i}"))
                    for i, (clip, camera) in enumerate(zip(lives, cameras), 1)]
        sessions = [future.result() for future in futures]
    cpu_use = cpu.summary()
    # The server logs each stream's end when the browser leaves; give it a moment.
    deadline = time.monotonic() + 30
    while server_log().count("live session ended") - ended_before < len(lives) and time.monotonic() < deadline:
        time.sleep(0.5)
    ended = [line.split("live session ended: ", 1)[1] for line in server_log().splitlines()
             if "live session ended" in line][ended_before:]
    return {"seconds": round(time.monotonic() - began, 1), "sessions": sessions, "memory": memory.summary(),
            "cpu": cpu_use, "live_sessions_ended": ended}


def repeat_clips(count: int, exclude: set[str]) -> list[Clip]:
    """`count` distinct clips from clips.csv, one exercise after another in turn (the csv's order
    within an exercise), leaving out `exclude`, clips over MAX_REPEAT_CLIP_S and duplicate files."""
    by_label: dict[str, list[Path]] = {}
    for row in csv.DictReader(CLIPS_CSV.open()):
        by_label.setdefault(row["label"], []).append(SHARED / row["path"])
    queues = [iter(paths) for _, paths in sorted(by_label.items())]
    chosen, digests = [], set()
    while queues and len(chosen) < count:
        for queue in list(queues):
            path = next(queue, None)
            if path is None:
                queues.remove(queue)
                continue
            digest = hashlib.sha1(path.read_bytes()).hexdigest()  # a copy would be answered from the cache
            if f"{path.parent.name}/{path.name}" in exclude or digest in digests:
                continue
            clip = load_clip(path)
            if clip.duration_s <= MAX_REPEAT_CLIP_S and len(chosen) < count:
                chosen.append(clip)
                digests.add(digest)
    return chosen


def upload_record(page, url: str, clip: Clip, server_pid: int, clear_first: bool) -> dict:
    """Upload `clip` on `page` (first removing the previous file) and read the server's memory."""
    try:
        if clear_first:
            clear_upload(page)
        outcome = upload_and_wait(page, clip)
    except Exception as error:
        outcome = UploadOutcome(float("nan"), error=str(error).splitlines()[0])
    if outcome.error:  # the page may hold a half-done state: the next upload starts on a fresh one
        open_upload_page(page, url)
    fps = None if outcome.error else round(clip.frame_count / outcome.seconds, 1)
    return {"clip": clip.name, "expected": clip.label,
            "label_shown": label_from_heading(outcome.heading) if outcome.heading else None,
            "seconds": round(outcome.seconds, 1), "frames": clip.frame_count, "frames_per_second": fps,
            "page_frames_per_second": outcome.page_frames_per_second,
            "server_rss_mb": round(server_rss_mb(server_pid)), "warnings": outcome.warnings, "error": outcome.error}


def run_repeated(url: str, server_pid: int, clips: list[Clip]) -> dict:
    uploads = []
    began, cpu = time.monotonic(), CpuMeter(server_pid)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        open_upload_page(page, url)
        for number, clip in enumerate(clips, 1):
            after_a_result = bool(uploads) and not uploads[-1]["error"]
            uploads.append(upload_record(page, url, clip, server_pid, clear_first=after_a_result))
            print(f"  upload {number}/{len(clips)} {clip.name}: {uploads[-1]['label_shown'] or uploads[-1]['error']} "
                  f"({uploads[-1]['seconds']} s, server {uploads[-1]['server_rss_mb']} MB)", flush=True)
        browser.close()
    cpu_use = cpu.summary()
    rss = [upload["server_rss_mb"] for upload in uploads]
    growth = rss[-1] - rss[GROWTH_FROM_UPLOAD - 1] if len(rss) > GROWTH_FROM_UPLOAD else None
    return {"seconds": round(time.monotonic() - began, 1), "uploads": uploads, "cpu": cpu_use,
            "memory": {"first_mb": rss[0], "max_mb": max(rss), "last_mb": rss[-1],
                       f"growth_upload_{GROWTH_FROM_UPLOAD}_to_last_mb": growth} if rss else {},
            "labels_differing": sum(u["label_shown"] != u["expected"] for u in uploads if not u["error"]),
            "errors": sum(bool(u["error"]) for u in uploads)}


# --- the report ----------------------------------------------------------------------------------

def table(rows: list[list], headers: list[str]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def print_report(report: dict) -> None:
    print(f"\nserver idle at start: {report['server_idle_mb']} MB")
    concurrent = report.get("concurrent")
    if concurrent:
        print(f"\nconcurrent: {concurrent['seconds']} s")
        print(table([[s["kind"], s["clip"], s["expected"], s["label_shown"], "yes" if s["ok"] else "NO",
                      s["seconds_to_result"], s["frames"], s["frames_per_second"], s["page_frames_per_second"],
                      s["error"]] for s in concurrent["sessions"]],
                    ["session", "clip", "expected", "shown", "ok", "s to result", "frames", "frames/s",
                     "page frames/s", "error"]))
        for s in concurrent["sessions"]:
            failed = [name for name, passed in s["checks"].items() if not passed]
            if failed:
                print(f"  {s['clip']}: failed {', '.join(failed)}")
            if s["kind"] == "live" and s["details"]:
                print(f"  {s['clip']}: {s['details']['stats']} · own label in "
                      f"{s['details']['share_showing_own_label']:.0%} of {s['details']['labels_seen']} readings")
        memory = concurrent["memory"]
        print(f"  server memory: start {memory['start_mb']} MB, peak {memory['peak_mb']} MB, "
              f"final {memory['final_mb']} MB ({memory['samples']} samples)")
        print(f"  CPU, in % of one core of {os.cpu_count()}: server {concurrent['cpu']['server_percent_of_a_core']}%, "
              f"browsers {concurrent['cpu']['browsers_percent_of_a_core']}%")
        for line in concurrent["live_sessions_ended"]:
            print(f"  server log: live session ended: {line}")
    repeated = report.get("repeated")
    if repeated:
        print(f"\nrepeated: {len(repeated['uploads'])} uploads in {repeated['seconds']} s")
        print(table([[i, u["clip"], u["label_shown"], u["seconds"], u["frames_per_second"],
                      u["page_frames_per_second"], u["server_rss_mb"], u["error"] or "; ".join(u["warnings"])[:60]]
                     for i, u in enumerate(repeated["uploads"], 1)],
                    ["#", "clip", "shown", "s", "frames/s", "page frames/s", "server MB", "error or warning"]))
        memory = repeated["memory"]
        growth = memory.get(f"growth_upload_{GROWTH_FROM_UPLOAD}_to_last_mb")
        print(f"  server memory after each upload: first {memory.get('first_mb')} MB, max {memory.get('max_mb')} MB, "
              f"last {memory.get('last_mb')} MB, growth from upload {GROWTH_FROM_UPLOAD} to the last "
              f"{'-' if growth is None else f'{growth:+d} MB'}")
        print(f"  labels differing from the folder: {repeated['labels_differing']}, errors: {repeated['errors']}")
        print(f"  CPU, in % of one core of {os.cpu_count()}: server {repeated['cpu']['server_percent_of_a_core']}%, "
              f"browser {repeated['cpu']['browsers_percent_of_a_core']}%")
    print(f"\ntraceback in the server log: {'YES' if report['traceback_in_server_log'] else 'no'}; "
          f"server's stderr at the end: {report['server_stderr']}")
    verdict = f"FAILED: {'; '.join(report['failures'])}" if report["failures"] else "all passed"
    print(f"total {report['seconds']} s; {verdict}")


def failures(report: dict) -> list[str]:
    found = []
    concurrent = report.get("concurrent")
    if concurrent:
        found += [f"{s['kind']} {s['clip']}: {s['error'] or 'wrong label or a failed check'}"
                  for s in concurrent["sessions"] if not s["ok"]]
        lives, ended = sum(s["kind"] == "live" for s in concurrent["sessions"]), len(concurrent["live_sessions_ended"])
        if ended < lives:
            found.append(f"the server logged the end of {ended} of {lives} live streams")
    if report.get("repeated") and report["repeated"]["errors"]:
        found.append(f"{report['repeated']['errors']} repeated uploads failed")
    if report["traceback_in_server_log"]:
        found.append("a traceback in the server log")
    if not report["server_stderr"].endswith(".log"):
        found.append(f"the server's stderr went to {report['server_stderr']} during the run, not to its log: "
                     "tracebacks and the live streams' summaries were lost")
    return found


# --- main ----------------------------------------------------------------------------------------

def pick(clips: list[str], count: int, what: str) -> list[Clip]:
    if count > len(clips):
        sys.exit(f"at most {len(clips)} {what} sessions: one for each exercise in {[c.split('/')[0] for c in clips]}")
    return [load_clip(VIDEOS / clip) for clip in clips[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=3, help="Upload sessions at once")
    parser.add_argument("--lives", type=int, default=2, help="Live sessions at once")
    parser.add_argument("--repeat", type=int, default=30, help="clips uploaded one after another")
    parser.add_argument("--watch", type=float, default=30.0, help="seconds each live stream is watched")
    parser.add_argument("--json", type=Path, help="write the figures to this file as JSON (and the server's log "
                                                       "beside it, as NAME-server.log)")
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument("--skip-repeated", action="store_true")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium package")
    if not inside_namespace():
        sys.exit(rerun_in_namespace("benchmarks.load"))

    uploads, lives = pick(UPLOAD_CLIPS, args.uploads, "upload"), pick(LIVE_CLIPS, args.lives, "live")
    began = time.monotonic()
    bring_up_loopback()
    with tempfile.TemporaryDirectory(prefix="wpa-load-") as scratch:
        home = Path(scratch) / "app-home"
        home.mkdir()

        def server_log() -> str:
            return "".join(path.read_text() for path in home.glob("streamlit-*.log"))

        server, url = start_app(home)  # on 127.0.0.1, as live_check: ICE itself uses 127.0.0.2
        report: dict = {"url": url, "server_idle_mb": round(server_rss_mb(server.pid))}
        try:
            if not args.skip_concurrent:
                print(f"concurrent: {len(uploads)} uploads and {len(lives)} live streams ({args.watch:.0f} s)…",
                      flush=True)
                screenshots = str(args.json.with_suffix("")) if args.json else None
                concurrent = run_concurrent(url, server.pid, uploads, lives, args.watch, Path(scratch), server_log,
                                            screenshots)
                concurrent["sessions"] = [{**asdict(s), "matches": s.matches, "ok": s.ok}
                                          for s in concurrent["sessions"]]
                report["concurrent"] = concurrent
            if not args.skip_repeated and args.repeat:
                used = set() if args.skip_concurrent else {clip.name for clip in uploads}
                clips = repeat_clips(args.repeat, exclude=used)
                print(f"repeated: {len(clips)} uploads one after another…", flush=True)
                report["repeated"] = run_repeated(url, server.pid, clips)
        finally:
            # Everything the server writes to stderr must reach its log, or the log's checks mean nothing.
            report["server_stderr"] = os.readlink(f"/proc/{server.pid}/fd/2")
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log = server_log()
        report["traceback_in_server_log"] = "Traceback" in log
        if report["traceback_in_server_log"]:
            at = log.index("Traceback")
            print(f"\nserver log, from the first traceback:\n{log[at:at + 3000]}")
    report["seconds"] = round(time.monotonic() - began, 1)
    report["failures"] = failures(report)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
        args.json.with_name(f"{args.json.stem}-server.log").write_text(log)  # to read what went wrong
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
