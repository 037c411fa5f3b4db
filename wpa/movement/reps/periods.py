"""How the movement repeats: the stretch that repeats (a tempogram), the principal components and
each one's period (its autocorrelation), and the component whose cycles are the repetitions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wpa.movement.reps.movement import BODY, true_runs
from wpa.movement.reps.records import RepConfig

MIN_PERIODICITY = 0.1  # an autocorrelation peak below this is no period at all
_TEMPOGRAM_WINDOW_PERIODS = 2.5  # the tempogram compares this many periods (at least 4 s) at a time
_TEMPOGRAM_STRIDE = 2  # ... at every second sample: where repetition starts is not needed finer
_LOCAL_PERIOD_RANGE = (0.5, 2.0)  # an octave either side of the component's period: a moment's own
_LOCAL_PERIODICITY = 0.5  # ... where a moment repeats less clearly, the component's period holds
_HALF_PERIOD = (0.4, 0.6)  # a component "at half the period" of another, as a share of it
_ALTERNATE_MIN_PERIODICITY = 0.3  # ... and periodic enough to be the repetitions of an alternating exercise
_LEFT_RIGHT = {11: 12, 13: 14, 15: 16, 23: 24, 25: 26, 27: 28}
_MIRROR = {**_LEFT_RIGHT, **{right: left for left, right in _LEFT_RIGHT.items()}}
# Feature column of the same coordinate on the other side of the body (x and y of each landmark).
SWAP_COLUMNS = np.array([2 * BODY.index(_MIRROR.get(i, i)) + axis for i in BODY for axis in (0, 1)])


@dataclass(frozen=True)
class Candidate:
    """One principal component of the movement, with its period (in samples) and how periodic it is."""

    signal: np.ndarray  # (N,) the movement projected on the component
    direction: np.ndarray  # (26,) the component's unit vector
    period: float
    periodicity: float  # the autocorrelation at that period, 0..1
    score: float


def exercise_stretch(features: np.ndarray, rate: float, config: RepConfig) -> tuple[int, int]:
    """(first, last) sample of the stretch that repeats: from the first to the last run of moments
    whose tempogram shows a period for at least two periods, widened by half a period each side.
    The whole signal where no such run exists."""
    count = len(features)
    shortest, longest = max(2, int(0.8 * config.min_period_s * rate)), int(config.max_period_s * rate)
    # Lags 4 % apart: finer than the tempogram's peaks are sharp.
    lags = np.unique(np.round(np.geomspace(shortest, max(longest, shortest), 80)).astype(int))
    lags = lags[lags < count - 1]
    if len(lags) < 3:
        return 0, count
    stride = _TEMPOGRAM_STRIDE
    similarity = local_tempogram(features, lags, max(int(4.0 * rate), 1), stride)
    period, strength = tempogram_periods(similarity, lags, rate / stride)
    repeating = strength > config.stretch_periodicity
    runs = []
    for start, stop in true_runs(repeating):
        typical = float(np.median(period[start:stop]))
        if (stop - start) * stride >= 2 * typical:
            runs.append((start * stride, stop * stride, typical))
    if not runs:
        return 0, count
    first = max(0, int(runs[0][0] - runs[0][2] / 2))
    last = min(count, int(runs[-1][1] + runs[-1][2] / 2))
    if last - first < 2 * config.min_period_s * rate + 2:
        return 0, count
    return first, last


def local_tempogram(features: np.ndarray, lags: np.ndarray, min_window: int, stride: int = 1) -> np.ndarray:
    """(moments, lags): the correlation between the movement around every `stride`-th moment and
    the movement one lag later, over a window of `_TEMPOGRAM_WINDOW_PERIODS` lags (at least
    `min_window` samples)."""
    count = len(features)
    # products[s, i]: the movement at s times the movement lags[i] later (0 past the end).
    products = np.zeros((count, len(lags)))
    for i, lag in enumerate(lags):
        products[:count - lag, i] = np.einsum("td,td->t", features[:-lag], features[lag:])
    summed = np.vstack([np.zeros(len(lags)), np.cumsum(products, axis=0)])
    energy = np.concatenate([[0.0], np.cumsum((features * features).sum(axis=1))])
    windows = np.maximum((_TEMPOGRAM_WINDOW_PERIODS * lags).astype(int), min_window)
    pairs = count - lags  # how many (s, s + lag) pairs each lag has
    # The pair (s, s + lag) belongs to the moment between them: moment u looks at pairs around
    # s = u - lag / 2 (held at the ends).
    centre = np.clip(np.arange(0, count, stride)[:, None] - lags // 2, 0, pairs - 1)
    low = np.clip(centre - windows // 2, 0, pairs)
    high = np.clip(centre - windows // 2 + windows, 0, pairs)
    columns = np.arange(len(lags))
    numerator = summed[high, columns] - summed[low, columns]
    before = energy[high] - energy[low]
    after = energy[high + lags] - energy[low + lags]
    return numerator / np.sqrt(before * after + 1e-12)


def tempogram_periods(tempogram: np.ndarray, lags: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Each moment's period (the shortest lag whose peak is within 80 % of the highest, so that
    two or three periods are not taken for one) and its strength, the period smoothed over 1 s."""
    count = len(tempogram)
    period, strength = np.zeros(count), np.zeros(count)
    inner = tempogram[:, 1:-1]
    is_peak = (inner > tempogram[:, :-2]) & (inner >= tempogram[:, 2:])
    peak_values = np.where(is_peak, inner, -np.inf)
    highest = peak_values.max(axis=1)
    valid = highest > 0
    chosen = np.argmax(peak_values >= 0.8 * highest[:, None], axis=1)
    period[valid] = lags[1:-1][chosen[valid]]
    strength[valid] = inner[valid, chosen[valid]]
    width = max(1, int(rate)) | 1
    if width > 1 and count:
        logs = np.log(np.maximum(period, 1.0))
        padded = np.pad(logs, width // 2, mode="edge")
        period = np.exp(np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1))
    period[~valid] = 0.0
    return period, strength


