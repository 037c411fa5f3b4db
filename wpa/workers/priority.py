"""CPU priority: the app's server keeps its live streams' frames coming while heavy work runs.

Live streams' callbacks run in the server process at normal priority; uploads' analyses and
training's extraction run in worker processes `BACKGROUND_NICENESS` below it, and training itself
in a server thread lowered by as much. On Linux a niceness of 10 gives a process about a tenth of
the CPU share of one at 0 when both want a core.
"""

from __future__ import annotations

import os
import threading

BACKGROUND_NICENESS = 10
MAX_NICENESS = 19


def lower_this_thread(by: int) -> None:
    """Raise the calling thread's niceness by `by` (relative to its own, so work already in the
    background goes further back). Threads it starts later inherit it; a platform or a process
    that does not allow it runs on at its priority."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + by, MAX_NICENESS))
    except (AttributeError, OSError):
        pass
