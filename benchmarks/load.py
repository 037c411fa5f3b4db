"""Load test of the running app, and a gate: several people at once, round after round, then one
person uploading clip after clip.

    python -m benchmarks.load [--uploads 3] [--lives 2] [--rounds 10] [--repeat 30] [--watch 30]
                              [--json OUT.json] [--skip-concurrent] [--skip-repeated]

It starts `streamlit run streamlit_app.py` (caches and models in a temporary folder) and drives it
with Debian's Chromium through Playwright, as tests/browser does. It re-runs itself inside a
private network namespace (`unshare -n`): WebRTC only connects there, on loopback's second address.

- concurrent, --rounds times, each round with fresh browsers and with the app's pose and
  annotated-video caches emptied first (so every round's uploads do the real work): --lives Live
  pages (each its own Chromium, since the fake camera is a launch flag, each filming a different
  clip) press START; once every stream is classifying frames, --uploads Upload pages (each its own
  Chromium, opened with the others) upload a real clip of a different exercise each, at the same
  moment. Each stream is watched for --watch seconds and for as long as the uploads run, then
  STOPped, and the browser closed once the page is ready for a new stream (closing at once races
  with the server's handling of STOP).
  Each session reports the label its page shows against its clip's folder name, the seconds to
  the result, frames/s (an upload: the clip's frames over the seconds from file chosen to result,
  and the page's own progress figure; a live stream: the page's figure when the watch ends, and
  its frames/s while the uploads ran: the page's "N frames classified" read when the uploads start
  and when the last of them shows its result, Δframes/Δt), any error, and for an upload the most
  clips the page said were ahead of it in the queue ("N clips ahead of yours"). No session may see
  another's data: an upload's heading names its own exercise, its "Length" is its own clip's
  (±0.2 s) and its JSON summary download names its own file; a live page shows its own camera's
  exercise. The server's memory (the RSS of streamlit and all its descendants) is sampled every
  0.5 s, and the CPU used by the server and by the browsers is reported. The browsers stand for
  the users' own machines, yet here they share the server's cores: on two cores five of them take
  about a core, which real users' browsers never take from a server. So they run at
  --clients-niceness (default CLIENTS_NICENESS): after the server, still before the analysis
  workers (wpa.workers.priority.BACKGROUND_NICENESS). --clients-niceness 0 measures them as equals.
- repeated: one page uploads --repeat distinct real clips one after another (from clips.csv,
  round-robin over the exercises; distinct, since results are cached by content), reading the
  server's memory after each: does it grow without bound? Labels that differ from the folder's
  are counted, not failed: accuracy is not the point here.

A round fails, and the run exits non-zero, on: a live stream that ends before the test STOPs it
(its page goes back to START, or the server logs a stream's end before STOP was clicked): a
dropped stream; a live stream classifying under MIN_LIVE_FPS_DURING_UPLOADS frames/s while the
uploads run; a session showing a wrong label or failing a check; a session or upload that errs (a
download the browser gives up on included); the server not logging the end of every live stream;
the server's memory reaching MAX_SERVER_MB; a Python traceback in the server's log. The run also
fails if a repeated upload errs or the memory reaches MAX_SERVER_MB there, or if the server's
stderr is no longer its log at the end. The report prints each round's sessions as it ends, then
one line per round, a summary (rounds passed, dropped streams, the least live frames/s during the
uploads, the server's memory peak) and the verdict; --json writes it all (`rounds`, `summary`,
`repeated`, `failures`). Clips are read from ../shared/data; everything made from them (camera
files, downloads) lives in a temporary folder, deleted after.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
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

from tests.support.browsers import (CHROMIUM, START_TIMEOUT_S, launch_chromium, open_upload_page, press_start,
                                    stream_component)
from tests.support.media import write_y4m
from tests.support.namespace import bring_up_loopback, inside_namespace, rerun_in_namespace
from tests.support.servers import app_log, start_app, stop
from wpa.media.video import probe_video
from wpa.paths import REPO_DIR
from wpa.recognition.inference import readable

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
MAX_REPEAT_CLIP_S = 15.0  # longer clips are left out of the repeated phase, to keep it to minutes
GROWTH_FROM_UPLOAD = 10  # memory growth is measured from this upload to the last
TICK_S = 0.5  # how often a watched live page is looked at (has its stream ended? have the uploads begun or ended?)

# The gate: a round fails on any of these (and on a wrong label, a failed check, an error or a traceback).
MIN_LIVE_FPS_DURING_UPLOADS = 5.0  # frames a live stream classifies a second while the uploads run
MAX_SERVER_MB = 2048  # the server's memory (streamlit and all its descendants) must stay under this
CLIENTS_NICENESS = 5  # the browsers' niceness: between the server (0) and the analysis workers (10)
clients_niceness = CLIENTS_NICENESS  # main() sets it from --clients-niceness

# The Upload page's progress text: waiting in the queue, then running.
AHEAD = re.compile(r"(\d+) clips? ahead of yours")
FRAMES_PER_SECOND = re.compile(r"([\d.]+) frames/s")


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
    # live: frames classified from the uploads' start to the last upload's result, over those seconds
    frames_per_second_during_uploads: float | None = None
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


# --- one round's timeline ------------------------------------------------------------------------

def streams_ended(log: str) -> list[str]:
    """What the server logged at the end of each live stream, in order ("12 frames classified, …")."""
    return [line.split("live session ended: ", 1)[1] for line in log.splitlines() if "live session ended: " in line]


class RoundMonitor:
    """What the sessions of one round share. The live streams are started first; the uploads begin
    once every stream is classifying frames (or has failed to start), so each stream's frames/s can
    be read over the whole time the uploads run: from then until the last upload shows its result.
    A thread watches the server's log for a stream that ends before the test STOPs it."""

    def __init__(self, uploads: int, lives: int, server_log: Callable[[], str]):
        self.uploads, self.lives = uploads, lives
        self._lock = threading.Lock()
        self._ready: set[int] = set()  # live sessions classifying, or given up
        self._finished: set[int] = set()  # upload sessions with a result, or given up
        self.streams_running = threading.Event()  # the uploads start when it is set
        self.uploads_done = threading.Event()  # set when the last upload shows its result
        self.uploads_started_at = self.uploads_done_at = None
        self._server_log = server_log
        self._ended_before = len(streams_ended(server_log()))
        self._stops = 0  # streams the test is ending on purpose (STOP, or a session that failed)
        self.early_ends: list[str] = []  # the server's lines for streams that ended before that
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if lives == 0:
            self._mark_streams_running()
        if uploads == 0:
            self.uploads_done.set()

    # The uploads wait for the live streams.
    def stream_ready(self, session: int) -> None:
        with self._lock:
            self._ready.add(session)
            all_ready = len(self._ready) >= self.lives
        if all_ready:
            self._mark_streams_running()

    def _mark_streams_running(self) -> None:
        if not self.streams_running.is_set():
            self.uploads_started_at = time.monotonic()
            self.streams_running.set()

    def wait_for_streams(self) -> None:
        self.streams_running.wait(START_TIMEOUT_S + 60)  # a live session gives up after START_TIMEOUT_S

    def upload_finished(self, session: int) -> None:
        with self._lock:
            self._finished.add(session)
            last = len(self._finished) >= self.uploads and not self.uploads_done.is_set()
            if last:
                self.uploads_done_at = time.monotonic()
        if last:
            self.uploads_done.set()

    # Streams that end before the test ends them.
    def ending_on_purpose(self) -> None:
        """Called just before STOP is clicked (or a failed session's browser closes)."""
        with self._lock:
            self._stops += 1

    def check_log(self) -> None:
        # The log first, then the stops: a stop counted after the log was read cannot hide an early end.
        ended = [line for line in streams_ended(self._server_log())[self._ended_before:]
                 if not line.startswith("0 frames classified")]  # a START that bounced back, not a stream
        with self._lock:
            early = len(ended) - self._stops
            if early > len(self.early_ends):
                self.early_ends = ended[-early:]

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            self.check_log()

    def __enter__(self) -> RoundMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.check_log()


