"""A worker process of the server's pool (`wpa.workers.pool.WorkerPool`), for every kind of task.

    python -m wpa.worker [--niceness N]

It lowers its priority first (before importing the pipeline: importing torch, MediaPipe and PyAV
takes seconds of CPU, which the server's live streams come before), then runs the requests that
come on stdin one after another and answers on stdout (`wpa.workers.protocol`). Kinds of task:

- "analysis": an upload's analysis files (`wpa.serving.processing.make_files`: the poses of every
  frame and the annotated video), with one pose model for each CPU slot the task holds;
  {"video", "model", "inference", "pose_cache", "pose_key", "annotated_video"} -> {"computed"}.
- "poses": one clip's poses into the pose cache, for training; {"video", "key", "cache", "options"}
  -> {}, or an error saying why the clip cannot be read.

SIGTERM cancels the task in progress (half-written files are removed); a worker whose parent ends
cancels its task and ends; a closed stdin ends it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wpa.errors import Cancelled, WpaError
from wpa.workers import protocol

PROGRESS_EVERY_S = 0.2  # a page polls a few times a second; more lines would only cost the pipe


class Worker:
    """Runs requests one after another, keeping the last model loaded (the next is likely to need it)."""

    def __init__(self, answers=sys.stdout):
        self._answers = answers
        self._busy = False
        self._last_progress = 0.0
        self._models: dict[tuple[str, float], Any] = {}  # one ExerciseModel, by folder and date
        self._analysing = False  # the process has been set up for analyses

    def cancel(self, signum: int, frame) -> None:
        """SIGTERM: stop the task in progress (a signal between tasks is a cancel that came late)."""
        if self._busy:
            raise Cancelled("The task was cancelled.")

    def serve(self, requests) -> None:
        try:
            for line in requests:
                self._answer(self._handle(*protocol.read_request(line)))
        except BrokenPipeError:  # the server has gone: no one to answer
            pass

    def _handle(self, kind: str, args: dict[str, Any], slots: int) -> str:
        self._busy = True
        try:
            value = {"analysis": self._analysis, "poses": self._poses}[kind](args, slots)
            self._busy = False
            return protocol.done(value)
        except Cancelled as stopped:
            return protocol.cancelled(str(stopped))
        except WpaError as error:
            return protocol.failed(str(error))
        except Exception as error:  # a bug: say so in the answer rather than end the worker
            return protocol.failed(f"The work failed unexpectedly ({type(error).__name__}: {error}).")
        finally:
            self._busy = False

    # --- the kinds of task -------------------------------------------------------------------------

    def _analysis(self, args: dict[str, Any], slots: int) -> dict[str, Any]:
        from wpa.media.video import probe_video
        from wpa.movement.form.feedback import references_from_json
        from wpa.poses.cache import PoseCache
        from wpa.poses.sequence import PoseOptions
        from wpa.recognition.inference import InferenceConfig
        from wpa.serving.processing import ClipFiles, make_files, prepare_worker_process

        if not self._analysing:
            prepare_worker_process()
            self._analysing = True
        video = Path(args["video"])
        files = ClipFiles(PoseCache(args["pose_cache"], PoseOptions()), args["pose_key"],
                          Path(args["annotated_video"]))
        computed = make_files(video, probe_video(video), self._model(Path(args["model"])),
                              InferenceConfig(**args["inference"]), files, progress=self._report, parts=slots,
                              references=references_from_json(args.get("references", {})))
        return {"computed": computed}

    def _poses(self, args: dict[str, Any], slots: int) -> dict[str, Any]:
        from wpa.poses.cache import PoseCache
        from wpa.poses.extraction import extract_or_explain
        from wpa.poses.sequence import PoseOptions

        options = PoseOptions(**{**args["options"], "model_path": Path(args["options"]["model_path"])})
        result = extract_or_explain(Path(args["video"]), options)
        if isinstance(result, str):
            raise WpaError(result)
        PoseCache(args["cache"], options).save(args["key"], result)
        return {}

    def _model(self, directory: Path):
        from wpa.recognition.model import load_model

        key = (str(directory), (directory / "model.json").stat().st_mtime)
        if key not in self._models:
            self._models = {key: load_model(directory)}  # one at a time: the last one is what comes next
        return self._models[key]

    # --- answers -----------------------------------------------------------------------------------

    def _report(self, progress) -> None:  # an AnalysisProgress
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_S or progress.done >= progress.total:
            self._last_progress = now
            self._answer(protocol.progress(asdict(progress)))

    def _answer(self, line: str) -> None:
        self._answers.write(line)
        self._answers.flush()


def cancel_when_orphaned(poll_s: float = 1.0) -> None:
    """Cancel the task in progress when the process that started this one ends (a stopped or
    crashed server), rather than finish work no one will see; with its stdin closed, the worker
    then ends. A daemon thread watches the parent's id change."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)  # as a cancel: the half-written files are removed
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--niceness", type=int, default=0, help="added to this process's CPU niceness")
    args = parser.parse_args()
    if args.niceness:
        os.nice(args.niceness)
    cancel_when_orphaned()
    worker = Worker()
    signal.signal(signal.SIGTERM, worker.cancel)
    worker.serve(sys.stdin)


if __name__ == "__main__":
    main()
