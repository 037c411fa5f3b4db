"""Repetition counting for any exercise, from pose landmarks alone.

No exercise has a rule of its own here: a repetition is one cycle of whatever the body does over
and over. The steps, each a small function below:

1. `pose_signal`: the landmarks become a movement signal on an even time grid: 13 body landmarks
   (nose, shoulders, elbows, wrists, hips, knees, ankles), centred on the hips and measured in torso
   lengths, so that neither where the person stands nor how far the camera is matters; frames with
   nobody are bridged, longer gaps are marked unobserved; jitter is smoothed and slow drifts
   (walking, a moving camera) are taken out.
2. `_exercise_stretch`: the stretch that repeats. A tempogram (how well the movement matches itself
   one period later, at every moment and for every period) finds where repetition starts and ends,
   so getting into position, unracking a bar or walking away does not shape what follows.
3. `_candidates` / `_choose`: principal components of the movement in that stretch; each gets its
   period from its autocorrelation, and the one that is both periodic and large is kept. A
   component in which the left and right sides move in opposition (alternating lunges or raises)
   cycles once per two repetitions, so a component at half its period is preferred when there is one.
4. `_repetitions`: that component, band-passed around its period, has a phase (analytic signal);
   each turn of the phase while the movement is large enough is a repetition (rests between sets,
   where the amplitude falls, are not counted; a partial repetition counts when more than half done).

`count_repetitions` does this for a `PoseSequence` or a stretch of one; `RepCounter` is the streaming
form for the Live page, fed one frame at a time, which runs the same analysis (`count_landmarks`)
on its last minute every second.
`python -m benchmarks.reps` measures both on Countix-Fitness (see BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from wpa.pose import NUM_LANDMARKS, PoseSequence

# nose, left/right shoulder, elbow, wrist, hip, knee, ankle: the hands', face's and feet's other
# landmarks only add MediaPipe's jitter to the same movements.
BODY = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
_LEFT_RIGHT = {11: 12, 13: 14, 15: 16, 23: 24, 25: 26, 27: 28}
_MIRROR = {**_LEFT_RIGHT, **{right: left for left, right in _LEFT_RIGHT.items()}}
# Feature column of the same coordinate on the other side of the body (x and y of each landmark).
_SWAP_COLUMNS = np.array([2 * BODY.index(_MIRROR.get(i, i)) + axis for i in BODY for axis in (0, 1)])
_HIPS = (BODY.index(23), BODY.index(24))
_SHOULDERS = (BODY.index(11), BODY.index(12))

ANALYSIS_RATE_HZ = 15.0  # the even time grid every signal is put on (Live delivers 10–15 frames/s)
MAX_GAP_S = 1.0  # frames with nobody for longer than this are not bridged: no repetition is counted there
_MIN_PERIODICITY = 0.1  # an autocorrelation peak below this is no period at all
_TEMPOGRAM_WINDOW_PERIODS = 2.5  # the tempogram compares this many periods (at least 4 s) at a time
_TEMPOGRAM_STRIDE = 2  # ... at every second sample: where repetition starts is not needed finer
_MIN_AMPLITUDE = 0.05  # torso lengths: a movement smaller than this (about 2–3 cm) is not a repetition
_HALF_PERIOD = (0.4, 0.6)  # a component "at half the period" of another, as a share of it
_ALTERNATE_MIN_PERIODICITY = 0.3  # ... and periodic enough to be the repetitions of an alternating exercise
_STREAM_MIN_WINDOW_S = 4.0  # the streaming counter counts nothing before it has seen this much
_STREAM_SETTLE_PERIODS = 0.25  # ... counts a repetition once this many periods have passed since its end
_STREAM_SETTLE_WINDOW = 0.25  # ... and no longer revises those starting in the first quarter of its window


def reps_text(count: int) -> str:
    """A count of repetitions in words: "1 rep", "12 reps"."""
    return f"{count} rep{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class RepConfig:
    """How repetitions are found. The defaults were chosen on Countix-Fitness (BENCHMARKS.md has how
    sensitive the figures are to each); they hold for every exercise: there is no per-exercise setting."""

    smoothing_s: float = 0.1  # Gaussian standard deviation against MediaPipe's frame-to-frame jitter
    detrend_s: float = 6.0  # movements slower than this (walking, drifting camera) are removed
    min_period_s: float = 0.5  # the fastest repetition looked for
    max_period_s: float = 8.0  # the slowest (a stretch needs two of them to be counted)
    components: int = 4  # principal components of the movement considered
    size_weight: float = 0.5  # a component's score is periodicity × (its size / the largest's) ** this
    stretch_periodicity: float = 0.2  # tempogram level above which a moment is repeating
    active_amplitude: float = 0.25  # cycles smaller than this share of the large ones (90th percentile) are rest
    alternation: float = 0.5  # left/right antisymmetry above which a component is an alternating exercise


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


_NO_REPETITIONS = RepCount(repetitions=(), period_s=None, stretch_s=None)


def pose_signal(landmarks: np.ndarray, timestamps_s: np.ndarray, aspect_ratio: float = 1.0,
                config: RepConfig = RepConfig(), rate_hz: float = ANALYSIS_RATE_HZ) -> PoseSignal:
    """Landmarks (T, 33, ≥2: x, y normalised to the frame, NaN where nobody) at `timestamps_s` (T,)
    → the movement signal both the offline and the streaming counter analyse.

    `aspect_ratio` (width / height) puts x on y's scale. Only frames with a person are used; the
    grid runs from the first to the last of them.
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
    # One scale for the whole stretch (not per frame, whose torso length jitters).
    scale = max(float(np.median(torso)), 1e-6)
    features = ((points - hips[:, None, :]) / scale).reshape(len(grid), -1)
    features = _gaussian_smooth(features, config.smoothing_s * rate_hz)
    features = features - _moving_average(features, config.detrend_s * rate_hz)
    return PoseSignal(grid, features, observed, rate_hz)


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
    """Repetitions in a movement signal (see the module's docstring for the steps)."""
    rate = signal.rate_hz
    if len(signal) < 2 * config.min_period_s * rate + 2:
        return _NO_REPETITIONS
    first, last = _exercise_stretch(signal.features, rate, config)
    features = signal.features[first:last]
    candidates = _candidates(features, rate, config)
    best = _choose(candidates, config)
    if best is None:
        return _NO_REPETITIONS
    cycles = _repetitions(best.signal, best.period, signal.observed[first:last], config)
    times = signal.times_s[first:last]
    step = 1 / rate
    # A repetition ends where the next sample starts (exactly where the next repetition may begin).
    ends = np.append(times[1:], times[-1] + step)
    repetitions = tuple(Repetition(start_s=float(times[a]), end_s=float(ends[b - 1])) for a, b in cycles)
    return RepCount(repetitions=repetitions, period_s=best.period / rate,
                    stretch_s=(float(times[0]), float(times[-1] + step)), periodicity=best.periodicity)


