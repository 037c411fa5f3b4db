"""Inference: smoothing, unknown and no-person frames, top classes, segments, and the clip's label
(`Recognizer.predict_clip`)."""

from dataclasses import replace

import numpy as np
import pytest

from tests.support.models import LABELS, make_model
from tests.support.movement import phase_of, sequence, skeleton
from tests.support.poses import random_pose
from wpa.recognition.inference import (NO_PERSON, UNKNOWN, InferenceConfig, Segment, count_segment_repetitions,
                                       counting_stretches, find_segments, is_flicker, is_sure, label_frames, smooth_at,
                                       smooth_probabilities, top_classes)
from wpa.movement.reps import count_repetitions
from wpa.poses.sequence import PoseSequence
from wpa.recognition.recognizer import Recognizer


def test_smoothing_removes_a_one_frame_flicker_and_keeps_gaps():
    t = np.arange(30) / 30
    p = np.tile([0.9, 0.1], (30, 1)).astype(np.float32)
    p[10] = [0.1, 0.9]
    p[20] = np.nan
    smoothed = smooth_probabilities(p, t, sigma_s=0.1)
    assert smoothed[10, 0] > 0.5
    assert np.isnan(smoothed[20]).all()
    np.testing.assert_allclose(smoothed[~np.isnan(smoothed).any(axis=1)].sum(axis=1), 1.0, atol=1e-5)


def test_no_smoothing_leaves_probabilities_alone():
    p = np.random.default_rng(0).dirichlet([1, 1, 1], size=8).astype(np.float32)
    np.testing.assert_array_equal(smooth_probabilities(p, np.arange(8) / 30, 0.0), p)


def test_a_stream_smooths_a_frame_as_the_clip_does_from_the_frames_it_has():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.02, 0.06, 80))  # uneven frame times, as a live camera's
    p = rng.dirichlet([1, 1, 1], size=80).astype(np.float32)
    whole = smooth_probabilities(p, t, 0.3)
    for i in (0, 17, 40, 79):  # with every frame around it: the clip's value
        np.testing.assert_allclose(smooth_at(p, t, t[i], 0.3), whole[i], atol=1e-6)
    latest = smooth_at(p[:41], t[:41], t[40], 0.3)  # the frames up to it only: the past half
    assert not np.allclose(latest, whole[40]) and latest.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(smooth_at(p[:41], t[:41], t[40], 0.0), p[40])


def test_one_unknown_rule_and_one_top_k():
    assert is_sure(0.6, 0.6) and not is_sure(0.5999, 0.6)
    row = np.array([0.1, 0.6, 0.05, 0.25])
    assert top_classes(row, ("a", "b", "c", "d")) == (("b", 0.6), ("d", 0.25), ("a", 0.1))
    assert top_classes(np.full(4, np.nan), ("a", "b", "c", "d")) == ()


def test_frames_below_the_threshold_are_unknown_and_empty_frames_no_person():
    p = np.array([[0.9, 0.1], [0.55, 0.45], [np.nan, np.nan]])
    assert label_frames(p, ("a", "b"), 0.6) == ("a", UNKNOWN, NO_PERSON)


def test_segments_follow_changes_and_absorb_flickers():
    t = np.arange(300) / 30  # 10 s
    labels = ["squat"] * 120 + ["lunge"] * 3 + ["squat"] * 27 + ["plank"] * 150
    smoothed = np.zeros((300, 3))
    for i, label in enumerate(labels):
        smoothed[i, ("lunge", "plank", "squat").index(label)] = 0.8
    segments = find_segments(tuple(labels), t, smoothed, ("lunge", "plank", "squat"), min_segment_s=1.0)
    assert [(s.label, round(s.start_s, 2), round(s.end_s, 2)) for s in segments] == [("squat", 0.0, 5.0), ("plank", 5.0, 10.0)]
    assert segments[1].confidence == pytest.approx(0.8)


def test_a_long_stretch_with_nobody_is_its_own_segment():
    t = np.arange(150) / 30
    labels = ("squat",) * 50 + (NO_PERSON,) * 60 + ("squat",) * 40
    smoothed = np.where(np.array(labels)[:, None] == NO_PERSON, np.nan, 0.9) * np.ones((150, 1))
    segments = find_segments(labels, t, smoothed, ("squat",), 1.0)
    assert [s.label for s in segments] == ["squat", NO_PERSON, "squat"]
    assert segments[1].confidence == 0.0


