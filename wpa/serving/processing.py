"""The heavy part of analysing a clip: its poses and its annotated video, written to the caches.

This is the work a worker process (`wpa.worker`, an "analysis" task) does for the Upload page, and
what `wpa.serving.analysis.analyze_video` does in its own process for the command line and the tests.
Poses are cached by the clip's content (and pose settings), annotated videos by content, model
and settings (`ClipFiles`), so the same clip uploaded again is not processed again.

It imports neither pandas nor plotly: a worker process holds only what the work needs.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from wpa.media.annotate import (RENDER_MAX_SIDE, Annotation, draw_video, frame_caption, render_annotated_video,
                          running_count)
from wpa.errors import WpaError
from wpa.recognition.features import FEATURE_SETS
from wpa.files import written_atomically
from wpa.recognition.inference import ClipPrediction, InferenceConfig, count_segment_repetitions, predict_clip
from wpa.serving.memory import hand_back_freed_memory
from wpa.recognition.model import ExerciseModel
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.poses.extract import extract_pose
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.poses.track import PoseTrack
from wpa.poses.cache import PoseCache
from wpa.workers.budget import cores
from wpa.workers.priority import lower_this_thread
from wpa.movement.sets import SetTracker
from wpa.media.video import VideoInfo

# Measured with benchmarks/pipeline.py: the drawing thread at niceness 10 costs the pose model less.
DRAWING_NICENESS = 10
# Clips at least this long are split among one pose model per core. The video of the later parts
# can only be drawn once the first part's poses are all in, so splitting a shorter clip costs more
# than it saves (measured with benchmarks/pipeline.py: 9 s clips were slower split, 14 s faster).
SPLIT_MIN_S = 12.0
ANNOTATION_VERSION = 2  # bump when the drawing changes, so cached videos are redrawn (2: the running count)


@dataclass(frozen=True)
class AnalysisProgress:
    """Where an analysis is: `stage` is "pose" (finding the person) or "video" (drawing)."""

    stage: str
    done: int
    total: int  # frames expected (the container's estimate; 0 if unknown)
    elapsed_s: float  # since this stage started

    @property
    def frames_per_second(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.frames_per_second
        return max(self.total - self.done, 0) / rate if rate and self.total else None


@dataclass(frozen=True)
class ClipFiles:
    """Where the analysis files of one clip, analysed by one model with one set of settings, are
    kept: its poses (an entry of `pose_cache`) and its annotated video."""

    pose_cache: PoseCache
    pose_key: str
    annotated_video: Path

    @property
    def pose_file(self) -> Path:
        return self.pose_cache.path(self.pose_key)

    @property
    def complete(self) -> bool:
        return self.pose_cache.load(self.pose_key) is not None and self.annotated_video.is_file()

    def load_pose(self) -> PoseSequence:
        """The clip's poses; WpaError if they are not (or no longer) in the cache."""
        pose = self.pose_cache.load(self.pose_key)
        if pose is None:
            raise WpaError("The clip's poses are no longer in the cache (it was cleared while the clip was "
                           "analysed). Upload the clip again.")
        return pose


def locate_files(video_path: str | Path, model: ExerciseModel, inference: InferenceConfig,
                 pose_options: PoseOptions | None = None, pose_cache_dir: Path = POSE_CACHE_DIR,
                 video_cache_dir: Path = ANNOTATED_CACHE_DIR) -> ClipFiles:
    """Where `video_path`'s analysis files are or will be (this reads the whole clip, to hash it)."""
    pose_cache = PoseCache(pose_cache_dir, pose_options or PoseOptions())
    pose_key = pose_cache.key(Path(video_path))
    return ClipFiles(pose_cache, pose_key, Path(video_cache_dir) / f"{pose_key}-{_settings_digest(model, inference)}.mp4")


