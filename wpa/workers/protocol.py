"""What the server and a worker process (`python -m wpa.worker`) say to each other: one JSON object
a line, over the worker's stdin and stdout.

A request: {"kind": what to run, "args": its arguments, "slots": the CPU slots it holds}. The
answers to it: {"progress": {...}} any number of times, then exactly one of {"done": {...}},
{"cancelled": "why"} or {"error": "what a person should read"}. SIGTERM cancels the task in
progress (the worker answers "cancelled" and waits for the next request); a closed stdin ends the
worker. No answer at all means the worker process ended (`CRASHED`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DONE, CANCELLED, FAILED = "done", "cancelled", "failed"
# The one message for a task whose worker process ended under it (the pool replaces the worker).
CRASHED = "The worker process ended while working on this (a crash, or the server ran out of memory); try again."


@dataclass(frozen=True)
class Task:
    """One piece of work for a worker: `kind` names what `wpa.worker` runs ("analysis": an upload's
    files, "poses": one clip's poses), `args` its JSON arguments, `slots` the most CPU slots (pose
    models at once) it can use."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    slots: int = 1


@dataclass(frozen=True)
class Outcome:
    """How a task ended: DONE with the worker's `value`, CANCELLED, or FAILED with an `error`."""

    state: str
    value: dict[str, Any] | None = None
    error: str | None = None


def request(task: Task, slots: int) -> str:
    """The line that asks a worker to run `task` holding `slots` slots."""
    return json.dumps({"kind": task.kind, "args": task.args, "slots": slots}) + "\n"


def read_request(line: str) -> tuple[str, dict[str, Any], int]:
    message = json.loads(line)
    return message["kind"], message["args"], message["slots"]


def progress(report: dict[str, Any]) -> str:
    return json.dumps({"progress": report}) + "\n"


def done(value: dict[str, Any]) -> str:
    return json.dumps({"done": value}) + "\n"


def cancelled(why: str) -> str:
    return json.dumps({"cancelled": why}) + "\n"


def failed(error: str) -> str:
    return json.dumps({"error": error}) + "\n"


def read_answer(line: str) -> dict[str, Any] | Outcome:
    """An answer line: a progress report (a dict), or how the task ended (an Outcome)."""
    answer = json.loads(line)
    if "progress" in answer:
        return answer["progress"]
    if "done" in answer:
        return Outcome(DONE, value=answer["done"])
    if "cancelled" in answer:
        return Outcome(CANCELLED)
    return Outcome(FAILED, error=answer["error"])
