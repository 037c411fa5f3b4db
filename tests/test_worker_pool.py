"""The worker pool's one policy, on training's kind of task ("poses"; the upload queue's tests cover
"analysis"): a cancelled task stops and leaves its worker for the next, a worker killed under a
task fails it with the one crash message and is replaced."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.support.media import write_video
from wpa.poses.sequence import PoseOptions
from wpa.workers.budget import CpuBudget
from wpa.workers.pool import WorkerPool
from wpa.workers.protocol import CANCELLED, CRASHED, DONE, FAILED, Task


def poses_task(clip: Path, cache: Path) -> Task:
    options = PoseOptions()
    return Task("poses", {"video": str(clip), "key": clip.stem, "cache": str(cache),
                          "options": {**asdict(options), "model_path": str(options.model_path)}})


def started(run) -> None:
    """Wait until the run's worker has a pose model at work."""
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, "the task never started"
        process = run.process
        if process is not None:
            names = []
            for comm in Path(f"/proc/{process.pid}/task").glob("*/comm"):
                try:
                    names.append(comm.read_text())
                except OSError:
                    pass
            if any(name.startswith("wpa-pose-") for name in names):
                return
        time.sleep(0.02)


@pytest.fixture
def long_task(tmp_path):
    """A one-slot pool, a long clip's "poses" task followed in a thread (its pose model at work by
    then), and the thread's outcome once it ends; the pool is closed after the test."""
    pool = WorkerPool(CpuBudget(1))
    run = pool.submit(poses_task(write_video(tmp_path / "long.mp4", frames=900, size=(320, 240)), tmp_path / "cache"))
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(run.follow()))
    thread.start()
    try:
        started(run)
        yield pool, run, thread, outcome
    finally:
        run.cancel()
        thread.join(timeout=60)
        pool.close()


def test_a_cancelled_task_stops_and_its_worker_takes_the_next(long_task, tmp_path):
    pool, run, thread, outcome = long_task
    worker = run.process.pid
    run.cancel()
    thread.join(timeout=60)
    assert outcome[0].state == CANCELLED
    assert not list((tmp_path / "cache").glob("*"))  # nothing half-written
    assert pool.workers() == [worker]
    short_clip = write_video(tmp_path / "short.mp4", frames=5)
    assert pool.submit(poses_task(short_clip, tmp_path / "cache")).follow().state == DONE
    assert (tmp_path / "cache" / "short.npz").is_file() and pool.workers() == [worker]  # the same worker


def test_a_worker_killed_under_a_task_fails_it_and_is_replaced(long_task, tmp_path):
    pool, run, thread, outcome = long_task
    killed = run.process.pid
    os.kill(killed, signal.SIGKILL)
    thread.join(timeout=60)
    assert (outcome[0].state, outcome[0].error) == (FAILED, CRASHED)
    short_clip = write_video(tmp_path / "short.mp4", frames=5)
    assert pool.submit(poses_task(short_clip, tmp_path / "cache")).follow().state == DONE
    assert killed not in pool.workers() and len(pool.workers()) == 1
