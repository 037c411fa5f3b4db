"""The pose model: one MediaPipe Tasks PoseLandmarker, made from `PoseOptions`, closed safely,
its native start-up chatter kept out of the server's log.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from wpa.background import Background
from wpa.errors import PoseModelError
from wpa.poses.sequence import PoseOptions
from wpa.settings import current


class PoseEstimator:
    """One MediaPipe PoseLandmarker in VIDEO mode. Feed frames of one stream in time order.

    Use it as a context manager, or call `close()`; it holds native resources and tracking state,
    so each clip or live session needs its own.
    """

    def __init__(self, options: PoseOptions | None = None):
        self.options = options or PoseOptions()
        with native_logs_silenced():
            self._landmarker = create_landmarker(self.options)
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
            with native_logs_silenced():
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


_silence_lock = threading.Lock()
_silenced_count = 0  # threads inside _native_logs_silenced
_saved_stderr = -1  # the real descriptor 2 while any are



_closer_started = threading.Lock()
_dropped_landmarkers: queue.SimpleQueue | None = None  # made with the closer thread, on first use


def _close_when_dropped(owner: object, landmarker: vision.PoseLandmarker) -> weakref.finalize:
    """Close `landmarker` on a thread of its own once `owner` is garbage without having closed it.

    MediaPipe's own `__del__` would close it from inside the garbage collector, where it can wait
    forever: the landmarker's calls go through a one-thread executor of its own, and when both are
    garbage of the same cycle the collector may have ended that thread first (seen as a test run
    hanging in `PoseLandmarker.close`). The finalizer keeps the landmarker, and so its executor,
    alive until the closer thread, outside the collector, closes it."""
    global _dropped_landmarkers
    with _closer_started:
        if _dropped_landmarkers is None:
            _dropped_landmarkers = dropped = queue.SimpleQueue()
            Background(lambda: _close_dropped_landmarkers(dropped), name="mediapipe-landmarker-closer").start()
    finalizer = weakref.finalize(owner, _dropped_landmarkers.put, landmarker)
    finalizer.atexit = False  # at exit the process's end releases it
    return finalizer


def _close_dropped_landmarkers(dropped: queue.SimpleQueue) -> None:
    while True:
        landmarker = dropped.get()
        try:
            landmarker.close()
        except Exception:  # nothing to do about it but carry on with the next
            pass
        del landmarker


def create_landmarker(options: PoseOptions, mode: vision.RunningMode = vision.RunningMode.VIDEO,
                       num_poses: int = 1) -> vision.PoseLandmarker:
    path = Path(options.model_path)
    if not path.is_file():
        raise PoseModelError(f"Pose model not found at {path}. Point PoseOptions.model_path (or the "
                             "WPA_POSE_MODEL, or for Live WPA_LIVE_POSE_MODEL) at a PoseLandmarker .task file, "
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
def native_logs_silenced(show: bool | None = None) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment.

    MediaPipe's C++ core logs start-up chatter (XNNPACK delegate, feedback tensors, ROI
    projection) straight to stderr, before absl logging can be configured; none of it is
    actionable. `show` (default: WPA_NATIVE_LOGS, wpa.settings) lets it through.

    Descriptor 2 belongs to the whole process and several threads (sessions, stretches of a clip)
    may be here at once: the first to come in saves the real stderr, the last to leave puts it
    back. (Each saving and restoring its own would let a later thread save /dev/null as the
    "real" stderr and silence the server's log for good.)
    """
    if current().logs.native_logs if show is None else show:
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
