"""The queue of uploaded clips waiting to be analysed.

The app's server process keeps what must stay responsive: WebRTC, the live streams' callbacks and
the page scripts. The heavy part of an upload (finding the poses of every frame, drawing and
encoding the annotated video) runs as "analysis" tasks on the server's worker pool
(`wpa.workers.pool`: worker processes at a lower CPU priority, within the server's one CPU budget,
shared with training), at most `workers` clips at once, so a live stream keeps its frames however
many clips are uploaded. Clips beyond that wait in order; each waiting clip knows how many are
ahead of it and about how long that will take.

The same clip, model and settings asked for again while it waits or runs joins the analysis
already there: nothing is computed twice. Each asker holds a `Ticket`; an analysis is cancelled
(dropped from the queue, or its worker interrupted) once every ticket on it is cancelled. A ticket
also leases the clip's entries in the bounded caches (`wpa.serving.disk`), which are trimmed to their
limits after each analysis, so nothing a ticket waits for is evicted.
"""

from __future__ import annotations

import collections
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wpa.media.video import VideoInfo, probe_video
from wpa.movement.form.feedback import Reference, references_json
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.recognition.inference import InferenceConfig
from wpa.recognition.model import ExerciseModel
from wpa.serving import disk
from wpa.serving.processing import AnalysisProgress, ClipFiles, locate_files, pose_models_wanted
from wpa.workers import protocol
from wpa.workers.pool import Run, WorkerPool

# Until a clip has been analysed, waits are estimated at this rate (frames/s of one worker; the
# upload rate of docs/BENCHMARKS.md on two cores is 48).
FIRST_GUESS_FPS = 30.0

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"
STAGE_TEXT = {"pose": "Finding the person in every frame", "video": "Drawing the skeleton on the video"}


@dataclass(frozen=True)
class TicketStatus:
    """Where one clip's analysis stands, for a page to show."""

    state: str  # WAITING, RUNNING, DONE, FAILED or CANCELLED
    ahead: int  # analyses that start before this one (while it waits)
    wait_s: float | None  # about how long until it starts (while it waits)
    progress: AnalysisProgress | None  # the worker's last report (while it runs)
    error: str | None = None  # FAILED: why, for a person
    computed: bool = False  # DONE: the files had to be made (False: all were in the caches)

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED, CANCELLED)

    @property
    def fraction(self) -> float:
        """How far the analysis is, for a progress bar (0 while it waits)."""
        return self.progress.fraction if self.state == RUNNING and self.progress else 0.0

    def text(self) -> str:
        """Where the clip stands, for a person: its place in the line, or the stage and the frames done."""
        if self.state == WAITING:
            place = f"{self.ahead} clip{'s' if self.ahead != 1 else ''} ahead of yours" if self.ahead else "yours is next"
            wait = f" · about {self.wait_s:.0f} s" if self.wait_s else ""
            return f"Waiting for a free worker: {place}{wait}"
        if self.progress is None:
            return "Starting the analysis…"
        progress = self.progress
        left = f" · about {progress.seconds_left:.0f} s left" if progress.seconds_left is not None else ""
        return (f"{STAGE_TEXT[progress.stage]}: frame {progress.done} of {progress.total or '?'} · "
                f"{progress.frames_per_second:.0f} frames/s{left}")


class _Analysis:
    """One clip's analysis in the queue; the queue's lock guards every field."""

    def __init__(self, video: Path, spool: Path, model_dir: Path, inference: InferenceConfig, files: ClipFiles,
                 info: VideoInfo, references: dict[str, Reference]):
        self.video, self.spool, self.model_dir, self.inference = video, spool, model_dir, inference
        self.files, self.info, self.references = files, info, references
        self.tickets = 0
        self.state = WAITING
        self.progress: AnalysisProgress | None = None
        self.error: str | None = None
        self.computed = False
        self.run: Run | None = None  # on the pool, while it runs
        self.ended = threading.Event()

    @property
    def key(self) -> str:
        return str(self.files.annotated_video)

    @property
    def frames(self) -> int:
        return self.info.frame_count or round(self.info.duration_s * (self.info.fps or 30))


