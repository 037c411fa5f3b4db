"""An analysis worker process, started by `wpa.serving.analysis_queue.AnalysisQueue`.

It makes the analysis files of one clip at a time (`wpa.serving.processing.make_files`: the poses of every
frame and the annotated video) outside the app's server process, at a lower CPU priority, so the
server's live streams and pages are never starved by uploads.

    python -m wpa.serving.analysis_worker --niceness 10

Requests come on stdin, one JSON object a line: {"video", "model", "inference", "pose_cache",
"pose_key", "annotated_video"} (where the files go, as the queue located them: the clip is not
hashed twice). Answers go to stdout, one JSON object a line: {"progress": {stage, done, total,
elapsed_s}} a few times a second, then {"done": {"computed": bool}}, {"cancelled": "why"} or
{"error": "what a person should read"}. SIGTERM cancels the clip being analysed (its half-written
files are removed) and the worker waits for the next request; it ends when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from wpa.errors import Cancelled, WpaError

# The pipeline (torch, MediaPipe, PyAV) is imported only once `main` has lowered the process's
# priority: importing it takes seconds of CPU, which the server's live streams come before.

PROGRESS_EVERY_S = 0.2  # a page polls a few times a second; more lines would only cost the pipe


class Worker:
    """Serves requests one after another, keeping the last model loaded."""

    def __init__(self, answers=sys.stdout):
        self._answers = answers
        self._models: dict[tuple[str, float], object] = {}  # one ExerciseModel
        self._busy = False
        self._last_progress = 0.0

    def cancel(self, signum: int, frame) -> None:
        """SIGTERM: stop the clip in progress (a signal between clips is a cancel that came late)."""
        if self._busy:
            raise Cancelled("The analysis was cancelled.")

    def serve(self, requests) -> None:
        try:
            for line in requests:
                self._answer(self._handle(json.loads(line)))
        except BrokenPipeError:  # the server has gone: no one to answer
            pass

    def _handle(self, request: dict) -> dict:
        self._busy = True
        try:
            computed = self._analyse(request)
            self._busy = False
            return {"done": {"computed": computed}}
        except Cancelled as stopped:
            return {"cancelled": str(stopped)}
        except WpaError as error:
            return {"error": str(error)}
        except Exception as error:  # a bug: say so in the answer rather than end the worker
            return {"error": f"The analysis failed unexpectedly ({type(error).__name__}: {error})."}
        finally:
            self._busy = False

    def _analyse(self, request: dict) -> bool:
        from wpa.recognition.inference import InferenceConfig
        from wpa.poses.sequence import PoseOptions
        from wpa.poses.cache import PoseCache
        from wpa.serving.processing import ClipFiles, make_files
        from wpa.media.video import probe_video

        model = self._model(Path(request["model"]))
        inference = InferenceConfig(**request["inference"])
        video = Path(request["video"])
        files = ClipFiles(PoseCache(request["pose_cache"], PoseOptions()), request["pose_key"],
                          Path(request["annotated_video"]))
        return make_files(video, probe_video(video), model, inference, files, progress=self._report)

    def _model(self, directory: Path):
        from wpa.recognition.model import load_model

        key = (str(directory), (directory / "model.json").stat().st_mtime)
        if key not in self._models:
            self._models = {key: load_model(directory)}  # one at a time: the last one is what comes next
        return self._models[key]

    def _report(self, progress) -> None:  # an AnalysisProgress
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_S or progress.done >= progress.total:
            self._last_progress = now
            self._answer({"progress": asdict(progress)})

    def _answer(self, answer: dict) -> None:
        self._answers.write(json.dumps(answer) + "\n")
        self._answers.flush()


def cancel_when_orphaned(poll_s: float = 1.0) -> None:
    """Cancel the clip in progress when the process that started this one ends (a stopped or
    crashed server), rather than finish a clip no one will see; with its stdin closed, the worker
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
    from wpa.serving.processing import prepare_worker_process  # the pipeline, imported at the lower priority

    prepare_worker_process()
    worker = Worker()
    signal.signal(signal.SIGTERM, worker.cancel)
    worker.serve(sys.stdin)


if __name__ == "__main__":
    main()