# --- browsers and sessions -----------------------------------------------------------------------

def launch_browser(playwright, camera: Path | None = None):
    # Five browsers starting at once on two cores can take longer than Playwright's default 30 s.
    browser = launch_chromium(playwright, camera=camera, timeout_ms=120_000)
    lower_browser_sessions(clients_niceness)
    return browser


def lower_browser_sessions(niceness: int) -> None:
    """Give this load generator's browsers `niceness`. Playwright starts each Chromium in a session
    of its own, and Linux's autogroup scheduler first shares the CPU equally between sessions, then
    by niceness within each: so a browser's inherited niceness alone would not put it after the
    server, and its session's autogroup gets the niceness too."""
    own_session = os.getsid(0)  # this process's and the server's: left as it is
    for pid in process_tree(os.getpid()):
        try:
            if os.getsid(pid) == pid != own_session:
                Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
        except OSError:  # ended meanwhile, or a kernel without autogroup
            pass


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
    queued_behind: int | None = None  # the most clips the page said were ahead of this one (None: never waited)


def upload_and_wait(page, clip: Clip) -> UploadOutcome:
    """Choose `clip` in the page's uploader and wait for its result (or an error), reading the
    progress text on the way: while the clip waits for a free worker ("Waiting for a free worker:
    2 clips ahead of yours · about 40 s") the most clips ahead, once it runs ("Finding the person in
    every frame: frame X of Y · N frames/s · …") the frames/s. The page must show no earlier result."""
    main = page.get_by_test_id("stMain")
    length = main.get_by_test_id("stMetric").filter(has_text="Length")
    # Warnings come with a result; an error or an exception instead of one.
    failure = main.get_by_test_id("stAlertContentError").or_(main.get_by_test_id("stException"))
    progress = main.get_by_text(re.compile(r"Finding the person.*frames/s"))
    waiting = main.get_by_text(AHEAD)
    page_fps = queued_behind = None
    started = time.monotonic()
    page.locator('input[type="file"]').set_input_files(str(clip.path))
    while not (length.count() or failure.count()):
        if time.monotonic() - started > RESULT_TIMEOUT_S:
            return UploadOutcome(time.monotonic() - started, error=f"no result within {RESULT_TIMEOUT_S} s",
                                 queued_behind=queued_behind)
        try:
            if waiting.count():
                ahead = AHEAD.search(waiting.first.inner_text(timeout=200))
                if ahead:
                    queued_behind = max(queued_behind or 0, int(ahead.group(1)))
            elif progress.count():
                running = FRAMES_PER_SECOND.search(progress.first.inner_text(timeout=200))
                if running:
                    page_fps = float(running.group(1))
        except Exception:  # the progress text was replaced while it was read: read it at the next turn
            pass
        page.wait_for_timeout(250)
    seconds = time.monotonic() - started
    if failure.count():
        return UploadOutcome(seconds, page_frames_per_second=page_fps, error=failure.first.inner_text()[:300],
                             queued_behind=queued_behind)
    heading = main.locator("h2").first.inner_text()
    length_s = float(length.get_by_test_id("stMetricValue").inner_text().split()[0])
    warnings = main.get_by_test_id("stAlertContentWarning").all_inner_texts()
    return UploadOutcome(seconds, heading, length_s, page_fps, warnings, queued_behind=queued_behind)


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


