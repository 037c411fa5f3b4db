"""Training jobs that run in the background of the app's server.

A job loads its data (extracting poses with the cache), trains, and measures the result and the
currently active model on the same held-out clips, in the background (wpa.background); the page
only reads snapshots of it. Jobs live on the server process's `JobBoard` (the app makes one, shared
by every session), not in a browser session, so a refreshed page finds its job again by id, and
starting the same training twice returns the job already running.

A job on uploaded data leases it (wpa.serving.disk) while it runs, so the bounded uploads folder never
removes data under a running job; after extracting poses, it trims the pose cache to its limit.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from wpa.background import Background
from wpa.errors import Cancelled, DatasetError, WpaError
from wpa.movement.form.profile import FormProfile
from wpa.movement.form.references import fit_references
from wpa.paths import POSE_CACHE_DIR
from wpa.poses.clip import Clip
from wpa.poses.extraction import ExtractionEngine, engine_for
from wpa.poses.table import read_landmarks_csv
from wpa.recognition.dataset import ExtractionProgress, extract_dataset
from wpa.recognition.folders import scan_dataset
from wpa.recognition.metrics import Evaluation
from wpa.recognition.model import ExerciseModel
from wpa.recognition.train import EpochReport, TrainingResult, evaluate_model, train_model
from wpa.recognition.train_config import TrainConfig
from wpa.serving import disk
from wpa.workers.pool import WorkerPool
from wpa.workers.priority import BACKGROUND_NICENESS, lower_this_thread


@dataclass(frozen=True)
class DataSource:
    """Where a job's clips come from: a folder of class folders, or a landmarks CSV file."""

    path: Path
    description: str = ""

    @property
    def is_csv(self) -> bool:
        return self.path.suffix.lower() == ".csv"