@dataclass(frozen=True)
class _Candidate:
    """One principal component of the movement, with its period (in samples) and how periodic it is."""

    signal: np.ndarray  # (N,) the movement projected on the component
    direction: np.ndarray  # (26,) the component's unit vector
    period: float
    periodicity: float  # the autocorrelation at that period, 0..1
    score: float


def _exercise_stretch(features: np.ndarray, rate: float, config: RepConfig) -> tuple[int, int]:
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
    tempogram = _tempogram(features, lags, max(int(4.0 * rate), 1), stride)
    period, strength = _tempogram_periods(tempogram, lags, rate / stride)
    repeating = strength > config.stretch_periodicity
    runs = []
    for start, stop in _runs(repeating):
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


def _tempogram(features: np.ndarray, lags: np.ndarray, min_window: int, stride: int = 1) -> np.ndarray:
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


def _tempogram_periods(tempogram: np.ndarray, lags: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
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


def _candidates(features: np.ndarray, rate: float, config: RepConfig) -> list[_Candidate]:
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
        found = _first_period(_autocorrelation(projected), shortest, longest)
        if found is None:
            continue
        period, periodicity = found
        result.append(_Candidate(signal=projected, direction=directions[j], period=period, periodicity=periodicity,
                                 score=periodicity * (sizes[j] / sizes[0]) ** config.size_weight))
    return result


def _choose(candidates: list[_Candidate], config: RepConfig) -> _Candidate | None:
    """The best-scoring component; if its left and right sides move in opposition (alternating
    sides, one cycle per two repetitions), a periodic component at half its period instead."""
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c.score)
    if _antisymmetry(best.direction) > config.alternation:
        low, high = _HALF_PERIOD
        halves = [c for c in candidates if low * best.period <= c.period <= high * best.period
                  and c.periodicity >= _ALTERNATE_MIN_PERIODICITY]
        if halves:
            best = max(halves, key=lambda c: c.score)
    return best


