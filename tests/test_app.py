"""The app, page by page, through Streamlit's AppTest (no browser)."""

import shutil

import numpy as np
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.support.data import REPO, SQUAT_CLIP
from tests.support.media import without_frame_data, write_video
from tests.support.models import make_model
from tests.support.sandbox import USER_MODELS
from wpa.media.annotate import H264Writer
from wpa.recognition.model import save_model
from wpa.serving.disk import annotated_videos


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "video/mp4"))
    return at.run()


def test_the_app_opens_on_the_upload_page():
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "What exercise is this?"
    assert "up to 500 MB" in at.file_uploader[0].label
    assert at.selectbox[0].value == "default (shipped)"
    assert any("Knows 15 exercises" in caption.value for caption in at.sidebar.caption)


def test_the_train_page_opens():
    at = app().run()
    at.switch_page("pages/train.py").run()
    assert not at.exception and at.title[0].value == "Train"


def test_the_live_page_sets_up_the_stream_and_warms_up_before_start(webrtc_calls):
    at = app().run()
    at.switch_page("pages/live.py").run()
    assert not at.exception and at.title[0].value == "Live"
    options = webrtc_calls[-1]
    assert options["video_frame_callback"].__self__ is at.session_state["live_session"]
    assert options["on_video_ended"].__self__ is at.session_state["live_session"]
    assert options["async_processing"] is True and options["rtc_configuration"] == {"iceServers": []}
    video = options["media_stream_constraints"]["video"]
    # The longest side at most 640 px, in the camera's own shape (a phone's portrait stays portrait, uncropped).
    assert video["width"] == {"max": 640} and video["height"] == {"max": 640} and video["frameRate"]["max"] == 15
    assert video["facingMode"] == {"ideal": "user"} and options["video_html_attrs"]["style"]["objectFit"] == "contain"
    session = at.session_state["live_session"]
    assert session.ready  # landmarker created and run once: START will not wait for it
    assert [s.label for s in at.slider] == ["Unsure below this confidence", "Smoothing (seconds)"]
    assert at.select_slider[0].label == "Most frames a second" and at.select_slider[0].value == 15
    assert at.checkbox[0].label == "Mirror view" and at.checkbox[0].value
    assert any("Press **START**" in info.value for info in at.info)
    at.checkbox[0].uncheck().run()
    assert not at.session_state["live_session"]._settings.mirror_view  # settings reach the running session
    session.close()
    at.run()  # once a stream has ended the page keeps no landmarker waiting (a page left open holds none)
    assert not at.session_state["live_session"].ready


def test_a_real_clip_gives_label_timeline_video_and_downloads(videos):
    at = upload(app().run(), "my squat.mp4", (videos / SQUAT_CLIP).read_bytes())
    assert not at.exception and not at.error
    assert at.header[0].value.startswith("Squat · ")
    assert at.dataframe[0].value["exercise"].tolist() == ["squat"]
    # The repetitions: in the headline, the table, a metric and under the timeline.
    reps = int(at.metric[0].value)
    assert at.metric[0].label == "Repetitions" and reps > 0
    assert at.header[0].value.startswith(f"Squat · {reps} rep")
    assert at.dataframe[0].value["reps"].tolist() == [reps]
    assert any("marked on the timeline" in caption.value for caption in at.caption)
    assert len(at.get("plotly_chart")) == 2
    assert len(at.get("video")) == 1
    assert [button.label for button in at.get("download_button")] == ["Per-frame CSV", "JSON summary", "Annotated video (MP4)"]
    assert not any("from the cache" in caption.value for caption in at.caption)

    again = upload(app().run(), "same clip.mp4", (videos / SQUAT_CLIP).read_bytes())
    assert again.header[0].value == at.header[0].value
    assert any("from the cache" in caption.value for caption in again.caption)

    # The video a page shows is leased, so the bounded cache keeps it; removing the clip ends that.
    video = at.session_state["analysis"].annotated_video
    cache = annotated_videos()
    assert cache.in_use(video)
    for page in (at, again):
        page.file_uploader[0].set_value(None)
        page.run()
    assert not cache.in_use(video)


def test_a_file_that_is_not_a_video():
    at = upload(app().run(), "notes.mp4", b"hello, not a video")
    assert not at.exception
    assert "not a video file" in at.error[0].value
    at = upload(at, "empty.mp4", b"")
    assert "empty" in at.error[0].value


def test_a_video_stream_without_frames(tmp_path):
    with H264Writer(tmp_path / "whole.mp4", 64, 48) as writer:
        for i in range(10):
            writer.write(np.zeros((48, 64, 3), np.uint8), i / 30)
    clip = without_frame_data(tmp_path / "whole.mp4", tmp_path / "no-frames.mp4")
    at = upload(app().run(), "no-frames.mp4", clip.read_bytes())
    assert not at.exception
    assert "no frames that can be decoded" in at.error[0].value


def test_a_clip_with_nobody_in_it(tmp_path):
    clip = write_video(tmp_path / "empty-gym.mp4", frames=15, size=(320, 240))
    at = upload(app().run(), "empty-gym.mp4", clip.read_bytes())
    assert not at.exception and at.header[0].value == "Nobody found"


def test_a_file_over_the_size_limit():
    """The browser refuses such files itself; the page checks again, for any other way in."""
    limit = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = upload(app().run(), "big.mp4", b"\x00" * (2 * 1024 * 1024))
    finally:
        config.set_option("server.maxUploadSize", limit)
    assert not at.exception
    assert "the limit is 1 MB" in at.error[0].value


@pytest.fixture
def user_model():
    save_model(make_model(), USER_MODELS / "three-moves")
    yield "three-moves"
    shutil.rmtree(USER_MODELS / "three-moves")


def test_a_trained_model_can_be_chosen(user_model):
    at = app().run()
    assert at.selectbox[0].options == ["default (shipped)", user_model]
    at.selectbox[0].select(user_model).run()
    assert any("Knows 3 exercises: plank, push up, squat" in caption.value for caption in at.sidebar.caption)
