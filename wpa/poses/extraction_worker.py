"""A pose-extraction worker process, started by wpa.poses.extraction.LocalEngine (one per CPU core).

    python -m wpa.poses.extraction_worker [--niceness N]

It reads requests from stdin, one JSON object per line — {"video", "key", "cache", "options"} —
extracts the clip's poses, stores them in the pose cache under `key`, and answers one JSON line on
stdout: {"error": null} or {"error": "why the clip cannot be read"}. It ends when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--niceness", type=int, default=0, help="added to this process's CPU niceness")
    if niceness := parser.parse_args().niceness:
        os.nice(niceness)
    # Imported once the priority is lowered: MediaPipe and PyAV take seconds of CPU to import.
    from wpa.poses.extraction import extract_or_explain
    from wpa.poses.sequence import PoseOptions
    from wpa.poses.cache import PoseCache

    caches: dict[tuple[str, str], PoseCache] = {}
    for line in sys.stdin:
        request = json.loads(line)
        options = PoseOptions(**{**request["options"], "model_path": Path(request["options"]["model_path"])})
        result = extract_or_explain(Path(request["video"]), options)
        if isinstance(result, str):
            answer = {"error": result}
        else:
            signature = (request["cache"], json.dumps(request["options"], sort_keys=True))
            cache = caches.setdefault(signature, PoseCache(request["cache"], options))
            cache.save(request["key"], result)
            answer = {"error": None}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
