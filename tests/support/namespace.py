"""Running a benchmark inside a private network namespace (`unshare -n`), where the servers it starts
(the app's WebRTC, a Ray cluster) talk over loopback only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from wpa.paths import REPO_DIR

IN_NAMESPACE = "WPA_BENCHMARK_IN_NAMESPACE"  # set in the re-run inside the namespace


def inside_namespace() -> bool:
    return os.environ.get(IN_NAMESPACE) == "1"


def rerun_in_namespace(module: str) -> int:
    """Run `python -m module` with this command's arguments again inside a private network
    namespace; return its exit status."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        sys.exit("unshare and ip (util-linux, iproute2) are needed for a private network namespace")
    # As tests/browser/test_live_browser.py: root makes one directly, others in a user namespace.
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    command = [*unshare, sys.executable, "-m", module, *sys.argv[1:]]
    return subprocess.call(command, cwd=REPO_DIR, env={**os.environ, IN_NAMESPACE: "1"})
