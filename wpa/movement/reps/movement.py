"""The movement signal every count starts from (`pose_signal`), and the filters on it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wpa.movement.reps.records import RepConfig
from wpa.poses.sequence import NUM_LANDMARKS

# nose, left/right shoulder, elbow, wrist, hip, knee, ankle: the hands', face's and feet's other
# landmarks only add MediaPipe's jitter to the same movements.
BODY = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
_LEFT_RIGHT = {11: 12, 13: 14, 15: 16, 23: 24, 25: 26, 27: 28}
_MIRROR = {**_LEFT_RIGHT, **{right: left for left, right in _LEFT_RIGHT.items()}}
# Feature column of the same coordinate on the other side of the body (x and y of each landmark).
SWAP_COLUMNS = np.array([2 * BODY.index(_MIRROR.get(i, i)) + axis for i in BODY for axis in (0, 1)])
_HIPS = (BODY.index(23), BODY.index(24))
_SHOULDERS = (BODY.index(11), BODY.index(12))

ANALYSIS_RATE_HZ = 15.0  # the even time grid every signal is put on (Live delivers 10–15 frames/s)
MAX_GAP_S = 1.0  # frames with nobody for longer than this are not bridged: no repetition is counted there
# A camera cut (or clips joined): the torso's length in the frame jumps by more than this factor
# between the few samples before and after (a body turning or bending changes it gradually).
CUT_SCALE_JUMP = 2.0
_CUT_LOOK_S = 0.2  # ... comparing the median of this much before with this much after
_MIN_TAKE_S = 1.0  # a take shorter than this (a glitch of the pose) is no take of its own


@dataclass(frozen=True)
class PoseSignal:
    """The movement signal of `pose_signal`: `features` (N, 26) in torso lengths on an even grid
    of `times_s` (N,), with `observed` (N,) false where the person was out of sight too long."""

    times_s: np.ndarray
    features: np.ndarray
    observed: np.ndarray
    rate_hz: float = ANALYSIS_RATE_HZ

    def __len__(self) -> int:
        return len(self.times_s)



def pose_signal(landmarks: np.ndarray, timestamps_s: np.ndarray, aspect_ratio: float = 1.0,
                config: RepConfig = RepConfig(), rate_hz: float = ANALYSIS_RATE_HZ) -> PoseSignal:
    """Landmarks (T, 33, ≥2: x, y normalised to the frame, NaN where nobody) at `timestamps_s` (T,)
    → the movement signal both the offline and the streaming counter analyse.

    `aspect_ratio` (width / height) puts x on y's scale. Only frames with a person are used; the
    grid runs from the first to the last of them. Each take (between camera cuts, `take_cuts`) is
    measured in its own torso length.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    timestamps_s = np.asarray(timestamps_s, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1] != NUM_LANDMARKS or landmarks.shape[2] < 2:
        raise ValueError(f"landmarks must be (frames, {NUM_LANDMARKS}, ≥2), not {landmarks.shape}")
    if timestamps_s.shape != (len(landmarks),):
        raise ValueError(f"{len(landmarks)} frames of landmarks but timestamps of shape {timestamps_s.shape}")
    points = landmarks[:, BODY, :2] * np.array([aspect_ratio, 1.0])
    present = np.isfinite(points).all(axis=(1, 2))
    times, points = timestamps_s[present], points[present]
    if len(times) < 2 or times[-1] - times[0] < 2 / rate_hz:
        return PoseSignal(np.zeros(0), np.zeros((0, 2 * len(BODY))), np.zeros(0, bool), rate_hz)
    grid = times[0] + np.arange(int(math.floor((times[-1] - times[0]) * rate_hz)) + 1) / rate_hz
    # Linear interpolation between the frames on either side of each grid point.
    after = np.clip(np.searchsorted(times, grid, side="right"), 1, len(times) - 1)
    before = after - 1
    gap = times[after] - times[before]
    weight = np.clip((grid - times[before]) / np.maximum(gap, 1e-9), 0.0, 1.0)[:, None, None]
    points = points[before] * (1 - weight) + points[after] * weight
    observed = gap <= MAX_GAP_S
    hips = points[:, _HIPS].mean(axis=1)
    torso = np.linalg.norm(points[:, _SHOULDERS].mean(axis=1) - hips, axis=1)
    cuts = take_cuts(torso, rate_hz)
    takes = list(zip([0, *cuts], [*cuts, len(grid)]))
    # One scale for each take (not per frame, whose torso length jitters and changes as the body
    # bends or turns): a person filmed nearer after a cut moves as far in torso lengths.
    scale = np.concatenate([np.full(stop - start, max(float(np.median(torso[start:stop])), 1e-6))
                            for start, stop in takes])
    features = ((points - hips[:, None, :]) / scale[:, None, None]).reshape(len(grid), -1)
    # Smoothed take by take: the jump at a cut is not spread over the samples around it.
    features = np.concatenate([gaussian_smooth(features[start:stop], config.smoothing_s * rate_hz)
                               for start, stop in takes])
    return PoseSignal(grid, features, observed, rate_hz)


