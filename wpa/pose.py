"""Pose estimation: MediaPipe Tasks PoseLandmarker (VIDEO mode) over a clip's frames.

A `PoseSequence` is the typed record every later step works on: 33 landmarks per frame with
x, y (normalised to the frame), z (depth, same scale as x) and visibility, plus MediaPipe's
metric world landmarks, true timestamps and which frames had nobody in them.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import queue
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from wpa.errors import PoseModelError
from wpa.paths import DEFAULT_POSE_MODEL
from wpa.video import VideoInfo, probe_video, read_ahead, read_frames

NUM_LANDMARKS = 33
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
# Bones of the skeleton, as MediaPipe draws them.
POSE_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)
# Landmark i of a mirrored image is landmark MIRROR_INDEX[i] of the original (left <-> right).
MIRROR_INDEX = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                         22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31])



@dataclass(frozen=True)
class PoseOptions:
    """How poses are found. `model_path` may point to any PoseLandmarker `.task` (lite, full, heavy)."""

    model_path: Path = DEFAULT_POSE_MODEL
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Frames are scaled so that neither side exceeds this many pixels before pose estimation
    # (None: full size). The pose models look at 224–256 px crops, so most of a 1080p frame's
    # pixels are never used.
    max_side: int | None = None


@dataclass(frozen=True)
class PoseSequence:
    """Poses of one clip.

    landmarks:       (T, 33, 4) float32, x and y normalised to the frame (0..1), z relative depth
                     on x's scale, visibility 0..1; NaN on frames where nobody was found.
    world_landmarks: (T, 33, 3) float32, metres, origin between the hips; NaN where nobody.
    timestamps_s:    (T,) float64, strictly increasing, first frame at 0.
    fps:             the container's average frame rate.
    frame_size:      (width, height) of the upright frames the landmarks refer to.
    people:          how many people were in view (see `people_in_view`); None where not counted.
                     The landmarks always follow one person.
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray
    timestamps_s: np.ndarray
    fps: float
    frame_size: tuple[int, int]
    people: int | None = None

    def __len__(self) -> int:
        return len(self.timestamps_s)

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: whether a person was found on each frame."""
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def aspect_ratio(self) -> float:
        """Width / height: multiplies normalised x (and z) to put them on y's scale."""
        width, height = self.frame_size
        return width / height if height else 1.0