@dataclass(frozen=True)
class Comparison:
    """The active model measured on the new model's held-out clips (those of exercises it knows)."""

    model_name: str
    evaluation: Evaluation | None
    clips_compared: int
    clips_held_out: int
    seen_by_it: int  # held-out clips the active model itself was trained or validated on


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state, for a page to show."""

    id: str
    name: str
    state: str  # "loading", "training", "finished", "failed", "cancelled"
    message: str
    extraction: ExtractionProgress | None
    epochs: tuple[EpochReport, ...]
    max_epochs: int
    started_at: float
    finished_at: float | None

    @property
    def running(self) -> bool:
        return self.state in ("loading", "training")


class TrainingJob:
    """One training run in the background. Use `JobBoard.start(...)` rather than making one.

    `ray_address`: the Ray cluster to extract poses on (None: this machine; the app's board passes
    WPA_RAY_ADDRESS); `pool`: the worker pool to extract on otherwise (the app's board passes the
    server's, which uploads share; None: a pool of the job's own)."""

    def __init__(self, name: str, source: DataSource, config: TrainConfig, active_model: ExerciseModel | None,
                 active_name: str, cache_dir: Path = POSE_CACHE_DIR, workers: int | None = None,
                 engine: ExtractionEngine | None = None, ray_address: str | None = None,
                 pool: WorkerPool | None = None):
        self.id = uuid.uuid4().hex[:12]
        self.name, self.source, self.config = name, source, config
        self.fingerprint = job_fingerprint(source, config)
        self.result: TrainingResult | None = None
        self.comparison: Comparison | None = None
        self.clips: list[Clip] = []
        self.form_references: dict[str, FormProfile] = {}  # one reference of good form per class, saved with the model
        self._active_model, self._active_name = active_model, active_name
        self._cache_dir = cache_dir
        # On a worker pool: never in the server's own process, below its priority (live streams come
        # first), and on the server's pool within the CPU budget it shares with uploads.
        self._engine = engine or engine_for(ray_address, workers, pool=pool or WorkerPool())
        self.extraction_where = self._engine.where
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._state, self._message = "loading", "Reading the data…"
        self._extraction: ExtractionProgress | None = None
        self._epochs: list[EpochReport] = []
        self._started_at, self._finished_at = time.time(), None
        self._work = Background(self._run, name=f"wpa-train-{self.id}")

    def start(self) -> TrainingJob:
        self._work.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at the next clip or batch boundary."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or `timeout` seconds pass); True if it has ended."""
        return self._work.wait(timeout)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(id=self.id, name=self.name, state=self._state, message=self._message,
                               extraction=self._extraction, epochs=tuple(self._epochs), max_epochs=self.config.epochs,
                               started_at=self._started_at, finished_at=self._finished_at)

    def _set(self, state: str | None = None, message: str | None = None) -> None:
        with self._lock:
            self._state = state or self._state
            self._message = message if message is not None else self._message
            if self._state in ("finished", "failed", "cancelled"):
                self._finished_at = time.time()

    def _on_extraction(self, progress: ExtractionProgress) -> None:
        with self._lock:
            self._extraction = progress

    def _on_epoch(self, report: EpochReport) -> None:
        with self._lock:
            self._epochs.append(report)
            self._message = f"Epoch {report.epoch} of at most {report.max_epochs}"

    def _run(self) -> None:
        lower_this_thread(BACKGROUND_NICENESS)  # the server's live streams come first
        lease = None
        try:
            lease = self._hold_source()
            self.clips = self._load()
            self._set("training", "Training…")
            self.result = train_model(self.clips, self.config, on_epoch=self._on_epoch, should_stop=self._cancel.is_set)
            if self.result.stop_reason == "cancelled":
                raise Cancelled("Training was cancelled.")
            self.comparison = self._compare()
            self._set(message="Learning good form from the training clips…")
            self.form_references = fit_references(self.clips, self.result.model.labels)
            self._set("finished", f"Finished: {self.result.stop_reason} after {len(self.result.history)} epochs.")
        except Cancelled as stopped:
            self._set("cancelled", str(stopped))
        except WpaError as error:
            self._set("failed", str(error))
        except Exception as error:  # a bug must end the job visibly, not leave it "running" forever
            self._set("failed", f"Training failed unexpectedly ({type(error).__name__}: {error}).")
        finally:
            if lease is not None:
                lease.release()

    def _hold_source(self) -> disk.Lease | None:
        """A lease on the source when it is uploaded data, which the uploads folder could evict."""
        uploads = disk.uploads()
        if not uploads.holds(self.source.path):
            return None  # data in the server's own folders is not wpa's to remove
        return uploads.use(self.source.path)

    def _load(self) -> list[Clip]:
        if self.source.is_csv:
            clips, _ = read_landmarks_csv(self.source.path)
            return clips
        poses = disk.pose_cache(self._cache_dir)  # reads its limit now: a bad setting fails before the work
        scan = scan_dataset(self.source.path)
        extraction = extract_dataset(scan.clips, self._cache_dir, engine=self._engine, progress=self._on_extraction,
                                     should_stop=self._cancel.is_set)
        poses.evict()  # the clips' poses are in memory now; the cache may drop the least used entries
        if not extraction.clips:
            reasons = "; ".join(f"{clip.clip_id}: {reason}" for clip, reason in extraction.failures[:3])
            raise DatasetError(f"None of the {len(scan.clips)} clips could be read ({reasons}).")
        return extraction.clips

    def _compare(self) -> Comparison | None:
        if self._active_model is None or self.result is None:
            return None
        val_clips = set(self.result.val_clips)
        held_out = [clip for clip in self.clips if clip.clip_id in val_clips]
        known = [clip for clip in held_out if clip.label in self._active_model.labels]
        seen = self._active_model.card.data.seen_clips
        return Comparison(model_name=self._active_name,
                          evaluation=evaluate_model(self._active_model, known) if known else None,
                          clips_compared=len(known), clips_held_out=len(held_out),
                          seen_by_it=sum(clip.clip_id in seen for clip in known))


class JobBoard:
    """The training jobs of this server process; its jobs extract on the Ray cluster at
    `ray_address`, or else on `pool` (None: each job on a pool of its own)."""

    def __init__(self, ray_address: str | None = None, pool: WorkerPool | None = None) -> None:
        self.ray_address, self.pool = ray_address, pool
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def start(self, name: str, source: DataSource, config: TrainConfig, active_model: ExerciseModel | None = None,
              active_name: str = "", **options) -> TrainingJob:
        """Start a job, or return the one already running on the same data with the same settings."""
        fingerprint = job_fingerprint(source, config)
        with self._lock:
            for job in self._jobs.values():
                if job.fingerprint == fingerprint and job.snapshot().running:
                    return job
            job = TrainingJob(name, source, config, active_model, active_name, ray_address=self.ray_address,
                              pool=self.pool, **options)
            self._jobs[job.id] = job
        return job.start()

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(job_id or "")

    def jobs(self) -> list[TrainingJob]:
        """All jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.snapshot().started_at, reverse=True)

    def forget(self, job_id: str) -> None:
        """Drop a job that has ended (its trained model too, unless it was saved)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and not job.snapshot().running:
                del self._jobs[job_id]


def job_fingerprint(source: DataSource, config: TrainConfig) -> str:
    settings = json.dumps([str(source.path.resolve()), asdict(config)], sort_keys=True, default=str)
    return hashlib.sha256(settings.encode()).hexdigest()[:16]

