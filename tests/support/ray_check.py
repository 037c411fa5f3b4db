"""Extract a dataset on a two-node Ray cluster of this machine, inside a private network namespace,
and report what happened as JSON.

Started by tests/test_ray_engine.py as `unshare -n python -m tests.support.ray_check DATA WORK
OUT.json`. It runs `python -m wpa extract DATA --ray ...` twice: once plainly (cache in WORK/ray),
once killing the first Ray worker seen running a clip (cache in WORK/killed), so that the test can
check the clip was retried or reported, never lost; then it extracts in this process, as the Train
page does, and cancels after the first clip.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.data import REPO
from tests.support.namespace import bring_up_loopback
from tests.support.ray_cluster import LocalRayCluster, ray_task_processes
from wpa.errors import Cancelled
from wpa.poses.extraction import RayEngine
from wpa.recognition.dataset import extract_dataset
from wpa.recognition.folders import scan_dataset

TASK = "extract_clip"  # the Ray task's name (wpa.poses.extraction.extract_clip)


def extract(data: Path, out: Path, address: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wpa", "extract", str(data), "--out", str(out), "--ray", address],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_first_task(run: subprocess.Popen, timeout_s: float = 120) -> int | None:
    """SIGKILL the first Ray worker seen running a clip; its pid, or None if none was seen."""
    deadline = time.monotonic() + timeout_s
    while run.poll() is None and time.monotonic() < deadline:
        workers = ray_task_processes(TASK)
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            return workers[0]
        time.sleep(0.05)
    return None


def cancel_after_first_clip(data: Path, cache: Path, address: str) -> dict:
    """Extract in this process, as the Train page does, asking to stop after the first clip: the
    other clips' tasks must be cancelled, not left running on the cluster."""
    clips = scan_dataset(data).clips
    try:
        extract_dataset(clips, cache, engine=RayEngine(address), should_stop=lambda: True)
        message = None
    except Cancelled as stopped:
        message = str(stopped)
    deadline = time.monotonic() + 30
    while ray_task_processes(TASK) and time.monotonic() < deadline:
        time.sleep(0.2)
    return {"message": message, "clips": len(clips), "cached": len(list(cache.glob("*.npz"))),
            "tasks_still_running": len(ray_task_processes(TASK))}


def main() -> None:
    data, work, report_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    bring_up_loopback()
    report: dict = {}
    with LocalRayCluster(2, work / "cluster") as cluster:
        started = time.monotonic()
        run = extract(data, work / "ray", cluster.address)
        stdout, stderr = run.communicate(timeout=600)
        report["plain"] = {"returncode": run.returncode, "stdout": stdout, "stderr": stderr[-3000:],
                           "seconds": round(time.monotonic() - started, 1)}

        run = extract(data, work / "killed", cluster.address)
        killed = kill_first_task(run)
        stdout, stderr = run.communicate(timeout=600)
        report["killed"] = {"returncode": run.returncode, "stdout": stdout, "stderr": stderr[-3000:], "killed_pid": killed}
        report["cancelled"] = cancel_after_first_clip(data, work / "cancelled", cluster.address)
    report_path.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
