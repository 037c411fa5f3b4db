"""The reference of good form: where each measurement lies over good repetitions, and how far a
repetition lies outside it.

`FormProfile` is a scikit-learn style estimator: parameters in `__init__`, `fit(X)` on the
measurements (`wpa.movement.form.measures.unit_measures`, one row per good repetition or hold window)
learns each measurement's median and robust spread (1.4826 × the median absolute deviation, which
is the standard deviation for normal data but ignores a few odd repetitions), `deviations(X)` gives
how many spreads each measurement lies from the median, and `score(X)` says in one number how far
a repetition lies from good form (0 = typical; higher = further): the root mean square of its
largest deviations from the medians (outside the envelope of good form), plus the same measured
from the nearest good repetition (off every good repetition, even where each measurement alone
lies inside the envelope: a density learnt by keeping the good repetitions, at most
`max_references` of them).

Saved as JSON (`to_json`/`from_json`, `save`/`load`) with a format version.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from wpa.errors import WpaError
from wpa.movement.form.measures import MEASURE_NAMES, MEASURES

FORMAT_VERSION = 3
# Versions read: 2 lacks `groups` (its cue threshold was learnt from its own units: 0 groups).
READABLE_VERSIONS = (2, 3)
MAD_TO_SD = 1.4826
COVER = 3.0
MIN_GROUPS = 3  # fewer groups than this: the cue threshold is learnt from the units themselves

# The smallest spread a measurement is given, whatever its good repetitions showed: differences
# below these are within what the pose estimate and a person's day-to-day form vary by, so a few
# very alike references must not make them count. Angles in degrees; duration and steadiness as a
# share of their median.
ANGLE_FLOOR_DEG = 4.0
RELATIVE_FLOOR = {"duration": 0.15, "steadiness": 0.3}


class FormError(WpaError):
    """A form profile cannot be fitted, read or used: the message says why and what to do."""


class FormProfile:
    """Robust medians and spreads of form measurements over good units (repetitions or windows).

    top_k:        a unit's score is the root mean square of its `top_k` largest deviations.
    max_z:        deviations are capped here, so one absurd measurement (a joint guessed far off)
                  cannot outweigh everything else.
    min_support:  a measurement is used only if at least this many references had it.
    max_references: good units kept for the nearest-neighbour part of the score (evenly chosen).
    cue_share:    a measurement is cued from `cue_z_` spreads out: at least `min_cue_z`, and far
                  enough that at most this share of the good units would have a cue (good form
                  varies more between people and cameras than a normal law says): of the units
                  of each group held out from the others where `fit` is given groups.
    """

    def __init__(self, top_k: int = 6, max_z: float = 12.0, min_support: int = 3, max_references: int = 200,
                 min_cue_z: float = 3.5, cue_share: float = 0.05):
        self.top_k = top_k
        self.max_z = max_z
        self.min_support = min_support
        self.max_references = max_references
        self.min_cue_z = min_cue_z
        self.cue_share = cue_share

    def fit(self, X: np.ndarray, label: str = "", groups: np.ndarray | None = None) -> FormProfile:
        """Learn from `X` (units, len(MEASURES)) of good units; NaN where a measure was not seen.

        `groups` (units,): where each unit comes from (a clip, a person, a camera). With at least
        MIN_GROUPS of them, most of several units, the cue threshold is learnt from each group's
        units measured against the envelope of the *other* groups, as a new person's or camera's
        good form will be: good form varies more between people and cameras than within one."""
        X = _checked(X)
        if len(X) == 0:
            raise FormError("No good repetitions to learn from: the clips had no pose, or were too short.")
        self.median_, self.scale_, support = self._envelope(X)
        self.support_ = support.astype(int)
        self.n_units_ = int(len(X))
        self.label_ = label
        keep = np.unique(np.linspace(0, len(X) - 1, min(len(X), self.max_references)).round().astype(int))
        self.references_ = np.round(X[keep], 3)[:self.max_references]
        largest = self._held_out_largest(X, groups)
        self.n_groups_ = 0 if largest is None else len(np.unique(groups))
        if largest is None:
            largest = _largest_deviation(X, self.median_, self.scale_, self.max_z)
        self.cue_z_ = float(max(self.min_cue_z, np.quantile(largest, 1 - self.cue_share)))
        return self

    def _envelope(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each measurement's median, spread (at least its floor) and support over the units `X`."""
        with np.errstate(all="ignore"):
            support = np.isfinite(X).sum(axis=0)
            used = support >= max(self.min_support, 1)
            median = np.full(X.shape[1], np.nan)
            spread = np.full(X.shape[1], np.nan)
            for j in np.flatnonzero(used):
                seen = X[np.isfinite(X[:, j]), j]
                median[j] = np.median(seen)
                apart = np.abs(seen - median[j])
                # The good units are good: at least 90% of them lie within COVER spreads, however
                # few there are (three repetitions give a median absolute deviation of little meaning).
                spread[j] = max(MAD_TO_SD * np.median(apart), np.quantile(apart, 0.9) / COVER)
        return median, np.maximum(np.nan_to_num(spread), _floors(median)), support

    def _held_out_largest(self, X: np.ndarray, groups: np.ndarray | None) -> np.ndarray | None:
        """Each unit's largest |deviation| from the envelope of the other groups' units (leave one
        group out); None with fewer than MIN_GROUPS groups, or groups mostly of one unit."""
        if groups is None:
            return None
        groups = np.asarray(groups)
        if len(groups) != len(X):
            raise FormError(f"{len(groups)} groups given for {len(X)} units: give one group per unit.")
        names, sizes = np.unique(groups, return_counts=True)
        # Groups of one unit each (a clip of one repetition, a stretch of one window) are no sources
        # whose units vary together: leaving one out leaves one unit out, which says how the
        # envelope of a few units is estimated rather than how a new person's good form lies.
        if len(names) < MIN_GROUPS or np.median(sizes) < 2:
            return None
        largest = []
        for name in names:
            inside = groups == name
            median, scale, _ = self._envelope(X[~inside])
            largest.append(_largest_deviation(X[inside], median, scale, self.max_z))
        return np.concatenate(largest)

    def deviations(self, X: np.ndarray) -> np.ndarray:
        """(units, measures) signed deviations in spreads, capped at ±max_z; NaN where unknown."""
        self._check_fitted()
        X = _checked(X)
        return _deviations(X, self.median_, self.scale_, self.max_z)

    def score(self, X: np.ndarray) -> np.ndarray:
        """(units,) how far each unit lies from good form: the RMS of its `top_k` largest
        |deviations| from the medians, plus that from the nearest good unit."""
        z = self.deviations(X)
        outside = self._largest(np.abs(z))
        reference_z = (self.references_ - self.median_) / self.scale_
        apart = np.abs(z[:, None, :] - reference_z[None, :, :])  # (units, references, measures)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            nearest = np.nanmin(self._largest(np.minimum(apart, self.max_z)), axis=1) if len(reference_z) else 0.0
        return outside + nearest

    def _largest(self, z: np.ndarray) -> np.ndarray:
        """RMS of the `top_k` largest of each row's (last axis) values, NaN ignored."""
        z = np.where(np.isfinite(z), z, -np.inf)
        top = -np.sort(-z, axis=-1)[..., :self.top_k]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            top = np.where(np.isfinite(top), top, np.nan)
            return np.sqrt(np.nanmean(top ** 2, axis=-1))

    @property
    def lying(self) -> bool:
        """Whether the good units' torso is nearer lying than upright (for wording: hips 'higher'
        rather than 'forward')."""
        lean = self.median_[MEASURE_NAMES.index("torso lean middle")]
        return bool(np.isfinite(lean) and abs(lean) > 45)

    @property
    def repeats(self) -> bool:
        """Whether the good units were repetitions (they have a duration) rather than hold windows."""
        return bool(np.isfinite(self.median_[MEASURE_NAMES.index("duration")]))

    def to_json(self) -> dict:
        self._check_fitted()
        return {"format_version": FORMAT_VERSION, "label": self.label_, "units": self.n_units_,
                "groups": self.n_groups_,
                "params": {"top_k": self.top_k, "max_z": self.max_z, "min_support": self.min_support,
                           "max_references": self.max_references, "min_cue_z": self.min_cue_z,
                           "cue_share": self.cue_share},
                "cue_z": round(self.cue_z_, 4),
                "references": [[_number(v) for v in row] for row in self.references_],
                "measures": {m.name: {"median": _number(self.median_[j]), "spread": _number(self.scale_[j]),
                                      "support": int(self.support_[j])} for j, m in enumerate(MEASURES)}}

    @classmethod
    def from_json(cls, data: dict) -> FormProfile:
        if not isinstance(data, dict) or data.get("format_version") not in READABLE_VERSIONS:
            raise FormError(f"Not a form profile of format version {' or '.join(map(str, READABLE_VERSIONS))} "
                            f"(found {data.get('format_version') if isinstance(data, dict) else type(data).__name__}). "
                            "Fit it again with `wpa form fit`.")
        profile = cls(**data["params"])
        measures = data["measures"]
        missing = [name for name in MEASURE_NAMES if name not in measures]
        if missing:
            raise FormError(f"The form profile lacks measures ({', '.join(missing[:3])}). Fit it again with `wpa form fit`.")
        profile.median_ = np.array([_value(measures[name]["median"]) for name in MEASURE_NAMES])
        profile.scale_ = np.array([_value(measures[name]["spread"]) for name in MEASURE_NAMES])
        profile.support_ = np.array([int(measures[name]["support"]) for name in MEASURE_NAMES])
        profile.n_units_ = int(data["units"])
        profile.n_groups_ = int(data.get("groups", 0))
        profile.cue_z_ = float(data["cue_z"])
        profile.references_ = np.array([[_value(v) for v in row] for row in data.get("references", [])],
                                       dtype=np.float64).reshape(-1, len(MEASURES))
        profile.label_ = str(data.get("label", ""))
        return profile

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FormProfile:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FormError(f"{path} cannot be read as a form profile ({error}).") from error
        return cls.from_json(data)

    def _check_fitted(self) -> None:
        if not hasattr(self, "median_"):
            raise FormError("This form profile has not been fitted: call fit() first.")


def _checked(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(MEASURES):
        raise FormError(f"Form measurements must be (units, {len(MEASURES)}), not {X.shape}.")
    return X


def _deviations(X: np.ndarray, median: np.ndarray, scale: np.ndarray, max_z: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.clip((X - median) / scale, -max_z, max_z)


def _largest_deviation(X: np.ndarray, median: np.ndarray, scale: np.ndarray, max_z: float) -> np.ndarray:
    """(units,) each unit's largest |deviation| (0 where none is known)."""
    return np.max(np.abs(np.nan_to_num(_deviations(X, median, scale, max_z), nan=0.0)), axis=1)


def _floors(median: np.ndarray) -> np.ndarray:
    relative = np.array([RELATIVE_FLOOR.get(m.kind, 0.0) for m in MEASURES])
    with np.errstate(invalid="ignore"):
        return np.where(relative > 0, relative * np.abs(np.nan_to_num(median)) + 1e-6, ANGLE_FLOOR_DEG)


def _number(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def _value(value: float | None) -> float:
    return np.nan if value is None else float(value)
