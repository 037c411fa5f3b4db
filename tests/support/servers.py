"""The servers tests and benchmarks start: the app (`streamlit run streamlit_app.py` on a free local
port, its caches and model store in a folder of the caller's) and coturn (Debian's `turnserver`).

coturn runs with the repository's deploy/turnserver.conf and what one machine needs on top:
listening and relaying on the namespace's loopback address (ICE_ADDRESS, which aiortc offers) and
relaying to loopback peers, which the relay refuses otherwise; so it runs inside a private network
namespace (tests/support/namespace.py), beside the app.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.support.data import REPO
from tests.support.namespace import ICE_ADDRESS

APP_START_TIMEOUT_S = 90
TURN_ADDRESS, TURN_PORT = ICE_ADDRESS, 3478
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(home: Path, host: str = "127.0.0.1", extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start the app, its caches in home/cache and its data in home/data; return (process, base
    URL) once it answers its health check. Its log is home/streamlit-PORT.log (`app_log`)."""
    port = free_port()
    env = {**os.environ, "WPA_CACHE_DIR": str(home / "cache"), "WPA_DATA_DIR": str(home / "data"),
           "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    log = home / f"streamlit-{port}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
             "--server.address", host, "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    wait_until_ready(process, lambda: _answers_health_check(url), log, "the app", APP_START_TIMEOUT_S)
    return process, url


def _answers_health_check(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def app_log(home: Path) -> str:
    """What the apps started with `home` wrote to their logs."""
    return "".join(path.read_text() for path in home.glob("streamlit-*.log"))


def start_coturn(home: Path, secret: str) -> subprocess.Popen:
    """Start coturn with `secret` as its static-auth-secret; return it once it listens. Its log is
    home/turnserver.log."""
    log = home / "turnserver.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [TURNSERVER, "-c", str(REPO / "deploy" / "turnserver.conf"), f"--static-auth-secret={secret}",
             f"--listening-ip={TURN_ADDRESS}", f"--relay-ip={TURN_ADDRESS}", "--allow-loopback-peers", "--verbose",
             "--no-stdout-log", "--log-file", str(log), "--pidfile", str(home / "turnserver.pid"),
             "--userdb", str(home / "turndb")],
            stdout=output, stderr=subprocess.STDOUT)
    wait_until_ready(process, _coturn_listens, log, "coturn", 15)
    return process


def _coturn_listens() -> bool:
    with socket.socket() as probe:  # it listens on TCP as on UDP: TCP says when it is up
        return probe.connect_ex((TURN_ADDRESS, TURN_PORT)) == 0


def turn_url() -> str:
    return f"turn:{TURN_ADDRESS}:{TURN_PORT}?transport=udp"


def wait_until_ready(process: subprocess.Popen, ready: Callable[[], bool], log: Path, name: str,
                     timeout_s: float) -> None:
    """Until `ready()`; a process that exits first, or a timeout (the process then killed), raises
    with the end of its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text(errors='replace')[-2000:]}")
        if ready():
            return
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{name} did not answer within {timeout_s:.0f} s: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
