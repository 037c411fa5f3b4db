"""The corpus of bad and odd inputs (tests/support/corpus.py) fed to the command line and to the pages.

Every case must end in a clear, specific message or a result with its note: no traceback, no
exception in a page, no hang (every run here has a time limit).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.corpus import DATA_CASES, MODEL_CASES, VIDEO_CASES, DataCase, VideoCase, broken_model
from tests.support.data import REPO
from tests.support.sandbox import DATASETS, USER_MODELS
from wpa import cli
from wpa.recognition.inference import readable
from wpa.serving.store import set_active_model


@pytest.fixture(scope="module")
def corpus(videos, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {case.name: case.make(folder, videos) for case in VIDEO_CASES}


def check_record(case: VideoCase, record: dict) -> None:
    if case.error:
        assert record["label"] is None and case.error in record["error"], record
        return
    assert record["error"] is None, record
    assert (record["frames_with_pose"] > 0) == case.person, record
    if case.label:
        assert record["label"] == case.label, record
    warnings = " ".join(record["warnings"])
    assert (case.warning in warnings) if case.warning else not warnings, record


def test_every_clip_of_the_corpus_through_the_command_line(corpus):
    run = subprocess.run([sys.executable, "-m", "wpa", "classify", *map(str, corpus.values()), "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 1  # some files could not be read: the others were still classified
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [Path(record["video"]) for record in records] == list(corpus.values())
    for case, record in zip(VIDEO_CASES, records):
        check_record(case, record)
        if case.warning:
            assert any(line.startswith(f"warning: {record['video']}: ") and case.warning in line
                       for line in run.stderr.splitlines()), run.stderr


@pytest.mark.parametrize("case", VIDEO_CASES, ids=[case.name for case in VIDEO_CASES])
def test_each_clip_of_the_corpus_on_the_upload_page(case, corpus):
    path = corpus[case.name]
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "video/mp4"))
    at.run()
    assert not at.exception, at.exception
    if case.error:
        assert [e.value for e in at.error] and case.error in at.error[0].value, [e.value for e in at.error]
        assert not at.header  # no result is shown for a file that could not be read
        return
    assert not at.error, [e.value for e in at.error]
    title = at.header[0].value
    assert title == "Nobody found" if not case.person else title != "Nobody found"
    if case.label:
        assert title.startswith(readable(case.label).capitalize()), title
    warnings = [w.value for w in at.warning]
    assert any(case.warning in w for w in warnings) if case.warning else not warnings, warnings


def corpus_clip_ids(corpus: dict[str, Path]) -> dict[str, str]:
    """Where each clip of the corpus goes as training data: `<class>/<file>`, two classes in turn."""
    return {name: f"{('push_up', 'squat')[number % 2]}/{path.name}" for number, (name, path) in enumerate(corpus.items())}


@pytest.fixture(scope="module")
def corpus_as_dataset(corpus) -> Path:
    """The corpus as training data, in the data folder the app offers."""
    root = DATASETS / "corpus"
    shutil.rmtree(root, ignore_errors=True)
    for name, clip_id in corpus_clip_ids(corpus).items():
        (root / clip_id).parent.mkdir(parents=True, exist_ok=True)
        (root / clip_id).symlink_to(corpus[name])
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_corpus_as_training_data_through_the_command_line(corpus, corpus_as_dataset, tmp_path, capsys):
    """`wpa extract` names each clip it cannot read and why, and extracts the others."""
    assert cli.main(["extract", str(corpus_as_dataset), "--out", str(tmp_path / "out")]) == 0
    skipped = [line for line in capsys.readouterr().err.splitlines() if line.startswith("skipped ")]
    ids = corpus_clip_ids(corpus)
    expected = [f"skipped {ids[case.name]}: " for case in VIDEO_CASES if case.error]
    assert sorted(line.split(": ")[0] + ": " for line in skipped) == sorted(expected)
    for case in VIDEO_CASES:
        if case.error:
            assert any(line.startswith(f"skipped {ids[case.name]}: ") and case.error in line for line in skipped)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["clips"]) == sum(not case.error for case in VIDEO_CASES)


def test_the_corpus_as_training_data_on_the_train_page(corpus, corpus_as_dataset):
    """The preview names each unreadable clip and why, before anything is trained."""
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    at.switch_page("pages/train.py").run()
    at.selectbox(key="source_folder").select(str(corpus_as_dataset)).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    ids = corpus_clip_ids(corpus)
    for case in VIDEO_CASES:
        unreadable = [w for w in warnings if w.startswith(f"{ids[case.name]} cannot be read")]
        assert bool(unreadable) == bool(case.error), (case.name, warnings)
        assert not case.error or case.error in unreadable[0]
    assert not next(b for b in at.button if b.label == "Start training").disabled  # the readable ones can train


def write_data(case: DataCase, folder: Path) -> Path:
    path = folder / case.file_name
    path.write_bytes(case.make())
    return path


@pytest.mark.parametrize("case", DATA_CASES, ids=[case.name for case in DATA_CASES])
def test_bad_training_data_through_the_command_line(case, tmp_path, capsys):
    source = write_data(case, tmp_path)
    assert cli.main(["train", str(source), "--out", str(tmp_path / "model")]) == 1
    assert case.error in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
    assert not [p for p in Path("/tmp").glob("evil*")]  # nothing was written outside the unpacking folder


@pytest.mark.parametrize("case", DATA_CASES, ids=[case.name for case in DATA_CASES])
def test_bad_training_data_on_the_train_page(case, tmp_path):
    data = write_data(case, tmp_path).read_bytes()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    at.switch_page("pages/train.py").run()
    kind, key = ("Zip of class folders", "source_zip") if case.file_name.endswith(".zip") else ("Landmarks CSV", "source_csv")
    at.radio(key="source_kind").set_value(kind).run()
    at.file_uploader(key=key).set_value((case.file_name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert any(case.error in e.value for e in at.error), [e.value for e in at.error]
    assert next(b for b in at.button if b.label == "Start training").disabled


@pytest.fixture
def store_with_a_broken_model():
    """A broken model among the saved ones; the store is emptied afterwards."""
    yield lambda case: broken_model(USER_MODELS / "broken", case)
    shutil.rmtree(USER_MODELS, ignore_errors=True)
    set_active_model(None)


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_a_broken_model_through_the_command_line(case, tmp_path, capsys):
    video = next(iter(VIDEO_CASES)).make(tmp_path, tmp_path)  # never reached: the model is refused first
    model = broken_model(tmp_path / "broken", case)
    assert cli.main(["classify", str(video), "--model", str(model)]) == 1
    assert MODEL_CASES[case][1] in capsys.readouterr().err


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_a_broken_model_on_the_pages(case, store_with_a_broken_model, webrtc_calls):
    store_with_a_broken_model(case)
    set_active_model("broken")  # even as the active model: the pages fall back to the shipped one
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    assert any(MODEL_CASES[case][1] in w.value for w in at.sidebar.warning), [w.value for w in at.sidebar.warning]
    assert at.selectbox[0].value == "default (shipped)"
    at.switch_page("pages/live.py").run()
    assert not at.exception
    assert any(MODEL_CASES[case][1] in w.value for w in at.sidebar.warning)
    at.session_state["live_session"].close()
    at.switch_page("pages/train.py").run()  # lists it with its problem, and can delete it
    assert not at.exception
    saved = at.dataframe[-1].value.set_index("model")
    assert MODEL_CASES[case][1] in saved.loc["broken", "exercises"]
    at.selectbox(key="manage_model").select("broken").run()
    assert at.button(key="make_active").disabled
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete").click().run()
    assert not at.exception and "broken" not in at.dataframe[-1].value["model"].tolist()
