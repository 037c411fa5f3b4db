"""Where wpa finds and keeps things. Each location can be moved with an environment variable."""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]


def _shipped_models_dir() -> Path:
    """The folder of the shipped models. In a checkout (and after `pip install -e .`) it is models/
    beside the package. A wheel cannot put files beside the package, so `pip install .` installs
    them as data files (pyproject.toml) under <prefix>/share/wpa/models: the environment's prefix,
    or the user base after `pip install --user`. A folder counts only if it holds the pose model."""
    candidates = [REPO_DIR / "models"] + [Path(prefix) / "share" / "wpa" / "models"
                                          for prefix in (sys.prefix, site.getuserbase())]
    return next((folder for folder in candidates if (folder / "pose_landmarker_full.task").is_file()), candidates[0])


SHIPPED_MODELS_DIR = _shipped_models_dir()

# The MediaPipe PoseLandmarker bundle shipped in the repository (see models/README.md).
DEFAULT_POSE_MODEL = Path(os.environ.get("WPA_POSE_MODEL", SHIPPED_MODELS_DIR / "pose_landmarker_full.task"))
# The exercise classifier used when none is chosen.
DEFAULT_MODEL_DIR = Path(os.environ.get("WPA_MODEL", SHIPPED_MODELS_DIR / "default"))

# Things that can be rebuilt: extracted poses, annotated videos.
CACHE_DIR = Path(os.environ.get("WPA_CACHE_DIR", Path.home() / ".cache" / "wpa"))
POSE_CACHE_DIR = CACHE_DIR / "poses"
ANNOTATED_CACHE_DIR = CACHE_DIR / "annotated"

# Things that cannot: models trained by users, and the data they uploaded to train them.
DATA_DIR = Path(os.environ.get("WPA_DATA_DIR", Path.home() / ".local" / "share" / "wpa"))
USER_MODELS_DIR = DATA_DIR / "models"
UPLOADS_DIR = DATA_DIR / "uploads"

# Folders on the server whose datasets the Train page may use (separated by ':'); a path typed on
# the page must lie inside one of them.
DATA_ROOTS = tuple(Path(p) for p in os.environ.get("WPA_DATA_ROOTS", str(DATA_DIR / "datasets")).split(os.pathsep) if p)

# The Ray cluster the Train page extracts poses on (`auto`, or HOST:PORT of its head; see
# wpa.poses.extraction.RayEngine); unset, poses are extracted on this machine.
RAY_ADDRESS = os.environ.get("WPA_RAY_ADDRESS") or None


def worker_environment() -> dict[str, str]:
    """The environment for a `python -m wpa.…` worker process: this one's, with the folder that
    holds this wpa first on PYTHONPATH, so the worker runs the same code even from a checkout that
    is not installed (the app started with `streamlit run` from the repository)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))}
