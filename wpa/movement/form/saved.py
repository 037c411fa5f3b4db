"""A clip's form on disk: what the analysis worker judged (and drew on the annotated video), read
back by the page that shows it, so the page's form is the video's. One JSON file, beside the saved
prediction (`wpa.recognition.saved_prediction`): per segment of the prediction, its form or null."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from wpa.files import written_atomically
from wpa.movement.form.cues import Cue
from wpa.movement.form.units import ClipForm, RepForm

FORMAT = 1


def save_forms(forms: tuple[ClipForm | None, ...], path: str | Path) -> None:
    """Write `forms` (one per segment, None where it has none) to `path` in one atomic step."""
    record = {"format": FORMAT, "segments": [None if form is None else _clip_record(form) for form in forms]}
    with written_atomically(path) as partial:
        Path(partial).write_text(json.dumps(record))


def load_forms(path: str | Path) -> tuple[ClipForm | None, ...] | None:
    """The forms saved at `path`; None if there are none, or they cannot be read (the clip's
    analysis is then made again)."""
    try:
        record = json.loads(Path(path).read_text())
        if record.get("format") != FORMAT:
            return None
        return tuple(None if form is None else _clip_form(form) for form in record["segments"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _clip_record(form: ClipForm) -> dict:
    return {"score": _number(form.score), "cues": [asdict(cue) for cue in form.cues],
            "reps": [{"start_s": rep.start_s, "end_s": rep.end_s, "score": _number(rep.score),
                      "cues": [asdict(cue) for cue in rep.cues]} for rep in form.reps]}


def _clip_form(record: dict) -> ClipForm:
    reps = tuple(RepForm(float(rep["start_s"]), float(rep["end_s"]), _float(rep["score"]),
                         tuple(Cue(**cue) for cue in rep["cues"])) for rep in record["reps"])
    return ClipForm(reps, _float(record["score"]), tuple(Cue(**cue) for cue in record["cues"]))


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None  # JSON has no NaN


def _float(value: float | None) -> float:
    return float("nan") if value is None else float(value)
