"""The streaming counter for the Live page (`RepCounter`): the offline counter run on the last
minute of a stream every second, and on the whole set when it ends."""

from __future__ import annotations

from collections import deque

import numpy as np

from wpa.movement.reps.counter import count_landmarks
from wpa.movement.reps.movement import BODY
from wpa.movement.reps.records import RepConfig, Repetition
from wpa.poses.sequence import NUM_LANDMARKS

_STREAM_MIN_WINDOW_S = 4.0  # the streaming counter counts nothing before it has seen this much
_STREAM_SETTLE_PERIODS = 0.25  # ... counts a repetition once this many periods have passed since its end
_STREAM_SETTLE_WINDOW = 0.25  # ... and no longer revises those starting in the first quarter of its window
# `finish` counts the whole set offline if it is no longer than this (26 numbers a frame: at 30
# frames/s, 30 minutes keep about 11 MB); a longer set's final count is the running one's.
MAX_SET_S = 1800.0


class RepCounter:
    """The streaming counter for the Live page: feed it each frame's landmarks with `update`.

    Every `hop_s` it runs `count_landmarks`, the offline counter, on the last `window_s` seconds;
    the repetitions that analysis found which have ended (a quarter period ago: the end of the
    window is still moving) are the running count. So each repetition is counted within about one
    repetition of its end, and the count is the offline counter's count of what has been seen,
    except that the last repetition waits until it is over. The first are counted once two
    periods (and 4 s) have been seen. A later analysis, seeing more of the set, may find fewer:
    the count shown never goes back (it is the largest found so far), and repetitions about to
    leave the window are settled for good.

    `finish` (the set or the stream ended) runs the offline counter on every frame of the set
    (up to `MAX_SET_S`): Live's final count is the offline count of the same frames, whatever
    the window saw.
    """

    def __init__(self, config: RepConfig = RepConfig(), aspect_ratio: float = 1.0,
                 window_s: float = 60.0, hop_s: float = 1.0):
        self.config = config
        self.aspect_ratio = aspect_ratio  # width / height of the frames the landmarks refer to
        self.window_s = window_s
        self.hop_s = hop_s
        self.reset()

    def reset(self) -> None:
        """Forget everything: the count starts again from 0."""
        self._times: deque[float] = deque()
        self._frames: deque[np.ndarray] = deque()
        self._set_times: list[float] = []  # every frame since the reset, for `finish`
        self._set_frames: list[np.ndarray] = []
        self._settled: list[Repetition] = []  # repetitions too old to be revised
        self._recent: list[Repetition] = []  # the window's ended repetitions, as its last analysis found them
        self._window_full = False  # whether the window has started to drop old frames
        self._shown: tuple[Repetition, ...] = ()  # what `count` and `repetitions` say
        self._whole_set_kept = True
        self._next_analysis_s: float | None = None
        self.period_s: float | None = None  # the period the last trusted analysis found

    @property
    def count(self) -> int:
        return len(self._shown)

    @property
    def repetitions(self) -> tuple[Repetition, ...]:
        return self._shown

    def update(self, landmarks: np.ndarray | None, timestamp_s: float) -> int:
        """Add one frame: its landmarks (33, ≥2: x, y normalised to the frame), or None / NaN
        where nobody was found, at `timestamp_s` (seconds, increasing). Returns the running count."""
        if self._times and timestamp_s <= self._times[-1]:
            return self.count  # a frame out of order is dropped rather than corrupting the signal
        if landmarks is None:
            frame = np.full((len(BODY), 2), np.nan)
        else:
            frame = np.asarray(landmarks, dtype=np.float64)[BODY, :2]
        self._times.append(float(timestamp_s))
        self._frames.append(frame)
        if self._set_times and timestamp_s - self._set_times[0] > MAX_SET_S:
            self._set_times, self._set_frames = [], []  # too long to keep: finish counts as it runs
            self._whole_set_kept = False
        elif self._whole_set_kept:
            self._set_times.append(float(timestamp_s))
            self._set_frames.append(frame)
        while self._times[0] < timestamp_s - self.window_s:
            self._times.popleft()
            self._frames.popleft()
            self._window_full = True
        if self._next_analysis_s is None:
            self._next_analysis_s = timestamp_s + self.hop_s
        elif timestamp_s >= self._next_analysis_s:
            self._next_analysis_s = timestamp_s + self.hop_s
            self._analyse(timestamp_s)
        return self.count

    def finish(self) -> int:
        """The final count when the stream (or a set) ends: the offline counter's count of every
        frame since the reset (the last window's for a set longer than `MAX_SET_S`). `update` may
        go on afterwards."""
        if not self._times:
            return self.count
        if not self._whole_set_kept:
            self._analyse(self._times[-1], final=True)
            return self.count
        found = count_landmarks(_landmarks(self._set_frames), np.array(self._set_times), self.aspect_ratio,
                                self.config)
        self._shown = found.repetitions
        self.period_s = found.period_s or self.period_s
        return self.count

    def _analyse(self, now_s: float, final: bool = False) -> None:
        """Run the offline counter on the window; its repetitions that have ended become the
        count's recent part."""
        times = np.fromiter(self._times, float, len(self._times))
        found = count_landmarks(_landmarks(self._frames), times, self.aspect_ratio, self.config)
        # A period is trusted once the window holds two of it (and a few seconds: a short window
        # has room only for short periods, and would take a twitch for one).
        if found.period_s is None or times[-1] - times[0] < max(_STREAM_MIN_WINDOW_S, 2 * found.period_s):
            return
        self.period_s = found.period_s
        wait_s = _STREAM_SETTLE_PERIODS * found.period_s
        # One already counted stays ended though its end, near the window's edge, moved a little later.
        ended = [r for r in found.repetitions
                 if final or r.end_s <= now_s - wait_s or any(_same(r, counted) for counted in self._recent)]
        if self._settled:
            ended = [r for r in ended if (r.start_s + r.end_s) / 2 > self._settled[-1].end_s]
        if self._window_full:
            # Those about to leave the window will not be seen whole again: settle them.
            horizon = times[0] + _STREAM_SETTLE_WINDOW * self.window_s
            while ended and ended[0].start_s < horizon:
                self._settled.append(ended.pop(0))
        self._recent = ended
        found_now = tuple(self._settled + self._recent)
        # A count going back and forth as analyses differ would confuse more than a rare one too many.
        if final or len(found_now) >= len(self._shown):
            self._shown = found_now


def _landmarks(frames) -> np.ndarray:
    """The kept frames (each the BODY landmarks' x, y) as a landmark array (T, 33, 2), NaN elsewhere."""
    landmarks = np.full((len(frames), NUM_LANDMARKS, 2), np.nan)
    landmarks[:, BODY] = np.stack(list(frames))
    return landmarks


def _same(a: Repetition, b: Repetition) -> bool:
    """Whether two analyses' repetitions are one: they share most of the shorter one."""
    shared = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
    return shared > 0.5 * min(a.duration_s, b.duration_s)

