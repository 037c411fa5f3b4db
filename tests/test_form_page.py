"""Form feedback on the Upload page, through Streamlit's AppTest: a real clip marked as "my good
form", then uploaded again and compared with it repetition by repetition."""

from streamlit.testing.v1 import AppTest

from tests.support.data import REPO, REPS_CLIP
from wpa.movement.form.references import USER_FORM_DIR, user_profile_path


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "video/mp4"))
    return at.run()


def test_a_set_marked_as_my_good_form_is_the_reference_from_then_on(videos):
    user_profile_path("squat").unlink(missing_ok=True)
    data = (videos / REPS_CLIP).read_bytes()  # not SQUAT_CLIP: test_app checks its first upload is not cached
    at = upload(AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run(), "squat.mp4", data)
    assert not at.exception and not at.error
    assert any(header.value == "Form" for header in at.subheader)
    at.button(key="mark_good_form").click().run()
    assert any("Kept as your good form of squat" in success.value for success in at.success)
    assert user_profile_path("squat").is_file() and user_profile_path("squat").parent == USER_FORM_DIR

    again = upload(AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run(), "again.mp4", data)
    assert not again.exception and not again.error
    assert any("good repetitions (yours)" in caption.value for caption in again.caption)
    table = again.dataframe[1].value  # the segments, then the repetitions
    assert list(table.columns) == ["exercise", "rep", "start (s)", "end (s)", "form", "top cue", "worst"]
    reps = int(again.metric[0].value)
    assert len(table) == reps and (table["exercise"] == "squat").all()
    # The same repetitions as the reference: each lies among them, none far out.
    assert table["form"].max() < 8 and table["worst"].sum() <= max(1, round(0.2 * reps))
    user_profile_path("squat").unlink()
