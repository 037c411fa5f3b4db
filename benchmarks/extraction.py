"""What each extraction engine costs on this machine: `wpa extract` locally and on Ray clusters.

    python -m benchmarks.extraction [--data ../shared/data/videos] [--json OUT.json]

On the first clip of every class of --data (links in a scratch folder), into an empty cache each
time, it times the whole `python -m wpa extract` command (start-up, hashing, extraction, writing
the cache) with:

- the local engine with 1 process and with 2 (one per core here);
- the Ray engine on a cluster of 1 node and of 2 nodes of this machine, one CPU each (started
  before the timing; connecting to it and shipping the `wpa` package are timed), clips sent as
  bytes, and once more on 2 nodes reading the clips from shared paths.

It prints frames/s and each figure's ratio to the local engine's single process. The clusters
need a private network namespace, so the script runs itself again inside one (`unshare -n`:
root or user namespaces).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.pipeline import DATA, extraction_folder, fresh_process_peak_rss_mb
from tests.support.namespace import bring_up_loopback, inside_namespace, rerun_in_namespace
from tests.support.ray_cluster import LocalRayCluster
from wpa.paths import REPO_DIR

def time_extract(data: Path, scratch: Path, engine: list[str]) -> dict:
    """Run `wpa extract` on `data` into an empty cache; frames, seconds, frames/s."""
    with tempfile.TemporaryDirectory(dir=scratch) as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wpa", "extract", str(data), "--out", out, "-q", *engine],
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO_DIR)
        seconds = time.perf_counter() - started
        frames = sum(entry["frames"] for entry in json.loads((Path(out) / "manifest.json").read_text())["clips"])
    return {"frames": frames, "seconds": round(seconds, 1), "fps": round(frames / seconds, 1)}


def worker_peak_rss_mb(clip: Path) -> float:
    """Peak resident memory of a fresh process running one Ray task's work (`extract_clip`) on `clip`."""
    return fresh_process_peak_rss_mb(
        "from dataclasses import asdict; from wpa.poses.extraction import extract_clip; from wpa.poses import PoseOptions; "
        "options = PoseOptions(); clip = Path(sys.argv[1]); extract_clip(clip.read_bytes(), clip.suffix, "
        "options.model_path.read_bytes(), {**asdict(options), 'model_path': None})", clip)


def measure(data: Path, scratch: Path) -> dict[str, dict]:
    results = {"local, 1 process": time_extract(data, scratch, ["--workers", "1"]),
               "local, 2 processes": time_extract(data, scratch, ["--workers", "2"])}
    bring_up_loopback()
    for nodes in (1, 2):
        with LocalRayCluster(nodes, scratch / f"cluster-{nodes}") as cluster:
            results[f"Ray, {nodes} node{'s' if nodes > 1 else ''}"] = time_extract(data, scratch, ["--ray", cluster.address])
            if nodes == 2:
                results["Ray, 2 nodes, shared paths"] = time_extract(
                    data, scratch, ["--ray", cluster.address, "--ray-shared-paths"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not inside_namespace():
        sys.exit(rerun_in_namespace("benchmarks.extraction"))
    with tempfile.TemporaryDirectory(prefix="wpa-bench-extract-") as scratch:
        folder = extraction_folder(args.data, Path(scratch))
        clips = sum(1 for path in folder.rglob("*") if path.is_file())
        results = measure(folder, Path(scratch))
        largest = max((path.resolve() for path in folder.rglob("*") if path.is_file()), key=lambda path: path.stat().st_size)
        worker_mb = worker_peak_rss_mb(largest)
    base = results["local, 1 process"]["fps"]
    print(f"wpa extract, {clips} clips, {results['local, 1 process']['frames']} frames, into an empty cache:")
    for name, result in results.items():
        print(f"  {name:28s} {result['fps']:6.1f} frames/s ({result['seconds']:5.1f} s)   {result['fps'] / base:4.2f}x")
    print(f"peak memory of one extraction task (largest clip, {largest.name}): {worker_mb:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"clips": clips, "results": results, "task_peak_rss_mb": round(worker_mb)},
                                        indent=1))


if __name__ == "__main__":
    main()
