"""Freed memory handed back to the system, for the app's long-lived processes.

glibc's malloc keeps what it frees. Each thread that allocates at once gets an arena of its own
(up to 8 a core: pose models, decoders, encoders, drawing), and once large blocks have been freed
its thresholds rise, so freed memory stays in the arenas instead of going back to the system.
"""

from __future__ import annotations

import ctypes
import threading
import time

from wpa.background import Background

_trimmer: Background | None = None
_trimmer_lock = threading.Lock()


def hand_back_freed_memory(every_s: float) -> None:
    """Start (once a process) a thread that hands freed pages back every `every_s` seconds
    (`malloc_trim`, called without the interpreter lock: about 3 ms a call during an upload, 20 us
    idle). Does nothing off glibc."""
    global _trimmer
    with _trimmer_lock:
        if _trimmer is not None:
            return
        try:
            trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError, TypeError):  # not glibc
            return
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int

        def trim_regularly() -> None:
            while True:
                time.sleep(every_s)
                trim(0)

        _trimmer = Background(trim_regularly, name="wpa-malloc-trim").start()
