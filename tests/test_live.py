"""Live classification, frame by frame, without a browser: real frames in, annotated frames and
readings out; nobody, failures and stream lifetimes; sets and their repetitions."""

from datetime import datetime
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.support.data import SQUAT_CLIP
from tests.support.media import camera_frames
from tests.support.models import make_model
from tests.support.movement import FPS, phase_of, skeleton
from wpa.movement.reps import reps_text
from wpa.movement.sets import AWAY_S, SET_CHANGE_S, UNSURE_CHANGE_S, SetTracker, WorkoutSet, sets_csv
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.recognition.inference import NO_PERSON, UNKNOWN
from wpa.recognition.model import load_model
from wpa.serving import live
from wpa.serving.live import LiveSession, LiveSettings


@pytest.fixture(scope="module")
def shipped():
    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def squat_frames(videos):
    return camera_frames(videos / SQUAT_CLIP, (640, 480), 60)


def test_a_real_squat_is_recognised_frame_by_frame(shipped, squat_frames):
    session = LiveSession(shipped)
    session.prepare()
    assert session.ready
    for number, frame in enumerate(squat_frames):
        frame.pts, frame.time_base = number * 66, Fraction(1, 1000)
        out = session.process_frame(frame)
        assert (out.width, out.height) == (640, 480) and out.pts == frame.pts
    latest = session.latest()
    assert latest.label == "squat" and latest.confidence > 0.5 and latest.top[0][0] == "squat"
    stats = session.stats()
    assert stats.frames == 60 and stats.median_ms > 0 and stats.p95_ms >= stats.median_ms
    assert len(session.history()) == 60
    session.close()
    # The stream's landmarker and readings go with it (the page asks to press START again).
    assert not session.ready and session.streams_ended == 1 and session.latest() is None
    session.process_frame(squat_frames[0])  # a second START: its first frame makes a landmarker
    assert session.ready and session.stats().frames == 1


def test_the_picture_is_mirrored_only_when_asked(shipped, squat_frames):
    frame = squat_frames[0]
    plain = LiveSession(shipped, LiveSettings(mirror_view=False))
    mirrored = LiveSession(shipped, LiveSettings(mirror_view=True))
    a = plain.process_frame(frame).to_ndarray(format="rgb24")
    b = mirrored.process_frame(frame).to_ndarray(format="rgb24")
    original = frame.to_ndarray(format="rgb24")
    middle = slice(100, 400)  # below the caption, above the rate
    assert np.abs(a[middle].astype(int) - original[middle]).mean() < np.abs(b[middle].astype(int) - original[middle]).mean()
    assert np.abs(b[middle, ::-1].astype(int) - a[middle]).mean() < 5  # drawings aside, one is the other's mirror


def test_nobody_in_front_of_the_camera(shipped):
    session = LiveSession(shipped)
    blank = av.VideoFrame.from_ndarray(np.full((480, 640, 3), 90, np.uint8), format="rgb24").reformat(format="yuv420p")
    for _ in range(5):
        session.process_frame(blank)
    assert session.latest().label == NO_PERSON and session.latest().confidence == 0.0


def test_a_failure_still_returns_a_frame(shipped, squat_frames, monkeypatch):
    session = LiveSession(shipped)
    session.prepare()

    def broken(pose):
        raise RuntimeError("boom")
    monkeypatch.setattr(shipped, "predict_pose", broken)
    out = session.process_frame(squat_frames[0])
    assert (out.width, out.height) == (640, 480)


def test_another_model_starts_afresh_and_settings_apply(shipped, squat_frames):
    session = LiveSession(shipped)
    for frame in squat_frames[:10]:
        session.process_frame(frame)
    other = make_model()
    session.update(other, LiveSettings(min_confidence=0.99))
    session.process_frame(squat_frames[10])
    assert session.latest().label in ("unknown", *other.labels)
    session.close()


# --- sets and repetitions -------------------------------------------------------------------
# Synthetic skeletons of tests/test_reps.py (squats and arm raises whose repetitions are known
# exactly), fed to a SetTracker with the labels a classifier would give them.

