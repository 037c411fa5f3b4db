"""The upload queue: clips wait in order for a bounded number of the pool's workers, say where they
stand, are cancelled by their askers, and are never analysed twice at once.

Most tests drive the queue with a stand-in worker (tests/support/stand_in_worker.py) whose
analyses are timed sleeps; the last ones use the real worker on real clips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.data import REPO, SQUAT_CLIP
from tests.support.media import write_video
from tests.support.movement import curl
from wpa.movement.form import fit_profile
from wpa.movement.form.feedback import Reference
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.recognition.inference import InferenceConfig
from wpa.recognition.model import load_model
from wpa.serving.analysis import read_analysis
from wpa.serving.analysis_queue import CANCELLED, DONE, FAILED, RUNNING, WAITING, AnalysisQueue
from wpa.serving.disk import BoundedFolder
from wpa.workers.budget import CpuBudget, cores
from wpa.workers.pool import WorkerPool
from wpa.workers.priority import BACKGROUND_NICENESS, MAX_NICENESS
from wpa.workers.protocol import CRASHED

STAND_IN = REPO / "tests" / "support" / "stand_in_worker.py"


@pytest.fixture(scope="module")
def shipped():
    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture
def queues():
    """Makes queues, each on a pool of its own (`workers` CPU slots; `command` starts a worker), and
    closes them after the test: no worker process or slot thread outlives it."""
    made = []

    def make(workers: int = 1, command: list[str] | None = None, **options) -> AnalysisQueue:
        made.append(AnalysisQueue(workers=workers, pool=WorkerPool(CpuBudget(workers), command=command), **options))
        return made[-1]
    yield make
    for queue in made:
        queue.close()
        queue.pool.close()
        assert not any(slot.is_alive() for slot in queue._slots)
        assert not queue.pool.workers()


def worker_of(ticket):
    """The worker process running a ticket's analysis (once it has one)."""
    wait_for(lambda: ticket._analysis.run is not None and ticket._analysis.run.process is not None)
    return ticket._analysis.run.process


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_video(tmp_path / "pattern.mp4", frames=10)


def stand_in_queue(queues, tmp_path: Path, workers: int) -> tuple[AnalysisQueue, Path]:
    log = tmp_path / "worker.log"
    log.touch()
    return queues(workers=workers, pose_cache_dir=tmp_path / "poses", video_cache_dir=tmp_path / "videos",
                  command=[sys.executable, str(STAND_IN), str(log)]), log


def submit_copy(queue: AnalysisQueue, clip: Path, shipped, name: float):
    """Queue a copy of `clip` (the queue takes the file), told apart by its smoothing setting."""
    copy = clip.with_name(f"copy-{name}-{time.monotonic_ns()}{clip.suffix}")
    shutil.copy(clip, copy)
    return queue.submit(copy, shipped, DEFAULT_MODEL_DIR, InferenceConfig(smoothing_s=name))


