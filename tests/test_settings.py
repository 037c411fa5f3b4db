"""The one settings object: every WPA_* variable read in wpa/settings.py, each bad value named with
what it may hold, a bad setting stopping the CLI and the app with that message; importing wpa does
no work; background work hands its exception back."""

import json
import subprocess
import sys
import threading

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.data import REPO
from wpa.background import Background
from wpa.errors import SettingsError
from wpa.settings import GB, DiskLimits, Settings, read_settings

def test_no_setting_is_the_defaults():
    settings = read_settings({})
    assert isinstance(settings, Settings) and settings.limits == DiskLimits()
    assert settings.workers.analysis_workers is None and settings.workers.ray_address is None
    assert not settings.logs.native_logs and not settings.serving.uses_turn
    assert settings.paths.pose_model.name == "pose_landmarker_full.task"
    assert settings.paths.live_pose_model.name == "pose_landmarker_lite.task"
    assert settings.paths.live_pose_model.is_file()


def test_every_variable_lands_in_its_field(tmp_path):
    settings = read_settings({"WPA_MODEL": str(tmp_path / "m"), "WPA_POSE_MODEL": str(tmp_path / "p.task"),
                              "WPA_LIVE_POSE_MODEL": str(tmp_path / "l.task"), "WPA_CACHE_DIR": str(tmp_path / "c"), "WPA_DATA_DIR": str(tmp_path / "d"),
                              "WPA_DATA_ROOTS": f"{tmp_path / 'a'}:{tmp_path / 'b'}", "WPA_UPLOADS_GB": "1",
                              "WPA_ANALYSIS_WORKERS": "3", "WPA_RAY_ADDRESS": "auto", "WPA_NATIVE_LOGS": "1"})
    paths = settings.paths
    assert (paths.model_dir, paths.pose_model, paths.data_roots) == (tmp_path / "m", tmp_path / "p.task",
                                                                       (tmp_path / "a", tmp_path / "b"))
    assert paths.live_pose_model == tmp_path / "l.task"
    assert paths.pose_cache_dir == tmp_path / "c" / "poses" and paths.uploads_dir == tmp_path / "d" / "uploads"
    assert settings.limits.uploads == GB and settings.workers.analysis_workers == 3
    assert settings.workers.ray_address == "auto" and settings.logs.native_logs


def test_every_bad_value_is_named_with_what_it_may_hold():
    with pytest.raises(SettingsError) as raised:
        read_settings({"WPA_ANALYSIS_WORKERS": "many", "WPA_NATIVE_LOGS": "loud", "WPA_POSE_CACHE_GB": "-2",
                       "WPA_SIGN_IN_FOR": "nobody"})
    message = str(raised.value)
    assert "WPA_ANALYSIS_WORKERS is 'many'" in message and "whole number of at least 1" in message
    assert "WPA_NATIVE_LOGS is 'loud': use 1 or 0" in message
    assert "WPA_POSE_CACHE_GB is '-2'" in message and "number of gigabytes, 0 or more" in message
    assert "WPA_SIGN_IN_FOR is 'nobody'" in message and len(message.splitlines()) == 5  # one line each


def test_only_the_settings_module_reads_the_environment():
    readers = sorted(str(path.relative_to(REPO)) for path in (REPO / "wpa").rglob("*.py")
                     if ("os.environ" in path.read_text() or "getenv" in path.read_text())
                     and path != REPO / "wpa" / "settings.py")
    assert not readers, readers


def test_importing_every_wpa_module_does_no_work():
    """In a fresh interpreter: no thread or process started, torch's thread count untouched, by
    importing all of wpa (entry points' __main__ aside: running them is their job). The app makes
    its services (the worker pool, the upload queue, the job board) once, in app.shared."""
    script = ("import importlib, json, os, pkgutil, threading, torch\n"
              "before = torch.get_num_threads()\n"
              "import wpa\n"
              "names = [m.name for m in pkgutil.walk_packages(wpa.__path__, 'wpa.') if not m.name.endswith('__main__')]\n"
              "for name in names: importlib.import_module(name)\n"
              "try:\n"
              "    os.waitpid(-1, os.WNOHANG)\n"
              "    children = True\n"
              "except ChildProcessError:\n"
              "    children = False\n"
              "print(json.dumps([len(names), [t.name for t in threading.enumerate()], before, torch.get_num_threads(),\n"
              "                  children]))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    modules, threads, before, after, children = json.loads(done.stdout)
    assert modules > 50  # every module was imported, not a few
    assert threads == ["MainThread"] and after == before > 0 and not children


def test_the_cli_stops_on_a_bad_setting_with_the_message():
    done = subprocess.run([sys.executable, "-m", "wpa", "classify", "x.mp4"], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "WPA_UPLOADS_GB": "lots"})
    assert done.returncode == 2 and "WPA_UPLOADS_GB is 'lots'" in done.stderr and "Traceback" not in done.stderr


def test_the_app_says_a_bad_setting_on_every_page(monkeypatch):
    from wpa.settings import reread

    monkeypatch.setenv("WPA_ANALYSIS_WORKERS", "0")
    reread()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception and any("WPA_ANALYSIS_WORKERS is '0'" in error.value for error in at.error)
    assert not at.get("file_uploader")  # the page did not run


def test_background_work_hands_back_its_result_and_its_exception():
    assert Background(lambda: 6 * 7, name="answer").start().result(timeout=10) == 42

    def fails():
        raise ValueError("in the thread")

    work = Background(fails, name="fails").start()
    with pytest.raises(ValueError, match="in the thread"):
        work.result(timeout=10)
    assert isinstance(work.exception(), ValueError) and work.done

    release = threading.Event()
    slow = Background(release.wait, name="slow").start()
    with pytest.raises(TimeoutError, match="slow has not finished"):
        slow.result(timeout=0.05)
    assert not slow.done and slow._thread.daemon
    release.set()
    assert slow.result(timeout=10) is True


def test_the_settings_table_of_the_readme_names_every_variable():
    documented = (REPO / "wpa" / "settings.py").read_text().split('"""')[1]
    variables = {word.strip(",") for word in documented.split() if word.startswith("WPA_")}
    readme = (REPO / "README.md").read_text()
    assert len(variables) >= 18 and all(f"`{variable}`" in readme for variable in variables), \
        sorted(v for v in variables if f"`{v}`" not in readme)
