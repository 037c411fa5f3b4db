"""Progress of the command line, on stderr.

On a terminal a task is a tqdm bar: done/total, rate and time left, redrawn in place. When stderr
is a file or a pipe (a log, CI) carriage-return bars would be noise, so the same task writes the
plain lines its caller gives instead. Quiet writes nothing. Results (stdout), errors and warnings
never go through here, so `--quiet` hides none of them.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Where progress goes; one task at a time (starting one closes the last)."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, mininterval: float = 0.1):
        self.quiet = quiet
        self._stream = stream
        self.mininterval = mininterval  # seconds between redraws of a bar
        self._task: Task | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr  # looked up when used, so a replaced sys.stderr is followed

    def task(self, desc: str, total: int | None, unit: str, *, rate_shown_by_caller: bool = False,
             leave: bool = True, elapsed_s: float = 0.0) -> Task:
        """A task of `total` `unit`s (singular, e.g. "clip"; `total` None or 0 when unknown).
        `rate_shown_by_caller`: the bar shows the caller's postfix (e.g. frames/s while counting
        clips) instead of units/s. `elapsed_s`: time already spent on it before it was shown.
        `leave`: keep the finished bar on screen."""
        self.close()
        self._task = Task(self, desc, total, unit, rate_shown_by_caller, leave, elapsed_s)
        return self._task

    def close(self, finished: bool = False) -> None:
        """End the current task, if any; `finished` fills its bar first (the last step is done)."""
        if self._task is not None:
            self._task.close(finished)
            self._task = None


class Task:
    def __init__(self, progress: Progress, desc: str, total: int | None, unit: str, rate_shown_by_caller: bool,
                 leave: bool, elapsed_s: float):
        self.started = time.monotonic() - elapsed_s
        self._quiet = progress.quiet
        self._stream = progress.stream
        self._bar: tqdm | None = None
        if not self._quiet and self._stream.isatty():
            bar_format = (f"{{l_bar}}{{bar}}| {{n_fmt}}/{{total_fmt}} {unit}s [{{elapsed}}<{{remaining}}{{postfix}}]"
                          if rate_shown_by_caller and total else None)
            # A terminal that reports no size (a pty nobody sized) would get no bar at all: use 80 x 20.
            width = _terminal_width(self._stream)
            # smoothing=0: time left from the average rate so far, as the plain lines compute it.
            self._bar = tqdm(total=total or None, desc=desc, unit=unit, file=self._stream, leave=leave,
                             bar_format=bar_format, smoothing=0, mininterval=progress.mininterval,
                             dynamic_ncols=bool(width), ncols=None if width else 80, nrows=None if width else 20)
            self._bar.start_t -= elapsed_s

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def update(self, done: int, *, postfix: str | None = None, line: str | None = None) -> None:
        """`done` units are done. A bar shows `postfix` beside it; a log gets `line`, if one is given."""
        if self._quiet:
            return
        if self._bar is not None:
            if postfix is not None:
                self._bar.set_postfix_str(postfix, refresh=False)
            self._bar.update(done - self._bar.n)
        elif line:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self, finished: bool = False) -> None:
        if self._bar is not None:
            if finished and self._bar.total:
                self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()
            self._bar = None


def _terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0
