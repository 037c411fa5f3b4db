"""A private network namespace (`unshare -n`) for what must talk over loopback only: the app's WebRTC
with Chromium, coturn, a Ray cluster. Tests start a driver inside one (`namespace_command()` before
its command line); a benchmark runs itself again inside one (`rerun_in_namespace`).

Inside, loopback is the only interface and it is down: `bring_up_loopback` brings it up with a
second address, ICE_ADDRESS, because the ICE library never offers 127.0.0.1 as a candidate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.support.data import REPO

ICE_ADDRESS = "127.0.0.2"  # loopback's second address: the one WebRTC (and coturn) use inside
IN_NAMESPACE = "WPA_BENCHMARK_IN_NAMESPACE"  # set in a benchmark's run again inside the namespace


class NoNamespace(RuntimeError):
    """No private network namespace can be made here; the message says why."""


def namespace_command() -> list[str]:
    """The command that runs what follows it in a new network namespace: root makes one directly,
    others in a user namespace. Raises NoNamespace where neither works."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        raise NoNamespace("unshare and ip (util-linux, iproute2) are needed for a private network namespace")
    command = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    if subprocess.run([*command, "true"], capture_output=True).returncode != 0:
        raise NoNamespace(f"cannot make a network namespace here ({' '.join(command)} failed)")
    return command


def bring_up_loopback() -> None:
    """Loopback, the only interface of a fresh namespace, up, with ICE_ADDRESS beside 127.0.0.1."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{ICE_ADDRESS}/8", "dev", "lo"], check=True)


def inside_namespace() -> bool:
    """Is this the benchmark's run inside the namespace (made by `rerun_in_namespace`)?"""
    return os.environ.get(IN_NAMESPACE) == "1"


def rerun_in_namespace(module: str) -> int:
    """Run `python -m module` with this command's arguments again inside a private network
    namespace; return its exit status."""
    try:
        command = namespace_command()
    except NoNamespace as missing:
        sys.exit(str(missing))
    return subprocess.call([*command, sys.executable, "-m", module, *sys.argv[1:]], cwd=REPO,
                           env={**os.environ, IN_NAMESPACE: "1"})