class Ticket:
    """One asker's hold on an analysis. `cancel()` when the result is no longer wanted."""

    def __init__(self, queue: AnalysisQueue, analysis: _Analysis):
        self._queue, self._analysis = queue, analysis
        self._cancelled = False
        self._leases = [queue.annotated_videos.use(analysis.files.annotated_video),
                        queue.poses.use(analysis.files.pose_file)]

    @property
    def files(self) -> ClipFiles:
        return self._analysis.files

    @property
    def info(self) -> VideoInfo:
        return self._analysis.info

    def status(self) -> TicketStatus:
        return self._queue._status(self._analysis)

    def wait(self, timeout: float | None = None) -> TicketStatus:
        """Block until the analysis ends or `timeout` seconds pass; its status then."""
        self._analysis.ended.wait(timeout)
        return self.status()

    def lease_video(self) -> disk.Lease:
        """A lease on the annotated video, for as long as a page shows it (release it, or drop it)."""
        return self._queue.annotated_videos.use(self._analysis.files.annotated_video)

    def cancel(self) -> None:
        """This asker no longer wants the result: the analysis stops when no one does, and the
        ticket's leases end. Harmless after the analysis has ended, and when called again."""
        if not self._cancelled:
            self._cancelled = True
            for lease in self._leases:
                lease.release()
            self._queue._drop_ticket(self._analysis)


