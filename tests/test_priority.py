"""The server's own threads keep priority: workers below its niceness (tests/test_analysis_queue.py),
and, within the server, live frames waiting for the interpreter lock no longer than 1 ms behind the
server's other Python work."""

from __future__ import annotations

import sys

import pytest

from wpa.paths import DEFAULT_MODEL_DIR
from wpa.recognition.model import load_model
from wpa.serving.live import LiveSession
from wpa.workers.priority import LIVE_SWITCH_INTERVAL_S


@pytest.fixture
def switch_interval():
    """Python's switch interval, put back after the test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_a_server_with_a_live_stream_hands_the_interpreter_over_within_a_millisecond(switch_interval):
    assert sys.getswitchinterval() == pytest.approx(0.005)
    LiveSession(load_model(DEFAULT_MODEL_DIR))
    assert sys.getswitchinterval() == pytest.approx(LIVE_SWITCH_INTERVAL_S) and LIVE_SWITCH_INTERVAL_S <= 0.001