def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def test_more_clips_than_workers_wait_in_order_and_say_where_they_stand(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    tickets = [submit_copy(queue, clip, shipped, name) for name in (0.1, 0.2, 0.3, 0.4)]
    wait_for(lambda: tickets[0].status().state == RUNNING)
    waiting = [ticket.status() for ticket in tickets[1:]]
    assert [status.state for status in waiting] == [WAITING] * 3
    assert [status.ahead for status in waiting] == [0, 1, 2]
    # Each waits for the work before it: the later in the line, the longer the wait.
    assert 0 < waiting[0].wait_s < waiting[1].wait_s < waiting[2].wait_s
    assert queue.counts() == (1, 3)
    for ticket in tickets:
        assert ticket.wait(timeout=30).state == DONE
    assert [line.split()[1] for line in log_lines(log) if line.startswith("done")] == ["0.1", "0.2", "0.3", "0.4"]
    assert len({line.split()[2] for line in log_lines(log) if line.startswith("start")}) == 1  # one worker process


def test_two_workers_run_two_clips_at_once(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=2)
    tickets = [submit_copy(queue, clip, shipped, name) for name in (0.1, 0.2, 0.3)]
    wait_for(lambda: [t.status().state for t in tickets] == [RUNNING, RUNNING, WAITING])
    assert tickets[2].status().ahead == 0
    assert all(ticket.wait(timeout=30).state == DONE for ticket in tickets)


def test_cancelling_a_waiting_clip_moves_the_line_up(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    first, second, third = (submit_copy(queue, clip, shipped, name) for name in (0.1, 0.2, 0.3))
    wait_for(lambda: first.status().state == RUNNING)
    assert third.status().ahead == 1
    second.cancel()
    assert second.status().state == CANCELLED
    assert third.status().ahead == 0
    assert third.wait(timeout=30).state == DONE
    assert not any(line.split()[1] == "0.2" for line in log_lines(log))  # never started


def test_cancelling_a_running_clip_frees_its_worker_for_the_next(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    running, waiting = submit_copy(queue, clip, shipped, 0.1), submit_copy(queue, clip, shipped, 0.2)
    wait_for(lambda: running.status().progress is not None)
    running.cancel()
    assert running.wait(timeout=10).state == CANCELLED
    # The next clip starts at once, in the same worker process, long before the first would have ended.
    wait_for(lambda: waiting.status().state == RUNNING, timeout_s=0.9)
    assert waiting.wait(timeout=30).state == DONE
    lines = log_lines(log)
    assert "cancelled 0.1" in lines and "done 0.1" not in lines
    assert len({line.split()[2] for line in lines if line.startswith("start")}) == 1


def test_the_same_clip_and_settings_asked_twice_are_analysed_once(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    first, second = submit_copy(queue, clip, shipped, 0.1), submit_copy(queue, clip, shipped, 0.1)
    assert queue.counts() in ((1, 0), (0, 1))
    wait_for(lambda: first.status().state == RUNNING)
    first.cancel()  # the other asker still wants it
    assert second.wait(timeout=30).state == DONE
    assert [line.split()[0] for line in log_lines(log)] == ["start", "done"]


def test_a_worker_that_dies_fails_its_clip_and_the_next_gets_a_new_worker(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    crashing, after = submit_copy(queue, clip, shipped, 1.9), submit_copy(queue, clip, shipped, 0.2)
    status = crashing.wait(timeout=30)
    assert (status.state, status.error) == (FAILED, CRASHED)
    assert after.wait(timeout=30).state == DONE
    assert len({line.split()[2] for line in log_lines(log) if line.startswith("start")}) == 2


def test_an_idle_worker_ends_and_a_new_one_starts_when_needed(queues, tmp_path, clip, shipped):
    queue, log = stand_in_queue(queues, tmp_path, workers=1)
    queue.pool.idle_exit_s = 0.3
    assert submit_copy(queue, clip, shipped, 0.1).wait(timeout=30).state == DONE
    wait_for(lambda: not queue.pool.workers(), timeout_s=10)
    assert submit_copy(queue, clip, shipped, 0.2).wait(timeout=30).state == DONE
    assert len({line.split()[2] for line in log_lines(log) if line.startswith("start")}) == 2


def test_an_unreadable_file_is_refused_before_it_is_queued(queues, tmp_path, shipped):
    queue, _ = stand_in_queue(queues, tmp_path, workers=1)
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    from wpa.errors import VideoError
    with pytest.raises(VideoError, match="not a video file"):
        queue.submit(bad, shipped, DEFAULT_MODEL_DIR)
    assert queue.counts() == (0, 0)


# --- the real worker -------------------------------------------------------------------------------

def test_the_real_worker_analyses_a_clip_at_a_lower_priority(queues, tmp_path, videos, shipped):
    queue = queues(workers=1, pose_cache_dir=tmp_path / "poses", video_cache_dir=tmp_path / "videos")
    # A cache too small for one video: trimmed after the analysis, it still keeps what a ticket holds.
    queue.annotated_videos = BoundedFolder(tmp_path / "videos", 1, "Annotated videos")
    copy = tmp_path / "upload.mp4"
    shutil.copy(videos / SQUAT_CLIP, copy)
    # The squats judged against a curl's reference (far from it: every repetition gets a cue).
    references = {"squat": Reference(fit_profile([curl(seed=s) for s in range(4)]), "yours")}
    ticket = queue.submit(copy, shipped, DEFAULT_MODEL_DIR, references=references)
    assert not copy.exists()  # the queue took the file
    wait_for(lambda: ticket.status().state == RUNNING)
    worker = worker_of(ticket)
    # Lowered first thing, before the pipeline's imports (19 at most: a test run niced already).
    lowered = min(os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS, MAX_NICENESS)
    wait_for(lambda: os.getpriority(os.PRIO_PROCESS, worker.pid) == lowered, timeout_s=5)
    assert ticket.status().state == RUNNING
    status = ticket.wait(timeout=300)
    assert (status.state, status.computed) == (DONE, True)
    analysis = read_analysis(ticket.files, ticket.info, model_name="shipped", video_name="upload.mp4", reused=False,
                             references=references)
    assert analysis.prediction.label == "squat"
    # The worker judged the form (the references went to it as JSON) and saved it with the video.
    judged = [rep for form in analysis.form if form for rep in form.reps]
    assert len(judged) == analysis.prediction.reps and all(rep.cues for rep in judged)
    assert analysis.annotated_video.stat().st_size > 0
    shown = ticket.lease_video()  # as the page keeps it
    ticket.cancel()
    assert queue.annotated_videos.evict() == [] and analysis.annotated_video.is_file()
    shown.release()
    # The video and its prediction are one entry, evicted together.
    assert queue.annotated_videos.evict() == [analysis.annotated_video.parent] and not analysis.annotated_video.exists()
    shutil.copy(videos / SQUAT_CLIP, copy)
    redrawn = queue.submit(copy, shipped, DEFAULT_MODEL_DIR, references=references)  # held: its leases keep the files
    assert redrawn.wait(timeout=300).state == DONE
    # Asked again: the files are in the caches, nothing runs.
    shutil.copy(videos / SQUAT_CLIP, copy)
    again = queue.submit(copy, shipped, DEFAULT_MODEL_DIR, references=references).status()
    assert (again.state, again.computed) == (DONE, False)


def test_the_real_worker_stops_a_cancelled_clip_leaving_nothing_half_written(queues, tmp_path, videos, shipped):
    queue = queues(workers=1, pose_cache_dir=tmp_path / "poses", video_cache_dir=tmp_path / "videos")
    clips = []
    for name in ("first.mp4", "second.mp4"):
        shutil.copy(videos / SQUAT_CLIP, tmp_path / name)
        clips.append(tmp_path / name)
    cancelled = queue.submit(clips[0], shipped, DEFAULT_MODEL_DIR, InferenceConfig(smoothing_s=0.4))
    wait_for(lambda: (cancelled.status().progress or None) is not None and cancelled.status().progress.done > 5,
             timeout_s=120)
    worker = worker_of(cancelled)
    cancelled.cancel()
    assert cancelled.wait(timeout=30).state == CANCELLED
    assert not any((tmp_path / "videos").glob("*")) and not any((tmp_path / "poses").glob("*"))
    following = queue.submit(clips[1], shipped, DEFAULT_MODEL_DIR)
    wait_for(lambda: following.status().state == RUNNING)
    assert worker_of(following) is worker  # the same worker, still alive
    assert following.wait(timeout=300).state == DONE


def test_a_status_says_where_the_clip_stands():
    from wpa.serving.analysis_queue import TicketStatus
    from wpa.serving.processing import AnalysisProgress

    assert TicketStatus(WAITING, 2, 41.6, None).text() == "Waiting for a free worker: 2 clips ahead of yours · about 42 s"
    assert TicketStatus(WAITING, 1, 9.0, None).text() == "Waiting for a free worker: 1 clip ahead of yours · about 9 s"
    assert TicketStatus(WAITING, 0, 3.0, None).text() == "Waiting for a free worker: yours is next · about 3 s"
    assert TicketStatus(RUNNING, 0, None, None).text() == "Starting the analysis…"
    running = TicketStatus(RUNNING, 0, None, AnalysisProgress("pose", 50, 200, 2.0))
    assert running.text() == "Finding the person in every frame: frame 50 of 200 · 25 frames/s · about 6 s left"
    assert running.fraction == 0.25 and TicketStatus(WAITING, 0, 3.0, None).fraction == 0.0


def test_the_queue_runs_as_many_clips_at_once_as_asked_or_as_its_pool_has_slots():
    assert AnalysisQueue().workers == cores()
    assert AnalysisQueue(workers=3).workers == 3
    assert AnalysisQueue(pool=WorkerPool(CpuBudget(5))).workers == 5


def test_a_worker_whose_server_dies_stops_its_clip_and_ends(tmp_path, videos):
    """A server killed mid-analysis leaves no worker finishing a clip for no one, and no
    half-written file in the caches."""
    shutil.copy(videos / SQUAT_CLIP, tmp_path / "clip.mp4")
    server = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from wpa.serving.analysis_queue import AnalysisQueue\n"
        "from wpa.recognition.model import load_model\n"
        "from wpa.paths import DEFAULT_MODEL_DIR\n"
        "home = Path(sys.argv[1])\n"
        "queue = AnalysisQueue(workers=1, pose_cache_dir=home / 'poses', video_cache_dir=home / 'videos')\n"
        "ticket = queue.submit(home / 'clip.mp4', load_model(DEFAULT_MODEL_DIR), DEFAULT_MODEL_DIR)\n"
        "while not (ticket.status().progress and ticket.status().progress.done > 5):\n"
        "    time.sleep(0.05)\n"
        "while ticket._analysis.run.process is None:\n"
        "    time.sleep(0.05)\n"
        "print(ticket._analysis.run.process.pid, flush=True)\n"
        "os._exit(9)\n")
    run = subprocess.run([sys.executable, "-c", server, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    worker = int(run.stdout.split()[-1])
    wait_for(lambda: not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2],
             timeout_s=30)
    assert not [path for path in tmp_path.rglob("*") if path.is_file() and path.parent != tmp_path]
