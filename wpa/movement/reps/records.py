"""The counter's records: its settings (`RepConfig`), a repetition, a count."""

from __future__ import annotations

from dataclasses import dataclass


def reps_text(count: int) -> str:
    """A count of repetitions in words: "1 rep", "12 reps"."""
    return f"{count} rep{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class RepConfig:
    """How repetitions are found; the same for every exercise and video (what differs from video to
    video is taken from the video itself: `wpa.movement.reps.adapt`, and the active threshold, a share
    of the video's own clear repetitions: `wpa.movement.reps.counter.active_floor`).
    `python -m benchmarks.reps_cross` chooses `unsure_periodicity` on one body of data and measures
    it on another (docs/BENCHMARKS.md); the others' defaults come from issue 13's work, and
    `active_share`'s from Countix-Fitness (issue 22)."""

    smoothing_s: float = 0.1  # Gaussian standard deviation against MediaPipe's frame-to-frame jitter
    first_look_s: float = 6.0  # the first look at a video removes movements slower than this (wpa.movement.reps.adapt)
    # ... then, where wider, movements slower than each of these many of its own periods: such a
    # look replaces the first where it repeats clearly more (wpa.movement.reps.adapt; each look
    # costs the live counter about a third more)
    detrend_periods: tuple[float, ...] = (3.0,)
    min_period_s: float = 0.5  # the fastest repetition looked for
    max_period_s: float = 10.0  # the slowest (a stretch needs two of them to be counted)
    components: int = 4  # principal components of the movement considered
    size_weight: float = 0.5  # a component's score is periodicity × (its size / the largest's) ** this
    stretch_periodicity: float = 0.2  # tempogram level above which a moment is repeating
    active_share: float = 0.35  # cycles smaller than this share of the clear repetitions' (median) size are rest
    alternation: float = 0.5  # left/right antisymmetry above which a component is an alternating exercise
    period_ratio: float = 0.0  # a period is the shortest autocorrelation peak this high against the highest (0: the first)
    unsure_periodicity: float = 0.0  # below this, the plain counter's answer is taken (wpa.movement.reps.plain)


@dataclass(frozen=True)
class Repetition:
    """One repetition: when it started and ended, seconds from the start of the clip."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class RepCount:
    """The repetitions found in a pose sequence or a stretch of one."""

    repetitions: tuple[Repetition, ...]
    period_s: float | None  # the typical time of one repetition; None where nothing repeats
    stretch_s: tuple[float, float] | None  # the part found to repeat, (start, end); None where nothing does
    periodicity: float = 0.0  # how alike one period is to the next there, 0..1 (autocorrelation)

    @property
    def count(self) -> int:
        return len(self.repetitions)

    @property
    def times_s(self) -> list[tuple[float, float]]:
        """(start, end) of each repetition."""
        return [(r.start_s, r.end_s) for r in self.repetitions]



NO_REPETITIONS = RepCount(repetitions=(), period_s=None, stretch_s=None)
