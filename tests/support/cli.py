"""`python -m wpa` in a subprocess, as a person runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.data import REPO


def wpa(*args, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wpa", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