def _antisymmetry(direction: np.ndarray) -> float:
    """1 where the component moves each left landmark exactly against its right twin, −1 where both
    move alike, about 0 for a component of one side or of the middle of the body."""
    return float(-(direction * direction[_SWAP_COLUMNS]).sum() / max((direction * direction).sum(), 1e-12))


def _repetitions(signal: np.ndarray, period: float, observed: np.ndarray, config: RepConfig) -> list[tuple[int, int]]:
    """(first, end) sample of each repetition: turns of the phase of `signal` band-passed around
    `period`, counted where its amplitude is at least `config.active_amplitude` of the large cycles'."""
    band = _gaussian_smooth(signal - _moving_average(signal, period), period / 8)
    analytic = _analytic(band)
    amplitude = np.abs(analytic)
    # Large enough against the large cycles, and against MediaPipe's jitter on a still person.
    floor = max(config.active_amplitude * float(np.percentile(amplitude, 90)), _MIN_AMPLITUDE)
    active = (amplitude > floor) & observed
    phase = np.unwrap(np.angle(analytic))
    # Phase only moves forwards, and only while active: a rest or a twitch backwards adds nothing.
    steps = np.clip(np.diff(phase), 0.0, None) * active[1:]
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
    for run_start, run_stop in _runs(~active[first:end]):
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


class RepCounter:
    """The streaming counter for the Live page: feed it each frame's landmarks with `update`.

    Every `hop_s` it runs `count_landmarks`, the offline counter, on the last `window_s` seconds;
    the repetitions that analysis found which have ended (a quarter period ago: the end of the
    window is still moving) are the running count. So each repetition is counted within about one
    repetition of its end, and the count is the offline counter's count of what has been seen,
    except that the last repetition waits until it is over (`finish` counts it as the offline
    counter does, when a set ends). The first are counted once two periods (and 4 s) have been
    seen. A later analysis, seeing more of the set, may find fewer: the count shown never goes
    back (it is the largest found so far), and repetitions about to leave the window are settled
    for good.
    """

    def __init__(self, config: RepConfig = RepConfig(), aspect_ratio: float = 1.0,
                 window_s: float = 60.0, hop_s: float = 1.0):
        self.config = config
        self.aspect_ratio = aspect_ratio  # width / height of the frames the landmarks refer to
        self.window_s = window_s
        self.hop_s = hop_s
        self.reset()

    def reset(self) -> None:
        """Forget everything: the count starts again from 0."""
        self._times: deque[float] = deque()
        self._frames: deque[np.ndarray] = deque()
        self._settled: list[Repetition] = []  # repetitions too old to be revised
        self._recent: list[Repetition] = []  # the window's ended repetitions, as its last analysis found them
        self._window_full = False  # whether the window has started to drop old frames
        self._shown: tuple[Repetition, ...] = ()  # what `count` and `repetitions` say
        self._next_analysis_s: float | None = None
        self.period_s: float | None = None  # the period the last trusted analysis found

    @property
    def count(self) -> int:
        return len(self._shown)

    @property
    def repetitions(self) -> tuple[Repetition, ...]:
        return self._shown

    def update(self, landmarks: np.ndarray | None, timestamp_s: float) -> int:
        """Add one frame: its landmarks (33, ≥2: x, y normalised to the frame), or None / NaN
        where nobody was found, at `timestamp_s` (seconds, increasing). Returns the running count."""
        if self._times and timestamp_s <= self._times[-1]:
            return self.count  # a frame out of order is dropped rather than corrupting the signal
        if landmarks is None:
            frame = np.full((len(BODY), 2), np.nan)
        else:
            frame = np.asarray(landmarks, dtype=np.float64)[BODY, :2]
        self._times.append(float(timestamp_s))
        self._frames.append(frame)
        while self._times[0] < timestamp_s - self.window_s:
            self._times.popleft()
            self._frames.popleft()
            self._window_full = True
        if self._next_analysis_s is None:
            self._next_analysis_s = timestamp_s + self.hop_s
        elif timestamp_s >= self._next_analysis_s:
            self._next_analysis_s = timestamp_s + self.hop_s
            self._analyse(timestamp_s)
        return self.count

    def finish(self) -> int:
        """The final count when the stream (or a set) ends: the last repetition counts as the
        offline counter counts it, if more than half done. `update` may go on afterwards."""
        if self._times:
            self._analyse(self._times[-1], final=True)
        return self.count

    def _analyse(self, now_s: float, final: bool = False) -> None:
        """Run the offline counter on the window; its repetitions that have ended become the
        count's recent part."""
        times = np.fromiter(self._times, float, len(self._times))
        landmarks = np.full((len(times), NUM_LANDMARKS, 2), np.nan)
        landmarks[:, BODY] = np.stack(self._frames)
        found = count_landmarks(landmarks, times, self.aspect_ratio, self.config)
        # A period is trusted once the window holds two of it (and a few seconds: a short window
        # has room only for short periods, and would take a twitch for one).
        if found.period_s is None or times[-1] - times[0] < max(_STREAM_MIN_WINDOW_S, 2 * found.period_s):
            return
        self.period_s = found.period_s
        wait_s = _STREAM_SETTLE_PERIODS * found.period_s
        # One already counted stays ended though its end, near the window's edge, moved a little later.
        ended = [r for r in found.repetitions
                 if final or r.end_s <= now_s - wait_s or any(_same(r, counted) for counted in self._recent)]
        if self._settled:
            ended = [r for r in ended if (r.start_s + r.end_s) / 2 > self._settled[-1].end_s]
        if self._window_full:
            # Those about to leave the window will not be seen whole again: settle them.
            horizon = times[0] + _STREAM_SETTLE_WINDOW * self.window_s
            while ended and ended[0].start_s < horizon:
                self._settled.append(ended.pop(0))
        self._recent = ended
        found_now = tuple(self._settled + self._recent)
        # A count going back and forth as analyses differ would confuse more than a rare one too many.
        if final or len(found_now) >= len(self._shown):
            self._shown = found_now


