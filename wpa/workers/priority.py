"""CPU priority: the app's server keeps its live streams' frames coming while heavy work runs.

Live streams' callbacks run in the server process at normal priority; uploads' analyses and
training's extraction run in worker processes `BACKGROUND_NICENESS` below it, and training itself
in a server thread lowered by as much. On Linux a niceness of 10 gives a process about a tenth of
the CPU share of one at 0 when both want a core.

Inside the server process, niceness cannot help: its threads share one interpreter lock. A live
frame hands it over dozens of times (MediaPipe's dispatcher thread, torch's ops, OpenCV, PyAV), and
each time it wants it back it waits up to the switch interval behind any thread busy in Python (a
page script building a chart, reading an upload's result). So a server with live streams hands it
over more often (`hand_the_interpreter_over_often`).
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICENESS = 10
MAX_NICENESS = 19
# Python's default is 5 ms. Two live streams beside a thread busy in Python, on two busy cores
# (benchmarks/live_fairness.py --python-threads 1, paired runs): 2.8, 5.9 and 4.6 frames/s a stream
# at 5 ms; 5.4, 6.6 and 10.2 at 1 ms.
LIVE_SWITCH_INTERVAL_S = 0.001


def lower_this_thread(by: int) -> None:
    """Raise the calling thread's niceness by `by` (relative to its own, so work already in the
    background goes further back). Threads it starts later inherit it; a platform or a process
    that does not allow it runs on at its priority."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + by, MAX_NICENESS))
    except (AttributeError, OSError):
        pass


def hand_the_interpreter_over_often() -> None:
    """Have this process's threads wait at most `LIVE_SWITCH_INTERVAL_S` for the interpreter lock
    held by another (for the whole process; harmless to repeat): a live stream's frame then waits
    less behind the server's other Python work."""
    sys.setswitchinterval(LIVE_SWITCH_INTERVAL_S)
