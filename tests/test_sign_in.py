"""Sign-in through AppTest: with a password in secrets.toml's [wpa] table, a signed-out session
cannot train, save, activate or delete a model or upload data on the Train page, and is told how to
sign in; a signed-in one can. Without a password (local use) everything stays open; with
sign_in_for = "everything", Upload and Live are behind the same sign-in."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from app.shared import job_board
from tests.support.data import REPO
from tests.support.sandbox import USER_MODELS
from wpa.serving.store import active_model_name, list_models, set_active_model

PASSWORD = "correct horse battery staple"
WRITE_BUTTONS = {"Start training", "Make active", "Delete", "Save model", "Cancel training"}


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for variable in ("WPA_PASSWORD", "WPA_SIGN_IN_FOR", "WPA_TURN_URLS", "WPA_TURN_SECRET", "WPA_RELAY_ONLY"):
        monkeypatch.delenv(variable, raising=False)
    yield
    shutil.rmtree(USER_MODELS, ignore_errors=True)
    set_active_model(None)


def app(secrets: dict | None = None, page: str = "pages/train.py", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
    if secrets is not None:
        at.secrets["wpa"] = secrets
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    at.switch_page(page)
    return at.run()


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button} | {b.label for b in at.get("form_submit_button")}


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="sign_in_password").set_value(password)
    next(b for b in at.get("form_submit_button") if b.label == "Sign in").click()
    return at.run()


def assert_signed_out(at: AppTest) -> None:
    assert not at.exception
    assert not buttons(at) & WRITE_BUTTONS, buttons(at)
    assert not at.get("file_uploader") and not at.get("radio")  # no data source, so no upload either
    assert any("Sign in with the server's password" in info.value and "secrets.toml" in info.value
               for info in at.info)
    assert at.dataframe and at.dataframe[-1].value["model"].tolist()[0] == "default (shipped)"  # read-only list


def test_without_a_password_the_train_page_is_open():
    at = app()
    assert not at.exception and {"Start training"} <= buttons(at) and "Sign in" not in buttons(at)


def test_signed_out_cannot_change_anything_and_is_told_how_to_sign_in():
    at = app({"password": PASSWORD})
    assert_signed_out(at)
    at = sign_in(at, "guess")
    assert any("not the password" in error.value for error in at.error)
    assert_signed_out(at)


def test_signed_in_can_train_save_activate_and_delete(small_dataset, small_clips):
    at = sign_in(app({"password": PASSWORD}), PASSWORD)
    assert not at.exception and "Start training" in buttons(at) and "Sign out" in buttons(at)
    at.selectbox(key="source_folder").select(str(small_dataset)).run()
    at.number_input[0].set_value(2)  # most epochs
    at.text_input(key="model_name").set_value("signed in")
    next(b for b in at.button if b.label == "Start training").click().run()
    job = job_board().get(at.query_params["job"])
    assert job is not None and job.wait(timeout=300) and job.snapshot().state == "finished"
    at.run()

    # Someone else, signed out, opening the same job's address sees no way to save it.
    other = app({"password": PASSWORD}, query={"job": job.id})
    assert_signed_out(other)

    next(b for b in at.get("form_submit_button") if b.label == "Save model").click().run()
    assert (USER_MODELS / "signed in" / "model.json").is_file() and active_model_name() == "signed in"
    at.selectbox(key="manage_model").select("default (shipped)").run()
    next(b for b in at.button if b.label == "Make active").click().run()
    assert active_model_name() is None
    at.selectbox(key="manage_model").select("signed in").run()
    at.checkbox(key="confirm_delete").check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert "signed in" not in [entry.name for entry in list_models()]

    next(b for b in at.button if b.label == "Sign out").click().run()
    assert_signed_out(at)


def test_a_changed_password_signs_everyone_out():
    at = sign_in(app({"password": PASSWORD}), PASSWORD)
    assert "Start training" in buttons(at)
    at.secrets["wpa"] = {"password": "a new one"}
    assert_signed_out(at.run())


def test_upload_and_live_are_open_unless_everything_is_behind_the_sign_in(webrtc_calls):  # noqa: F811
    at = app({"password": PASSWORD}, page="pages/upload.py")
    assert not at.exception and at.get("file_uploader")  # "changes" (the default): Upload stays open
    closed = {"password": PASSWORD, "sign_in_for": "everything"}
    for page in ("pages/upload.py", "pages/live.py"):
        at = app(closed, page=page)
        assert not at.exception and not at.get("file_uploader") and "live_session" not in at.session_state
        assert any("for signed-in users" in info.value for info in at.info)
    at = sign_in(app(closed, page="pages/live.py"), PASSWORD)
    assert not at.exception and "live_session" in at.session_state and webrtc_calls
    at.session_state["live_session"].close()


def test_a_wrong_setting_is_said_on_the_page():
    at = app({"sign_in_for": "nobody"})
    assert at.error and "WPA_SIGN_IN_FOR" in at.error[0].value and "'everything'" in at.error[0].value
