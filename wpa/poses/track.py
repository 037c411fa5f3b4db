"""The poses of one clip as they are found, for other threads to read meanwhile."""

from __future__ import annotations

import bisect
import threading

import numpy as np

from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

_MISSING_LANDMARKS = np.full((NUM_LANDMARKS, 4), np.nan, np.float32)
_MISSING_WORLD = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)


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
