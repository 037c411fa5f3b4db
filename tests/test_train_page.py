"""The Train page through AppTest: data sources and their previews, bad data refused before
training, a background job found again by its id, results, saving, activating, deleting."""

import io
import shutil
import zipfile

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.shared import job_board
from tests.support.data import REPO
from tests.support.poses import original_layout_csv, random_pose
from tests.support.sandbox import DATASETS, USER_MODELS
from wpa.serving.store import active_model_name, set_active_model


def train_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    at.switch_page("pages/train.py")
    return at.run()


def start_button(at: AppTest):
    return next(button for button in at.button if button.label == "Start training")


def job_in_url(at: AppTest):
    return job_board().get(at.query_params["job"])


def radio_source(at: AppTest, label: str) -> AppTest:
    at.radio(key="source_kind").set_value(label)
    return at.run()


@pytest.fixture(autouse=True)
def clean_store():
    yield
    shutil.rmtree(USER_MODELS, ignore_errors=True)
    set_active_model(None)


def test_the_page_opens_with_nothing_chosen():
    at = train_page()
    assert not at.exception and at.title[0].value == "Train"
    assert start_button(at).disabled


def test_a_folder_is_previewed_trained_saved_and_activated(small_dataset, small_clips):
    at = train_page()
    at.selectbox(key="source_folder").select(str(small_dataset)).run()
    preview = at.dataframe[0].value
    assert preview["class"].tolist() == ["deadlift", "jumping_jack", "push_up", "squat"]
    assert preview["clips"].tolist() == [2, 2, 2, 2] and (preview["frames"] > 0).all()
    at.number_input[0].set_value(3)  # most epochs
    at.text_input(key="model_name").set_value("four moves")
    start_button(at).click().run()
    job = job_in_url(at)
    assert job is not None and job.wait(timeout=300)
    assert job.snapshot().state == "finished", job.snapshot().message
    at.run()
    assert not at.exception
    assert [m.label for m in at.metric][:4] == ["Clips right", "Time right", "Clip macro-F1", "Unsure below"]
    assert len(at.get("plotly_chart")) >= 2  # confusion matrix and learning curves

    form_button = at.get("form_submit_button")[0]
    form_button.click().run()
    assert any("Saved as 'four moves'" in s.value for s in at.success)
    assert (USER_MODELS / "four moves" / "model.json").is_file()
    assert active_model_name() == "four moves"
    saved = at.dataframe[-1].value
    assert saved["model"].tolist() == ["default (shipped)", "four moves"]
    assert saved["active"].tolist() == [False, True]

    # Saving again under the same name is refused unless replacing is asked for.
    form_button.click().run()
    assert any("already exists" in e.value for e in at.error)


def test_a_refreshed_page_finds_its_job_and_it_is_not_started_twice(small_dataset, small_clips):
    at = train_page()
    at.selectbox(key="source_folder").select(str(small_dataset)).run()
    at.number_input[0].set_value(200)
    at.number_input[6].set_value(100)  # patience: keep it running while the test looks
    start_button(at).click().run()
    job = job_in_url(at)
    assert job_board().start("the same again", job.source, job.config) is job

    refreshed = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    refreshed.query_params["job"] = job.id
    refreshed.switch_page("pages/train.py").run()
    assert not refreshed.exception
    assert any(job.name in info.value for info in refreshed.info)  # the job's progress, found again
    next(b for b in refreshed.button if b.label == "Cancel training").click().run()
    assert job.wait(timeout=120) and job.snapshot().state == "cancelled"
    refreshed.run()
    assert any("cancelled" in w.value for w in refreshed.warning)


def test_one_class_only_is_refused_before_training(small_dataset):
    lonely = DATASETS / "lonely"
    (lonely / "squat").mkdir(parents=True, exist_ok=True)
    for clip in (small_dataset / "squat").iterdir():
        (lonely / "squat" / clip.name).symlink_to(clip.resolve())
    at = train_page()
    at.selectbox(key="source_folder").select(str(lonely)).run()
    assert any("a classifier needs at least two" in e.value for e in at.error)
    assert start_button(at).disabled
    shutil.rmtree(lonely)


def test_a_class_with_no_readable_clip_is_refused(small_dataset):
    broken = DATASETS / "broken"
    for class_dir in small_dataset.iterdir():
        (broken / class_dir.name).mkdir(parents=True, exist_ok=True)
        for clip in class_dir.iterdir():
            (broken / class_dir.name / clip.name).symlink_to(clip.resolve())
    (broken / "plank").mkdir()
    (broken / "plank" / "plank.mp4").write_text("not a video")
    at = train_page()
    at.selectbox(key="source_folder").select(str(broken)).run()
    assert any("Class 'plank' has no readable clip" in e.value for e in at.error)
    assert any("plank/plank.mp4 cannot be read" in w.value for w in at.warning)
    shutil.rmtree(broken)