def track(tracker: SetTracker, landmarks: np.ndarray, labels, start_s: float = 0.0) -> list[int]:
    """Feed `landmarks` (NaN frames: nobody) at 30 frames/s with `labels` (one, or one a frame);
    the running count after each frame."""
    if isinstance(labels, str):
        labels = [labels] * len(landmarks)
    counts = []
    for i, (frame, label) in enumerate(zip(landmarks, labels)):
        nobody = np.isnan(frame[0, 0])
        time_s = start_s + i / FPS
        counts.append(tracker.update(NO_PERSON if nobody else label, None if nobody else frame, time_s,
                                     aspect_ratio=640 / 480, wall_s=WALL + time_s))
    return counts


WALL = datetime(2026, 5, 1, 9, 30).timestamp()


def squats(seconds: float, seed: int = 0) -> np.ndarray:
    return skeleton(phase_of([(seconds, 0.5)]), "squat", seed=seed)  # one every 2 s


def test_the_count_rises_as_repetitions_finish_and_the_set_is_logged_when_the_stream_stops():
    tracker = SetTracker()
    counts = track(tracker, squats(20.0), "squat")  # 10 squats
    assert counts[0] == 0 and all(b >= a for a, b in zip(counts, counts[1:]))
    assert counts[int(10 * FPS)] >= 2 and counts[-1] >= 8  # counted while the set goes on
    current = tracker.current()
    assert current.exercise == "squat" and current.reps == counts[-1]
    assert current.started_at == datetime.fromtimestamp(WALL)  # dated from the label's first frame
    assert tracker.log() == ()
    tracker.stop()
    assert tracker.current() is None and tracker.reps == 0
    (done,) = tracker.log()
    assert done.exercise == "squat" and done.reps == 10  # finish(): the last one counts too
    assert done.started_at == datetime.fromtimestamp(WALL) and 19.0 <= done.duration_s <= 20.0


def test_another_exercise_starts_a_new_set_and_logs_the_old_one():
    tracker = SetTracker()
    track(tracker, squats(16.0), "squat")  # 8 squats
    raises = skeleton(phase_of([(16.0, 0.5)]), "raise", seed=3)  # 8 raises
    counts = track(tracker, raises, "lateral_raise", start_s=16.0)
    (squat_set,) = tracker.log()
    assert squat_set.exercise == "squat" and squat_set.reps in (8, 9)  # the new label's wait was fed to it too
    assert abs(squat_set.duration_s - 16.0) < 0.2  # it ended where the new label began
    assert counts[int(SET_CHANGE_S * FPS) + 2] == 0  # the new set starts from 0 ...
    assert tracker.exercise == "lateral_raise" and counts[-1] >= 6  # ... and counts the raises from their start
    assert tracker.current().started_at == datetime.fromtimestamp(WALL + 16.0)
    tracker.stop()
    assert [s.exercise for s in tracker.log()] == ["squat", "lateral_raise"] and tracker.log()[1].reps == 8


def test_a_flicker_of_the_classifier_does_not_start_a_new_set():
    tracker = SetTracker()
    landmarks = squats(20.0)
    labels = ["squat"] * len(landmarks)
    labels[int(9 * FPS):int(10.5 * FPS)] = ["lunge"] * int(1.5 * FPS)  # shorter than SET_CHANGE_S
    labels[int(14 * FPS):int(17 * FPS)] = [UNKNOWN] * int(3 * FPS)  # "unsure" for a while, shorter than its wait
    counts = track(tracker, landmarks, labels)
    assert tracker.log() == () and tracker.exercise == "squat"
    assert all(b >= a for a, b in zip(counts, counts[1:])) and counts[-1] >= 8
    tracker.stop()
    assert [(s.exercise, s.reps) for s in tracker.log()] == [("squat", 10)]


def test_an_exercise_the_model_does_not_know_is_counted_as_unsure():
    tracker = SetTracker()
    track(tracker, squats(16.0), UNKNOWN)
    tracker.stop()
    assert [(s.exercise, s.reps) for s in tracker.log()] == [(UNKNOWN, 8)]


