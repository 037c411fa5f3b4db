"""Repetition counting for any exercise, from pose landmarks alone.

No exercise has a rule of its own here: a repetition is one cycle of whatever the body does over
and over. The steps, each a small function below:

1. `pose_signal`: the landmarks become a movement signal on an even time grid: 13 body landmarks
   (nose, shoulders, elbows, wrists, hips, knees, ankles), centred on the hips and measured in torso
   lengths (each take between camera cuts in its own), so that neither where the person stands nor
   how far the camera is matters; frames with nobody are bridged, longer gaps are marked unobserved;
   jitter is smoothed (`movement`).
   `adapt`: slow drifts (walking, a moving camera) are taken out at a width the video's own period
   sets (the first look's, or a wider one where the movement repeats clearly more over it), so
   that slow repetitions are not taken for drift.
2. `exercise_stretch`: the stretch that repeats. A tempogram (how well the movement matches itself
   one period later, at every moment and for every period) finds where repetition starts and ends,
   so getting into position, unracking a bar or walking away does not shape what follows.
3. `candidates` / `choose`: principal components of the movement in that stretch; each gets its
   period from its autocorrelation, and the one that is both periodic and large is kept. A
   component in which the left and right sides move in opposition (alternating lunges or raises)
   cycles once per two repetitions, so a component at half its period is preferred when there is one.
4. `_repetitions`: that component, band-passed around its period at each moment (a set that
   speeds up is followed: `local_periods`), has a phase (analytic signal);
   each turn of the phase while the movement is large enough is a repetition (rests between sets,
   where the amplitude falls, are not counted; a partial repetition counts when more than half done).
   Large enough is a share of the video's own clear repetitions (`active_floor`), not a size set
   for every video.

Where the movement found is barely periodic, the plain counter's answer is taken (`plain`).

`count_repetitions` does this for a `PoseSequence` or a stretch of one (`counter`); `RepCounter` is
the streaming form for the Live page (`stream`), fed one frame at a time, which runs the same
analysis (`count_landmarks`) on its last minute every second, and on the whole set at its end.
Modules: `records` (settings and results), `movement`, `adapt`, `periods`, `counter`, `plain`, `stream`.
`python -m benchmarks.reps` measures both on Countix-Fitness (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

from wpa.movement.reps.counter import count_landmarks, count_repetitions, count_signal
from wpa.movement.reps.movement import ANALYSIS_RATE_HZ, BODY, MAX_GAP_S, PoseSignal, pose_signal
from wpa.movement.reps.records import RepConfig, RepCount, Repetition, reps_text
from wpa.movement.reps.stream import RepCounter

__all__ = ["ANALYSIS_RATE_HZ", "BODY", "MAX_GAP_S", "PoseSignal", "RepConfig", "RepCount", "RepCounter", "Repetition",
           "count_landmarks", "count_repetitions", "count_signal", "pose_signal", "reps_text"]
