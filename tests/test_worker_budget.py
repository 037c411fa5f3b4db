"""One CPU budget for the whole server: two uploads and a training job's extraction, all at once on
the server's worker pool, never run more pose models at a time than the budget has slots.

The pose models are counted from outside, as the system sees them: each runs in a thread that
/proc shows as `wpa-pose-ID` (`wpa.poses.extract.POSE_THREAD_NAME`; the helper threads it starts
inherit that name, so a pose model is one name), in the pool's worker processes, sampled every few
milliseconds while the work runs."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.media import write_video
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.poses.extract import POSE_THREAD_NAME
from wpa.poses.extraction import LocalEngine
from wpa.recognition.dataset import extract_dataset
from wpa.recognition.folders import scan_dataset
from wpa.recognition.model import load_model
from wpa.serving.analysis_queue import DONE, AnalysisQueue
from wpa.workers.budget import CpuBudget
from wpa.workers.pool import WorkerPool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through Linux's /proc")

SLOTS = 2  # a two-core server


def pose_models_running(pool: WorkerPool) -> int:
    """The pose models running now in the pool's workers: the names of their threads."""
    running = 0
    for pid in pool.workers():
        names = set()
        for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
            try:
                names.add(comm.read_text().strip())
            except OSError:  # the thread (or the process) has just ended
                pass
        running += sum(name.startswith(f"{POSE_THREAD_NAME}-") for name in names)
    return running


def most_pose_models_at_once(slots: int, folder: Path) -> int:
    """Two uploads of 13 s clips (each worth one pose model a core) and a training job extracting
    six clips in two lanes, started together on a pool of `slots` CPU slots: the most pose models
    seen running at once until all is done."""
    uploads = [write_video(folder / f"upload-{k}.mp4", frames=130, fps=10, size=(320 + 16 * k, 240)) for k in range(2)]
    for k in range(6):
        (folder / "data" / f"class{k % 2}").mkdir(parents=True, exist_ok=True)
        write_video(folder / "data" / f"class{k % 2}" / f"clip{k}.mp4", frames=60 + k, fps=10, size=(320, 240))
    pool = WorkerPool(CpuBudget(slots))
    queue = AnalysisQueue(workers=2, pool=pool, pose_cache_dir=folder / "poses", video_cache_dir=folder / "videos")
    extracted = []
    training = threading.Thread(target=lambda: extracted.append(extract_dataset(
        scan_dataset(folder / "data").clips, folder / "training-poses", engine=LocalEngine(2, pool))))
    most = 0
    try:
        training.start()
        model = load_model(DEFAULT_MODEL_DIR)
        tickets = [queue.submit(upload, model, DEFAULT_MODEL_DIR) for upload in uploads]
        deadline = time.monotonic() + 600
        while training.is_alive() or not all(ticket.status().finished for ticket in tickets):
            assert time.monotonic() < deadline, "the work did not end in 10 minutes"
            most = max(most, pose_models_running(pool))
            time.sleep(0.005)
        assert [ticket.status().state for ticket in tickets] == [DONE, DONE]
        assert len(extracted[0].clips) == 6
    finally:
        queue.close()
        training.join()
        pool.close()
    return most


def test_two_uploads_and_a_training_job_never_run_more_pose_models_than_the_budget(tmp_path):
    most = most_pose_models_at_once(SLOTS, tmp_path)
    print(f"at most {most} pose models at once")
    assert 0 < most <= SLOTS


def test_the_count_sees_more_when_each_asks_for_every_core(tmp_path):
    """As before the budget: each upload one pose model a core and training one process a core
    (three times the slots) run more pose models at once than the cores, and the count sees it."""
    most = most_pose_models_at_once(3 * SLOTS, tmp_path)
    print(f"at most {most} pose models at once")
    assert most > SLOTS