def make_files(video_path: str | Path, info: VideoInfo, model: ExerciseModel, inference: InferenceConfig,
               files: ClipFiles, pose_options: PoseOptions | None = None,
               progress: Callable[[AnalysisProgress], None] | None = None, parts: int | None = None) -> bool:
    """Compute whichever of `files` are missing; True if anything had to be computed.

    `parts`: the most pose models to run at once (a worker is given its share of the server's CPU
    budget, `wpa.workers.budget`; default: one a core), used for a clip long enough to split
    (`pose_models_wanted`).

    Raises VideoError if the clip cannot be read. An exception raised by `progress` (a page that
    is left, a new upload) stops the work; nothing half-done is left in the caches.
    """
    video_path = Path(video_path)
    pose = files.pose_cache.load(files.pose_key)
    if pose is not None and files.annotated_video.is_file():
        return False
    if pose is None:
        with written_atomically(files.annotated_video) as partial:
            pose = _estimate_and_draw(video_path, info, model, inference, pose_options or PoseOptions(), partial,
                                      progress, min(pose_models_wanted(info), parts or cores()))
        files.pose_cache.save(files.pose_key, pose)
    if not files.annotated_video.is_file():  # poses from the cache, drawn with another model or settings
        prediction = count_segment_repetitions(predict_clip(model, pose, inference), pose)
        with written_atomically(files.annotated_video) as partial:
            render_annotated_video(video_path, pose, prediction, partial,
                                   progress=_stage_reporter("video", progress, total=len(pose)))
    return True


def pose_models_wanted(info: VideoInfo) -> int:
    """How many pose models the analysis of a clip can use at once: one a core for a clip of
    `SPLIT_MIN_S` or more, else one."""
    return cores() if info.duration_s >= SPLIT_MIN_S else 1


def prepare_worker_process() -> None:
    """Set up a process that analyses clips: an analysis worker calls this once, at its start.

    Freed memory is handed back every `TRIM_EVERY_S` (wpa.serving.memory). Left to glibc, on a 36 s 720p
    upload the peak RSS was 20-70 MB higher, the most when the pose models were freed and the
    people counter's landmarker allocated at once (`python -m benchmarks.pipeline --memory-only`).
    Measured and left: forcing large blocks to be mapped and unmapped each time (M_MMAP_THRESHOLD)
    bought as much but cost a fifth of the speed in page faults; fewer arenas (M_ARENA_MAX 1 or 2)
    bought nothing; trimming every 0.1 s, 5 MB more for 6% more CPU.
    """
    hand_back_freed_memory(TRIM_EVERY_S)


TRIM_EVERY_S = 0.2


def _estimate_and_draw(video_path: Path, info: VideoInfo, model: ExerciseModel, inference: InferenceConfig,
                       pose_options: PoseOptions, out_path: Path,
                       progress: Callable[[AnalysisProgress], None] | None, parts: int) -> PoseSequence:
    """The pose pass (a long clip split among one pose model per core), with the annotated video
    drawn at the same time by another thread a few seconds behind the poses, at lower priority:
    decoding, drawing and encoding fill the time the pose models leave."""
    track = PoseTrack(info.fps, (info.width, info.height))
    captions = CaptionsAsPosesArrive(track, model, inference)
    drawn = [0]
    failure: list[BaseException] = []

    def draw() -> None:
        try:
            # The pose model is the critical path; drawing (and the decoder and encoder threads
            # this thread starts, which inherit its priority) can wait for a core.
            lower_this_thread(DRAWING_NICENESS)
            # One decoding thread: the pose models have the cores (more held 7 MB more, for no speed).
            draw_video(video_path, out_path, captions, info.frame_count,
                       progress=lambda done, total: drawn.__setitem__(0, done), decoder_threads=1)
        except BaseException as error:  # raised in the caller's thread once the pose pass is over
            failure.append(error)

    drawer = threading.Thread(target=draw, name="wpa-draw", daemon=True)
    drawer.start()
    try:
        pose = extract_pose(video_path, pose_options, progress=_stage_reporter("pose", progress), track=track,
                            parts=parts, count_people=True,
                            info=info, decode_ahead=False)  # the drawing fills the cores' idle moments
        report = _stage_reporter("video", progress, total=len(pose))
        while drawer.is_alive():  # the last seconds of the video are drawn once all poses are in
            if report:
                report(drawn[0], len(pose))
            drawer.join(timeout=0.1)
        if report and not failure:
            report(drawn[0], len(pose))
    finally:
        captions.stop()
        drawer.join()
    if failure and not isinstance(failure[0], _Stopped):
        raise failure[0]
    return pose


