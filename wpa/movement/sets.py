"""Sets of an exercise and their running repetition counts, from a stream of per-frame labels and
poses: what the Live page counts while the camera streams (an uploaded clip is counted whole, by
`wpa.recognition.inference.count_segment_repetitions`). The counting itself is
`wpa.movement.reps.RepCounter`'s."""

from __future__ import annotations

import collections
import csv
import io
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from wpa.movement.reps import RepCounter
from wpa.recognition.inference import LABEL_HOLD_S, NO_PERSON, UNKNOWN

# A label must hold this long, on every frame, before it starts a set or ends the one running: the
# smoothed classifier still flickers for a few frames where one movement looks like another. (An
# uploaded clip's counting stretches ignore such flickers too: `counting_stretches`.)
SET_CHANGE_S = LABEL_HOLD_S
# "unsure" must hold longer to end the set of an exercise the model knows: within an exercise it
# knows, the model is often unsure for a moment (a turning point, a limb out of view), and ending
# the set there would split one set in two. Held this long it is another exercise, one the model
# was not trained on, and is counted as a set of its own ("unsure" in the log).
UNSURE_CHANGE_S = 5.0
# Nobody visible this long ends the set (the person left); a shorter gap (a missed detection, a
# step out of the picture) does not, and no repetition is counted in it (RepCounter's own rule).
AWAY_S = 5.0


@dataclass(frozen=True)
class WorkoutSet:
    """One set: an exercise (UNKNOWN for one the model does not know) done `reps` times."""

    exercise: str
    reps: int
    started_at: datetime  # wall clock, local time
    duration_s: float


