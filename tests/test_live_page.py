"""The Live page's repetition count and sets log, through Streamlit's AppTest (no browser, no camera).

streamlit-webrtc is replaced by the recorder of tests/test_app.py, and frames reach the page's
`LiveSession` the way the frame callback would deliver them after pose estimation: synthetic squats
(tests/test_reps.py) go through `_classify`, the classifier held at "squat" so the label is known.
"""

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.support.data import REPO
from tests.support.movement import FPS, phase_of, skeleton
from wpa.recognition.recognizer import FrameReading, Recognizer


def stream_squats(session, seconds: float, monkeypatch) -> None:
    """`seconds` of squats (one every 2 s) into the session, as classified frames (and classified
    the same way when the stream's sets are settled at its end)."""
    session._predict = lambda found, now: FrameReading(now, "squat", 0.9, (("squat", 0.9), ("lunge", 0.1)))
    labels = session._stream.recognizer.labels
    squat = np.eye(len(labels))[labels.index("squat")]
    monkeypatch.setattr(Recognizer, "predict_proba", lambda self, pose: np.tile(squat, (len(pose.timestamps_s), 1)))
    world = np.zeros((33, 3), np.float32)
    for i, frame in enumerate(skeleton(phase_of([(seconds, 0.5)]))):
        with session._lock:
            session._readings.append(session._classify((frame, world), i / FPS))


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_the_live_page_shows_the_count_the_sets_log_its_download_and_reset(webrtc_calls, monkeypatch):  # noqa: F811
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    at.switch_page("pages/live.py").run()
    assert not at.exception
    session = at.session_state["live_session"]
    assert at.subheader[0].value == "Sets" and not at.dataframe  # nothing done yet
    csv_button = at.get("download_button")[0]
    assert csv_button.proto.label == "Sets (CSV)" and csv_button.proto.disabled

    stream_squats(session, 20.0, monkeypatch)  # 10 squats
    at.run()
    assert not at.exception
    reps = metric(at, "Reps")
    assert int(reps.value) >= 8 and reps.delta.startswith("squat")
    assert metric(at, "Exercise").value == "squat"

    session.close()  # STOP: the set goes to the log with its last repetition
    at.run()
    assert at.dataframe[0].value["exercise"].tolist() == ["squat"]
    assert at.dataframe[0].value["reps"].tolist() == [10]
    assert not at.get("download_button")[0].proto.disabled

    at.button(key="live-sets-reset").click().run()
    assert not at.exception and not at.dataframe and session.sets() == ()
