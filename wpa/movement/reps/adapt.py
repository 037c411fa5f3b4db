"""What the counter takes from the video itself rather than from a data set: how slow its
repetitions are, and so which slow movements are drift to remove.

A first look at the movement, with movements slower than `RepConfig.first_look_s` removed, finds
the repeating stretch and the period of its most periodic component (several components, each
with its own period, scored against each other: `wpa.movement.reps.periods.choose`). Where that
period is slow for the first look, the movement is looked at again with only movements slower
than a few of its periods removed (each of `RepConfig.detrend_periods` whose width is longer than
the first look's): a set of 8 s repetitions (a slow bench press, a sit-up) is then not flattened
into drift. The wider look whose chosen component repeats most over the longest stretch (its
periodicity times the stretch's length: the video's self-similarity decides) replaces the first
where it repeats clearly more, so no data set chooses how many periods are drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from wpa.movement.reps.movement import PoseSignal, detrended
from wpa.movement.reps.periods import Candidate, choose, exercise_stretch, periodic_components
from wpa.movement.reps.records import RepConfig

# A wider look replaces the first where it repeats this much more: where both repeat alike, the
# first look, which takes out more sway, is kept.
_CLEARLY_MORE = 1.05


@dataclass(frozen=True)
class Adapted:
    """A movement signal made ready for one video (slow drifts removed), with its repeating
    stretch (first, last sample) and chosen component (None where none was found)."""

    signal: PoseSignal
    stretch: tuple[int, int]
    best: Candidate | None


def adapt(signal: PoseSignal, config: RepConfig) -> Adapted:
    """The look at the signal (drifts removed at the first look's width, or at a few of its own
    periods) whose component repeats most over the longest stretch (see the module's docstring)."""
    rate = signal.rate_hz
    first = look(signal, config.first_look_s, config)
    period_s = None if first.best is None else first.best.period / rate
    looks = [look(signal, periods * period_s, config) for periods in config.detrend_periods
             if period_s is not None and periods * period_s > config.first_look_s]
    wider = max(looks, key=_repeats, default=None)
    return wider if wider is not None and _repeats(wider) > _CLEARLY_MORE * _repeats(first) else first


def look(signal: PoseSignal, detrend_s: float, config: RepConfig) -> Adapted:
    """The signal with movements slower than `detrend_s` removed, its repeating stretch and the
    component chosen there."""
    rate = signal.rate_hz
    features = detrended(signal.features, detrend_s * rate)
    first, last = exercise_stretch(features, rate, config)
    best = choose(periodic_components(features[first:last], rate, config), config)
    return Adapted(PoseSignal(signal.times_s, features, signal.observed, rate), (first, last), best)


def _repeats(adapted: Adapted) -> float:
    """How much a look repeats: its component's periodicity times the length of its stretch."""
    first, last = adapted.stretch
    return 0.0 if adapted.best is None else adapted.best.periodicity * (last - first)
