"""Form feedback on Live: each repetition judged as soon as the counter has counted it, and its cue
kept on screen for a few seconds.

`LiveForm.update` is called for every frame under the Live session's lock; most frames only add
their landmarks to a short buffer. The frame on which a new repetition appears judges it (its
measurements, score and cues: well under a millisecond per frame of the repetition, see
`benchmarks/form.py`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from wpa.movement.form.feedback import Reference
from wpa.movement.form.units import RepForm, form_units, judge_units
from wpa.movement.reps import Repetition
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

SHOW_S = 4.0  # a cue stays on screen this long after its repetition is counted
KEEP_S = 30.0  # frames kept: the longest repetition judged


class LiveForm:
    """The form of the repetitions of the set on screen, judged against its exercise's reference."""

    def __init__(self, references: dict[str, Reference], show_s: float = SHOW_S, keep_s: float = KEEP_S):
        self.references, self.show_s, self.keep_s = references, show_s, keep_s
        self._frames: deque[tuple[float, np.ndarray, np.ndarray]] = deque()
        self._judged = 0
        self._exercise: str | None = None
        self.latest: RepForm | None = None  # the last repetition judged
        self._shown_until = -np.inf

    def update(self, exercise: str | None, landmarks: np.ndarray | None, time_s: float,
               repetitions: tuple[Repetition, ...], aspect_ratio: float = 1.0,
               world_landmarks: np.ndarray | None = None) -> str:
        """One frame: the current set's exercise (None: no set), the frame's landmarks (33, 4) and
        world landmarks (33, 3) (None with nobody), and the set's repetitions so far. Returns the
        cue to show now ("" for none)."""
        self._frames.append((time_s, _MISSING if landmarks is None else np.asarray(landmarks, np.float32),
                             _MISSING_WORLD if world_landmarks is None else np.asarray(world_landmarks, np.float32)))
        while self._frames and self._frames[0][0] < time_s - self.keep_s:
            self._frames.popleft()
        if exercise != self._exercise:  # a new set: its repetitions are counted from 0
            self._exercise, self._judged = exercise, 0
        if exercise in self.references and len(repetitions) > self._judged:
            self.latest = self._judge(self.references[exercise], repetitions[-1], aspect_ratio)
            self._judged = len(repetitions)
            self._shown_until = time_s + self.show_s
        if time_s > self._shown_until or self.latest is None:
            return ""
        return self.latest.cues[0].text if self.latest.cues else "good rep"

    def _judge(self, reference: Reference, repetition: Repetition, aspect_ratio: float) -> RepForm | None:
        times = np.array([frame[0] for frame in self._frames])
        rows = np.flatnonzero((times >= repetition.start_s) & (times <= repetition.end_s))
        if len(rows) < 2:
            return None
        landmarks = np.stack([self._frames[i][1] for i in rows])
        world = np.stack([self._frames[i][2] for i in rows])
        pose = PoseSequence(landmarks, world, times[rows],
                            fps=30.0, frame_size=(max(1, round(1000 * aspect_ratio)), 1000))
        form = judge_units(reference.profile, form_units(pose, (repetition,)))
        return form.reps[0] if form.reps else None


_MISSING = np.full((NUM_LANDMARKS, 4), np.nan, np.float32)
_MISSING_WORLD = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)