class SetTracker:
    """Sets and their running repetition counts from a stream of per-frame labels and poses.

    A set starts when an exercise label (UNKNOWN included: an exercise the model was not trained on
    is still an exercise) has held for SET_CHANGE_S; it is dated from that label's first frame, and
    the frames since then are counted in it, so the first repetitions are not lost to the wait. It
    ends when another label has held long enough (SET_CHANGE_S; UNSURE_CHANGE_S for "unsure" after
    a known exercise), when nobody has been visible for AWAY_S, on `stop` (the stream ended), and
    then goes to the log with `RepCounter.finish`'s count, so that the last repetition counts.
    Setup moves before the exercise repeats are left out by the counter's own stretch detection;
    frames with nobody reach the counter as gaps, in which it counts nothing.

    Not thread-safe: `wpa.serving.live.LiveSession` calls it under its lock.
    """

    def __init__(self, change_s: float = SET_CHANGE_S, unsure_change_s: float = UNSURE_CHANGE_S,
                 away_s: float = AWAY_S):
        self.change_s, self.unsure_change_s, self.away_s = change_s, unsure_change_s, away_s
        self._log: list[WorkoutSet] = []
        self._stop_stream()

    # --- what it says ---------------------------------------------------------------------

    @property
    def reps(self) -> int:
        """The running count of the current set (0 when none is running)."""
        return self._counter.count if self._counter is not None else 0

    @property
    def repetitions(self) -> tuple:
        """The current set's repetitions so far (`wpa.movement.reps.Repetition`s; none when no set is running)."""
        return self._counter.repetitions if self._counter is not None else ()

    @property
    def exercise(self) -> str | None:
        """The current set's exercise, None when no set is running."""
        return self._exercise

    def current(self) -> WorkoutSet | None:
        """The set running now (its duration so far), or None."""
        if self._exercise is None:
            return None
        return WorkoutSet(self._exercise, self.reps, self._wall(self._set_start_s),
                          max(0.0, float(self._last_s - self._set_start_s)))

    def log(self) -> tuple[WorkoutSet, ...]:
        """The sets that have ended, oldest first."""
        return tuple(self._log)

    # --- what it is told ------------------------------------------------------------------

    def update(self, label: str, landmarks: np.ndarray | None, time_s: float, aspect_ratio: float = 1.0,
               wall_s: float | None = None) -> int:
        """One frame: its label (an exercise, UNKNOWN or NO_PERSON), its landmarks (33, ≥2, None with
        nobody) at `time_s` (seconds, increasing within a stream); `wall_s` is the wall clock then
        (time.time() if not given). Returns the current set's running count."""
        self._wall_offset = (time.time() if wall_s is None else wall_s) - time_s
        self._last_s = time_s
        person = landmarks if label != NO_PERSON else None
        self._recent.append((time_s, person))
        while self._recent and self._recent[0][0] < time_s - max(self.change_s, self.unsure_change_s) - 1.0:
            self._recent.popleft()
        if person is not None:
            self._last_person_s = time_s
        if self._counter is not None:
            self._counter.update(person, time_s)
        if label == NO_PERSON:
            self._candidate = None  # a hold must be unbroken
            if self._exercise is not None and time_s - self._last_person_s >= self.away_s:
                self._end(self._last_person_s)
            return self.reps
        if label == self._exercise:
            self._candidate = None
            return self.reps
        if self._candidate is None or self._candidate[0] != label:
            self._candidate = (label, time_s)
        since = self._candidate[1]
        hold = self.unsure_change_s if label == UNKNOWN and self._exercise not in (None, UNKNOWN) else self.change_s
        if time_s - since >= hold:
            if self._exercise is not None:
                self._end(since)
            self._start(label, since, aspect_ratio)
        return self.reps

    def stop(self, settled: list[WorkoutSet] | None = None) -> int:
        """The stream ended: the current set (if any) goes to the log, its last repetition counted
        (`RepCounter.finish`); the next stream's times start again. Returns that set's count.
        `settled`: the stream's sets as its frames were counted once it ended (see
        `wpa.serving.stream_record`), which take the place of those this stream logged."""
        reps = self._end(self._last_s) if self._exercise is not None else 0
        if settled is not None:
            self._log[self._stream_first:] = settled
        self._stop_stream()
        return reps

    def reset(self) -> None:
        """Clear the log and the current set; counting starts again with the next exercise seen."""
        self._log.clear()
        self._stream_first = 0
        self._exercise, self._counter, self._candidate = None, None, None
        self._recent.clear()

    # --- inside ---------------------------------------------------------------------------

    def _stop_stream(self) -> None:
        self._stream_first = len(self._log)  # where this stream's sets start in the log
        self._exercise: str | None = None
        self._counter: RepCounter | None = None
        self._candidate: tuple[str, float] | None = None  # a label waiting to hold, since when
        self._set_start_s = 0.0
        self._last_s = 0.0
        self._last_person_s = 0.0
        self._wall_offset = time.time()
        # The last seconds of poses, to count a new set from its first frame once its label has held.
        self._recent: collections.deque[tuple[float, np.ndarray | None]] = collections.deque()

    def _start(self, label: str, since: float, aspect_ratio: float) -> None:
        self._exercise, self._set_start_s, self._candidate = label, since, None
        self._counter = RepCounter(aspect_ratio=aspect_ratio)
        for time_s, person in self._recent:
            if time_s >= since:
                self._counter.update(person, time_s)

    def _end(self, end_s: float) -> int:
        reps = self._counter.finish()
        # A set without a repetition is a flicker of the classifier, a setup move or a pose held:
        # nothing done, nothing to log. (A set shorter than two repetitions has none: the
        # counter finds a repetition only where the movement repeats.)
        if reps > 0:
            self._log.append(WorkoutSet(self._exercise, reps, self._wall(self._set_start_s),
                                        round(max(0.0, float(end_s - self._set_start_s)), 1)))
        self._exercise, self._counter = None, None
        return reps

    def _wall(self, time_s: float) -> datetime:
        return datetime.fromtimestamp(self._wall_offset + time_s)


def sets_csv(sets: tuple[WorkoutSet, ...] | list[WorkoutSet]) -> str:
    """The sets log as CSV: exercise, reps, started (local time, ISO 8601), duration_s."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["exercise", "reps", "started", "duration_s"])
    for done in sets:
        writer.writerow([done.exercise, done.reps, done.started_at.isoformat(timespec="seconds"),
                         f"{done.duration_s:.1f}"])
    return out.getvalue()
