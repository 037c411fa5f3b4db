"""Form feedback on a classified clip: each segment's repetitions (or, for a hold, windows) judged
against its exercise's reference, for Upload, the CLI and the files they write.

A reference is the person's own "my good form" profile of the exercise where there is one, else
the model's (`form.json` beside it). Segments of exercises with neither get no feedback.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wpa.movement.form.profile import FormProfile
from wpa.movement.form.references import (REFERENCES_FILE, USER_FORM_DIR, load_references, model_labels, load_user_profile, save_user_profile,
                                 user_profile_path)
from wpa.movement.form.units import ClipForm, RepForm, form_units, judge_pose
from wpa.poses.sequence import PoseSequence
from wpa.recognition.inference import NO_PERSON, UNKNOWN, ClipPrediction, Segment
from wpa.recognition.model import METADATA_FILE

WORST_SHARE = 0.2  # the worst fifth of a clip's repetitions (at least one) are marked...
MARK_SCORE = 3.0  # ...when they lie at least this far out, or carry a cue
MIN_GOOD_UNITS = 3  # "my good form" needs at least this many repetitions (or hold windows)


@dataclass(frozen=True)
class Reference:
    """The profile an exercise is judged against, and whose it is ("yours" or "the model's")."""

    profile: FormProfile
    source: str


def references_json(references: dict[str, Reference]) -> dict:
    """`references` as JSON, for a worker process (and as part of an analysis's cache key)."""
    return {label: {"source": reference.source, "profile": reference.profile.to_json()}
            for label, reference in sorted(references.items())}


def references_from_json(data: dict) -> dict[str, Reference]:
    """The references `references_json` wrote."""
    return {label: Reference(FormProfile.from_json(item["profile"]), item["source"]) for label, item in data.items()}


def form_references(model_dir: str | Path, user_dir: Path = USER_FORM_DIR) -> dict[str, Reference]:
    """The references of a model's classes: the person's own where marked, else the model's."""
    references = {label: Reference(profile, "the model's") for label, profile in load_references(model_dir).items()}
    for label in model_labels(model_dir):
        mine = load_user_profile(label, user_dir)
        if mine is not None:
            references[label] = Reference(mine, "yours")
    return references


def cached_form_references(model_dir: str | Path, user_dir: Path = USER_FORM_DIR) -> dict[str, Reference]:
    """`form_references`, read again only when a file behind them changed (Live asks on every rerun)."""
    files = [Path(model_dir) / REFERENCES_FILE, Path(model_dir) / METADATA_FILE, *sorted(Path(user_dir).glob("*.json"))]
    stamp = tuple((str(f), f.stat().st_mtime_ns) for f in files if f.is_file())
    return _references_read(str(model_dir), str(user_dir), stamp)


@functools.lru_cache(maxsize=8)
def _references_read(model_dir: str, user_dir: str, stamp: tuple) -> dict[str, Reference]:
    return form_references(model_dir, Path(user_dir))


def segment_forms(prediction: ClipPrediction, pose: PoseSequence,
                  references: dict[str, Reference]) -> tuple[ClipForm | None, ...]:
    """One ClipForm per segment of `prediction` (None where its exercise has no reference)."""
    return tuple(_segment_form(segment, pose, references) for segment in prediction.segments)


def worst_repetitions(forms: tuple[ClipForm | None, ...]) -> set[tuple[int, int]]:
    """(segment, repetition) indices of the clip's worst repetitions, to be marked."""
    scored = [(rep.score, s, r) for s, form in enumerate(forms) if form for r, rep in enumerate(form.reps)
              if np.isfinite(rep.score)]
    if not scored:
        return set()
    count = max(1, int(round(WORST_SHARE * len(scored))))
    return {(s, r) for score, s, r in sorted(scored, reverse=True)[:count]
            if score >= MARK_SCORE or forms[s].reps[r].cues}


def form_json(forms: tuple[ClipForm | None, ...], prediction: ClipPrediction,
              references: dict[str, Reference]) -> list[dict | None]:
    """Per segment: its form as JSON (score, reps with score, start_s, end_s, cues; cues), with the
    reference it was judged against; None where it has none."""
    return [None if form is None else {**form.to_json(), "reference": references[segment.label].source}
            for form, segment in zip(forms, prediction.segments)]


def form_record(prediction: ClipPrediction, pose: PoseSequence, references: dict[str, Reference]) -> list | None:
    """The `form` of a classify record: per segment, its form as `form_json` gives it; None where
    the model has no references."""
    return form_json(segment_forms(prediction, pose, references), prediction, references) if references else None


def rep_at(forms: tuple[ClipForm | None, ...], time_s: float) -> RepForm | None:
    """The judged repetition that contains `time_s`, if any."""
    for form in forms:
        for rep in form.reps if form else ():
            if rep.start_s <= time_s < rep.end_s:
                return rep
    return None


def save_good_form(prediction: ClipPrediction, pose: PoseSequence, user_dir: Path = USER_FORM_DIR) -> list[str]:
    """Keep this clip's repetitions (hold windows where none) as the person's good form of each
    exercise in it, replacing what was kept before; the labels kept."""
    units: dict[str, list] = {}
    for segment in prediction.segments:
        if segment.label in (NO_PERSON, UNKNOWN):
            continue
        units.setdefault(segment.label, []).extend(form_units(_part(pose, segment), segment.repetitions or ()))
    saved = []
    for label, found in units.items():
        if len(found) >= MIN_GOOD_UNITS:
            profile = FormProfile().fit(np.stack([unit.values for unit in found]), label=label)
            save_user_profile(profile, label, user_dir)
            saved.append(label)
    return saved


def forget_good_form(label: str, user_dir: Path = USER_FORM_DIR) -> None:
    """Go back to the model's reference for `label`."""
    user_profile_path(label, user_dir).unlink(missing_ok=True)


def _part(pose: PoseSequence, segment: Segment) -> PoseSequence:
    times = np.asarray(pose.timestamps_s)
    rows = (times >= segment.start_s) & (times < segment.end_s)
    return PoseSequence(pose.landmarks[rows], pose.world_landmarks[rows], times[rows], pose.fps, pose.frame_size,
                        pose.people)


def _segment_form(segment: Segment, pose: PoseSequence, references: dict[str, Reference]) -> ClipForm | None:
    if segment.label in (NO_PERSON, UNKNOWN) or segment.label not in references:
        return None
    part = _part(pose, segment)
    if len(part) < 2:
        return None
    profile = references[segment.label].profile
    if not segment.repetitions and profile.repeats:
        return None  # an exercise judged by repetitions, none of which was counted here
    # A segment of a hold (its reference has no repetitions) is judged in windows.
    form = judge_pose(references[segment.label].profile, part, segment.repetitions or ())
    return form if form.reps else None
