"""Background work: one function run on a daemon thread of its own, its result or its exception
handed back to whoever asks.

    work = Background(train, name="wpa-train").start()
    ...
    model = work.result(timeout=60)   # the function's return value, or its exception raised here

The one way wpa runs a piece of work beside the thread that asked for it (a training job beside
the page, a relay check bounded by a timeout, a drawing thread beside the decoder): the thread is
a daemon, so a server stopping never waits for it, and an exception is never lost in the thread
but raised again by `result()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_PENDING = object()


class Background(Generic[T]):
    """`work()` on a daemon thread named `name`, started by `start()`."""

    def __init__(self, work: Callable[[], T], name: str):
        self._work = work
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._value: object = _PENDING
        self._error: BaseException | None = None

    def start(self) -> Background[T]:
        self._thread.start()
        return self

    @property
    def name(self) -> str:
        return self._thread.name

    @property
    def done(self) -> bool:
        """Whether the work has ended (returned or raised)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work ends or `timeout` seconds pass; True if it has ended."""
        self._thread.join(timeout)
        return self.done

    def result(self, timeout: float | None = None) -> T:
        """The work's return value; its exception raised again here. TimeoutError if it has not
        ended within `timeout` seconds (the work goes on)."""
        if not self.wait(timeout):
            raise TimeoutError(f"{self.name} has not finished after {timeout} s.")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The work's exception, or None if it returned (TimeoutError as in `result`)."""
        if not self.wait(timeout):
            raise TimeoutError(f"{self.name} has not finished after {timeout} s.")
        return self._error

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # handed back by result(); a daemon thread has no one else to tell
            self._error = error
