"""Where wpa finds and keeps things: this process's paths settings (`wpa.settings.PathSettings`,
moved by WPA_MODEL, WPA_POSE_MODEL, WPA_LIVE_POSE_MODEL, WPA_CACHE_DIR and WPA_DATA_DIR), named for
the modules that use them as defaults."""

from __future__ import annotations

from wpa.settings import REPO_DIR, current_paths, shipped_models_dir, worker_environment

__all__ = ["REPO_DIR", "SHIPPED_MODELS_DIR", "DEFAULT_POSE_MODEL", "LIVE_POSE_MODEL", "DEFAULT_MODEL_DIR", "CACHE_DIR",
           "POSE_CACHE_DIR", "ANNOTATED_CACHE_DIR", "DATA_DIR", "USER_MODELS_DIR", "UPLOADS_DIR", "worker_environment"]

SHIPPED_MODELS_DIR = shipped_models_dir()
_PATHS = current_paths()

# The MediaPipe PoseLandmarker bundle shipped in the repository (see models/README.md).
DEFAULT_POSE_MODEL = _PATHS.pose_model
# The lighter bundle Live runs, to keep up with a camera on a small server.
LIVE_POSE_MODEL = _PATHS.live_pose_model
# The exercise classifier used when none is chosen.
DEFAULT_MODEL_DIR = _PATHS.model_dir

# Things that can be rebuilt: extracted poses, annotated videos.
CACHE_DIR = _PATHS.cache_dir
POSE_CACHE_DIR = _PATHS.pose_cache_dir
ANNOTATED_CACHE_DIR = _PATHS.annotated_cache_dir

# Things that cannot: models trained by users, and the data they uploaded to train them.
DATA_DIR = _PATHS.data_dir
USER_MODELS_DIR = _PATHS.user_models_dir
UPLOADS_DIR = _PATHS.uploads_dir

