"""A live stream's poses, kept to settle its sets when it ends (wpa/serving/stream_record.py), and the
sets log taking the settled sets in place of the stream's own (wpa/movement/sets.py)."""

from datetime import datetime
from types import SimpleNamespace

import numpy as np

from tests.support.movement import FPS, phase_of, skeleton
from wpa.movement.reps.records import Repetition
from wpa.movement.sets import SetTracker, WorkoutSet
from wpa.poses.sequence import NUM_LANDMARKS
from wpa.recognition.inference import NO_PERSON, UNKNOWN, Segment
from wpa.serving.stream_record import StreamRecord, settled_sets


def _frame(value: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    return np.full((NUM_LANDMARKS, 4), value, np.float32), np.full((NUM_LANDMARKS, 3), value, np.float32)


def test_the_record_is_the_stream_as_a_clip_with_nobody_as_nan():
    record = StreamRecord()
    record.add(2.0, *_frame())
    record.add(2.1, None, None)  # nobody found in this frame
    record.add(2.1, *_frame())  # not after the last one: ignored
    record.add(2.3, *_frame(0.7))
    pose = record.pose((640, 480))
    assert np.allclose(pose.timestamps_s, [0.0, 0.1, 0.3]) and record.start_s == 2.0
    assert np.isnan(pose.landmarks[1]).all() and np.isnan(pose.world_landmarks[1]).all()
    assert np.allclose(pose.landmarks[2], 0.7) and pose.frame_size == (640, 480)
    assert abs(pose.fps - 2 / 0.3) < 1e-6


def test_a_stream_too_short_or_too_long_is_not_settled():
    never = SimpleNamespace(predict_clip=lambda pose: (_ for _ in ()).throw(AssertionError("not to be called")))
    short = StreamRecord()
    short.add(0.0, *_frame())
    assert short.pose((640, 480)) is None and settled_sets(short, never, (640, 480), 0.0) is None
    long = StreamRecord(most_frames=3)
    for i in range(5):
        long.add(i / FPS, *_frame())
    assert long.overflowed and settled_sets(long, never, (640, 480), 0.0) is None


def test_settled_sets_are_the_segments_with_repetitions():
    record = StreamRecord()
    for i in range(40):
        record.add(10.0 + i / FPS, *_frame())
    segments = (Segment("squat", 0.0, 8.0, 0.9, (Repetition(1.0, 3.0), Repetition(3.0, 5.0))),
                Segment(NO_PERSON, 8.0, 9.0, 0.0),
                Segment("push_up", 9.0, 11.0, 0.8),  # no repetition: a flicker, not a set
                Segment(UNKNOWN, 11.0, 14.0, 0.4, (Repetition(11.0, 13.0),)))
    seen = []
    recognizer = SimpleNamespace(predict_clip=lambda pose: seen.append(pose) or SimpleNamespace(segments=segments))
    wall_start = datetime(2026, 5, 1, 9, 30).timestamp()
    sets = settled_sets(record, recognizer, (640, 480), wall_start)
    assert len(seen) == 1 and len(seen[0].timestamps_s) == 40
    assert sets == [WorkoutSet("squat", 2, datetime(2026, 5, 1, 9, 30, 10), 8.0),
                    WorkoutSet(UNKNOWN, 1, datetime(2026, 5, 1, 9, 30, 21), 3.0)]


def _squats(tracker: SetTracker, seconds: float) -> None:
    """A stream of squats, one every 2 s, from 0 s."""
    for i, landmarks in enumerate(skeleton(phase_of([(seconds, 0.5)]), "squat")):
        tracker.update("squat", landmarks, i / FPS)


def test_settled_sets_take_the_place_of_this_streams_sets_only():
    tracker = SetTracker()
    _squats(tracker, 12.0)
    first = tracker.stop()  # an earlier stream, not settled
    assert first > 0 and len(tracker.log()) == 1
    _squats(tracker, 12.0)
    settled = [WorkoutSet("squat", 7, datetime(2026, 5, 1, 9, 31), 12.0)]
    tracker.stop(settled)
    assert tracker.log()[0].reps == first and tracker.log()[1:] == tuple(settled)
    _squats(tracker, 12.0)
    tracker.stop([])  # settled as nothing done: this stream's set leaves the log
    assert len(tracker.log()) == 2
    tracker.reset()
    _squats(tracker, 12.0)
    tracker.stop(settled)
    assert tracker.log() == tuple(settled)
