"""Extraction engines: where the poses of many clips are found.

One interface, two engines. Each takes `ExtractionTask`s (a clip and its pose-cache entry), finds
the poses of every clip, stores them in the cache, and yields `(task, PoseSequence)` or
`(task, why it failed)` as clips finish, so the caller can report progress and cancel by closing
the generator.

- `LocalEngine` (the default): worker processes on this machine (`wpa.workers.pool`): the
  server's pool, sharing its CPU budget with uploads, or one of its own for the command line.
- `RayEngine`: Ray tasks on a cluster (`pip install ray`). Workers need not see this machine's
  files: each task is sent the clip's bytes (or, with `shared_paths`, a path every node can read)
  and the pose model's bytes, and sends the poses back; this process writes the cache, so a cache
  made on a cluster is the same as one made locally.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from wpa.errors import Cancelled, DatasetError, WpaError
from wpa.files import written_atomically
from wpa.poses.cache import PoseCache, pose_from_arrays, pose_to_arrays
from wpa.poses.extract import extract_pose
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.workers.budget import CpuBudget, cores
from wpa.workers.pool import WorkerPool
from wpa.workers.protocol import DONE, Task


@dataclass(frozen=True)
class ExtractionTask:
    """One clip to extract, and the cache entry its poses go to."""

    path: Path
    key: str


Outcome = tuple[ExtractionTask, PoseSequence | str]


class ExtractionEngine(Protocol):
    """Runs extractions. `run` yields each task once, with its poses (already in `cache`) or the
    reason it failed; closing the generator drops the tasks not started and stops the rest."""

    where: str  # for a person: "on this machine", "on the Ray cluster at ..."

    def run(self, tasks: Sequence[ExtractionTask], cache: PoseCache, options: PoseOptions) -> Iterator[Outcome]:
        ...


def extract_or_explain(path: Path, options: PoseOptions) -> PoseSequence | str:
    """The poses of one clip, or why it cannot be read."""
    try:
        pose = extract_pose(path, options)
    except Cancelled:  # not the clip's fault: the worker was told to stop
        raise
    except WpaError as error:
        return str(error)
    if len(pose) == 0:
        return "no frames could be decoded"
    return pose


def longest_first(tasks: Sequence[ExtractionTask]) -> list[ExtractionTask]:
    """Tasks by file size, largest first (size stands in for length), so that no long clip is left
    to run alone at the end."""
    return sorted(tasks, key=lambda task: task.path.stat().st_size, reverse=True)


class LocalEngine:
    """Extraction on this machine, as "poses" tasks (`wpa.worker`) on `pool`, at most `workers`
    clips at once (default: as many as the pool has CPU slots). Without a pool (the command line):
    in this process for one worker, else on a pool of its own, `workers` slots at this process's
    priority, ended with the run.

    The app gives the server's pool (`app.shared.worker_pool`): training's extraction then
    never runs in the server process, runs below its priority, and shares one CPU budget with the
    uploads' analyses.
    """

    where = "on this machine"

    def __init__(self, workers: int | None = None, pool: WorkerPool | None = None):
        self.workers, self.pool = workers, pool

    def run(self, tasks: Sequence[ExtractionTask], cache: PoseCache, options: PoseOptions) -> Iterator[Outcome]:
        if not tasks:  # every clip cached: no process to start
            return
        if self.pool is not None:
            yield from self._run_on(self.pool, tasks, cache, options)
            return
        workers = max(1, min(self.workers or cores(), len(tasks)))
        if workers == 1:
            for task in tasks:
                result = extract_or_explain(task.path, options)
                if not isinstance(result, str):
                    cache.save(task.key, result)
                yield task, result
            return
        pool = WorkerPool(CpuBudget(workers), niceness=0)
        try:
            yield from self._run_on(pool, tasks, cache, options)
        finally:
            pool.close()

    def _run_on(self, pool: WorkerPool, tasks: Sequence[ExtractionTask], cache: PoseCache,
                options: PoseOptions) -> Iterator[Outcome]:
        settings = {**asdict(options), "model_path": str(options.model_path)}
        asked = [(Task("poses", {"video": str(task.path), "key": task.key, "cache": str(cache.directory),
                                 "options": settings}), task) for task in longest_first(tasks)]
        by_request = {id(request): task for request, task in asked}
        ran = pool.map([request for request, _ in asked], lanes=self.workers)
        try:
            for request, outcome in ran:
                task = by_request[id(request)]
                if outcome.state == DONE:
                    yield task, cache.load(task.key) or "the extracted poses could not be stored"
                else:
                    yield task, outcome.error or "the extraction was cancelled"
        finally:
            ran.close()


class RayEngine:
    """Extraction as Ray tasks on a cluster.

    `address` is what `ray.init` takes: `auto` for the cluster this machine belongs to, or
    `HOST:PORT` of its head. The `wpa` package travels to the workers with the job (Ray's
    `py_modules`); its dependencies (mediapipe, av, numpy) must be installed on every node.

    A task whose worker dies, or that raises, is run once more; after that its clip is reported
    as failed. At most `2 × the cluster's CPUs` tasks are in flight, so the object store holds a
    bounded number of clips' bytes whatever the size of the dataset.
    """

    # Ray's task options: one CPU each, as the pose model runs on one core; one retry.
    TASK_OPTIONS = {"num_cpus": 1, "max_retries": 1, "retry_exceptions": True}

    def __init__(self, address: str, shared_paths: bool = False):
        self.address = address
        self.shared_paths = shared_paths
        self.where = f"on the Ray cluster at {address}"

    def run(self, tasks: Sequence[ExtractionTask], cache: PoseCache, options: PoseOptions) -> Iterator[Outcome]:
        if not tasks:
            return
        ray = self._connect()
        remote = ray.remote(**self.TASK_OPTIONS)(extract_clip)
        model = ray.put(Path(options.model_path).read_bytes())
        settings = {**asdict(options), "model_path": None}
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        waiting, pending = longest_first(tasks), {}
        try:
            while waiting or pending:
                while waiting and len(pending) < window:
                    task = waiting.pop(0)
                    video = str(task.path.resolve()) if self.shared_paths else task.path.read_bytes()
                    pending[remote.remote(video, task.path.suffix, model, settings)] = task
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                yield task, self._collect(ray, done[0], task, cache)
        finally:
            for reference in pending:
                ray.cancel(reference, force=True)

    @staticmethod
    def _collect(ray, reference, task: ExtractionTask, cache: PoseCache) -> PoseSequence | str:
        try:
            answer = ray.get(reference)
        except ray.exceptions.RayError as error:  # failed twice: the worker died, or a bug raised
            cause = "the worker process ended" if isinstance(error, ray.exceptions.WorkerCrashedError) else type(error).__name__
            return f"pose extraction failed on the cluster twice ({cause})"
        if isinstance(answer, str):
            return answer
        # Copies: the arrays Ray hands back are views into its object store, which they would keep full.
        pose = pose_from_arrays({name: np.array(value) for name, value in answer.items()})
        cache.save(task.key, pose)
        return pose

    def _connect(self):
        try:
            import ray
        except ImportError as error:
            raise DatasetError("Extraction on a Ray cluster needs Ray: `pip install ray` "
                               "(or leave the cluster address empty to extract on this machine).") from error
        if not ray.is_initialized():
            _check_reachable(self.address)
            package = Path(__file__).resolve().parents[1]  # wpa, not just wpa.poses
            try:
                ray.init(address=self.address, runtime_env={"py_modules": [str(package)]},
                         log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise DatasetError(f"Cannot connect to the Ray cluster at {self.address} ({error}). Start one "
                                   "with `ray start --head`, or leave out --ray to extract on this machine.") from error
        return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a HOST:PORT that does not answer: `ray.init` would retry it for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # `auto`, `ray://...`: Ray resolves these itself, and quickly says when it cannot
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise DatasetError(f"No Ray cluster answers at {address} ({error.strerror or error}). Check the head's "
                           "address and port (`ray status` on the head), or leave out --ray to extract "
                           "on this machine.") from error


def extract_clip(video: bytes | str, suffix: str, model: bytes, settings: dict[str, Any]) -> dict[str, np.ndarray] | str:
    """A Ray task: the poses of one clip as arrays (see `pose_to_arrays`), or why it cannot be read.

    `video` is the clip's bytes, or a path every node can read; `model` the pose model's bytes,
    written once per worker machine to a file named by its hash.
    """
    options = PoseOptions(**{**settings, "model_path": _model_file(model)})
    if isinstance(video, str):
        result = extract_or_explain(Path(video), options)
    else:
        with tempfile.TemporaryDirectory(prefix="wpa-clip-") as folder:
            path = Path(folder) / f"clip{suffix}"  # the suffix helps the demuxer (a .gif, an .avi)
            path.write_bytes(video)
            result = extract_or_explain(path, options)
    return result if isinstance(result, str) else pose_to_arrays(result)


def _model_file(model: bytes) -> Path:
    path = Path(tempfile.gettempdir()) / f"wpa-pose-model-{hashlib.sha256(model).hexdigest()[:16]}.task"
    if not path.is_file():
        with written_atomically(path) as temporary:
            temporary.write_bytes(model)
    return path


def engine_for(ray_address: str | None = None, workers: int | None = None, shared_paths: bool = False,
               pool: WorkerPool | None = None) -> ExtractionEngine:
    """The engine a command or page asked for: Ray when given a cluster address, else local (on
    `pool`, if given: see LocalEngine)."""
    return RayEngine(ray_address, shared_paths) if ray_address else LocalEngine(workers, pool)
