"""Cues: the measurements of a unit that lie furthest from good form, in words with the body part
and the direction ("hips 14° lower than in good reps", "torso leans back 20° more").

Only the kind of measurement and its body part choose the words; no exercise is named anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wpa.movement.form.measures import MEASURES, Measure
from wpa.movement.form.profile import FormProfile

MIN_ANGLE_DEG = 8.0  # a measurement far out (FormProfile.cue_z_) is cued if also this far off in degrees...
MIN_SHARE = 0.25  # ...or by this share of the typical value (duration, steadiness, range).
STEADINESS_SHARE = 1.0  # ...and unsteadiness twice the usual.
MAX_CUES = 2


@dataclass(frozen=True)
class Cue:
    """One measurement that lies far from good form."""

    measure: str  # "body line middle"
    part: str  # "hips"
    deviation: float  # in spreads, signed
    difference: float  # value − reference, in the measure's unit (degrees, seconds, …)
    text: str  # "hips 14° lower than in good reps"


def unit_cues(profile: FormProfile, values: np.ndarray, max_cues: int = MAX_CUES) -> tuple[Cue, ...]:
    """The cues of one unit's measurements (len(MEASURES),): the furthest out first."""
    z = profile.deviations(values[None, :])[0]
    # The core first: joint angles at the shoulders and hips are measured from the torso, so a
    # torso that leans or hips off the body line move them too; the core is the likely cause.
    # Lying (shoulders and feet on supports), a tilted torso comes from hips off the line: the line
    # first. Upright (feet under the hips), hips off the line come from a leaning torso: the lean.
    core_order = ("line", "lean") if profile.lying else ("lean", "line")
    size = np.abs(np.nan_to_num(z))
    tier = np.array([core_order.index(m.kind) if m.kind in core_order else 2 for m in MEASURES])
    order = np.lexsort((-size, np.where(size >= profile.cue_z_, tier, 2)))
    cues: list[Cue] = []
    parts: set[str] = set()
    for j in order:
        if len(cues) == max_cues:
            break
        if not np.isfinite(z[j]) or abs(z[j]) < profile.cue_z_:
            continue
        measure, difference, reference = MEASURES[j], values[j] - profile.median_[j], profile.median_[j]
        if not _large_enough(measure, difference, reference) or measure.part in parts:
            continue
        parts.add(measure.part)
        cues.append(Cue(measure.name, measure.part, round(float(z[j]), 2), round(float(difference), 3),
                        describe(measure, difference, reference, profile.lying)))
    return tuple(cues)


def describe(measure: Measure, difference: float, reference: float, lying: bool) -> str:
    """A measurement's difference from good form in words."""
    more = difference > 0
    degrees = f"{abs(difference):.0f}°"
    share = f"{abs(difference) / max(abs(reference), 1e-9):.0%}"
    good = "than in good reps"  # the reference: the model's, or the person's own
    if measure.kind == "duration":
        return f"rep {share} {'slower' if more else 'faster'} {good}"
    if measure.kind == "steadiness":
        return f"body {share} {'less' if more else 'more'} steady {good}"
    if measure.statistic == "range":
        words = "more range" if more else "less range"
        return f"{measure.part} move through {share} {words} {good}"
    if measure.kind == "line":
        direction = ("higher" if more else "lower") if lying else ("further forward" if more else "further back")
        return f"{measure.part} {degrees} {direction} {good} (body line)"
    if measure.kind == "lean":
        return f"{measure.part} leans {'forward' if more else 'back'} {degrees} more {good}"
    if measure.kind == "asymmetry":
        joint = measure.part[:-1] if measure.part.endswith("s") else measure.part
        return f"left {joint} {degrees} {'straighter' if more else 'more bent'} than the right, compared with good reps"
    # A joint angle: 180° is straight.
    moment = {"low": "at the most bent", "high": "at the straightest", "middle": "mostly"}[measure.statistic]
    return f"{measure.part} {degrees} {'straighter' if more else 'more bent'} {moment} {good}"


def _large_enough(measure: Measure, difference: float, reference: float) -> bool:
    if measure.kind == "steadiness":  # the frame-to-frame wobble of a pose estimate is large
        return difference >= STEADINESS_SHARE * max(abs(reference), 1e-9)
    if measure.kind == "duration" or measure.statistic == "range":
        return abs(difference) >= MIN_SHARE * max(abs(reference), 1e-9) and (
            measure.statistic != "range" or abs(difference) >= MIN_ANGLE_DEG)
    return abs(difference) >= MIN_ANGLE_DEG
