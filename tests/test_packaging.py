"""`pip install .` gives a working `wpa` command; pyproject.toml and requirements.txt agree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.support.data import REPO
from tests.support.media import write_video


def _pins(lines) -> list[str]:
    return sorted("".join(line.split("#", 1)[0].split()) for line in lines if line.split("#", 1)[0].strip())


def test_pyproject_dependencies_are_the_pins_of_requirements_txt():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = _pins((REPO / "requirements.txt").read_text().splitlines())
    assert _pins(declared) == pinned
    assert all("==" in pin for pin in pinned)


def _run(command, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    # Nothing of the checkout or of the test run may leak in: no PYTHONPATH, no model overrides.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "WPA_POSE_MODEL", "WPA_LIVE_POSE_MODEL", "WPA_MODEL",
                         "VIRTUAL_ENV")}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env={**env, "PIP_NO_INPUT": "1"},
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_pip_install_in_a_fresh_venv_gives_a_wpa_command(tmp_path):
    # A fresh environment that sees the dependencies already installed for this test run (a .pth
    # file naming this interpreter's site-packages), so pip finds them all satisfied and nothing is
    # downloaded; setuptools comes from there too, hence --no-build-isolation, and --no-index.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=tmp_path).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "_wpa_test_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))

    # The sources pip needs, copied so that build/ and wpa.egg-info never land in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "wpa", source / "wpa", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (source / "models").mkdir()
    for bundle in ("pose_landmarker_full.task", "pose_landmarker_lite.task"):
        shutil.copy2(REPO / "models" / bundle, source / "models")
    shutil.copytree(REPO / "models" / "default", source / "models" / "default")

    _run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", source], cwd=tmp_path)
    installed = sorted(path.name for path in site_packages.iterdir() if path.name != "_wpa_test_dependencies.pth")
    assert installed == ["wpa", "wpa-0.1.0.dist-info"]  # the library only: no tests, pages, scripts
    shared_models = venv / "share" / "wpa" / "models"
    assert (shared_models / "pose_landmarker_full.task").is_file()
    assert (shared_models / "pose_landmarker_lite.task").is_file()
    assert (shared_models / "default" / "model.json").is_file() and (shared_models / "default" / "weights.pt").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    helped = _run([venv / "bin" / "wpa", "--help"], cwd=elsewhere)
    assert helped.stdout.startswith("usage: wpa ")
    for command in ("extract", "train", "evaluate", "crossval", "classify", "--quiet"):
        assert command in helped.stdout
    where = _run([python, "-c", "import wpa.paths as p; print(p.__file__); print(p.DEFAULT_POSE_MODEL); "
                  "print(p.DEFAULT_MODEL_DIR)"], cwd=elsewhere).stdout.splitlines()
    assert where == [str(site_packages / "wpa" / "paths.py"), str(shared_models / "pose_landmarker_full.task"),
                     str(shared_models / "default")]

    # The installed copy classifies with the models it shipped with.
    clip = write_video(elsewhere / "clip.mp4", frames=12)
    classified = _run([venv / "bin" / "wpa", "classify", clip, "--json", "-q"], cwd=elsewhere)
    assert '"label": "no_person"' in classified.stdout
    assert [line.split(":")[0] for line in classified.stderr.splitlines()] == ["warning"]  # -q: no progress