def in_a_browser_of_its_own(result: SessionResult, camera: Path | None, open_page: Callable,
                            work: Callable, start: threading.Barrier, screenshot: Path | None) -> SessionResult:
    """One person's session in a Chromium of its own: `open_page(browser)` opens the page, the
    session waits for the others, then `work(page)` does what the person does and fills `result`."""
    with sync_playwright() as playwright:  # one per thread: Playwright's sync API is not thread-safe
        browser = page = None
        try:
            browser = launch_browser(playwright, camera)
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


def upload_session(url: str, clip: Clip, start: threading.Barrier, monitor: RoundMonitor, scratch: Path,
                   screenshot: Path | None) -> SessionResult:
    """One person on the Upload page: opens it, waits for the others and for the live streams to
    run, uploads `clip`, checks the result."""
    result = SessionResult("upload", clip.name, clip.label, frames=clip.frame_count)

    def open_page(browser):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        open_upload_page(page, url, timeout_ms=120_000)
        return page
    try:
        return in_a_browser_of_its_own(result, None, open_page,
                                       lambda page: check_upload(page, clip, result, monitor, scratch),
                                       start, screenshot)
    finally:
        monitor.upload_finished(id(result))  # had the page not opened, the live streams still stop waiting


def check_upload(page, clip: Clip, result: SessionResult, monitor: RoundMonitor, scratch: Path) -> None:
    monitor.wait_for_streams()
    try:
        outcome = upload_and_wait(page, clip)
    finally:
        monitor.upload_finished(id(result))
    result.seconds_to_result = round(outcome.seconds, 1)
    result.page_frames_per_second = outcome.page_frames_per_second
    result.details = {"queued_behind": outcome.queued_behind}
    if outcome.error:
        result.error = outcome.error
        return
    result.label_shown = label_from_heading(outcome.heading)
    result.frames_per_second = round(clip.frame_count / outcome.seconds, 1)
    result.details.update({"heading": outcome.heading, "length_s": outcome.length_s,
                           "clip_length_s": clip.duration_s, "warnings": outcome.warnings})
    result.checks = {
        "heading names its own exercise": result.matches,
        "length is its own clip's": abs(outcome.length_s - clip.duration_s) <= LENGTH_TOLERANCE_S,
    }
    folder = Path(tempfile.mkdtemp(prefix="downloads-", dir=scratch))  # a round's threads may reuse ids
    summary = downloaded_summary(page, folder)
    result.details["summary"] = {key: summary.get(key) for key in ("video", "label", "duration_s", "frames")}
    result.checks["JSON summary names its own clip"] = (summary.get("video") == clip.path.name
                                                       and summary.get("label") == clip.label)


