"""The load test as a gate, in its short form (benchmarks/load.py; `make load` runs the full one):
the app with 1 live stream playing while 2 clips are uploaded at once, in headless Chromium inside
a private network namespace. It fails on a live stream that ends before it is STOPped, one that
classifies under MIN_LIVE_FPS_DURING_UPLOADS frames/s while the uploads run, an upload showing
another's result or an error, the server's memory reaching MAX_SERVER_MB, or a traceback in the
server's log.

It is CI's load test, part of the default run; `make load-gate` runs it alone (marked
`load_gate`). The browsers run after the server and before the analysis workers, as the users'
own machines would (benchmarks/load.py, --clients-niceness)."""

import json
import subprocess
import sys

import pytest

from tests.support.data import REPO

ARGS = ["--uploads", "2", "--lives", "1", "--rounds", "1", "--skip-repeated", "--watch", "20"]
TIMEOUT_S = 900  # far above a run's minutes: a run that hangs fails the test rather than CI's job


@pytest.mark.load_gate
def test_load_gate(network_namespace, playwright_api, videos, tmp_path):  # the benchmark makes its own namespace
    report_path = tmp_path / "load.json"
    try:
        run = subprocess.run([sys.executable, "-m", "benchmarks.load", *ARGS, "--json", str(report_path)],
                             cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"the load test ran over {TIMEOUT_S} s:\n{(error.stdout or b'')[-3000:].decode(errors='replace')}")
    print(run.stdout[-6000:])
    if not report_path.is_file():
        pytest.fail(f"no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    report = json.loads(report_path.read_text())
    failures = "\n".join(report["failures"])
    assert run.returncode == 0, f"the load gate failed:\n{failures}\n{run.stderr[-2000:]}"
    assert report["summary"]["rounds_passed"] == report["summary"]["rounds"] == 1, failures
