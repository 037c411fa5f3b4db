"""A process that dies by SIGKILL at a chosen moment of training or saving, for test_faults.py.

    python -m tests.support.fault_driver POINT -- ARGS...

runs `python -m wpa ARGS...` (or, for POINT "activate", makes the model ARGS[0] active) and kills
itself, as a power cut or an out-of-memory kill would, when it reaches POINT:

    mid-epoch      the 40th optimiser step (in the second epoch of the tests' data)
    mid-weights    half-way through writing weights.pt
    before-swap    the new model folder complete, not yet put in place of the old one
    after-swap     the new model in place, the old one not yet deleted
    activate       active_model.json written to its temporary file, not yet renamed

Nothing is caught: SIGKILL gives no process a chance to clean up.
"""

from __future__ import annotations

import io
import os
import signal
import sys

import torch

from wpa import cli
import wpa.files
from wpa.serving.store import set_active_model


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at_optimiser_step(number: int) -> None:
    step = torch.optim.Adam.step
    count = [0]

    def counted(self, *args, **kwargs):
        count[0] += 1
        if count[0] == number:
            die()
        return step(self, *args, **kwargs)
    torch.optim.Adam.step = counted


def kill_while_saving_weights() -> None:
    save = torch.save

    def half_then_die(state, path):
        buffer = io.BytesIO()
        save(state, buffer)
        with open(path, "wb") as handle:
            handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        die()
    torch.save = half_then_die


def kill_around_the_swap(after: bool) -> None:
    exchange = wpa.files._exchange

    def swap(first, second):
        if not after:
            die()
        done = exchange(first, second)
        die()
        return done
    wpa.files._exchange = swap


def kill_before_text_reaches_the_disk() -> None:
    """The text is written to its temporary file; the process dies before it is synced and renamed."""
    os.fsync = lambda descriptor: die()


def main(point: str, args: list[str]) -> int:
    if point == "mid-epoch":
        kill_at_optimiser_step(40)
    elif point == "mid-weights":
        kill_while_saving_weights()
    elif point in ("before-swap", "after-swap"):
        kill_around_the_swap(after=point == "after-swap")
    elif point == "activate":
        kill_before_text_reaches_the_disk()
        set_active_model(args[0])
        return 0
    else:
        raise SystemExit(f"unknown fault point {point}")
    return cli.main(args)


if __name__ == "__main__":
    separator = sys.argv.index("--")
    sys.exit(main(sys.argv[1], sys.argv[separator + 1:]))
