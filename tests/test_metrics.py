"""Metrics: scikit-learn's confusion matrices and per-class scores, time weighting, and the
share of clips a model's threshold would call unknown."""

import numpy as np
import pytest

from wpa.recognition.metrics import HeldOut, calibrate_unknown_threshold, evaluate_probabilities, frame_durations

LABELS = ("a", "b")


def probabilities(rows):
    return np.array(rows, np.float32)


def test_a_slow_and_a_fast_clip_count_by_time_not_frames():
    # 30 fps clip, all right; 60 fps clip of the same length, all wrong.
    slow = HeldOut("a/1", "a", probabilities([[0.9, 0.1]] * 30), np.arange(30) / 30)
    fast = HeldOut("b/1", "b", probabilities([[0.9, 0.1]] * 60), np.arange(60) / 60)
    evaluation = evaluate_probabilities(LABELS, [slow, fast])
    assert evaluation.frame_accuracy == pytest.approx(30 / 90)
    assert evaluation.time_accuracy == pytest.approx(0.5)
    assert evaluation.clip_accuracy == 0.5
    assert evaluation.frame_confusion.tolist() == [[30, 0], [60, 0]]
    assert evaluation.clip_confusion.tolist() == [[1, 0], [1, 0]]
    rows = {row["label"]: row for row in evaluation.per_class("clip")}
    assert rows["a"]["precision"] == 0.5 and rows["a"]["recall"] == 1 and rows["b"]["f1"] == 0


def test_frames_with_nobody_are_left_out_and_gaps_are_not_credited():
    rows = probabilities([[0.8, 0.2], [np.nan, np.nan], [np.nan, np.nan], [0.3, 0.7]])
    times = np.array([0.0, 0.1, 0.2, 0.3])
    durations = frame_durations(times, ~np.isnan(rows).any(axis=1))
    np.testing.assert_allclose(durations, [0.1, 0.1])  # the first frame does not own the gap after it
    evaluation = evaluate_probabilities(LABELS, [HeldOut("a/1", "a", rows, times)])
    assert len(evaluation.frame_truth) == 2 and evaluation.time_accuracy == pytest.approx(0.5)


def test_the_calibrated_threshold_calls_the_asked_share_of_known_clips_unknown():
    clips = [HeldOut(f"a/{i}", "a", probabilities([[c, 1 - c]] * 5)) for i, c in enumerate(np.linspace(0.5, 1, 21))]
    threshold = calibrate_unknown_threshold(evaluate_probabilities(LABELS, clips), 0.1)
    judged = evaluate_probabilities(LABELS, [clip._replace(unknown_threshold=threshold) for clip in clips])
    assert judged.unknown_share == pytest.approx(2 / 21)
    assert evaluate_probabilities(LABELS, clips).unknown_share is None
    assert calibrate_unknown_threshold(evaluate_probabilities(LABELS, []), 0.1) is None
