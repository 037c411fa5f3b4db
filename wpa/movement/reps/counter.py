"""The offline counter: `count_repetitions` for a `PoseSequence` (or a stretch of one),
`count_landmarks` for a landmark array, `count_signal` for a movement signal."""

from __future__ import annotations

import math

import numpy as np

from wpa.movement.reps.adapt import adapt
from wpa.movement.reps.movement import PoseSignal, analytic_signal, gaussian_smooth, moving_average, pose_signal, true_runs
from wpa.movement.reps.periods import local_periods
from wpa.movement.reps.plain import plain_peaks_of
from wpa.movement.reps.records import NO_REPETITIONS, RepConfig, RepCount, Repetition
from wpa.poses.sequence import PoseSequence

_BANDS_PER_OCTAVE = 6  # the band-passes a set whose pace changes is followed with
_MIN_AMPLITUDE = 0.05  # torso lengths: a movement smaller than this (about 2–3 cm) is not a repetition
# A moment repeats clearly (its local tempogram's peak above this) where its size is a repetition's:
# the size the active threshold is a share of (`RepConfig.active_share`).
_CLEAR_PERIODICITY = 0.3


def count_repetitions(pose: PoseSequence, start_s: float | None = None, end_s: float | None = None,
                      config: RepConfig = RepConfig(), frames: slice | None = None) -> RepCount:
    """Repetitions in `pose`, or in the stretch from `start_s` to `end_s` (seconds; or `frames`, a
    slice of frame indices). Times in the result are the clip's."""
    landmarks, timestamps = pose.landmarks, np.asarray(pose.timestamps_s, dtype=np.float64)
    if frames is not None:
        landmarks, timestamps = landmarks[frames], timestamps[frames]
    keep = np.ones(len(timestamps), bool)
    if start_s is not None:
        keep &= timestamps >= start_s
    if end_s is not None:
        keep &= timestamps < end_s
    return count_landmarks(landmarks[keep], timestamps[keep], pose.aspect_ratio, config)


def count_landmarks(landmarks: np.ndarray, timestamps_s: np.ndarray, aspect_ratio: float = 1.0,
                    config: RepConfig = RepConfig()) -> RepCount:
    """Repetitions in a landmark array (T, 33, ≥2) with its timestamps: the one counting function
    behind `count_repetitions` and `RepCounter`."""
    return count_signal(pose_signal(landmarks, timestamps_s, aspect_ratio, config), config)


def count_signal(signal: PoseSignal, config: RepConfig = RepConfig()) -> RepCount:
    """Repetitions in a movement signal (see the package's docstring for the steps): the signal
    is first made ready for this video (`wpa.movement.reps.adapt`); where the component found is barely
    periodic (below `config.unsure_periodicity`), the plain counter's answer is taken."""
    rate = signal.rate_hz
    if len(signal) < 2 * config.min_period_s * rate + 2:
        return NO_REPETITIONS
    adapted = adapt(signal, config)
    signal, (first, last), best = adapted.signal, adapted.stretch, adapted.best
    if best is None:
        return NO_REPETITIONS  # nothing repeats: nothing to count, whatever peaks a plain look would find
    if best.periodicity < config.unsure_periodicity:
        return _plain(signal, best.periodicity)
    cycles = _repetitions(best.signal, best.period, signal.observed[first:last], config, rate)
    times = signal.times_s[first:last]
    step = 1 / rate
    # A repetition ends where the next sample starts (exactly where the next repetition may begin).
    ends = np.append(times[1:], times[-1] + step)
    repetitions = tuple(Repetition(start_s=float(times[a]), end_s=float(ends[b - 1])) for a, b in cycles)
    return RepCount(repetitions=repetitions, period_s=best.period / rate,
                    stretch_s=(float(times[0]), float(times[-1] + step)), periodicity=best.periodicity)


def _plain(signal: PoseSignal, periodicity: float) -> RepCount:
    """The plain counter's repetitions of the whole signal: one period around each peak it finds."""
    peaks, period_s = plain_peaks_of(signal.features, signal.times_s)
    if not len(peaks) or period_s is None:
        return NO_REPETITIONS
    start, end = float(signal.times_s[0]), float(signal.times_s[-1] + 1 / signal.rate_hz)
    repetitions, previous_end = [], start
    for peak in peaks:
        first = max(previous_end, float(peak) - period_s / 2)
        last = max(first + 1 / signal.rate_hz, min(end, float(peak) + period_s / 2))
        repetitions.append(Repetition(first, last))
        previous_end = last
    return RepCount(repetitions=tuple(repetitions), period_s=period_s, stretch_s=(start, end), periodicity=periodicity)


def _band(signal: np.ndarray, period: float) -> np.ndarray:
    """The analytic signal of `signal` band-passed around `period` (samples)."""
    return analytic_signal(gaussian_smooth(signal - moving_average(signal, period), period / 8))