def take_cuts(torso: np.ndarray, rate_hz: float) -> tuple[int, ...]:
    """Samples where a new take starts: the torso's median length over `_CUT_LOOK_S` after differs
    from that before by more than `CUT_SCALE_JUMP` times; no take is shorter than `_MIN_TAKE_S`."""
    look = max(2, int(round(_CUT_LOOK_S * rate_hz)))
    if len(torso) < 2 * look:
        return ()
    logs = np.log(np.maximum(torso, 1e-6))
    windows = np.median(np.lib.stride_tricks.sliding_window_view(logs, look), axis=1)
    # jump[i]: between the `look` samples before sample i + look and the `look` from it on.
    jump = np.abs(windows[look:] - windows[:-look])
    steps = [(start + stop - 1) // 2 + look for start, stop in true_runs(jump > math.log(CUT_SCALE_JUMP))]
    # The middle of each run of large jumps is the first sample after the step. A take too short
    # between two steps is a glitch of the pose: neither step is a cut.
    shortest = _MIN_TAKE_S * rate_hz
    cuts: list[int] = []
    for step in steps:
        if cuts and step - cuts[-1] < shortest:
            cuts.pop()
        elif step >= shortest and len(torso) - step >= shortest:
            cuts.append(step)
    return tuple(cuts)


def analytic_signal(signal: np.ndarray) -> np.ndarray:
    """The analytic signal (signal + i · its Hilbert transform), by FFT."""
    count = len(signal)
    spectrum = np.fft.fft(signal)
    weights = np.zeros(count)
    weights[0] = 1.0
    if count % 2 == 0:
        weights[count // 2] = 1.0
        weights[1:count // 2] = 2.0
    else:
        weights[1:(count + 1) // 2] = 2.0
    return np.fft.ifft(spectrum * weights)



def detrended(values: np.ndarray, width: float) -> np.ndarray:
    """`values` less their centred moving average over `width` samples: slower movements removed."""
    return values - moving_average(values, width)


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along the first axis (sigma in samples), edges held."""
    if sigma <= 0 or len(values) < 2:
        return values.astype(np.float64, copy=True)
    reach = int(math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, [(reach, reach)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1, axis=0)
    return windows @ kernel


def moving_average(values: np.ndarray, width: float) -> np.ndarray:
    """Centred moving average along the first axis over `width` samples, edges held."""
    width = int(round(width))
    if width <= 1 or len(values) == 0:
        return values.astype(np.float64, copy=True)
    padded = np.pad(values, [(width // 2, width - width // 2)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    cumulative = np.cumsum(padded, axis=0)
    return (cumulative[width:] - cumulative[:-width]) / width



def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))