def test_predict_clip_summarises_a_clip():
    model = make_model()
    pose = random_pose(frames=60, missing=(7, 8))
    prediction = Recognizer(model, InferenceConfig(min_confidence=0.0)).predict_clip(pose)
    assert prediction.probabilities.shape == (60, len(LABELS))
    assert prediction.frames_with_pose == 58
    assert prediction.frame_labels[7] == NO_PERSON
    assert prediction.label in LABELS and prediction.label == prediction.best_guess
    assert 0 < prediction.confidence <= 1
    summary = prediction.summary()
    assert summary["frames"] == 60 and summary["segments"][0]["start_s"] == 0.0
    assert summary["segments"][-1]["end_s"] == round(60 / 30, 3)
    assert summary["top"][0]["label"] == prediction.label


def test_an_unsure_clip_is_unknown():
    prediction = Recognizer(make_model(), InferenceConfig(min_confidence=0.99)).predict_clip(random_pose(frames=30))
    assert prediction.label == UNKNOWN and prediction.best_guess in LABELS


def test_the_model_s_own_threshold_decides_unknown_unless_another_is_asked_for():
    model, pose = make_model(), random_pose(frames=30)
    confidence = Recognizer(model, InferenceConfig(min_confidence=0.0)).predict_clip(pose).confidence
    model.unknown_threshold = confidence + 0.01
    assert Recognizer(model).predict_clip(pose).label == UNKNOWN
    model.unknown_threshold = confidence - 0.01
    assert Recognizer(model).predict_clip(pose).label in LABELS
    assert Recognizer(model, InferenceConfig(min_confidence=0.999)).predict_clip(pose).label == UNKNOWN


def test_a_clip_with_nobody_is_marked_not_guessed():
    pose = random_pose(frames=20, missing=tuple(range(20)))
    prediction = Recognizer(make_model()).predict_clip(pose)
    assert prediction.label == NO_PERSON and prediction.confidence == 0.0
    assert set(prediction.frame_labels) == {NO_PERSON}
    assert [s.label for s in prediction.segments] == [NO_PERSON]


def test_an_empty_clip():
    pose = random_pose(frames=1)
    empty = PoseSequence(pose.landmarks[:0], pose.world_landmarks[:0], pose.timestamps_s[:0], 30.0, (640, 480))
    prediction = Recognizer(make_model()).predict_clip(empty)
    assert prediction.label == NO_PERSON and prediction.segments == ()


def _segments(*spans):
    return tuple(Segment(label, start, end, 0.9) for label, start, end in spans)


def test_counting_stretches_keep_one_exercise_together_across_unsure_moments():
    segments = _segments((NO_PERSON, 0, 1), (UNKNOWN, 1, 2), ("squat", 2, 5), (UNKNOWN, 5, 6), ("squat", 6, 8),
                         ("lunge", 8, 10), (UNKNOWN, 10, 11), (NO_PERSON, 11, 12), ("lunge", 12, 13))
    assert counting_stretches(segments) == [[1, 2, 3, 4], [5, 6], [8]]


def test_a_flicker_of_another_exercise_inside_a_set_does_not_cut_it():
    # pull ups with a 1.8 s and a 1.1 s moment taken for other exercises, then 3 s of shoulder press
    segments = _segments(("pull_up", 0, 40), ("shoulder_press", 40, 41.8), ("pull_up", 41.8, 42.9),
                         ("lunge", 42.9, 44.0), ("pull_up", 44.0, 48), ("shoulder_press", 48, 51),
                         ("pull_up", 51, 55), ("squat", 55, 56), (NO_PERSON, 56, 57))
    assert [is_flicker(segments, i) for i in range(len(segments))] == [False, True, False, True, False, False,
                                                                       False, False, False]
    assert counting_stretches(segments) == [[0, 1, 2, 3, 4], [5], [6], [7]]


def test_a_repetition_where_segments_meet_is_counted_once_and_nobody_counts_nothing():
    phase = phase_of([(10.0, 0.5)])  # 5 squats of 2 s
    pose = sequence(skeleton(phase))
    whole = count_repetitions(pose)
    assert whole.count == 5
    assert all(a.end_s <= b.start_s for a, b in zip(whole.repetitions, whole.repetitions[1:]))  # no overlap
    # The model was unsure for the first 3 s: the second squat straddles the boundary.
    prediction = replace(Recognizer(make_model()).predict_clip(pose),
                         segments=_segments((UNKNOWN, 0, 3), ("squat", 3, 10.0)))
    counted = count_segment_repetitions(prediction, pose)
    assert counted.reps == whole.count
    assert [s.reps for s in counted.segments] == [1, 4]
    for segment in counted.segments:
        assert all(segment.start_s <= (r.start_s + r.end_s) / 2 < segment.end_s for r in segment.repetitions)
    summary = counted.summary()
    assert summary["reps"] == 5 and [s["reps"] for s in summary["segments"]] == [1, 4]
    assert len(summary["segments"][1]["rep_times_s"]) == 4
    nobody = replace(prediction, segments=_segments((NO_PERSON, 0, 10.0)))
    assert count_segment_repetitions(nobody, pose).reps == 0
