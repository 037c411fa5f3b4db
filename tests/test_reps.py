"""Repetition counting (wpa.movement.reps) on synthetic skeletons whose movement is known exactly.

A standing skeleton in a 640 × 480 frame does squats, arm raises or alternating raises: every
repetition is one turn of a phase, so the true count (and each repetition's start and end) is
known, and noise, missing frames, rests, pace changes, camera changes and partial repetitions can
be added one at a time. No real data: the counter's figures on real poses come from
`python -m benchmarks.reps`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.movement import FPS, feed, phase_of, sequence, skeleton
from wpa.movement.reps import (BODY, RepConfig, RepCount, RepCounter, Repetition, count_landmarks, count_repetitions,
                               pose_signal)
from wpa.movement.reps.counter import active_floor
from wpa.poses.sequence import NUM_LANDMARKS


def count(landmarks: np.ndarray, **kwargs) -> RepCount:
    return count_repetitions(sequence(landmarks), **kwargs)


def test_counts_squats_at_a_steady_pace_with_their_times():
    result = count(skeleton(phase_of([(25.0, 0.4)])))  # 10 squats of 2.5 s
    assert result.count == 10
    assert result.period_s == pytest.approx(2.5, rel=0.1)
    starts = [r.start_s for r in result.repetitions]
    assert starts == sorted(starts)
    assert all(0 <= r.start_s < r.end_s <= 25.0 + 1e-6 for r in result.repetitions)
    # Each repetition is one squat, starting and ending standing (whole turns of the phase).
    assert [round(r.duration_s / 2.5) for r in result.repetitions] == [1] * 10
    for k, repetition in enumerate(result.repetitions):
        assert repetition.end_s == pytest.approx(2.5 * (k + 1), abs=0.6)


@pytest.mark.parametrize("exercise", ["squat", "raise"])
@pytest.mark.parametrize("scale, shift", [(1.0, (0.0, 0.0)), (0.4, (0.2, 0.1)), (1.6, (-0.1, 0.0))])
def test_the_count_does_not_depend_on_where_the_person_stands_or_how_far_the_camera_is(exercise, scale, shift):
    landmarks = skeleton(phase_of([(21.0, 1 / 3)]), exercise, scale=scale, shift=shift)  # 7 of 3 s
    assert count(landmarks).count == 7


def test_movement_signal_is_in_torso_lengths_around_the_hips():
    phase = phase_of([(12.0, 0.5)])
    near, far = skeleton(phase, noise=0.0), skeleton(phase, noise=0.0, scale=0.5, shift=(0.2, -0.1))
    times = np.arange(len(phase)) / FPS
    a = pose_signal(near[:, :, :2], times, aspect_ratio=640 / 480)
    b = pose_signal(far[:, :, :2], times, aspect_ratio=640 / 480)
    assert a.features.shape == (len(a.times_s), 2 * len(BODY))
    np.testing.assert_allclose(a.features, b.features, atol=1e-5)
    assert a.observed.all()
    # Around the hips, a squat moves the knees, ankles and hands by a good part of a torso length.
    assert np.ptp(a.features, axis=0).max() > 0.2


def test_frames_with_nobody_are_bridged():
    landmarks = skeleton(phase_of([(24.0, 0.5)]), seed=1)  # 12 of 2 s
    rng = np.random.default_rng(1)
    landmarks[rng.random(len(landmarks)) < 0.15] = np.nan  # 15 % of single frames lost
    landmarks[300:315] = np.nan  # and half a second in a row
    assert count(landmarks).count == 12


def test_no_repetition_is_counted_in_a_long_gap_without_anybody():
    landmarks = skeleton(phase_of([(12.0, 0.5), (8.0, 0.5), (12.0, 0.5)]))  # 16 of 2 s...
    landmarks[int(12 * FPS):int(20 * FPS)] = np.nan  # ... 4 of them out of sight
    result = count(landmarks)
    assert result.count in (12, 13)
    assert not any(13.0 < (r.start_s + r.end_s) / 2 < 19.0 for r in result.repetitions)


def test_a_rest_between_sets_is_not_counted():
    landmarks = skeleton(phase_of([(15.0, 0.4), (12.0, 0.0), (15.0, 0.4)]), noise=0.004)  # 6, rest 12 s, 6
    result = count(landmarks)
    assert result.count == 12
    assert not any(17.0 < (r.start_s + r.end_s) / 2 < 25.0 for r in result.repetitions)


def test_fast_and_slow_stretches_are_both_counted():
    landmarks = skeleton(phase_of([(12.0, 1 / 1.5), (15.0, 1 / 2.5)]))  # 8 fast, then 6 slow
    assert abs(count(landmarks).count - 14) <= 1


@pytest.mark.parametrize("seconds, rate, expected", [(6.0, 1 / 0.6, 10), (30.0, 1 / 6.0, 5)])
def test_very_fast_and_very_slow_repetitions(seconds, rate, expected):
    assert count(skeleton(phase_of([(seconds, rate)]), "raise")).count == expected


def test_a_partial_repetition_counts_when_more_than_half_done():
    full = phase_of([(20.0, 0.4)])  # 8 squats of 2.5 s
    # The clip starts 40 % into a squat (60 % of it still to do: counted) and stops 30 % into the
    # one after the last (not counted).
    phase = np.concatenate([0.4 + full, 8.4 + np.arange(1, int(0.9 * 2.5 * FPS)) / FPS * 0.4])
    assert count(skeleton(phase)).count == 9
    # Stopped 70 % into it instead: counted too.
    phase = np.concatenate([full, 8 + np.arange(1, int(0.7 * 2.5 * FPS)) / FPS * 0.4])
    assert count(skeleton(phase)).count == 9


def test_a_person_standing_still_counts_zero():
    result = count(skeleton(np.zeros(int(20 * FPS)), noise=0.004))
    assert result.count == 0
    assert result.repetitions == ()


def test_nobody_or_too_little_counts_zero():
    assert count(np.full((300, NUM_LANDMARKS, 4), np.nan, np.float32)).count == 0
    assert count(skeleton(phase_of([(0.5, 1.0)]))).count == 0
    assert count(skeleton(phase_of([(0.05, 1.0)]))).count == 0
    assert count_landmarks(np.zeros((0, NUM_LANDMARKS, 2)), np.zeros(0)).count == 0


def test_walking_into_position_is_not_counted():
    squats = skeleton(phase_of([(20.0, 0.4)]), seed=3)  # 8 squats
    # 3 s walking in from the side: the whole body moves across the frame, legs swinging.
    steps = int(3 * FPS)
    walk = skeleton(np.zeros(steps), seed=4)
    walk[:, :, 0] += np.linspace(-0.35, 0.0, steps)[:, None]
    swing = 0.04 * np.sin(2 * math.pi * 1.8 * np.arange(steps) / FPS)
    walk[:, (25, 27, 29, 31), 0] += swing[:, None]
    walk[:, (26, 28, 30, 32), 0] -= swing[:, None]
    assert count(np.concatenate([walk, squats])).count == 8


def test_alternating_sides_count_each_side_once():
    landmarks = skeleton(phase_of([(24.0, 0.5)]), "alternate")  # 12 raises, left and right in turn
    assert count(landmarks).count == 12


def test_a_camera_cut_does_not_add_repetitions():
    landmarks = skeleton(phase_of([(30.0, 0.4)]))  # 12 squats
    cut = int(14.0 * FPS)
    # Another camera from then on: the person is smaller and elsewhere in the frame.
    landmarks[cut:, :, :2] = (landmarks[cut:, :, :2] - 0.5) * 0.6 + np.array([0.65, 0.55], np.float32)
    assert abs(count(landmarks).count - 12) <= 1


def test_a_stretch_of_a_sequence_is_counted_alone():
    pose = sequence(skeleton(phase_of([(30.0, 0.4)])))  # 12 squats of 2.5 s
    stretch = count_repetitions(pose, start_s=10.0, end_s=20.0)  # squats 5 to 8
    assert stretch.count == 4
    assert all(10.0 <= r.start_s and r.end_s <= 20.0 + 1e-6 for r in stretch.repetitions)
    by_frames = count_repetitions(pose, frames=slice(int(10 * FPS), int(20 * FPS)))
    assert by_frames.count == 4
    assert by_frames.repetitions == stretch.repetitions


def test_settings_change_what_is_counted():
    """The settings reach the counter: repetitions slower than `max_period_s` are not looked for."""
    landmarks = skeleton(phase_of([(30.0, 1 / 5.0)]))  # 6 squats of 5 s
    assert count(landmarks).count == 6
    assert count(landmarks, config=RepConfig(max_period_s=3.0)).count != 6


def test_uneven_timestamps_are_put_on_an_even_grid():
    phase = phase_of([(24.0, 0.5)])  # 12 of 2 s at 30 frames/s, then about 12 frames/s kept, unevenly
    keep = np.sort(np.random.default_rng(5).choice(len(phase), size=int(12 * 24), replace=False))
    timestamps = keep / FPS
    pose = sequence(skeleton(phase)[keep], fps=12.0, timestamps=timestamps)
    assert count_repetitions(pose).count == 12


def test_streaming_count_rises_as_repetitions_finish():
    period = 2.0
    counts = feed(RepCounter(aspect_ratio=640 / 480), skeleton(phase_of([(20.0, 1 / period)])))  # 10 of 2 s
    assert counts[0] == 0
    assert counts[-1] in (9, 10)  # the last one ends with the stream
    assert all(b >= a for a, b in zip(counts, counts[1:]))  # never goes back on clean movement
    # From the third on, each is counted within about one repetition after it ends.
    for k in range(3, counts[-1] + 1):
        counted_at = counts.index(k) / FPS
        assert counted_at <= k * period + 1.2 * period, (k, counted_at)
    # ... and not before it has ended.
    for k in range(1, counts[-1] + 1):
        assert counts.index(k) / FPS >= k * period - 0.3 * period


def test_streaming_counts_what_the_offline_counter_counts():
    landmarks = skeleton(phase_of([(10.0, 0.4), (8.0, 0.0), (12.5, 0.4)]), seed=7)  # 4, rest, 5
    offline = count(landmarks)
    counter = RepCounter(aspect_ratio=640 / 480)
    feed(counter, landmarks)
    assert offline.count == 9
    assert counter.finish() == 9
    assert counter.count == 9


def test_streaming_skips_frames_with_nobody_and_frames_out_of_order():
    landmarks = skeleton(phase_of([(16.0, 0.5)]))  # 8 of 2 s
    landmarks[100:110] = np.nan
    counter = RepCounter(aspect_ratio=640 / 480)
    feed(counter, landmarks)
    before = counter.count
    assert counter.update(landmarks[0], 1.0) == before  # a timestamp from the past changes nothing
    assert counter.finish() == 8


def test_streaming_reset_starts_again_from_zero():
    counter = RepCounter(aspect_ratio=640 / 480)
    feed(counter, skeleton(phase_of([(12.0, 0.5)])))  # 6
    assert counter.count >= 5
    counter.reset()
    assert counter.count == 0
    assert counter.repetitions == ()
    # The next set, later in the same stream, is counted on its own.
    counts = feed(counter, skeleton(phase_of([(8.0, 0.5)]), "raise", seed=2), start_s=30.0)  # 4
    assert counts[0] == 0
    assert counter.finish() == 4


def test_streaming_stays_still_for_a_still_person():
    counter = RepCounter()
    counts = feed(counter, skeleton(np.zeros(int(15 * FPS)), noise=0.004))
    assert max(counts) == 0
    assert counter.finish() == 0


def test_repetition_records():
    repetition = Repetition(start_s=1.0, end_s=3.5)
    assert repetition.duration_s == 2.5
    result = RepCount(repetitions=(repetition,), period_s=2.5, stretch_s=(0.0, 4.0))
    assert result.count == 1
    assert result.times_s == [(1.0, 3.5)]
    with pytest.raises(ValueError):
        pose_signal(np.zeros((10, 5, 2)), np.arange(10.0))
    with pytest.raises(ValueError):
        pose_signal(np.zeros((10, NUM_LANDMARKS, 2)), np.arange(9.0))


def test_large_movements_before_the_set_do_not_hide_it():
    """Getting ready (unracking a bar, stretching) moves more than the repetitions do, once: the
    repeating stretch is found first, so it does not decide the movement that is counted."""
    rng = np.random.default_rng(8)
    ready = skeleton(np.zeros(int(8 * FPS)), seed=9)
    # Arms swung about at random, smoothly, over most of a torso length and more.
    wander = np.cumsum(rng.normal(0.0, 0.02, (len(ready), 2, 2)), axis=0)
    wander = np.apply_along_axis(lambda c: np.convolve(c, np.ones(15) / 15, mode="same"), 0, wander)
    ready[:, [13, 15], :2] += wander[:, 0:1] * np.array([1.0, 1.0], np.float32)
    ready[:, [14, 16], :2] += wander[:, 1:2] * np.array([1.0, 1.0], np.float32)
    squats = skeleton(phase_of([(20.0, 0.4)]), seed=10)  # 8 squats
    assert count(np.concatenate([ready, squats])).count == 8


def test_streaming_a_set_longer_than_the_window():
    counter = RepCounter(aspect_ratio=640 / 480, window_s=30.0)
    counts = feed(counter, skeleton(phase_of([(80.0, 0.4)]), seed=11))  # 32 squats of 2.5 s
    assert all(b >= a for a, b in zip(counts, counts[1:]))
    assert counts[-1] in (31, 32)
    assert counter.finish() == 32
    ends = [r.end_s for r in counter.repetitions]
    assert ends == sorted(ends)
    assert all(1.5 < b - a < 3.5 for a, b in zip(ends, ends[1:]))  # none twice, none left out


def test_the_active_threshold_is_a_share_of_the_clear_repetitions():
    """`active_floor`: a share of the typical size where the movement clearly repeats, not of the
    largest movement; of every moment seen where too few repeat clearly; never below jitter."""
    period = 20.0
    # A third of the moments are large clear repetitions, two thirds smaller clear ones (the
    # camera turned): the threshold follows the typical clear repetition, under the smaller ones.
    amplitude = np.concatenate([np.full(100, 1.0), np.full(200, 0.2)])
    clear = np.full(300, 0.8)
    seen = np.ones(300, bool)
    assert active_floor(amplitude, clear, seen, period, 0.35) == pytest.approx(0.35 * 0.2)
    # Large movements that do not repeat (getting ready) do not raise it.
    clarity = np.concatenate([np.full(100, 0.05), np.full(200, 0.8)])
    assert active_floor(amplitude, clarity, seen, period, 0.35) == pytest.approx(0.35 * 0.2)
    # Too few clear moments (less than a period): the typical size of all the moments seen.
    clarity = np.zeros(300)
    clarity[:10] = 0.8
    assert active_floor(amplitude, clarity, seen, period, 0.5) == pytest.approx(0.5 * 0.2)
    # Moments not seen count for nothing; a tiny movement's threshold is MediaPipe's jitter's.
    assert active_floor(amplitude, clear, np.arange(300) < 100, period, 0.35) == pytest.approx(0.35)
    assert active_floor(np.full(300, 0.01), clear, seen, period, 0.35) == pytest.approx(0.05)


def test_repetitions_that_shrink_midway_are_all_counted():
    """A set whose repetitions become a fifth as large partway (filmed from further round, done
    shallower) is counted whole: the threshold follows the video's own clear repetitions, so the
    smaller ones are not taken for rest beside the large ones."""
    still = skeleton(np.zeros(1), noise=0.0)[0]
    large = skeleton(phase_of([(15.0, 0.4)]), noise=0.0)  # 6 squats of 2.5 s
    small = skeleton(phase_of([(20.0, 0.4)]), noise=0.0)  # 8 more ...
    small[:, :, :2] = still[:, :2] + 0.2 * (small[:, :, :2] - still[:, :2])  # ... a fifth as deep
    landmarks = np.concatenate([large, small])
    landmarks[:, :, :2] += np.random.default_rng(12).normal(0.0, 0.002, landmarks[:, :, :2].shape)
    assert abs(count(landmarks).count - 14) <= 1


def test_a_small_movement_before_the_set_is_not_counted():
    """Settling into position (one small dip, a fifth of a squat) before 8 squats is not one."""
    still = skeleton(np.zeros(1), noise=0.0)[0]
    settle = skeleton(phase_of([(2.5, 0.4)]), noise=0.0)
    settle[:, :, :2] = still[:, :2] + 0.2 * (settle[:, :, :2] - still[:, :2])
    squats = skeleton(phase_of([(20.0, 0.4)]), noise=0.0)
    landmarks = np.concatenate([skeleton(np.zeros(int(2 * FPS)), noise=0.0), settle, squats])
    landmarks[:, :, :2] += np.random.default_rng(13).normal(0.0, 0.002, landmarks[:, :, :2].shape)
    assert count(landmarks).count == 8