class PoseEstimator:
    """One MediaPipe PoseLandmarker in VIDEO mode. Feed frames of one stream in time order.

    Use it as a context manager, or call `close()`; it holds native resources and tracking state,
    so each clip or live session needs its own.
    """

    def __init__(self, options: PoseOptions | None = None):
        self.options = options or PoseOptions()
        with _native_logs_silenced():
            self._landmarker = _create_landmarker(self.options)
        self._dropped = _close_when_dropped(self, self._landmarker)
        self._last_timestamp_ms = -1

    def detect(self, rgb: np.ndarray, timestamp_s: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Find one person on an RGB frame (H, W, 3) uint8.

        Returns (landmarks (33, 4), world_landmarks (33, 3)) as float32, or None if nobody is found.
        Timestamps must increase; equal or earlier ones are nudged just past the previous frame.
        """
        timestamp_ms = max(int(round(timestamp_s * 1000)), self._last_timestamp_ms + 1)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._last_timestamp_ms < 0:  # the first call logs graph warnings of its own
            with _native_logs_silenced():
                result = self._landmarker.detect_for_video(image, timestamp_ms)
        else:
            result = self._landmarker.detect_for_video(image, timestamp_ms)
        self._last_timestamp_ms = timestamp_ms
        if not result.pose_landmarks:
            return None
        landmarks = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks[0]], np.float32)
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]], np.float32)
        return landmarks, world

    def close(self) -> None:
        """Release the native landmarker."""
        self._dropped.detach()
        self._landmarker.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def extract_pose(video_path: str | Path, options: PoseOptions | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 track: PoseTrack | None = None, parts: int = 1, count_people: bool = False,
                 info: VideoInfo | None = None, decode_ahead: bool = True) -> PoseSequence:
    """Run pose estimation on every frame of a clip.

    `progress(frames_done, frames_expected)` is called from the calling thread as frames are done
    (frames_expected is the container's estimate and may be 0 when unknown). `track`, if given,
    receives the poses in order as they are found, for another thread to read meanwhile.

    `parts` > 1 splits a long enough, seekable clip into that many stretches of time, each with
    a pose model of its own in its own thread, so that several cores work on one clip (the pose
    model itself uses one). The frames and timestamps are those of one pass; each stretch starts
    as a clip does, by detecting the person, so poses after a split differ from one pass's by the
    pose model's tracking (a median under 0.5% of the frame in tests). Raises VideoError for
    unreadable clips and PoseModelError for an unusable pose model.

    `count_people` also counts the people in view near the start of the clip (`people_in_view`),
    into the sequence's `people`. `info` is the clip's `probe_video`, for a caller that has it.

    Frames are decoded ahead of the pose model in a thread of their own: 8 for a clip in one
    stretch. In a split clip, with a pose model on every core, each stretch's decoder uses one
    thread and reads 2 ahead if `decode_ahead`, which fills the moments the pose models leave a
    core idle (`wpa classify` on a 36 s 720p clip: 74 frames/s, 65-70 without). A caller with a thread
    of its own working meanwhile (the Upload's drawing) fills them already and passes False: as
    fast, and 10-15 MB less at the peak of a 720p upload (benchmarks/pipeline.py).
    """
    options = options or PoseOptions()
    info = info or probe_video(video_path)
    track = track if track is not None else PoseTrack(info.fps, (info.width, info.height))
    if not info.seekable:
        parts = 1
    parts = max(1, min(parts, int(info.duration_s // MIN_PART_S)))
    stretches = [_Stretch(info.duration_s * k / parts) for k in range(parts)]
    stop = threading.Event()
    # Frames decoded ahead of each pose model, and its decoder's threads (0: FFmpeg's choice). With a
    # pose model on every core, more decoding threads would wait for a core holding frames (6 MB
    # more a decoder of 720p video).
    decoding = (8, 0) if parts == 1 else (2 if decode_ahead else 0, 1)
    workers = [threading.Thread(target=_estimate_stretch, name=f"wpa-pose-{k}", daemon=True,
                                args=(video_path, options, stretches[k], stretches[k + 1:], stop, None, None,
                                      decoding))
               for k in range(1, parts)]
    try:
        for worker in workers:
            worker.start()
        report = (lambda: progress(len(track) + sum(len(s.poses) for s in stretches[1:]), info.frame_count)
                  ) if progress else None
        _estimate_stretch(video_path, options, stretches[0], stretches[1:], stop, track, report, decoding)
        for stretch, worker in zip(stretches[1:], workers):
            while worker.is_alive():
                worker.join(timeout=0.1)
                if report:
                    report()
            if stretch.error is not None and stretch.first_s < math.inf:
                raise stretch.error  # one that failed before its first frame left them to the one before
            for found, timestamp_s, frame_size in stretch.poses:
                track.add(found, timestamp_s, frame_size)
            stretch.poses.clear()  # counted in the track from now on
        if workers and report:
            report()
        if count_people:  # once every pose model is closed (a reader of the track goes on meanwhile)
            track.people = people_in_view(video_path, options)
    finally:
        stop.set()
        for worker in workers:
            if worker.is_alive():
                worker.join()
        track.finish()
    return track.sequence()


MIN_PART_S = 4.0  # shorter stretches are not worth a pose model of their own
# The moments (s into a clip) whose frames are searched for more than one person.
PEOPLE_CHECKS_S = (0.5, 1.5, 2.5)
MAX_PEOPLE = 4


def people_in_view(video_path: str | Path, options: PoseOptions) -> int | None:
    """How many people are in view, from the frames at a few moments near the start of a clip.

    The VIDEO-mode landmarker follows one person. Asking it for several on every frame would cost
    40% of its speed (measured on a real clip: 50.6 -> 31.8 frames/s), so a second landmarker, in
    IMAGE mode, looks at the frames of `PEOPLE_CHECKS_S` only (the first at or after each moment).
    The count is the most people seen in at least two of those frames (one frame is too easily
    fooled), or in the one frame checked in a clip shorter than 1.5 s; None for a clip shorter
    than the first moment.

    `extract_pose` calls it once its pose models are closed: a landmarker holds about 70 MB, and a
    third one beside a split clip's pose models made the peak of an upload. The clip's first
    seconds are decoded again for it (about 0.3 s of one core for 720p video) rather than their
    frames kept through the pass (8 MB at 720p, 75 MB at 4K; benchmarks/upload_memory.py).
    """
    counts: list[int] = []
    landmarker = None
    try:
        for frame in read_frames(video_path, max_side=options.max_side, threads=1):
            if frame.timestamp_s < PEOPLE_CHECKS_S[len(counts)]:
                continue
            if landmarker is None:
                with _native_logs_silenced():
                    landmarker = _create_landmarker(options, vision.RunningMode.IMAGE, MAX_PEOPLE)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.rgb))
            counts.append(len(landmarker.detect(image).pose_landmarks))
            if len(counts) == len(PEOPLE_CHECKS_S):
                break
    finally:
        if landmarker is not None:
            landmarker.close()
    if not counts:
        return None
    return sorted(counts)[-2] if len(counts) > 1 else counts[0]


class _Stretch:
    """One stretch of a clip's frames, from `start_s` to where the next stretch's first frame is."""

    def __init__(self, start_s: float):
        self.start_s = start_s
        self.first_s = math.inf  # timestamp of the first frame it found (inf: none)
        self.started = threading.Event()  # first_s is known
        self.poses: list[tuple[tuple[np.ndarray, np.ndarray] | None, float, tuple[int, int]]] = []
        self.error: BaseException | None = None


def _estimate_stretch(video_path: str | Path, options: PoseOptions, stretch: _Stretch, following: list[_Stretch],
                      stop: threading.Event, track: PoseTrack | None = None,
                      report: Callable[[], None] | None = None,
                      decoding: tuple[int, int] = (8, 0)) -> None:
    """Poses of the frames of `stretch`, into `track` (or the stretch's own list, in a worker
    thread). The stretch ends where the first of the `following` stretches that found a frame
    begins. `decoding`: frames decoded ahead in a thread of their own (0: none), and the
    decoder's threads (`read_frames`)."""
    ahead, decoder_threads = decoding
    in_worker = track is None
    try:
        frames = read_frames(video_path, max_side=options.max_side, start_s=stretch.start_s, threads=decoder_threads)
        if ahead:  # decoded in another thread while the pose model works
            frames = read_ahead(frames, ahead)
        with PoseEstimator(options) as estimator, contextlib.closing(frames):
            for frame in frames:
                if stop.is_set():
                    return
                if not stretch.started.is_set():
                    stretch.first_s = frame.timestamp_s
                    stretch.started.set()
                while following and frame.timestamp_s >= following[0].start_s:
                    following[0].started.wait()
                    if following[0].first_s < math.inf:
                        break
                    following = following[1:]  # it found no frame: its frames are this stretch's
                if following and frame.timestamp_s >= following[0].first_s:
                    return
                found = estimator.detect(frame.rgb, frame.timestamp_s)
                frame_size = (frame.rgb.shape[1], frame.rgb.shape[0])
                if in_worker:
                    stretch.poses.append((found, frame.timestamp_s, frame_size))
                else:
                    track.add(found, frame.timestamp_s, frame_size)
                    if report:
                        report()
    except BaseException as error:
        if not in_worker:
            raise
        stretch.error = error
    finally:
        stretch.started.set()  # a stretch that found no frame leaves its frames to the one before


class PoseTrack:
    """The poses of one clip as they are found, frame by frame.

    One thread adds frames; others may meanwhile wait for a moment of the clip to be reached and
    read what has been found so far.
    """

    def __init__(self, fps: float, frame_size: tuple[int, int]):
        self.fps, self.frame_size = fps, frame_size
        self.people: int | None = None  # set once the pass is over, when people were counted
        self._landmarks: list[np.ndarray] = []
        self._world: list[np.ndarray] = []
        self._timestamps: list[float] = []
        self._finished = False
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._timestamps)

    def add(self, found: tuple[np.ndarray, np.ndarray] | None, timestamp_s: float,
            frame_size: tuple[int, int]) -> None:
        """Record one frame: `found` is PoseEstimator.detect's result (None: nobody)."""
        with self._changed:
            self._landmarks.append(found[0] if found else _MISSING_LANDMARKS)
            self._world.append(found[1] if found else _MISSING_WORLD)
            self._timestamps.append(timestamp_s)
            self.frame_size = frame_size
            self._changed.notify_all()

    def finish(self) -> None:
        """No more frames will come (the clip ended, or the pass failed or was stopped)."""
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    def wait_until(self, time_s: float, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a frame at or after `time_s`, or for the end of the track.
        True when either has come."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._finished or (self._timestamps and self._timestamps[-1] >= time_s), timeout_s)

    def index_after(self, time_s: float) -> int:
        """The index of the first frame found so far whose timestamp exceeds `time_s`."""
        with self._changed:
            return bisect.bisect_right(self._timestamps, time_s)

    def sequence(self, start: int = 0, stop: int | None = None) -> PoseSequence:
        """Frames [start, stop) found so far, as a PoseSequence."""
        with self._changed:
            landmarks, world = self._landmarks[start:stop], self._world[start:stop]
            timestamps, frame_size = self._timestamps[start:stop], self.frame_size
        return PoseSequence(
            landmarks=np.stack(landmarks) if landmarks else np.empty((0, NUM_LANDMARKS, 4), np.float32),
            world_landmarks=np.stack(world) if world else np.empty((0, NUM_LANDMARKS, 3), np.float32),
            timestamps_s=np.asarray(timestamps, np.float64),
            fps=self.fps,
            frame_size=frame_size,
            people=self.people,
        )


def mirror_pose(pose: PoseSequence) -> PoseSequence:
    """The poses MediaPipe would report for the left–right mirrored video.

    x is reflected and left/right landmarks trade places (the person's left hand appears as a
    right hand in a mirror). Mirroring twice gives back the original.
    """
    landmarks = pose.landmarks[:, MIRROR_INDEX].copy()
    landmarks[..., 0] = 1.0 - landmarks[..., 0]
    world = pose.world_landmarks[:, MIRROR_INDEX].copy()
    world[..., 0] = -world[..., 0]
    return PoseSequence(landmarks=landmarks, world_landmarks=world, timestamps_s=pose.timestamps_s,
                        fps=pose.fps, frame_size=pose.frame_size, people=pose.people)


_silence_lock = threading.Lock()
_silenced_count = 0  # threads inside _native_logs_silenced
_saved_stderr = -1  # the real descriptor 2 while any are

_MISSING_LANDMARKS = np.full((NUM_LANDMARKS, 4), np.nan, np.float32)
_MISSING_WORLD = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)


_dropped_landmarkers: queue.SimpleQueue = queue.SimpleQueue()
_closer_started = threading.Lock()
_closer: threading.Thread | None = None


def _close_when_dropped(owner: object, landmarker: vision.PoseLandmarker) -> weakref.finalize:
    """Close `landmarker` on a thread of its own once `owner` is garbage without having closed it.

    MediaPipe's own `__del__` would close it from inside the garbage collector, where it can wait
    forever: the landmarker's calls go through a one-thread executor of its own, and when both are
    garbage of the same cycle the collector may have ended that thread first (seen as a test run
    hanging in `PoseLandmarker.close`). The finalizer keeps the landmarker, and so its executor,
    alive until the closer thread, outside the collector, closes it."""
    global _closer
    with _closer_started:
        if _closer is None:
            _closer = threading.Thread(target=_close_dropped_landmarkers, name="mediapipe-landmarker-closer", daemon=True)
            _closer.start()
    finalizer = weakref.finalize(owner, _dropped_landmarkers.put, landmarker)
    finalizer.atexit = False  # at exit the process's end releases it
    return finalizer


def _close_dropped_landmarkers() -> None:
    while True:
        landmarker = _dropped_landmarkers.get()
        try:
            landmarker.close()
        except Exception:  # nothing to do about it but carry on with the next
            pass
        del landmarker


def _create_landmarker(options: PoseOptions, mode: vision.RunningMode = vision.RunningMode.VIDEO,
                       num_poses: int = 1) -> vision.PoseLandmarker:
    path = Path(options.model_path)
    if not path.is_file():
        raise PoseModelError(f"Pose model not found at {path}. Point PoseOptions.model_path (or the "
                             "WPA_POSE_MODEL environment variable) at a PoseLandmarker .task file, "
                             "or rebuild the shipped one with `make pose-model`.")
    landmarker_options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(path)),
        running_mode=mode,
        num_poses=num_poses,
        min_pose_detection_confidence=options.min_detection_confidence,
        min_pose_presence_confidence=options.min_presence_confidence,
        min_tracking_confidence=options.min_tracking_confidence,
    )
    try:
        return vision.PoseLandmarker.create_from_options(landmarker_options)
    except (RuntimeError, ValueError) as error:
        raise PoseModelError(f"{path.name} is not a usable PoseLandmarker model ({error}). Use a "
                             "MediaPipe pose landmarker .task bundle.") from error


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment.

    MediaPipe's C++ core logs start-up chatter (XNNPACK delegate, feedback tensors, ROI
    projection) straight to stderr, before absl logging can be configured; none of it is
    actionable. Set WPA_NATIVE_LOGS=1 to see it.

    Descriptor 2 belongs to the whole process and several threads (sessions, stretches of a clip)
    may be here at once: the first to come in saves the real stderr, the last to leave puts it
    back. (Each saving and restoring its own would let a later thread save /dev/null as the
    "real" stderr and silence the server's log for good.)
    """
    if os.environ.get("WPA_NATIVE_LOGS"):
        yield
        return
    global _silenced_count, _saved_stderr
    with _silence_lock:
        if _silenced_count == 0:
            sys.stderr.flush()
            _saved_stderr = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _silenced_count += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silenced_count -= 1
            if _silenced_count == 0:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = -1
