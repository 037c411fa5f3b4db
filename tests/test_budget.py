"""The CPU budget: slots handed out first come, first served, so that work asking again waits behind
work already waiting (a training job's next clip behind an upload that asked meanwhile)."""

from __future__ import annotations

import threading
import time

from wpa.workers.budget import CpuBudget


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def take_a_turn(budget: CpuBudget, name: str, entered: list[str]) -> None:
    taken = budget.take(1)
    entered.append(name)
    budget.give_back(taken)


def line_up(budget: CpuBudget, names: list[str], entered: list[str]) -> list[threading.Thread]:
    """A thread for each name asking for a slot, started one after another once the one before waits."""
    threads = []
    for name in names:
        threads.append(threading.Thread(target=take_a_turn, args=(budget, name, entered)))
        waiting = budget.waiting()
        threads[-1].start()
        wait_for(lambda: budget.waiting() == waiting + 1)
    return threads


def test_turns_are_given_in_the_order_asked():
    budget, entered = CpuBudget(1), []
    budget.take(1)
    threads = line_up(budget, ["b", "c", "d", "e"], entered)
    budget.give_back(1)
    for thread in threads:
        thread.join(timeout=10)
    assert entered == ["b", "c", "d", "e"]


def test_a_task_asking_again_goes_behind_the_one_waiting():
    """A training job ends a clip and at once asks for its next: the upload waiting meanwhile goes
    first. (A plain lock lets the thread that has just released it take it again, again and again.)"""
    budget, entered = CpuBudget(1), []
    budget.take(1)  # training's clip
    upload = line_up(budget, ["upload"], entered)[0]
    budget.give_back(1)
    take_a_turn(budget, "training", entered)  # its next clip, asked for at once
    upload.join(timeout=10)
    assert entered == ["upload", "training"]


def test_a_task_takes_what_is_free_up_to_what_it_can_use_and_waits_for_one():
    budget = CpuBudget(3)
    assert budget.take(2) == 2
    assert budget.take(5) == 1  # one left: it goes with one rather than wait for more
    stopped = threading.Event()
    taken = []
    asker = threading.Thread(target=lambda: taken.append(budget.take(1, stop=stopped.is_set)))
    asker.start()
    wait_for(lambda: budget.waiting() == 1)
    stopped.set()
    budget.wake()
    asker.join(timeout=10)
    assert taken == [0] and budget.held() == 3 and budget.waiting() == 0
    budget.give_back(3)
    assert budget.held() == 0
