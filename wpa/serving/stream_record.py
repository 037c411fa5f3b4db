"""The poses of one live stream, kept so that its sets can be settled when it ends.

While the camera streams, Live counts as it goes: a set starts once its exercise has held for a
moment and the count can only weigh the past, so the first seconds of a stream (the classifier
still unsure, a set first taken for another exercise) can cost repetitions an uploaded clip of the
same frames would have counted. When the stream ends, `settled_sets` counts its frames once more
the way an uploaded clip is counted (`Recognizer.predict_clip`: smoothing both ways, segments,
the repetition counter on each), and those sets are what the log keeps.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from wpa.movement.sets import WorkoutSet
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence
from wpa.recognition.inference import NO_PERSON
from wpa.recognition.recognizer import Recognizer

# A stream longer than this is not settled (its online sets stay): 10 minutes at 30 frames/s of
# landmarks and world landmarks is about 17 MB a session.
MOST_FRAMES = 18_000
_NOBODY = np.full((NUM_LANDMARKS, 4), np.nan, np.float32)
_NOBODY_WORLD = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)


class StreamRecord:
    """Every processed frame's pose of one stream (NaN where nobody was found), in time order.
    Not thread-safe: `wpa.serving.live.LiveSession` uses it under its lock."""

    def __init__(self, most_frames: int = MOST_FRAMES):
        self.most_frames = most_frames
        self._times: list[float] = []
        self._landmarks: list[np.ndarray] = []
        self._world: list[np.ndarray] = []
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._times)

    def add(self, time_s: float, landmarks: np.ndarray | None, world_landmarks: np.ndarray | None) -> None:
        """One frame's pose at `time_s` (seconds, increasing); None with nobody."""
        if self.overflowed or (self._times and time_s <= self._times[-1]):
            return
        if len(self._times) >= self.most_frames:  # too long to settle: forget it, keep the online sets
            self.overflowed = True
            self._times, self._landmarks, self._world = [], [], []
            return
        self._times.append(time_s)
        self._landmarks.append(_NOBODY if landmarks is None else landmarks)
        self._world.append(_NOBODY_WORLD if world_landmarks is None else world_landmarks)

    def pose(self, frame_size: tuple[int, int]) -> PoseSequence | None:
        """The stream as a clip (its first frame at 0 s), or None with fewer than two frames."""
        if len(self._times) < 2:
            return None
        times = np.array(self._times, np.float64)
        return PoseSequence(landmarks=np.stack(self._landmarks).astype(np.float32),
                            world_landmarks=np.stack(self._world).astype(np.float32),
                            timestamps_s=times - times[0], fps=(len(times) - 1) / float(times[-1] - times[0]),
                            frame_size=frame_size)

    @property
    def start_s(self) -> float:
        return self._times[0] if self._times else 0.0


def settled_sets(record: StreamRecord, recognizer: Recognizer, frame_size: tuple[int, int],
                 wall_start_s: float) -> list[WorkoutSet] | None:
    """The sets of the stream in `record`, counted as an uploaded clip of its frames would be; its
    first frame was at `wall_start_s` + the record's start (seconds since the epoch). None when it
    cannot be settled (too long, or too short to say anything)."""
    pose = None if record.overflowed else record.pose(frame_size)
    if pose is None:
        return None
    prediction = recognizer.predict_clip(pose)
    first_s = wall_start_s + record.start_s
    return [WorkoutSet(segment.label, segment.reps, datetime.fromtimestamp(first_s + segment.start_s),
                       round(segment.duration_s, 1))
            for segment in prediction.segments if segment.label != NO_PERSON and segment.reps > 0]