def _same(a: Repetition, b: Repetition) -> bool:
    """Whether two analyses' repetitions are one: they share most of the shorter one."""
    shared = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
    return shared > 0.5 * min(a.duration_s, b.duration_s)


def _analytic(signal: np.ndarray) -> np.ndarray:
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


def _autocorrelation(signal: np.ndarray) -> np.ndarray:
    """Autocorrelation at lags 0..N-1, 1 at lag 0 (biased: long lags, seen over little overlap, count less)."""
    centred = signal - signal.mean()
    count = len(centred)
    spectrum = np.fft.rfft(centred, 2 * count)
    result = np.fft.irfft(spectrum * np.conj(spectrum))[:count]
    return result / result[0] if result[0] > 0 else np.zeros(count)


def _first_period(autocorrelation: np.ndarray, shortest: int, longest: int) -> tuple[float, float] | None:
    """The first autocorrelation peak between lags `shortest` and `longest` that rises above
    `_MIN_PERIODICITY`, refined between samples: (lag, height), or None."""
    lags = np.arange(max(shortest, 1), min(longest, len(autocorrelation) - 1))
    if len(lags) == 0:
        return None
    here, before, after = autocorrelation[lags], autocorrelation[lags - 1], autocorrelation[lags + 1]
    peaks = lags[(here > before) & (here >= after) & (here > _MIN_PERIODICITY)]
    if len(peaks) == 0:
        return None
    lag = int(peaks[0])
    y0, y1, y2 = autocorrelation[lag - 1], autocorrelation[lag], autocorrelation[lag + 1]
    curvature = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
    return lag + float(np.clip(shift, -0.5, 0.5)), float(y1)


def _gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along the first axis (sigma in samples), edges held."""
    if sigma <= 0 or len(values) < 2:
        return values.astype(np.float64, copy=True)
    reach = int(math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, [(reach, reach)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1, axis=0)
    return windows @ kernel


def _moving_average(values: np.ndarray, width: float) -> np.ndarray:
    """Centred moving average along the first axis over `width` samples, edges held."""
    width = int(round(width))
    if width <= 1 or len(values) == 0:
        return values.astype(np.float64, copy=True)
    padded = np.pad(values, [(width // 2, width - width // 2)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    cumulative = np.cumsum(padded, axis=0)
    return (cumulative[width:] - cumulative[:-width]) / width


def _window_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum over a centred window of `width` samples (cut short at the edges)."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    count = len(values)
    index = np.arange(count)
    low = np.clip(index - width // 2, 0, count)
    high = np.clip(index - width // 2 + width, 0, count)
    return cumulative[high] - cumulative[low]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))