def _paced_band(signal: np.ndarray, period: float, rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The analytic signal of `signal` band-passed around its period at each moment
    (`local_periods`), each sample's phase step from the one before in that same band, and how
    clearly the movement repeats at each sample (0..1)."""
    local, clarity = local_periods(signal, period, rate)
    # Bands a sixth of an octave apart, around the overall period; each moment takes the nearest.
    ladder = np.round(np.log2(local / period) * _BANDS_PER_OCTAVE).astype(int)
    bands = {k: _band(signal, period * 2 ** (k / _BANDS_PER_OCTAVE)) for k in np.unique(ladder)}
    rows = np.arange(len(signal))
    stack = np.stack(list(bands.values()))
    choice = np.searchsorted(np.array(list(bands)), ladder)
    analytic = stack[choice, rows]
    steps = np.angle(stack[choice[1:], rows[1:]] * np.conj(stack[choice[1:], rows[:-1]]))
    return analytic, steps, clarity


def active_floor(amplitude: np.ndarray, clarity: np.ndarray, observed: np.ndarray, period: float,
                 share: float) -> float:
    """The amplitude below which the movement is rest, not repetition: `share` of the typical
    (median) amplitude of the moments that clearly repeat (over a period of them; of all moments
    seen where fewer), and never below MediaPipe's jitter on a still person (`_MIN_AMPLITUDE`).

    Taken from the video's own clear repetitions, not from its largest movements: where the size
    of the repetitions changes within a video (another camera view, a tired person) the smaller
    ones still count, while a movement much smaller than the repetitions (getting into position,
    a twitch between sets) does not.
    """
    clear = (clarity > _CLEAR_PERIODICITY) & observed
    reference = amplitude[clear] if clear.sum() >= period else amplitude[observed]
    return max(share * float(np.median(reference)) if len(reference) else 0.0, _MIN_AMPLITUDE)


def _repetitions(signal: np.ndarray, period: float, observed: np.ndarray, config: RepConfig,
                 rate: float) -> list[tuple[int, int]]:
    """(first, end) sample of each repetition: turns of the phase of `signal` band-passed around
    its period at each moment, counted where its amplitude is above `active_floor`."""
    analytic, phase_steps, clarity = _paced_band(signal, period, rate)
    amplitude = np.abs(analytic)
    active = (amplitude > active_floor(amplitude, clarity, observed, period, config.active_share)) & observed
    # Phase only moves forwards, and only while active: a rest or a twitch backwards adds nothing.
    steps = np.clip(phase_steps, 0.0, None) * active[1:]
    progress = np.concatenate([[0.0], np.cumsum(steps)]) / (2 * math.pi)
    total = int(math.floor(progress[-1] + 0.5))
    if total == 0:
        return []
    # A repetition starts where the movement rests longest (where the phase turns slowest), so
    # repetition k covers the progress from offset + k - 1 to offset + k.
    offset = _rest_phase(np.angle(analytic)[active]) / (2 * math.pi) if active.any() else 0.0
    wrapped_start = (np.angle(analytic[np.argmax(active)]) / (2 * math.pi)) % 1.0
    offset = (offset - wrapped_start) % 1.0
    # The full turns, and a partial first or last one of at least half a turn.
    bounds = [offset + k for k in range(-1, int(progress[-1] - offset) + 2)]
    spans = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        done = min(b, progress[-1]) - max(a, 0.0)
        if done >= 0.5:
            spans.append((max(a, 0.0), min(b, progress[-1]), done))
    # Rounding the total may allow fewer repetitions than these spans: drop the smallest partial
    # ones then. It never adds one: pieces at both ends, each under half a turn, are not a repetition.
    while len(spans) > total:
        smallest = min(range(len(spans)), key=lambda i: spans[i][2])
        del spans[smallest]
    result: list[tuple[int, int]] = []
    for a, b, _ in spans:
        first = max(int(np.searchsorted(progress, a, side="right")) - 1, 0)
        if result:  # where one repetition ends the next begins: no sample belongs to both
            first = max(first, result[-1][1])
        end = min(max(int(np.searchsorted(progress, b, side="left")) + 1, first + 1), len(signal))
        result.append(_without_pauses(first, end, progress, active, period))
    return result


def _without_pauses(first: int, end: int, progress: np.ndarray, active: np.ndarray, period: float) -> tuple[int, int]:
    """A repetition's samples, cut at any pause (inactive for over half a period) inside it to
    the part where it moved most: a repetition that a rest or a gap splits happened on one side."""
    pieces, start = [], first
    for run_start, run_stop in true_runs(~active[first:end]):
        if run_stop - run_start > period / 2:
            pieces.append((start, first + run_start))
            start = first + run_stop
    pieces.append((start, end))
    pieces = [(a, b) for a, b in pieces if b > a]
    if len(pieces) <= 1:
        return (first, end) if not pieces else pieces[0]
    return max(pieces, key=lambda piece: progress[piece[1] - 1] - progress[piece[0]])


def _rest_phase(phases: np.ndarray) -> float:
    """The phase (radians) around which the signal spends most time: where the movement pauses."""
    bins = 16
    histogram, edges = np.histogram(phases, bins=bins, range=(-math.pi, math.pi))
    # Circular smoothing of the histogram before taking its peak.
    smoothed = histogram + 0.5 * (np.roll(histogram, 1) + np.roll(histogram, -1))
    peak = int(np.argmax(smoothed))
    return float((edges[peak] + edges[peak + 1]) / 2)

