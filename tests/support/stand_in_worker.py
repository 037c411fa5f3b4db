"""A stand-in for wpa.worker in the queue's tests: it speaks the same protocol (wpa.workers.protocol),
but each "analysis" is a few sleeps with progress reports, so the tests control how long it takes.

    python tests/support/stand_in_worker.py LOG

It appends a line to LOG for each request it starts ("start SMOOTHING_S PID SLOTS") and ends
("done/cancelled SMOOTHING_S"); the smoothing setting tells the tests' clips apart. A request whose
smoothing is 1.9 makes it exit without answering (a crash). SIGTERM cancels the request in progress.
"""

import json
import os
import signal
import sys
import time

STEPS, STEP_S = 10, 0.1


class Cancel(Exception):
    pass


busy = False


def on_term(signum, frame):
    if busy:
        raise Cancel()


def log(text: str) -> None:
    with open(sys.argv[1], "a") as handle:
        handle.write(text + "\n")


signal.signal(signal.SIGTERM, on_term)
for line in sys.stdin:
    request = json.loads(line)
    name = request["args"]["inference"]["smoothing_s"]
    busy = True
    log(f"start {name} {os.getpid()} {request['slots']}")
    try:
        if name == 1.9:
            os._exit(3)
        for step in range(STEPS):
            time.sleep(STEP_S)
            print(json.dumps({"progress": {"stage": "pose", "done": step + 1, "total": STEPS, "elapsed_s": (step + 1) * STEP_S}}), flush=True)
        busy = False
        answer = {"done": {"computed": True}}
        log(f"done {name}")
    except Cancel:
        answer = {"cancelled": "cancelled"}
        log(f"cancelled {name}")
    busy = False
    print(json.dumps(answer), flush=True)