# --- the Live page -------------------------------------------------------------------------------

def live_session(url: str, clip: Clip, camera: Path, watch_s: float, start: threading.Barrier,
                 monitor: RoundMonitor, screenshot: Path | None) -> SessionResult:
    """One person on the Live page, filming `clip` (Chromium's fake camera plays `camera` in a loop)."""
    result = SessionResult("live", clip.name, clip.label)

    def open_page(browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/live")
        page.get_by_text("Press START").wait_for(timeout=120_000)
        return page
    try:
        return in_a_browser_of_its_own(result, camera, open_page,
                                       lambda page: watch_stream(page, clip, watch_s, result, monitor),
                                       start, screenshot)
    finally:
        monitor.stream_ready(id(result))  # had the page not opened, the uploads still stop waiting


def frames_classified(caption) -> tuple[int, float, str] | None:
    """The Live page's caption, "N frames classified · F frames/s · …": (N, F, the caption), or None
    while it is being redrawn."""
    try:
        text = caption.inner_text(timeout=2_000)
        return (int(re.search(r"(\d+) frames classified", text).group(1)),
                float(FRAMES_PER_SECOND.search(text).group(1)), text)
    except Exception:  # the panel redraws twice a second: read it at the next turn
        return None


def watch_stream(page, clip: Clip, watch_s: float, result: SessionResult, monitor: RoundMonitor) -> None:
    """START the stream, watch it for `watch_s` seconds and for as long as the uploads run, then STOP it.
    A stream whose page goes back to START (or shows no stream) before that has dropped."""
    started = time.monotonic()
    try:
        start_clicks = press_start(page)
    finally:
        monitor.stream_ready(id(result))
    first_frame = time.monotonic()
    result.seconds_to_result = round(first_frame - started, 1)
    result.details = {"start_clicks": start_clicks}
    dropped = False
    try:
        dropped = follow_stream(page, clip, watch_s, result, monitor, first_frame)
        if dropped:
            return  # nothing to STOP: the page is ready for a new stream already
        # Stop as a person would. The server ends its side (LiveSession.close) on the rerun STOP causes,
        # and the page is ready for a new stream again ("Press START"); close the browser only then.
        monitor.ending_on_purpose()
        component = stream_component(page)
        component.get_by_role("button", name="STOP").click()
    except BaseException:
        if not dropped:
            monitor.ending_on_purpose()  # the browser closes on a stream that was still playing
        raise
    stopped = time.monotonic()
    try:
        page.get_by_text("Press START").wait_for(timeout=60_000)
        result.details["seconds_stop_to_ready_again"] = round(time.monotonic() - stopped, 1)
        result.checks["server ended the stream on STOP"] = True
    except PlaywrightError:
        result.checks["server ended the stream on STOP"] = False


def follow_stream(page, clip: Clip, watch_s: float, result: SessionResult, monitor: RoundMonitor,
                  first_frame: float) -> bool:
    """Look at the playing stream every TICK_S until `watch_s` seconds after its first frame and the
    last upload's result: its label every LABEL_SAMPLE_S, its frame count when the uploads start and
    when they end. Fill `result`; return whether the stream dropped (ended by itself) meanwhile."""
    label = page.get_by_test_id("stMetricValue").first
    caption = page.get_by_text("frames classified")
    start_button = stream_component(page).get_by_role("button", name="START")
    ready_again = page.get_by_text("Press START")
    seen, stats = [], None
    window: dict[str, tuple[int, float]] = {}  # "start"/"end": (frames classified, when read)
    watch_until, next_label = first_frame + watch_s, first_frame + LABEL_SAMPLE_S
    give_up = first_frame + watch_s + START_TIMEOUT_S + RESULT_TIMEOUT_S + 60  # the uploads never ended
    dropped_at, suspicious = None, 0
    while True:
        page.wait_for_timeout(TICK_S * 1000)
        # Dropped: START shows again, or the panel's "Press START" (twice running, not a redraw's glimpse).
        suspicious = suspicious + 1 if start_button.count() or ready_again.count() else 0
        if suspicious >= 2:
            dropped_at = time.monotonic()
            break
        for moment, event in (("start", monitor.streams_running), ("end", monitor.uploads_done)):
            if monitor.uploads and event.is_set() and moment not in window and (moment == "start" or "start" in window):
                reading = frames_classified(caption)
                if reading:
                    window[moment] = (reading[0], time.monotonic())
                    stats = reading
        now = time.monotonic()
        if now >= next_label:
            next_label = now + LABEL_SAMPLE_S
            try:
                seen.append(label.inner_text(timeout=2_000))
            except Exception:  # the panel redraws twice a second: read it at the next turn
                pass
            stats = frames_classified(caption) or stats
        if now >= watch_until and (not monitor.uploads or "end" in window):
            break
        if now >= give_up:
            result.details["uploads_never_ended"] = True
            break
    if dropped_at is None:
        stats = frames_classified(caption) or stats
        try:
            # The page shows labels as words ("push up"); folder names have underscores.
            result.label_shown = label.inner_text(timeout=5_000).replace(" ", "_")
        except Exception:
            result.label_shown = seen[-1].replace(" ", "_") if seen else None
    else:
        result.label_shown = seen[-1].replace(" ", "_") if seen else None
        result.details["dropped_after_s"] = round(dropped_at - first_frame, 1)
        if monitor.uploads_started_at and not monitor.uploads_done.is_set():
            result.details["dropped_while_uploads_ran"] = True
    if stats:
        result.frames, result.frames_per_second = stats[0], stats[1]
    if "start" in window and "end" in window:
        frames, seconds = window["end"][0] - window["start"][0], window["end"][1] - window["start"][1]
        result.details["during_uploads"] = {"frames": frames, "seconds": round(seconds, 1)}
        if seconds >= 1:  # less: the uploads ended within a tick of starting, nothing to measure
            result.frames_per_second_during_uploads = round(frames / seconds, 1)
    own_share = sum(text == readable(clip.label) for text in seen) / max(len(seen), 1)
    result.details.update({"stats": stats[2] if stats else None, "labels_seen": len(seen),
                           "share_showing_own_label": round(own_share, 2)})
    result.checks["shows its own camera's exercise"] = result.matches
    result.checks["stream played until STOP"] = dropped_at is None
    return dropped_at is not None


# --- the phases ----------------------------------------------------------------------------------

def empty_caches(home: Path) -> None:
    """Empty the app's pose and annotated-video caches (under its WPA_CACHE_DIR, home/cache), so that
    a round's uploads are worked out again rather than read back."""
    for folder in (home / "cache" / "poses", home / "cache" / "annotated"):
        for entry in folder.glob("*") if folder.is_dir() else ():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink(missing_ok=True)


def run_round(url: str, server_pid: int, uploads: list[Clip], lives: list[Clip], cameras: list[Path],
              watch_s: float, scratch: Path, server_log: Callable[[], str], screenshots: str | None) -> dict:
    """Both kinds of session at once, each in a fresh browser; `screenshots` (a path prefix) keeps
    what failed pages showed."""
    start = threading.Barrier(len(uploads) + len(lives), timeout=600)
    log_before = server_log()
    ended_before, tracebacks_before = len(streams_ended(log_before)), log_before.count("Traceback")
    began, cpu = time.monotonic(), CpuMeter(server_pid)
    with (MemorySampler(server_pid) as memory, RoundMonitor(len(uploads), len(lives), server_log) as monitor,
          ThreadPoolExecutor(len(uploads) + len(lives)) as pool):
        def shot(name: str) -> Path | None:
            return Path(f"{screenshots}-{name}.png") if screenshots else None

        futures = [pool.submit(upload_session, url, clip, start, monitor, scratch, shot(f"upload-{i}"))
                   for i, clip in enumerate(uploads, 1)]
        futures += [pool.submit(live_session, url, clip, camera, watch_s, start, monitor, shot(f"live-{i}"))
                    for i, (clip, camera) in enumerate(zip(lives, cameras), 1)]
        sessions = [future.result() for future in futures]
    cpu_use = cpu.summary()
    # The server logs each stream's end when the browser leaves; give it a moment.
    deadline = time.monotonic() + 30
    while len(streams_ended(server_log())) - ended_before < len(lives) and time.monotonic() < deadline:
        time.sleep(0.5)
    log = server_log()
    uploads_s = (round(monitor.uploads_done_at - monitor.uploads_started_at, 1)
                 if monitor.uploads_done_at and monitor.uploads_started_at else None)
    return {"seconds": round(time.monotonic() - began, 1), "sessions": sessions, "memory": memory.summary(),
            "cpu": cpu_use, "uploads_seconds": uploads_s, "live_sessions_ended": streams_ended(log)[ended_before:],
            "live_sessions_ended_before_stop": monitor.early_ends,
            "tracebacks_in_server_log": log.count("Traceback") - tracebacks_before}


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
        open_upload_page(page, url, timeout_ms=120_000)
    fps = None if outcome.error else round(clip.frame_count / outcome.seconds, 1)
    return {"clip": clip.name, "expected": clip.label,
            "label_shown": label_from_heading(outcome.heading) if outcome.heading else None,
            "seconds": round(outcome.seconds, 1), "frames": clip.frame_count, "frames_per_second": fps,
            "page_frames_per_second": outcome.page_frames_per_second,
            "server_rss_mb": round(server_rss_mb(server_pid)), "queued_behind": outcome.queued_behind,
            "warnings": outcome.warnings, "error": outcome.error}


def run_repeated(url: str, server_pid: int, clips: list[Clip]) -> dict:
    uploads = []
    began, cpu = time.monotonic(), CpuMeter(server_pid)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        open_upload_page(page, url, timeout_ms=120_000)
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

def first_line(value) -> str:
    """A page's error may hold a whole traceback: its first line, for a table or a list of failures."""
    lines = str(value).strip().splitlines()
    return lines[0] if lines else ""


def table(rows: list[list], headers: list[str]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else first_line(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def print_round(number: int, rnd: dict) -> None:
    """A round's sessions, as soon as it ends."""
    print(f"round {number}: {rnd['seconds']} s, the uploads ran {rnd['uploads_seconds']} s")
    print(table([[s["kind"], s["clip"], s["expected"], s["label_shown"], "yes" if s["ok"] else "NO",
                  s["seconds_to_result"], s["frames"], s["frames_per_second"],
                  s["page_frames_per_second"] if s["kind"] == "upload" else s["frames_per_second_during_uploads"],
                  s["details"].get("queued_behind"), s["error"]] for s in rnd["sessions"]],
                ["session", "clip", "expected", "shown", "ok", "s to result", "frames", "frames/s",
                 "page f/s | live f/s during uploads", "ahead", "error"]))
    for s in rnd["sessions"]:
        failed = [name for name, passed in s["checks"].items() if not passed]
        if failed:
            print(f"  {s['clip']}: failed {', '.join(failed)}")
        if s["kind"] == "live" and "labels_seen" in s["details"]:
            dropped = s["details"].get("dropped_after_s")
            print(f"  {s['clip']}: {s['details']['stats']} · own label in "
                  f"{s['details']['share_showing_own_label']:.0%} of {s['details']['labels_seen']} readings"
                  + (f" · DROPPED {dropped} s after its first frame" if dropped is not None else ""))
    memory = rnd["memory"]
    print(f"  server memory: start {memory['start_mb']} MB, peak {memory['peak_mb']} MB, "
          f"final {memory['final_mb']} MB ({memory['samples']} samples)")
    print(f"  CPU, in % of one core of {os.cpu_count()}: server {rnd['cpu']['server_percent_of_a_core']}%, "
          f"browsers {rnd['cpu']['browsers_percent_of_a_core']}%")
    for line in rnd["live_sessions_ended"]:
        print(f"  server log: live session ended: {line}")
    print(f"  round {number}: {'passed' if rnd['passed'] else 'FAILED: ' + '; '.join(rnd['failures'])}", flush=True)


def round_line(number: int, rnd: dict) -> str:
    uploads = [s for s in rnd["sessions"] if s["kind"] == "upload"]
    fps = [s["frames_per_second_during_uploads"] for s in rnd["sessions"] if s["kind"] == "live"]
    return (f"  round {number}: {'passed' if rnd['passed'] else 'FAILED'} · {rnd['seconds']} s · uploads right "
            f"{sum(s['ok'] for s in uploads)}/{len(uploads)} · dropped streams {rnd['dropped_streams']} · "
            f"live frames/s during uploads {', '.join('-' if f is None else str(f) for f in fps) or '-'} · "
            f"peak {rnd['memory']['peak_mb']} MB")


def print_report(report: dict) -> None:
    print(f"\nserver idle at start: {report['server_idle_mb']} MB; browsers at niceness {report['clients_niceness']}")
    if report.get("rounds"):
        summary = report["summary"]
        print(f"\n{len(report['rounds'])} rounds of the concurrent phase:")
        for number, rnd in enumerate(report["rounds"], 1):
            print(round_line(number, rnd))
        print(f"  rounds passed {summary['rounds_passed']}/{summary['rounds']}, dropped streams "
              f"{summary['dropped_streams']}, least live frames/s during uploads "
              f"{summary['min_live_fps_during_uploads']} (at least {MIN_LIVE_FPS_DURING_UPLOADS}), most clips ahead "
              f"{summary['most_clips_ahead']}")
        for number, rnd in enumerate(report["rounds"], 1):
            for failure in rnd["failures"]:
                print(f"  round {number}: {failure}")
    repeated = report.get("repeated")
    if repeated:
        print(f"\nrepeated: {len(repeated['uploads'])} uploads in {repeated['seconds']} s")
        print(table([[i, u["clip"], u["label_shown"], u["seconds"], u["frames_per_second"],
                      u["page_frames_per_second"], u["queued_behind"], u["server_rss_mb"],
                      u["error"] or "; ".join(u["warnings"])[:60]]
                     for i, u in enumerate(repeated["uploads"], 1)],
                    ["#", "clip", "shown", "s", "frames/s", "page frames/s", "ahead", "server MB",
                     "error or warning"]))
        memory = repeated["memory"]
        growth = memory.get(f"growth_upload_{GROWTH_FROM_UPLOAD}_to_last_mb")
        print(f"  server memory after each upload: first {memory.get('first_mb')} MB, max {memory.get('max_mb')} MB, "
              f"last {memory.get('last_mb')} MB, growth from upload {GROWTH_FROM_UPLOAD} to the last "
              f"{'-' if growth is None else f'{growth:+d} MB'}")
        print(f"  labels differing from the folder: {repeated['labels_differing']}, errors: {repeated['errors']}")
        print(f"  CPU, in % of one core of {os.cpu_count()}: server {repeated['cpu']['server_percent_of_a_core']}%, "
              f"browser {repeated['cpu']['browsers_percent_of_a_core']}%")
    print(f"\nserver memory peak {report['summary']['peak_server_mb']} MB (fails at {MAX_SERVER_MB} MB)")
    print(f"traceback in the server log: {'YES' if report['traceback_in_server_log'] else 'no'}; "
          f"server's stderr at the end: {report['server_stderr']}")
    verdict = f"FAILED: {'; '.join(report['failures'])}" if report["failures"] else "all passed"
    print(f"total {report['seconds']} s; {verdict}")


def session_failures(rnd: dict) -> list[str]:
    found = []
    for s in rnd["sessions"]:
        if not s["ok"]:
            failed = [name for name, passed in s["checks"].items() if not passed]
            reason = first_line(s["error"]) if s["error"] else f"failed {', '.join(failed)}"
            found.append(f"{s['kind']} {s['clip']}: {reason}")
    return found


def judge_round(rnd: dict) -> None:
    """Add the round's `dropped_streams`, `failures` and `passed`."""
    found = session_failures(rnd)
    lives = [s for s in rnd["sessions"] if s["kind"] == "live"]
    uploads = [s for s in rnd["sessions"] if s["kind"] == "upload"]
    dropped = sum(s["details"].get("dropped_after_s") is not None for s in lives)
    early = len(rnd["live_sessions_ended_before_stop"])
    rnd["dropped_streams"] = max(dropped, early)
    if early > dropped:  # the page did not show it (or the session failed first): the server's log did
        found.append(f"the server logged the end of {early} live stream(s) before STOP was clicked: "
                     + " | ".join(rnd["live_sessions_ended_before_stop"]))
    for s in lives:
        fps = s["frames_per_second_during_uploads"]
        if fps is None:
            if uploads and not s["error"] and s["details"].get("dropped_after_s") is None \
                    and not any(u["error"] for u in uploads):  # else it failed already, or nothing ran to measure
                found.append(f"live {s['clip']}: its frames/s while the uploads ran could not be read")
        elif fps < MIN_LIVE_FPS_DURING_UPLOADS:
            found.append(f"live {s['clip']}: {fps} frames/s while the uploads ran "
                         f"(at least {MIN_LIVE_FPS_DURING_UPLOADS})")
    if len(rnd["live_sessions_ended"]) < len(lives):
        found.append(f"the server logged the end of {len(rnd['live_sessions_ended'])} of {len(lives)} live streams")
    if rnd["memory"]["peak_mb"] >= MAX_SERVER_MB:
        found.append(f"the server's memory peaked at {rnd['memory']['peak_mb']} MB (under {MAX_SERVER_MB} MB)")
    if rnd["tracebacks_in_server_log"]:
        found.append(f"{rnd['tracebacks_in_server_log']} traceback(s) in the server log")
    rnd["failures"], rnd["passed"] = found, not found


def summarize(report: dict) -> dict:
    rounds = report.get("rounds", [])
    fps = [s["frames_per_second_during_uploads"] for rnd in rounds for s in rnd["sessions"]
           if s["frames_per_second_during_uploads"] is not None]
    ahead = [s["details"].get("queued_behind") for rnd in rounds for s in rnd["sessions"]]
    ahead += [u["queued_behind"] for u in report.get("repeated", {}).get("uploads", [])]
    peaks = [rnd["memory"]["peak_mb"] for rnd in rounds]
    if report.get("repeated", {}).get("memory"):
        peaks.append(report["repeated"]["memory"]["max_mb"])
    return {"rounds": len(rounds), "rounds_passed": sum(rnd["passed"] for rnd in rounds),
            "dropped_streams": sum(rnd["dropped_streams"] for rnd in rounds),
            "min_live_fps_during_uploads": min(fps) if fps else None,
            "peak_server_mb": max(peaks) if peaks else None,
            "most_clips_ahead": max((a for a in ahead if a is not None), default=None)}


def failures(report: dict) -> list[str]:
    found = [f"round {number}: {failure}" for number, rnd in enumerate(report.get("rounds", []), 1)
             for failure in rnd["failures"]]
    repeated = report.get("repeated")
    if repeated and repeated["errors"]:
        found.append(f"{repeated['errors']} repeated uploads failed")
    if repeated and repeated["memory"] and repeated["memory"]["max_mb"] >= MAX_SERVER_MB:
        found.append(f"the server's memory reached {repeated['memory']['max_mb']} MB in the repeated uploads "
                     f"(under {MAX_SERVER_MB} MB)")
    in_rounds = any(rnd["tracebacks_in_server_log"] for rnd in report.get("rounds", []))
    if report["traceback_in_server_log"] and not in_rounds:  # else said already
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
    parser.add_argument("--rounds", type=int, default=10, help="times the concurrent phase is run, each with fresh "
                                                              "browsers and emptied caches")
    parser.add_argument("--repeat", type=int, default=30, help="clips uploaded one after another")
    parser.add_argument("--watch", type=float, default=30.0, help="seconds each live stream is watched at least "
                                                                   "(and for as long as the uploads run)")
    parser.add_argument("--json", type=Path, help="write the figures to this file as JSON (and the server's log "
                                                       "beside it, as NAME-server.log)")
    parser.add_argument("--clients-niceness", type=int, default=CLIENTS_NICENESS,
                        help="the browsers' niceness (the server runs at this process's own)")
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument("--skip-repeated", action="store_true")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium package")
    if not inside_namespace():
        sys.exit(rerun_in_namespace("benchmarks.load"))

    uploads, lives = pick(UPLOAD_CLIPS, args.uploads, "upload"), pick(LIVE_CLIPS, args.lives, "live")
    rounds = 0 if args.skip_concurrent else args.rounds
    began = time.monotonic()
    bring_up_loopback()
    with tempfile.TemporaryDirectory(prefix="wpa-load-") as scratch:
        home = Path(scratch) / "app-home"
        home.mkdir()

        def server_log() -> str:
            return app_log(home)

        server, url = start_app(home)  # on 127.0.0.1, as live_check: ICE itself uses 127.0.0.2
        # Everything started from here on (browsers, their drivers) inherits the clients' niceness.
        global clients_niceness
        clients_niceness = args.clients_niceness
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + clients_niceness)
        report: dict = {"url": url, "server_idle_mb": round(server_rss_mb(server.pid)), "rounds": [],
                        "clients_niceness": args.clients_niceness}
        try:
            if rounds:
                # The camera files are made first: writing them is CPU work that must not count as load.
                cameras = [write_y4m(clip.path, Path(scratch) / f"camera-{i}.y4m", size=(640, 480), fps=15)
                           for i, clip in enumerate(lives)]
            for number in range(1, rounds + 1):
                empty_caches(home)
                print(f"round {number}/{rounds}: {len(lives)} live streams, then {len(uploads)} uploads while "
                      f"they play (each stream watched {args.watch:.0f} s at least)…", flush=True)
                screenshots = f"{args.json.with_suffix('')}-round{number}" if args.json else None
                rnd = run_round(url, server.pid, uploads, lives, cameras, args.watch, Path(scratch), server_log,
                                screenshots)
                rnd["sessions"] = [{**asdict(s), "matches": s.matches, "ok": s.ok} for s in rnd["sessions"]]
                judge_round(rnd)
                report["rounds"].append(rnd)
                print_round(number, rnd)
            if not args.skip_repeated and args.repeat:
                used = {clip.name for clip in uploads} if rounds else set()
                clips = repeat_clips(args.repeat, exclude=used)
                print(f"repeated: {len(clips)} uploads one after another…", flush=True)
                report["repeated"] = run_repeated(url, server.pid, clips)
        finally:
            # Everything the server writes to stderr must reach its log, or the log's checks mean nothing.
            report["server_stderr"] = os.readlink(f"/proc/{server.pid}/fd/2")
            stop(server, timeout_s=30)
            log = server_log()
        report["traceback_in_server_log"] = "Traceback" in log
        if report["traceback_in_server_log"]:
            at = log.index("Traceback")
            print(f"\nserver log, from the first traceback:\n{log[at:at + 3000]}")
    report["seconds"] = round(time.monotonic() - began, 1)
    report["summary"] = summarize(report)
    report["failures"] = failures(report)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
        args.json.with_name(f"{args.json.stem}-server.log").write_text(log)  # to read what went wrong
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