class AnalysisQueue:
    """Clips analysed in order, at most `workers` at once (default: as many as `pool` has CPU slots),
    on `pool` (the app gives the server's, which training shares; default: a pool of its own)."""

    def __init__(self, workers: int | None = None, pool: WorkerPool | None = None,
                 pose_cache_dir: Path = POSE_CACHE_DIR, video_cache_dir: Path = ANNOTATED_CACHE_DIR):
        self.pool = pool or WorkerPool()
        self.workers = max(1, workers or self.pool.budget.slots)
        self.pose_cache_dir, self.video_cache_dir = Path(pose_cache_dir), Path(video_cache_dir)
        self.annotated_videos, self.poses = disk.annotated_videos(video_cache_dir), disk.pose_cache(pose_cache_dir)
        self._lock = threading.Condition()
        self._waiting: collections.deque[_Analysis] = collections.deque()
        self._running: list[_Analysis] = []
        self._by_key: dict[str, _Analysis] = {}
        self._slots: list[threading.Thread] = []
        self._fps = FIRST_GUESS_FPS
        self._closed = False

    # --- for the pages ---------------------------------------------------------------------------

    def submit(self, video: Path, model: ExerciseModel, model_dir: Path,
               inference: InferenceConfig = InferenceConfig(),
               references: dict[str, Reference] | None = None) -> Ticket:
        """Queue `video` for analysis by the model saved in `model_dir` (`model`, loaded), its form
        judged against `references` (by exercise), or join the same analysis already waiting or
        running. The queue takes the file: it is moved into a folder of the queue's own, deleted
        once analysed.

        Raises VideoError at once for a clip that cannot be read (nothing is queued then).
        """
        info = probe_video(video)
        references = references or {}
        files = locate_files(video, model, inference, pose_cache_dir=self.pose_cache_dir,
                             video_cache_dir=self.video_cache_dir, references=references)
        spool = Path(tempfile.mkdtemp(prefix="wpa-queued-"))
        moved = spool / f"clip{video.suffix.lower()}"
        shutil.move(video, moved)
        analysis = _Analysis(moved, spool, Path(model_dir), inference, files, info, references)
        analysed_before = files.complete  # reads the pose entry: not while pages wait for the lock
        with self._lock:
            same = self._by_key.get(analysis.key)
            if same is not None:
                same.tickets += 1
                shutil.rmtree(spool, ignore_errors=True)
                return Ticket(self, same)
            analysis.tickets = 1
            if analysed_before:  # nothing to run
                self._end(analysis, DONE)
                return Ticket(self, analysis)
            self._by_key[analysis.key] = analysis
            self._waiting.append(analysis)
            self._start_slots()
            self._lock.notify_all()
        return Ticket(self, analysis)

    def close(self, timeout_s: float = 30.0) -> None:
        """Cancel every waiting and running analysis (the pool's workers stay, for other work)."""
        with self._lock:
            self._closed = True
            while self._waiting:
                self._end(self._waiting.popleft(), CANCELLED)
            for running in self._running:
                if running.run is not None:
                    running.run.cancel()
            slots = list(self._slots)
            self._lock.notify_all()
        for slot in slots:
            slot.join(timeout_s)

    def counts(self) -> tuple[int, int]:
        """(analyses running, analyses waiting), e.g. for a status line."""
        with self._lock:
            return len(self._running), len(self._waiting)

    # --- tickets ---------------------------------------------------------------------------------

    def _status(self, analysis: _Analysis) -> TicketStatus:
        with self._lock:
            if analysis.state == WAITING:
                ahead = self._waiting.index(analysis) if analysis in self._waiting else 0
                return TicketStatus(WAITING, ahead, self._wait_s(ahead), None)
            return TicketStatus(analysis.state, 0, None, analysis.progress, analysis.error, analysis.computed)

    def _wait_s(self, ahead: int) -> float:
        """When the analysis `ahead` places back in the queue starts: each worker's work left, with
        the analyses before it given in turn to whichever worker frees first (at the measured rate)."""
        free_in = [0.0] * self.workers
        for slot, running in enumerate(self._running[:self.workers]):
            progress = running.progress
            left = (progress.seconds_left if progress and progress.stage == "video" else None)
            done = progress.done if progress and progress.stage == "pose" else 0
            free_in[slot] = left if left is not None else max(running.frames - done, 0) / self._fps
        for before in list(self._waiting)[:ahead]:
            soonest = free_in.index(min(free_in))
            free_in[soonest] += before.frames / self._fps
        return min(free_in)

    def _drop_ticket(self, analysis: _Analysis) -> None:
        with self._lock:
            analysis.tickets -= 1
            if analysis.tickets > 0 or analysis.state not in (WAITING, RUNNING):
                return
            if analysis.state == WAITING:
                self._waiting.remove(analysis)
                self._end(analysis, CANCELLED)
                return
            # Running: its worker stops the clip and is free for the next.
            if analysis.run is not None:
                analysis.run.cancel()

    def _end(self, analysis: _Analysis, state: str, error: str | None = None) -> None:
        """Called with the lock held."""
        analysis.state, analysis.error = state, error
        analysis.run = None
        if analysis in self._running:
            self._running.remove(analysis)
        if self._by_key.get(analysis.key) is analysis:
            del self._by_key[analysis.key]
        shutil.rmtree(analysis.spool, ignore_errors=True)
        analysis.ended.set()
        self._lock.notify_all()

    # --- running on the pool ----------------------------------------------------------------------

    def _start_slots(self) -> None:
        """Called with the lock held: up to `workers` threads, each following one analysis at a time."""
        self._slots = [slot for slot in self._slots if slot.is_alive()]
        while len(self._slots) < min(self.workers, len(self._running) + len(self._waiting)):
            slot = threading.Thread(target=self._serve, name=f"wpa-analysis-slot-{len(self._slots)}", daemon=True)
            self._slots.append(slot)
            slot.start()

    def _serve(self) -> None:
        """A slot: take the next analysis and have the pool run it, until none waits."""
        while True:
            with self._lock:
                if not self._waiting or self._closed:
                    self._slots.remove(threading.current_thread())
                    return
                analysis = self._waiting.popleft()
                analysis.state, analysis.run = RUNNING, self.pool.submit(self._task(analysis))
                self._running.append(analysis)
                run = analysis.run
            self._follow(analysis, run)
            # Back under the caches' limits; the entries tickets hold stay.
            self.annotated_videos.evict()
            self.poses.evict()

    @staticmethod
    def _task(analysis: _Analysis) -> protocol.Task:
        return protocol.Task("analysis", {
            "video": str(analysis.video), "model": str(analysis.model_dir), "inference": asdict(analysis.inference),
            "references": references_json(analysis.references),
            "pose_cache": str(analysis.files.pose_cache.directory), "pose_key": analysis.files.pose_key,
            "annotated_video": str(analysis.files.annotated_video)}, slots=pose_models_wanted(analysis.info))

    def _follow(self, analysis: _Analysis, run: Run) -> None:
        started = time.monotonic()

        def progress(report: dict) -> None:
            with self._lock:
                analysis.progress = AnalysisProgress(**report)

        outcome = run.follow(progress)
        with self._lock:
            if outcome.state == protocol.DONE:
                analysis.computed = outcome.value["computed"]
                if analysis.computed and analysis.frames:
                    self._learn_rate(analysis.frames / (time.monotonic() - started))
                self._end(analysis, DONE)
            elif outcome.state == protocol.CANCELLED or analysis.tickets <= 0:
                self._end(analysis, CANCELLED)
            else:
                self._end(analysis, FAILED, outcome.error)

    def _learn_rate(self, fps: float) -> None:
        """Called with the lock held: the rate waits are estimated at, following recent analyses."""
        self._fps = 0.5 * self._fps + 0.5 * fps
