"""A real browser against a real app server: Debian's chromium driven by Playwright
(tests/support/browsers.py, servers.py).

The server runs `streamlit run streamlit_app.py` on a free local port, with its caches and model
store in a temporary folder. Chromium is never downloaded by Playwright: the tests use
/usr/bin/chromium (Debian's `chromium` package, installed by .ci/run) and skip, saying so, where it
is missing.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.browsers import CHROMIUM, launch_chromium
from tests.support.servers import app_log, start_app, stop


@pytest.fixture(scope="session")
def playwright_api():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_api):
    browser = launch_chromium(playwright_api)
    yield browser
    browser.close()


@dataclass
class App:
    url: str
    home: Path  # its WPA_CACHE_DIR is home/cache, its WPA_DATA_DIR home/data
    process: subprocess.Popen

    @property
    def log(self) -> str:
        return app_log(self.home)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("app-home")
    # Two analyses at once whatever the machine's cores, so a third upload waits its turn.
    process, url = start_app(home, extra_env={"WPA_ANALYSIS_WORKERS": "2"})
    yield App(url=url, home=home, process=process)
    stop(process)


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


