"""The worker pool: worker processes (`python -m wpa.worker`) that run every kind of heavy task for
the server (an upload's analysis, one clip's poses for training) under one CPU budget.

A task takes its slots from the pool's `CpuBudget` (waiting its turn), then an idle worker process
(or a new one), sends its request (`wpa.workers.protocol`) and follows the answers to the end; the
caller's thread does the following, so a caller runs as many tasks at once as it has threads
(`map` runs a list of them in lanes). One policy for every kind of task:

- Workers run `niceness` below the server, lowered before they import the pipeline: the server's
  own thread (live streams, pages) keeps priority.
- A cancelled task is dropped if it has not started, else its worker gets SIGTERM (stopping the
  task, removing its half-written files) and is killed if it does not answer within
  `CANCEL_GRACE_S`.
- A worker that ends under a task fails that task with `CRASHED` and is not used again; the next
  task gets a new one.
- A worker whose parent (the server) dies cancels its task and ends (`wpa.worker`).
- A worker idle for `idle_exit_s` ends, giving its memory (pose models, torch) back.

Plain child processes with pipes, not multiprocessing or concurrent.futures: inside `streamlit
run` a spawned child of those imports the page script as its __main__, and when a pool's worker
dies every task in flight fails with it, where here only its own task does.
"""

from __future__ import annotations

import collections
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from wpa.paths import worker_environment
from wpa.workers.budget import CpuBudget
from wpa.workers.priority import BACKGROUND_NICENESS
from wpa.workers.protocol import CANCELLED, CRASHED, FAILED, Outcome, Task, read_answer, request

IDLE_EXIT_S = 120.0
CANCEL_GRACE_S = 10.0


