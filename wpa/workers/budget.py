"""The server's CPU budget: how many pose models may run at once, whatever asks for them.

Uploads' analyses and training's extraction run in worker processes, and an analysis of a long
clip runs several pose models at once (`wpa.poses.extract.extract_pose(parts=...)`), one a core.
Each task takes its pose models' worth of slots from one `CpuBudget` before it starts and gives
them back when it ends, so together they never ask for more than the cores: two uploads and a
training job on two cores run two pose models, not six. Slots go to tasks in the order they asked
(a training job asking again after each clip waits behind an upload that asked meanwhile).
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable


def cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s share, where it has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class CpuBudget:
    """`slots` slots (default: one a core), handed out first come, first served."""

    def __init__(self, slots: int | None = None):
        self.slots = max(1, slots or cores())
        self._free = self.slots
        self._line: collections.deque[object] = collections.deque()
        self._changed = threading.Condition()

    def take(self, most: int, stop: Callable[[], bool] = lambda: False) -> int:
        """Wait for a free slot in turn, then take up to `most` of those free: the number taken
        (at least 1), or 0 if `stop()` turned true while waiting (call `wake` to have it asked)."""
        turn = object()
        with self._changed:
            self._line.append(turn)
            try:
                while not stop():
                    if self._line[0] is turn and self._free > 0:
                        taken = min(max(1, most), self._free)
                        self._free -= taken
                        return taken
                    self._changed.wait()
                return 0
            finally:
                self._line.remove(turn)
                self._changed.notify_all()  # the next in line may go

    def give_back(self, taken: int) -> None:
        with self._changed:
            self._free = min(self._free + taken, self.slots)
            self._changed.notify_all()

    def wake(self) -> None:
        """Have every waiting `take` ask its `stop` again."""
        with self._changed:
            self._changed.notify_all()

    def held(self) -> int:
        """Slots taken now."""
        with self._changed:
            return self.slots - self._free

    def waiting(self) -> int:
        """Tasks waiting for a slot now."""
        with self._changed:
            return len(self._line)

