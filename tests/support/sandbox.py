"""The temporary folder tests run in: wpa reads where its caches, saved models and offered data
folders are from the environment when it is imported, so tests/conftest.py imports this module
before anything imports wpa, and tests never read or write the user's own. Processes the tests
start inherit the same environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

if "WPA_TEST_SANDBOX" not in os.environ:
    os.environ["WPA_TEST_SANDBOX"] = tempfile.mkdtemp(prefix="wpa-tests-")
SANDBOX = Path(os.environ["WPA_TEST_SANDBOX"])
os.environ["WPA_CACHE_DIR"] = str(SANDBOX / "cache")
os.environ["WPA_DATA_DIR"] = str(SANDBOX / "data")
os.environ["WPA_DATA_ROOTS"] = str(SANDBOX / "datasets")
USER_MODELS = SANDBOX / "data" / "models"
DATASETS = SANDBOX / "datasets"