def test_a_path_outside_the_offered_folders_is_refused(tmp_path):
    at = train_page()
    at.text_input(key="source_path").set_value(str(tmp_path)).run()
    assert any("outside the data folders" in e.value for e in at.error)
    at.text_input(key="source_path").set_value("/etc").run()
    assert any("outside the data folders" in e.value for e in at.error)


def test_a_zip_with_path_traversal_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("squat/a.mp4", b"x")
        bundle.writestr("../../evil.mp4", b"x")
    at = radio_source(train_page(), "Zip of class folders")
    at.file_uploader(key="source_zip").set_value(("data.zip", buffer.getvalue(), "application/zip")).run()
    assert any("outside its folder" in e.value for e in at.error)


def test_a_csv_is_previewed(tmp_path):
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=30, seed=1)),
                                                   ("plank", random_pose(frames=20, seed=2))])
    at = radio_source(train_page(), "Landmarks CSV")
    at.file_uploader(key="source_csv").set_value(("l.csv", path.read_bytes(), "text/csv")).run()
    preview = at.dataframe[0].value
    assert preview["class"].tolist() == ["plank", "squat"] and preview["frames"].tolist() == [20, 30]


def test_a_csv_with_wrong_columns_is_refused(tmp_path):
    bad = pd.DataFrame({"a": [1, 2], "label": ["x", "y"]}).to_csv(index=False).encode()
    at = radio_source(train_page(), "Landmarks CSV")
    at.file_uploader(key="source_csv").set_value(("bad.csv", bad, "text/csv")).run()
    assert any("lacks coordinate columns" in e.value for e in at.error)
    assert start_button(at).disabled


def test_the_page_and_the_cli_train_the_same_model(small_dataset, small_clips, tmp_path):
    """Same data, settings and seed: the page's job and `python -m wpa train` agree exactly."""
    import json
    import subprocess
    import sys

    at = train_page()
    at.selectbox(key="source_folder").select(str(small_dataset)).run()
    at.number_input[0].set_value(6)
    start_button(at).click().run()
    job = job_in_url(at)
    assert job.wait(timeout=300) and job.snapshot().state == "finished"
    cli = subprocess.run([sys.executable, "-m", "wpa", "train", str(small_dataset), "--out", str(tmp_path / "cli"),
                          "--epochs", "6"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads((tmp_path / "cli" / "model.json").read_text())["metrics"]["validation"]
    assert job.result.model.card.scores.validation == from_cli
    printed = [line.split("val loss ")[1].split()[0] for line in cli.stderr.splitlines() if "val loss" in line]
    assert [f"{epoch.val_loss:.4f}" for epoch in job.result.history] == printed


def test_the_page_shows_how_full_each_bounded_folder_is():
    from wpa.serving import disk

    at = train_page()
    assert not at.exception
    shown = [m.value for m in at.expander[-1].markdown]
    assert at.expander[-1].label == "Disk"
    for folder in disk.all_folders():
        assert any(line.startswith(folder.usage().describe()) and folder.setting in line for line in shown), shown
    assert any("Annotated videos: " in line and " of 2 GB" in line for line in shown)


def test_an_uploaded_csv_is_kept_while_the_page_shows_it(tmp_path):
    from wpa.serving import disk
    from wpa.paths import UPLOADS_DIR

    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=30, seed=1)),
                                                   ("plank", random_pose(frames=20, seed=2))])
    at = radio_source(train_page(), "Landmarks CSV")
    at.file_uploader(key="source_csv").set_value(("l.csv", path.read_bytes(), "text/csv")).run()
    lease = at.session_state["csv_lease"]
    assert lease.held and lease.path.is_file() and lease.path.parent == UPLOADS_DIR
    disk.BoundedFolder(UPLOADS_DIR, 0, "Uploads").evict()
    assert lease.path.is_file()


def test_an_upload_larger_than_the_uploads_limit_is_refused(tmp_path, monkeypatch):
    from wpa.settings import GB, reread

    monkeypatch.setenv("WPA_UPLOADS_GB", repr(1024 / GB))  # 1 kB, read as the server would read it
    reread()
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=30, seed=1)),
                                                   ("plank", random_pose(frames=20, seed=2))])
    at = radio_source(train_page(), "Landmarks CSV")
    at.file_uploader(key="source_csv").set_value(("l.csv", path.read_bytes(), "text/csv")).run()
    assert any("Uploaded training data may hold at most 1 kB" in e.value and "raise WPA_UPLOADS_GB" in e.value
               for e in at.error), [e.value for e in at.error]
    assert start_button(at).disabled
