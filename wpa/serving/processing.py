"""The heavy part of analysing a clip: its poses, its prediction (classes, segments, repetitions)
and its annotated video, written to the caches.

This is the work a worker process (`wpa.worker`, an "analysis" task) does for the Upload page, and
what `wpa.serving.analysis.analyze_video` does in its own process for the command line and the tests.
Poses are cached by the clip's content (and pose settings), the prediction and the annotated video
by content, model and settings (`ClipFiles`: one entry of the annotated-video cache holds both),
so the same clip uploaded again is not processed again. The model runs here once per clip, and
its form is judged here once (against the references the page gives, which are part of the key):
the page reads the saved prediction and form, and the video is drawn after the clip is counted and
judged, so the count and the cues it shows are the clip's.

It imports neither pandas nor plotly: a worker process holds only what the work needs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from wpa.errors import WpaError
from wpa.files import written_atomically
from wpa.media.annotate import RENDER_MAX_SIDE, render_annotated_video
from wpa.media.video import VideoInfo
from wpa.movement.form.feedback import Reference, references_json, segment_forms
from wpa.movement.form.saved import load_forms, save_forms
from wpa.movement.form.units import ClipForm
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.poses.cache import PoseCache
from wpa.poses.extract import extract_pose
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.recognition.inference import ClipPrediction, InferenceConfig
from wpa.recognition.model import ExerciseModel
from wpa.recognition.recognizer import Recognizer
from wpa.recognition.saved_prediction import load_prediction, save_prediction
from wpa.serving.memory import hand_back_freed_memory
from wpa.workers.budget import cores

# Clips at least this long are split among one pose model per core. Measured with
# benchmarks/pipeline.py while the video was drawn during the pose pass (9 s clips were slower
# split, 14 s faster); the video is now drawn after it, so this is worth measuring again.
SPLIT_MIN_S = 12.0
# Bump when the drawing or the saved prediction changes, so cached entries are made again
# (2: the running count; 3: the prediction saved beside the video, the count from the clip's repetitions;
# 4: form cues under the count, the form saved beside the prediction).
ANNOTATION_VERSION = 4


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
    kept: its poses (an entry of `pose_cache`), and its annotated video with its prediction and form
    beside it (one folder: an entry of the annotated-video cache, leased and evicted as one)."""

    pose_cache: PoseCache
    pose_key: str
    annotated_video: Path

    @property
    def pose_file(self) -> Path:
        return self.pose_cache.path(self.pose_key)

    @property
    def prediction_file(self) -> Path:
        return self.annotated_video.with_name("prediction.npz")

    @property
    def form_file(self) -> Path:
        return self.annotated_video.with_name("form.json")

    @property
    def complete(self) -> bool:
        return (self.pose_cache.load(self.pose_key) is not None and self.annotated_video.is_file()
                and load_forms(self.form_file) is not None and load_prediction(self.prediction_file) is not None)

    def load_prediction(self) -> ClipPrediction:
        """The clip's saved prediction; WpaError if it is not (or no longer) in the cache."""
        prediction = load_prediction(self.prediction_file)
        if prediction is None:
            raise WpaError("The clip's analysis is no longer in the cache (it was cleared while the clip was "
                           "analysed). Upload the clip again.")
        return prediction

    def load_forms(self) -> tuple[ClipForm | None, ...]:
        """The clip's saved form, one per segment of its prediction; WpaError if it is not (or no
        longer) in the cache."""
        forms = load_forms(self.form_file)
        if forms is None:
            raise WpaError("The clip's form is no longer in the cache (it was cleared while the clip was "
                           "analysed). Upload the clip again.")
        return forms

    def load_pose(self) -> PoseSequence:
        """The clip's poses; WpaError if they are not (or no longer) in the cache."""
        pose = self.pose_cache.load(self.pose_key)
        if pose is None:
            raise WpaError("The clip's poses are no longer in the cache (it was cleared while the clip was "
                           "analysed). Upload the clip again.")
        return pose


def locate_files(video_path: str | Path, model: ExerciseModel, inference: InferenceConfig,
                 pose_options: PoseOptions | None = None, pose_cache_dir: Path = POSE_CACHE_DIR,
                 video_cache_dir: Path = ANNOTATED_CACHE_DIR,
                 references: dict[str, Reference] | None = None) -> ClipFiles:
    """Where `video_path`'s analysis files are or will be (this reads the whole clip, to hash it),
    its form judged against `references` (by exercise)."""
    pose_cache = PoseCache(pose_cache_dir, pose_options or PoseOptions())
    pose_key = pose_cache.key(Path(video_path))
    entry = Path(video_cache_dir) / f"{pose_key}-{_settings_digest(model, inference, references or {})}"
    return ClipFiles(pose_cache, pose_key, entry / "annotated.mp4")


def make_files(video_path: str | Path, info: VideoInfo, model: ExerciseModel, inference: InferenceConfig,
               files: ClipFiles, pose_options: PoseOptions | None = None,
               progress: Callable[[AnalysisProgress], None] | None = None, parts: int | None = None,
               references: dict[str, Reference] | None = None) -> bool:
    """Compute whichever of `files` are missing; True if anything had to be computed: the poses
    (a long clip split among up to `parts` pose models, default one a core), then the prediction
    (the recogniser, once) and its form (against `references`, the ones `files` were located
    with), then the video drawn from them.

    `parts`: the most pose models to run at once (a worker is given its share of the server's CPU
    budget, `wpa.workers.budget`; default: one a core), used for a clip long enough to split
    (`pose_models_wanted`).

    Raises VideoError if the clip cannot be read. An exception raised by `progress` (a page that
    is left, a new upload) stops the work; nothing half-done is left in the caches.
    """
    video_path = Path(video_path)
    if files.complete:
        return False
    pose = files.pose_cache.load(files.pose_key)
    if pose is None:
        pose = extract_pose(video_path, pose_options, progress=_stage_reporter("pose", progress),
                            parts=min(pose_models_wanted(info), parts or cores()), count_people=True, info=info)
        files.pose_cache.save(files.pose_key, pose)
    prediction = Recognizer(model, inference).predict_clip(pose)
    forms = segment_forms(prediction, pose, references or {})
    try:
        with written_atomically(files.annotated_video) as partial:
            render_annotated_video(video_path, pose, prediction, partial,
                                   progress=_stage_reporter("video", progress, total=len(pose)), forms=forms)
        save_forms(forms, files.form_file)
        save_prediction(prediction, files.prediction_file)  # last: `complete` once it is there
    except BaseException:
        _remove_if_empty(files.annotated_video.parent)  # a cancelled clip leaves no empty entry
        raise
    return True


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (another session's files), or already gone
        pass


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


def _stage_reporter(stage: str, progress: Callable[[AnalysisProgress], None] | None,
                    total: int | None = None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    started = time.monotonic()

    def report(done: int, expected: int) -> None:
        progress(AnalysisProgress(stage=stage, done=done, total=total or expected, elapsed_s=time.monotonic() - started))
    return report


def _settings_digest(model: ExerciseModel, inference: InferenceConfig, references: dict[str, Reference]) -> str:
    settings = json.dumps([ANNOTATION_VERSION, RENDER_MAX_SIDE, model.fingerprint, asdict(inference),
                           references_json(references)])
    return hashlib.sha256(settings.encode()).hexdigest()[:16]
