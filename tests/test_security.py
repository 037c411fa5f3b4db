"""Security rules, checked over the source and through the pages.

No pickle anywhere a file is read, weights loaded with weights_only=True, nothing a user sends
executed or rendered as raw HTML, user file names never turned into paths, size limits enforced.
"""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.data import REPO
from tests.support.media import write_video

SOURCES = sorted([*(REPO / "wpa").rglob("*.py"), *(REPO / "app").glob("*.py"), *(REPO / "pages").glob("*.py"),
                  REPO / "streamlit_app.py"])
UNSAFE_MODULES = {"pickle", "cPickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def keyword(call: ast.Call, name: str):
    for item in call.keywords:
        if item.arg == name:
            return ast.literal_eval(item.value) if isinstance(item.value, ast.Constant) else ast.unparse(item.value)
    return None


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_no_unsafe_loading_or_execution(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & UNSAFE_MODULES, ast.unparse(node)
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in UNSAFE_MODULES, ast.unparse(node)
    for call, name in calls(tree):
        where = f"{path.name}:{call.lineno}: {ast.unparse(call)[:120]}"
        assert name not in ("eval", "exec", "compile", "os.system", "os.popen", "__import__", "pd.read_pickle"), where
        assert keyword(call, "shell") in (None, False), where
        if name == "torch.load":
            assert keyword(call, "weights_only") is True, where
        if name == "np.load":
            assert keyword(call, "allow_pickle") is False, where
        assert keyword(call, "unsafe_allow_html") in (None, False), where
        assert name not in ("st.html", "components.html", "st.components.v1.html"), where


def test_an_uploaded_file_name_never_becomes_a_path(tmp_path, monkeypatch):
    """A name with ../ and HTML in it: the clip is analysed under a name of wpa's own, the name
    is shown as text, and nothing is written where the name points."""
    clip = write_video(tmp_path / "clip.mp4", frames=10, size=(64, 48))
    target = Path("/tmp/wpa-escaped.mp4")
    target.unlink(missing_ok=True)
    name = "../../../../tmp/wpa-escaped.mp4"
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    at.file_uploader[0].set_value((name, clip.read_bytes(), "video/mp4")).run()
    assert not at.exception and at.header[0].value == "Nobody found"
    assert not target.exists()
    assert at.session_state["analysis"].video_name == name  # kept as text, for the downloads' names


def test_the_upload_limit_is_set_and_stated():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    assert "up to 500 MB" in at.file_uploader[0].label


def test_the_data_folder_a_user_types_stays_inside_the_offered_roots(tmp_path):
    from wpa.recognition.folders import resolve_inside
    from wpa.errors import DatasetError

    root = tmp_path / "datasets"
    (root / "mine" / "squat").mkdir(parents=True)
    (root / "escape").symlink_to(tmp_path)
    assert resolve_inside(str(root / "mine"), [root]) == root / "mine"
    for attempt in ("/etc", str(root / ".." / ".."), str(root / "escape"), "mine/../../.."):
        with pytest.raises(DatasetError):
            resolve_inside(attempt, [root])
