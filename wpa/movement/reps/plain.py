"""The plain training-free counter: the first principal component of the smoothed landmarks, its
period from the autocorrelation, and its peaks at least half a period apart.

It knows nothing of where repetition starts, of rests or of alternating sides, and so is a
baseline to measure the counter against (`python -m benchmarks.reps`); the counter also takes its
answer where its own analysis is unsure (`wpa.movement.reps.counter`).
"""

from __future__ import annotations

import math

import numpy as np

from wpa.movement.reps.movement import gaussian_smooth
from wpa.movement.reps.periods import autocorrelation

PLAIN_RATE_HZ = 30.0  # the plain counter's even time grid
PLAIN_SMOOTHING_S = 0.2  # Gaussian standard deviation of its smoothing
PLAIN_PERIODS_S = (0.5, 10.0)  # the periods it looks for


def plain_peaks(landmarks: np.ndarray, timestamps_s: np.ndarray, aspect_ratio: float = 1.0,
                rate_hz: float = PLAIN_RATE_HZ) -> tuple[np.ndarray, float | None]:
    """Times (seconds) of the repetitions' peaks in landmarks (T, 33, ≥2) at `timestamps_s`, and
    the period (None where there is none): x, y of all 33 landmarks on an even grid (frames with
    nobody interpolated), smoothed, then `plain_peaks_of`."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :, :2] * np.array([aspect_ratio, 1.0])
    points = points.reshape(len(points), -1)
    times = np.asarray(timestamps_s, dtype=np.float64)
    present = np.isfinite(points).all(axis=1)
    if present.sum() < 3 or times[present][-1] - times[present][0] < 3 / rate_hz:
        return np.zeros(0), None
    times, points = times[present], points[present]
    grid = times[0] + np.arange(int(math.floor((times[-1] - times[0]) * rate_hz)) + 1) / rate_hz
    resampled = np.stack([np.interp(grid, times, column) for column in points.T], axis=1)
    return plain_peaks_of(gaussian_smooth(resampled, PLAIN_SMOOTHING_S * rate_hz), grid)


def plain_peaks_of(features: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Peak times and period of features (N, D) on an even grid `times_s` (N,): their first
    principal component; its period = the highest autocorrelation peak in `PLAIN_PERIODS_S`; its
    maxima above its mean, largest first, each kept if at least half a period from those kept."""
    if len(features) < 4:
        return np.zeros(0), None
    rate_hz = (len(times_s) - 1) / max(float(times_s[-1] - times_s[0]), 1e-9)
    centred = features - features.mean(axis=0)
    component = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
    correlation = autocorrelation(component)
    low, high = max(int(PLAIN_PERIODS_S[0] * rate_hz), 1), min(len(component) // 2, int(PLAIN_PERIODS_S[1] * rate_hz))
    lags = np.arange(low, max(high - 1, low))
    is_peak = ((correlation[lags] > correlation[lags - 1]) & (correlation[lags] >= correlation[lags + 1])
               if len(lags) else np.zeros(0, bool))
    period = float(lags[is_peak][np.argmax(correlation[lags[is_peak]])]) if is_peak.any() else float(len(component))
    inner = np.arange(1, len(component) - 1)
    tops = inner[(component[inner] > component[inner - 1]) & (component[inner] >= component[inner + 1])
                 & (component[inner] > component.mean())]
    chosen: list[int] = []
    for index in tops[np.argsort(-component[tops], kind="stable")]:
        if all(abs(index - other) >= period / 2 for other in chosen):
            chosen.append(int(index))
    return times_s[np.sort(np.array(chosen, dtype=int))], (period / rate_hz if is_peak.any() else None)


def plain_count(landmarks: np.ndarray, timestamps_s: np.ndarray, aspect_ratio: float = 1.0) -> int:
    """How many repetitions the plain counter finds (see `plain_peaks`)."""
    return len(plain_peaks(landmarks, timestamps_s, aspect_ratio)[0])
