"""coturn (Debian's `turnserver`) for a test, inside the test's private network namespace.

The repository's deploy/turnserver.conf with what one machine needs on top: listening and relaying
on the namespace's loopback address (127.0.0.2, which aiortc offers) and relaying to loopback peers,
which the relay refuses otherwise.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import REPO

TURN_ADDRESS = "127.0.0.2"
TURN_PORT = 3478
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def start_coturn(home: Path, secret: str) -> subprocess.Popen:
    """Start coturn with `secret` as its static-auth-secret; return it once it listens."""
    log = open(home / "turnserver.log", "w")
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(REPO / "deploy" / "turnserver.conf"), f"--static-auth-secret={secret}",
         f"--listening-ip={TURN_ADDRESS}", f"--relay-ip={TURN_ADDRESS}", "--allow-loopback-peers", "--verbose",
         "--no-stdout-log", "--log-file", str(home / "turnserver.log"), "--pidfile", str(home / "turnserver.pid"),
         "--userdb", str(home / "turndb")],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"coturn exited: {(home / 'turnserver.log').read_text()[-2000:]}")
        with socket.socket() as probe:  # it listens on TCP as on UDP: TCP says when it is up
            if probe.connect_ex((TURN_ADDRESS, TURN_PORT)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("coturn did not listen within 15 s")


def turn_url() -> str:
    return f"turn:{TURN_ADDRESS}:{TURN_PORT}?transport=udp"
