"""The app, page by page, through Streamlit's AppTest (no browser)."""

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, SQUAT_CLIP


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120)


def test_the_app_opens_on_the_upload_page():
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "What exercise is this?"
    assert "up to 500 MB" in at.file_uploader[0].label


def test_live_and_train_pages_open():
    at = app().run()
    for page, title in (("app_pages/live.py", "Live"), ("app_pages/train.py", "Train")):
        at.switch_page(page).run()
        assert not at.exception and at.title[0].value == title


def test_uploading_a_real_clip_names_the_exercise(videos):
    at = app().run()
    at.file_uploader[0].set_value(("my squat.mp4", (videos / SQUAT_CLIP).read_bytes(), "video/mp4"))
    at.run()
    assert not at.exception and not at.error
    assert at.metric[0].value == "squat"
    assert at.dataframe[0].value["exercise"].tolist()[0] == "squat"


def test_uploading_a_file_that_is_not_a_video_says_so():
    at = app().run()
    at.file_uploader[0].set_value(("notes.mp4", b"hello, not a video", "video/mp4"))
    at.run()
    assert not at.exception
    assert "not a video file" in at.error[0].value