def local_periods(signal: np.ndarray, period: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The period (samples) of `signal` at every sample, near its overall `period` (between
    `_LOCAL_PERIOD_RANGE` times it), and how clearly it repeats there (its local tempogram's
    peak, 0..1): a set whose pace changes (faster towards its end) is followed where it clearly
    repeats (above `_LOCAL_PERIODICITY`); elsewhere the overall period holds."""
    low, high = _LOCAL_PERIOD_RANGE
    # Lags a little beyond the range, so that a period at its ends is still a peak.
    lags = np.unique(np.round(np.geomspace(max(2.0, 0.8 * low * period), 1.25 * high * period, 24)).astype(int))
    lags = lags[lags < len(signal) - 1]
    if len(lags) < 3:
        return np.full(len(signal), period), np.zeros(len(signal))
    stride = _TEMPOGRAM_STRIDE
    tempogram = local_tempogram(signal[:, None], lags, max(int(4.0 * rate), 1), stride)
    # Each moment of the tempogram stands for `stride` samples.
    found, strength = (np.repeat(values, stride)[:len(signal)]
                       for values in tempogram_periods(tempogram, lags, rate / stride))
    clear = (found > 0) & (strength > _LOCAL_PERIODICITY)
    return np.where(clear, np.clip(found, low * period, high * period), period), strength


def periodic_components(features: np.ndarray, rate: float, config: RepConfig) -> list[Candidate]:
    """The first `config.components` principal components, each with its autocorrelation period."""
    centred = features - features.mean(axis=0)
    # Principal components from the small (26 × 26) covariance, largest first. (einsum, not a
    # BLAS product: on a busy machine a threaded BLAS call can wait many milliseconds for its threads.)
    variances, vectors = np.linalg.eigh(np.einsum("ti,tj->ij", centred, centred))
    sizes = np.sqrt(np.clip(variances[::-1], 0.0, None))
    directions = vectors[:, ::-1].T
    if not len(sizes) or sizes[0] <= 0:
        return []
    shortest = max(2, int(config.min_period_s * rate))
    longest = min(len(features) // 2, int(config.max_period_s * rate))
    result = []
    for j in range(min(config.components, len(sizes))):
        projected = np.einsum("td,d->t", centred, directions[j])
        found = first_period(autocorrelation(projected), shortest, longest, config.period_ratio)
        if found is None:
            continue
        period, periodicity = found
        result.append(Candidate(signal=projected, direction=directions[j], period=period, periodicity=periodicity,
                                 score=periodicity * (sizes[j] / sizes[0]) ** config.size_weight))
    return result


def choose(candidates: list[Candidate], config: RepConfig) -> Candidate | None:
    """The best-scoring component; if its left and right sides move in opposition (alternating
    sides, one cycle per two repetitions), a periodic component at half its period instead."""
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c.score)
    if antisymmetry(best.direction) > config.alternation:
        low, high = _HALF_PERIOD
        halves = [c for c in candidates if low * best.period <= c.period <= high * best.period
                  and c.periodicity >= _ALTERNATE_MIN_PERIODICITY]
        if halves:
            best = max(halves, key=lambda c: c.score)
    return best


def antisymmetry(direction: np.ndarray) -> float:
    """1 where the component moves each left landmark exactly against its right twin, −1 where both
    move alike, about 0 for a component of one side or of the middle of the body."""
    return float(-(direction * direction[SWAP_COLUMNS]).sum() / max((direction * direction).sum(), 1e-12))



def autocorrelation(signal: np.ndarray) -> np.ndarray:
    """Autocorrelation at lags 0..N-1, 1 at lag 0 (biased: long lags, seen over little overlap, count less)."""
    centred = signal - signal.mean()
    count = len(centred)
    spectrum = np.fft.rfft(centred, 2 * count)
    result = np.fft.irfft(spectrum * np.conj(spectrum))[:count]
    return result / result[0] if result[0] > 0 else np.zeros(count)


def first_period(autocorrelation: np.ndarray, shortest: int, longest: int,
                 ratio: float = 0.0) -> tuple[float, float] | None:
    """The first autocorrelation peak between lags `shortest` and `longest` that rises above
    `MIN_PERIODICITY` and `ratio` times the highest peak there (the periods found are scored
    against each other: a weak early peak, half a period of a lopsided movement, is passed over
    for a clearly stronger one), refined between samples: (lag, height), or None."""
    lags = np.arange(max(shortest, 1), min(longest, len(autocorrelation) - 1))
    if len(lags) == 0:
        return None
    here, before, after = autocorrelation[lags], autocorrelation[lags - 1], autocorrelation[lags + 1]
    peaks = lags[(here > before) & (here >= after) & (here > MIN_PERIODICITY)]
    if len(peaks) == 0:
        return None
    heights = autocorrelation[peaks]
    lag = int(peaks[np.argmax(heights >= ratio * heights.max())])
    y0, y1, y2 = autocorrelation[lag - 1], autocorrelation[lag], autocorrelation[lag + 1]
    curvature = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
    return lag + float(np.clip(shift, -0.5, 0.5)), float(y1)