class _Stopped(Exception):
    """The pose pass ended early (an error, a cancelled analysis): stop drawing."""


class CaptionsAsPosesArrive:
    """What `draw_video` draws on each frame, while the poses are still being found.

    A frame's caption depends on the poses of the seconds around it: the features look back over
    their window, the smoothing looks `3 × smoothing_s` both ways. So captions are predicted a
    block of frames at a time, once the poses reach that far past the block, from the block and
    that context alone; they equal `predict_clip` on the whole clip up to float rounding. The
    running count (`running_count`) is fed each frame as it is drawn, as `pose_annotations` feeds
    it from cached poses, so both draw the same video.
    """

    BLOCK_S = 1.0
    WAIT_S = 0.1

    def __init__(self, track: PoseTrack, model: ExerciseModel, inference: InferenceConfig):
        self._track, self._model, self._inference = track, model, inference
        self._reach_s = 3 * inference.smoothing_s
        self._context_s = FEATURE_SETS[model.feature_set].window_s + self._reach_s
        self._stopped = threading.Event()
        self._first, self._end = 0, 0  # the block predicted: frames [first, end) of the clip
        self._window: PoseSequence | None = None
        self._prediction: ClipPrediction | None = None
        self._sets = SetTracker()

    def stop(self) -> None:
        self._stopped.set()

    def __call__(self, index: int, timestamp_s: float) -> Annotation | None:
        if index >= self._end:
            self._predict_block(timestamp_s)
        if index >= self._end:
            return None  # the pose pass ended before this frame (a trailing frame, or an error)
        row = index - self._first
        # The clip's last frame: the pose pass is over (no frame comes at `inf`: only the end of the
        # track answers) and this is its last pose. In that order: the length is final once it is over.
        last = self._track.wait_until(math.inf, 0) and index == len(self._track) - 1
        reps = running_count(self._sets, self._window.landmarks[row], float(self._window.timestamps_s[row]),
                             self._prediction.frame_labels[row], self._window.aspect_ratio, last=last)
        return (self._window.landmarks[row], *frame_caption(self._prediction, row, reps))

    def _predict_block(self, start_s: float) -> None:
        end_s = start_s + self.BLOCK_S
        while not self._track.wait_until(end_s + self._reach_s, self.WAIT_S):
            if self._stopped.is_set():
                raise _Stopped()
        if self._stopped.is_set():
            raise _Stopped()
        # Context frames before the block feed its features and smoothing; those after, its smoothing.
        self._first = self._track.index_after(start_s - self._context_s - 1e-9)
        self._end = self._track.index_after(end_s)
        self._window = self._track.sequence(self._first, self._track.index_after(end_s + self._reach_s))
        self._prediction = predict_clip(self._model, self._window, self._inference)




def _stage_reporter(stage: str, progress: Callable[[AnalysisProgress], None] | None,
                    total: int | None = None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    started = time.monotonic()

    def report(done: int, expected: int) -> None:
        progress(AnalysisProgress(stage=stage, done=done, total=total or expected, elapsed_s=time.monotonic() - started))
    return report


def _settings_digest(model: ExerciseModel, inference: InferenceConfig) -> str:
    settings = json.dumps([ANNOTATION_VERSION, RENDER_MAX_SIDE, model.fingerprint, asdict(inference)])
    return hashlib.sha256(settings.encode()).hexdigest()[:16]
