"""A real browser against a real app server: Debian's chromium driven by Playwright.

The server runs `streamlit run streamlit_app.py` on a free local port, with its caches and model
store in a temporary folder. Chromium is never downloaded by Playwright: the tests use
/usr/bin/chromium (Debian's `chromium` package, installed by .ci/run) and skip, saying so, where it
is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("WPA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]



def fake_camera_flags(y4m, allow_camera: bool = True) -> list[str]:
    """Chromium's flags for a camera playing the video `y4m` in a loop, over loopback, allowed
    without asking (without `allow_camera`, headless Chromium refuses it as a person would)."""
    return CHROMIUM_FLAGS + (["--use-fake-ui-for-media-stream"] if allow_camera else []) + [
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}",
        "--allow-loopback-in-peer-connection"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(home: Path, host: str = "127.0.0.1", extra_env: dict | None = None):
    """Start the app; return (process, base URL) once it answers its health check."""
    port = free_port()
    env = {**os.environ, "WPA_CACHE_DIR": str(home / "cache"), "WPA_DATA_DIR": str(home / "data"),
           "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    log = open(home / f"streamlit-{port}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", host, "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited: {(home / f'streamlit-{port}.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not answer within 90 s")


@pytest.fixture(scope="session")
def playwright_api():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_api):
    browser = playwright_api.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@dataclass
class App:
    url: str
    home: Path  # its WPA_CACHE_DIR is home/cache, its WPA_DATA_DIR home/data
    process: subprocess.Popen

    @property
    def log(self) -> str:
        return "".join(path.read_text() for path in self.home.glob("streamlit-*.log"))


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("app-home")
    # Two analyses at once whatever the machine's cores, so a third upload waits its turn.
    process, url = start_app(home, extra_env={"WPA_ANALYSIS_WORKERS": "2"})
    yield App(url=url, home=home, process=process)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests leave screenshots to look at ($WPA_SCREENSHOTS, else a temporary folder)."""
    folder = Path(os.environ.get("WPA_SCREENSHOTS", "/tmp/wpa-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


