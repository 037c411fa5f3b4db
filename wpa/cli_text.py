"""What the command line prints for a person: evaluations and classification records as text."""

from __future__ import annotations

from typing import Any

from wpa.movement.reps import reps_text
from wpa.recognition.inference import NO_PERSON
from wpa.recognition.metrics import Evaluation


def evaluation_text(evaluation: Evaluation, title: str) -> str:
    """An evaluation's accuracies, per-class table and wrong clips, under a title."""
    lines = [f"{title}: frame accuracy {evaluation.frame_accuracy:.1%} ({len(evaluation.frame_truth)} frames), "
             f"time-weighted {evaluation.time_accuracy:.1%}, clip accuracy {evaluation.clip_accuracy:.1%} ({len(evaluation.clips)} clips), "
             f"clip macro-F1 {evaluation.macro_f1('clip'):.3f}",
             f"  {'class':<22}{'precision':>10}{'recall':>8}{'f1':>7}{'frames':>8}"]
    lines += [f"  {row['label']:<22}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>7.3f}{row['support']:>8}"
              for row in evaluation.per_class("frame") if row["support"]]
    lines += [f"  wrong: {c.clip_id} -> {c.predicted} ({c.confidence:.0%})" for c in evaluation.wrong_clips]
    if evaluation.unknown_share is not None:
        lines.append(f"  called unknown (below the model's threshold): {evaluation.unknown_share:.1%} of clips")
    return "\n".join(lines)


def prediction_text(record: dict[str, Any]) -> str:
    """A record as lines for a person: the headline ("squat · 12 reps (87%), ...") and each segment."""
    name = record["video"] + (f" [{record['clip']}]" if record.get("clip") else "")
    if record["error"]:
        return f"{name}: error: {record['error']}"
    head = f"{name}: {record['label']}{_reps_text(record['label'], record['reps'])} ({record['confidence']:.0%}), " \
           f"{record['frames_with_pose']}/{record['frames']} frames with a person"
    segments = [f"  {s['start_s']:7.2f}-{s['end_s']:7.2f} s  {s['label']}{_reps_text(s['label'], s['reps'])} "
                f"({s['confidence']:.0%})" for s in record["segments"]]
    return "\n".join([head] + segments)


def _reps_text(label: str, reps: int) -> str:
    """" · 12 reps" after a label; nothing after NO_PERSON, where nothing is counted."""
    return "" if label == NO_PERSON else f" · {reps_text(reps)}"
