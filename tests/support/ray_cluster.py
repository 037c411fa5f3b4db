"""A Ray cluster of one or more nodes on this machine, for the Ray engine's test and benchmark.

Each node is `ray start --block` with one CPU, the address 127.0.0.1 and a temporary folder of its
own, started in a process group of its own so that it ends, daemons and all, by that group's id
(`ray stop` would end every Ray process on the machine). Run it inside a private network
namespace (tests/support/namespace.py): outside one, Ray offers the machine's external
address to its peers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
# A small object store per node: clips are a few MB, and /dev/shm may be small here.
OBJECT_STORE_BYTES = 200_000_000
# What `ray start --block` prints once its node is up and registered.
STARTED = "This command will now block forever"


class LocalRayCluster:
    """`with LocalRayCluster(2, folder) as cluster:` a head and one more node; `cluster.address`."""

    def __init__(self, nodes: int, folder: Path, port: int = 6390, start_timeout_s: float = 120):
        self.nodes, self.folder, self.port, self.start_timeout_s = nodes, Path(folder), port, start_timeout_s
        self.address = f"127.0.0.1:{port}"
        self._processes: list[subprocess.Popen] = []
        self._temp_dirs: list[str] = []

    def __enter__(self) -> LocalRayCluster:
        try:
            self._start_node(["--head", "--port", str(self.port), "--include-dashboard=false"])
            for _ in range(self.nodes - 1):
                self._start_node(["--address", self.address])
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start_node(self, role: list[str]) -> None:
        index = len(self._processes)
        # Ray's socket paths must stay under 108 characters: a short folder per node, under /tmp.
        temp_dir = tempfile.mkdtemp(prefix=f"wpa-ray{index}-", dir="/tmp")
        self._temp_dirs.append(temp_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / f"node{index}.log", "w")
        command = [str(RAY), "start", "--block", *role, "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
                   "--temp-dir", temp_dir, "--object-store-memory", str(OBJECT_STORE_BYTES), "--disable-usage-stats"]
        self._processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        self._wait_until_started(index)

    def _wait_until_started(self, index: int) -> None:
        """Until `ray start` says it is up (it has registered with the head) or ends."""
        log, process = self.folder / f"node{index}.log", self._processes[index]
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Ray node {index} ended while starting:\n{log.read_text()[-2000:]}")
            if STARTED in log.read_text():
                return
            time.sleep(0.5)
        raise TimeoutError(f"Ray node {index} did not start in {self.start_timeout_s:.0f} s; see {log}")

    def stop(self) -> None:
        """End every process of every node started here (each node's own process group)."""
        for process in self._processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self._processes.clear()
        for temp_dir in self._temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)
        self._temp_dirs.clear()


def ray_task_processes(name: str) -> list[int]:
    """Process ids of Ray workers now running a task called `name` (Ray titles them `ray::NAME`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if command.startswith(f"ray::{name}"):
                found.append(int(entry.name))
    return found