def test_unsure_for_long_after_a_known_exercise_is_another_exercise():
    tracker = SetTracker()
    landmarks = squats(24.0)  # 12 squats
    labels = ["squat"] * int(12 * FPS) + [UNKNOWN] * int(12 * FPS)
    counts = track(tracker, landmarks, labels)
    assert counts[int((12 + UNSURE_CHANGE_S - 0.1) * FPS)] >= 4  # still the squats' set just before the wait ends
    (squat_set,) = tracker.log()
    assert squat_set.exercise == "squat" and abs(squat_set.duration_s - 12.0) < 0.2
    assert tracker.exercise == UNKNOWN
    assert tracker.current().started_at == datetime.fromtimestamp(WALL + 12.0)


def test_nobody_visible_for_a_while_ends_the_set_and_a_short_gap_does_not():
    tracker = SetTracker()
    landmarks = squats(30.0)  # 15 squats
    landmarks[int(10 * FPS):int(11.5 * FPS)] = np.nan  # out of sight for 1.5 s: the same set goes on
    landmarks[int(20 * FPS):] = np.nan  # then gone
    counts = track(tracker, landmarks, "squat")
    (done,) = tracker.log()
    assert done.exercise == "squat" and done.reps in (9, 10)  # none counted while nobody was there
    assert abs(done.duration_s - 20.0) < 0.2  # it ended when the person was last seen
    assert tracker.current() is None and counts[-1] == 0
    away_at = counts.index(0, int(20 * FPS))
    assert abs(away_at / FPS - (20.0 + AWAY_S)) < 0.1


def test_standing_still_or_a_short_set_is_not_logged_and_reset_clears():
    tracker = SetTracker()
    track(tracker, skeleton(np.zeros(int(10 * FPS))), "squat")  # a pose held, no movement
    tracker.stop()
    assert tracker.log() == ()
    track(tracker, squats(12.0), "squat")
    tracker.stop()
    assert len(tracker.log()) == 1
    track(tracker, squats(12.0, seed=4), "squat", start_s=0.0)  # a new stream: times start again
    assert tracker.reps > 0
    tracker.reset()
    assert tracker.log() == () and tracker.reps == 0 and tracker.current() is None
    counts = track(tracker, squats(3.0), "squat", start_s=12.5)  # counting starts again after a wait
    assert tracker.exercise == "squat" and counts[-1] == 0


def test_the_sets_log_as_csv():
    sets = (WorkoutSet("squat", 8, datetime(2026, 5, 1, 9, 30, 5), 16.04),
            WorkoutSet(UNKNOWN, 3, datetime(2026, 5, 1, 9, 31), 7.0))
    assert sets_csv(sets) == ("exercise,reps,started,duration_s\n"
                              "squat,8,2026-05-01T09:30:05,16.0\n"
                              "unknown,3,2026-05-01T09:31:00,7.0\n")
    assert sets_csv(()) == "exercise,reps,started,duration_s\n"


def test_a_real_squat_is_counted_live_and_its_set_logged(shipped, videos, monkeypatch):
    """The squat clip, looped as a camera would play it, at 15 frames/s of camera time."""
    frames = camera_frames(videos / SQUAT_CLIP, (640, 480), int(18 * 15))
    clock = iter(np.arange(len(frames) + 10) / 15.0)
    session = LiveSession(shipped, clock=lambda: next(clock))
    session.prepare()
    drawn = []  # the captions drawn on the frames
    monkeypatch.setattr(live, "draw_caption", lambda image, text, color: drawn.append(text))
    counts = []
    for frame in frames:
        session.process_frame(frame)
        counts.append(session.latest().reps)
        # The count drawn on the frame is the one the page shows beside it: one reading.
        assert drawn[-1].endswith(f"|  {reps_text(counts[-1])}") == (session.latest().set is not None), drawn[-1]
    current = session.latest().set
    assert current is not None and current.exercise == "squat"
    assert counts[int(9 * 15)] < counts[-1] and counts[-1] >= 3, counts[::15]
    session.close()
    (done,) = session.sets()
    assert done.exercise == "squat" and done.reps >= counts[-1]
    session.reset_sets()
    assert session.sets() == () and session.latest() is None
