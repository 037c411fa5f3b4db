"""Live classification, frame by frame, without a browser: real frames in, annotated frames and
readings out; nobody, failures and stream lifetimes."""

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from benchmarks.live_callback import camera_frames
from tests.conftest import SQUAT_CLIP
from tests.test_model import make_model
from wpa.inference import NO_PERSON
from wpa.live import LiveSession, LiveSettings, ice_servers
from wpa.model import load_model
from wpa.paths import DEFAULT_MODEL_DIR


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
    assert not session.ready


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


def test_ice_servers_from_the_environment(monkeypatch):
    monkeypatch.delenv("WPA_ICE_SERVERS", raising=False)
    assert ice_servers() == []
    servers = [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}]
    monkeypatch.setenv("WPA_ICE_SERVERS", json.dumps(servers))
    assert ice_servers() == servers
    monkeypatch.setenv("WPA_ICE_SERVERS", "{not json")
    assert ice_servers() == []
