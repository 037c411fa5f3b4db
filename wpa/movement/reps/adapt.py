"""What the counter takes from the video itself rather than from a data set: how slow its
repetitions are, and so which slow movements are drift to remove.

A first look at the movement, with movements slower than `RepConfig.first_look_s` removed, finds
the repeating stretch and the period of its most periodic component (several components, each
with its own period, scored against each other: `wpa.movement.reps.periods.choose`). Where that period is
slow for the first look (`RepConfig.detrend_periods` of it are longer than the first look), the
movement is taken again with only movements slower than `detrend_periods` of the period removed:
a set of 8 s repetitions (a slow bench press, a sit-up) is then not flattened into drift, while a
set of 1 s repetitions keeps the first look, which already removes the sway around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from wpa.movement.reps.movement import PoseSignal, detrended
from wpa.movement.reps.periods import Candidate, choose, exercise_stretch, periodic_components
from wpa.movement.reps.records import RepConfig


@dataclass(frozen=True)
class Adapted:
    """A movement signal made ready for one video: slow drifts removed (`detrend_s`: slower than
    this), with the period the first look found (None where nothing repeated)."""

    signal: PoseSignal
    detrend_s: float
    first_period_s: float | None
    # Where the first look's signal is kept: its repeating stretch and chosen component, so that
    # the counter does not look again at the same signal.
    stretch: tuple[int, int] | None = None
    best: Candidate | None = None


def adapt(signal: PoseSignal, config: RepConfig) -> Adapted:
    """The signal with drifts removed at the first look's width, or at `config.detrend_periods`
    of its own period where that is wider (see the module's docstring)."""
    rate = signal.rate_hz
    first_look = detrended(signal.features, config.first_look_s * rate)
    first, last = exercise_stretch(first_look, rate, config)
    best = choose(periodic_components(first_look[first:last], rate, config), config)
    period_s = None if best is None else best.period / rate
    if period_s is None or config.detrend_periods * period_s <= config.first_look_s:
        return Adapted(PoseSignal(signal.times_s, first_look, signal.observed, rate), config.first_look_s, period_s,
                       (first, last), best)
    width_s = config.detrend_periods * period_s
    return Adapted(PoseSignal(signal.times_s, detrended(signal.features, width_s * rate), signal.observed, rate),
                   width_s, period_s)