class Run:
    """One task on the pool: `follow()` it in a thread of the caller's, `cancel()` it from any."""

    def __init__(self, pool: WorkerPool, task: Task):
        self.task = task
        self._pool = pool
        self._lock = threading.Lock()
        self._cancelled = False
        self._ended = False
        self.process: subprocess.Popen | None = None  # while a worker runs it
        self.slots = 0  # CPU slots held while it runs

    def cancel(self) -> None:
        """Drop the task if it waits; stop it if it runs. Harmless once it has ended."""
        with self._lock:
            if self._cancelled or self._ended:
                return
            self._cancelled = True
            process = self.process
            if process is not None:
                # Under the lock: the worker cannot have moved on to another task (it is given one
                # only once this run has let it go, under the same lock).
                process.terminate()
                killer = threading.Timer(CANCEL_GRACE_S, self._kill_if_still_on, (process,))
                killer.daemon = True
                killer.start()
        self._pool.budget.wake()

    def follow(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Outcome:
        """Wait for slots and a worker, run the task, pass on its progress reports; how it ended."""
        self.slots = self._pool.budget.take(self.task.slots, stop=lambda: self._cancelled)
        process = None
        if not self.slots:
            with self._lock:
                self._ended = True
            return Outcome(CANCELLED)
        try:
            try:
                process = self._pool._checkout()
            except OSError as error:  # out of processes or memory
                return Outcome(FAILED, error=f"No worker process could be started ({error.strerror or error}); "
                                             "try again.")
            with self._lock:
                if self._cancelled:
                    return Outcome(CANCELLED)
                self.process = process
            outcome = self._converse(process, progress)
            if outcome is None:  # no answer: the worker ended (killed after a cancel, a crash)
                process.wait()
                outcome = Outcome(CANCELLED) if self._cancelled else Outcome(FAILED, error=CRASHED)
            return outcome
        finally:
            with self._lock:
                self.process = None
                self._ended = True
            if process is not None:
                self._pool._checkin(process)
            self._pool.budget.give_back(self.slots)
            self.slots = 0

    def _converse(self, process: subprocess.Popen, progress) -> Outcome | None:
        try:
            process.stdin.write(request(self.task, self.slots))
            process.stdin.flush()
        except OSError:  # it died while idle: its stdout ends at once
            pass
        for line in process.stdout:
            answer = read_answer(line)
            if isinstance(answer, Outcome):
                return answer
            if progress is not None:
                progress(answer)
        return None

    def _kill_if_still_on(self, process: subprocess.Popen) -> None:
        with self._lock:
            if not self._ended and process.poll() is None:
                process.kill()


class WorkerPool:
    """Worker processes at `niceness` below this one, running tasks within `budget` (default: one
    slot a core). `command` starts a worker (tests give a stand-in)."""

    def __init__(self, budget: CpuBudget | None = None, niceness: int = BACKGROUND_NICENESS,
                 idle_exit_s: float = IDLE_EXIT_S, command: list[str] | None = None):
        self.budget = budget or CpuBudget()
        self.idle_exit_s = idle_exit_s
        self.command = command or [sys.executable, "-m", "wpa.worker", "--niceness", str(niceness)]
        self._lock = threading.Condition()
        self._idle: list[tuple[subprocess.Popen, float]] = []  # and since when
        self._busy: set[subprocess.Popen] = set()
        self._reaper: threading.Thread | None = None
        self._closed = False

    def submit(self, task: Task) -> Run:
        """A run of `task`, to follow in a thread of the caller's (nothing starts before)."""
        return Run(self, task)

    def map(self, tasks: Sequence[Task], lanes: int | None = None) -> Iterator[tuple[Task, Outcome]]:
        """Run `tasks`, at most `lanes` at once (default: the budget's slots), in the order given;
        yield each with its outcome as it ends. Closing the generator drops the tasks not started
        and cancels those running."""
        waiting = collections.deque(tasks)
        ended: queue.Queue[tuple[Task, Outcome]] = queue.Queue()
        running: set[Run] = set()
        lock, stopped = threading.Lock(), threading.Event()

        def lane() -> None:
            while True:
                with lock:
                    if stopped.is_set() or not waiting:
                        return
                    run = self.submit(waiting.popleft())
                    running.add(run)
                try:
                    outcome = run.follow()
                except Exception as error:  # a bug: its task fails visibly rather than hang the map
                    outcome = Outcome(FAILED, error=f"{type(error).__name__}: {error}")
                with lock:
                    running.discard(run)
                ended.put((run.task, outcome))

        threads = [threading.Thread(target=lane, name=f"wpa-pool-lane-{k}", daemon=True)
                   for k in range(max(1, min(lanes or self.budget.slots, len(tasks))))]
        for thread in threads:
            thread.start()
        try:
            for _ in range(len(tasks)):
                yield ended.get()
        finally:
            with lock:
                stopped.set()
                waiting.clear()
                for run in running:
                    run.cancel()
            for thread in threads:
                thread.join()

    def workers(self) -> list[int]:
        """The process ids of the pool's workers, busy and idle."""
        with self._lock:
            return [process.pid for process in [*self._busy, *(p for p, _ in self._idle)]]

    def close(self) -> None:
        """End the idle workers; a worker still running a task ends when its run lets it go."""
        with self._lock:
            self._closed = True
            idle, self._idle = [p for p, _ in self._idle], []
            self._lock.notify_all()
        for process in idle:
            _end(process)

    # --- worker processes --------------------------------------------------------------------------

    def _checkout(self) -> subprocess.Popen:
        with self._lock:
            while self._idle:
                process, _ = self._idle.pop()  # the most recently used: the others may idle out
                if process.poll() is None:
                    self._busy.add(process)
                    return process
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       env=worker_environment())
            self._busy.add(process)
            return process

    def _checkin(self, process: subprocess.Popen) -> None:
        """Take back a worker a run is done with: idle for the next, or ended (the pool is closed),
        or forgotten (it has ended: the next task gets a new one)."""
        with self._lock:
            self._busy.discard(process)
            if process.poll() is not None:
                return
            if not self._closed:
                self._idle.append((process, time.monotonic()))
                if self._reaper is None or not self._reaper.is_alive():
                    self._reaper = threading.Thread(target=self._reap, name="wpa-pool-reaper", daemon=True)
                    self._reaper.start()
                self._lock.notify_all()
                return
        _end(process)

    def _reap(self) -> None:
        """End workers idle for `idle_exit_s`; return once none is idle."""
        while True:
            with self._lock:
                if not self._idle:
                    self._reaper = None
                    return
                oldest = min(since for _, since in self._idle)
                self._lock.wait(timeout=max(0.0, oldest + self.idle_exit_s - time.monotonic()))
                now = time.monotonic()
                expired = [process for process, since in self._idle if now - since >= self.idle_exit_s]
                self._idle = [(process, since) for process, since in self._idle if process not in expired]
            for process in expired:
                _end(process)


def _end(process: subprocess.Popen) -> None:
    """End an idle worker: a closed stdin is its signal to exit."""
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
