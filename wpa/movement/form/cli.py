"""`wpa form ...`: form feedback on the command line.

    wpa form fit     TABLE --out PROFILE.json       learn good form from every clip of a table
    wpa form score   TABLE --profile PROFILE.json [--json]
    wpa form convert LAYOUT SOURCE... --out TABLE.csv
    wpa form model   [MODEL_DIR] --data DATA        one profile per class beside a model (form.json)

A TABLE is a landmarks CSV: wpa's (some landmarks may be missing: they are read as empty), the
original notebook's, or one `convert` wrote. Without clip ids, each run of rows of one label is a
clip (a stretch of one video).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.poses.layouts import (LAYOUTS, clip_label_from_path, exercise_correction_clips, mediapipe17_clip,
                              openpose18_clip, openpose18_table_clips)
from wpa.movement.form.profile import FormProfile
from wpa.movement.form.units import fit_profile, judge_pose
from wpa.poses.table import read_landmarks_csv, write_landmarks_table


def add_form_commands(commands: argparse._SubParsersAction) -> None:
    """Add `form` and its sub-commands to the CLI's sub-parsers."""
    form = commands.add_parser("form", help="form feedback: learn good form, score clips against it",
                               description=__doc__.split("\n\n")[0])
    verbs = form.add_subparsers(dest="form_command", required=True, metavar="COMMAND")

    fit = verbs.add_parser("fit", help="learn a form profile from a landmarks table, all clips taken as good")
    fit.add_argument("table", type=Path, help="landmarks table (.csv)")
    fit.add_argument("--out", type=Path, required=True, help="the profile to write (.json)")
    fit.add_argument("--label", help="only the clips of this label")
    fit.set_defaults(run=run_fit)

    score = verbs.add_parser("score", help="score each clip of a landmarks table against a form profile")
    score.add_argument("table", type=Path, help="landmarks table (.csv)")
    score.add_argument("--profile", type=Path, required=True, help="a profile `wpa form fit` wrote")
    score.add_argument("--json", action="store_true", help="one JSON object per clip, one per line")
    score.set_defaults(run=run_score)

    convert = verbs.add_parser("convert", help="convert poses of other tools into a landmarks table")
    convert.add_argument("layout", choices=LAYOUTS,
                         help="exercise-correction: CSV of MediaPipe landmark subsets from mirrored frames; "
                              "openpose18: .npy (frames, 18, 3) COCO-18 in pixels; mediapipe17: .npy (frames, 17, 3); "
                              "openpose18-table: CSV of COCO-18 x, y columns 0..35 with filename and label")
    convert.add_argument("sources", nargs="+", type=Path,
                         help="files, or folders of .npy files (the label is the folder: correct → good, incorrect → bad)")
    convert.add_argument("--out", type=Path, required=True, help="the landmarks table to write (.csv)")
    convert.set_defaults(run=run_convert)

    from wpa.movement.form.references import add_model_command  # the shipped model's references
    add_model_command(verbs)


def run_fit(args: argparse.Namespace) -> int:
    clips = _table_clips(args.table, args.label)
    profile = fit_profile([clip.pose for clip in clips], label=args.label or _common_label(clips),
                          groups=[clip.split_group for clip in clips])
    profile.save(args.out)
    print(f"{len(clips)} clips, {profile.n_units_} repetitions or hold windows -> {args.out}", file=sys.stderr)
    return 0


def run_score(args: argparse.Namespace) -> int:
    profile = FormProfile.load(args.profile)
    for clip in _table_clips(args.table, None):
        form = judge_pose(profile, clip.pose)
        record = {"clip": clip.clip_id, **form.to_json()}
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            score = "-" if record["score"] is None else f"{record['score']:.2f}"
            print(f"{clip.clip_id}: score {score}, {len(form.reps)} reps"
                  + (f"; {'; '.join(record['cues'])}" if record["cues"] else ""), flush=True)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    clips = convert_sources(args.layout, args.sources)
    write_landmarks_table(clips, args.out)
    print(f"{len(clips)} clips -> {args.out}", file=sys.stderr)
    return 0


def convert_sources(layout: str, sources: list[Path]) -> list[Clip]:
    """Clips of `sources` in `layout` (see LAYOUTS)."""
    if layout == "exercise-correction":
        return [clip for source in sources for clip in exercise_correction_clips(source)]
    if layout == "openpose18-table":
        return [clip for source in sources for clip in openpose18_table_clips(source)]
    reader = openpose18_clip if layout == "openpose18" else mediapipe17_clip
    files = [f for source in sources for f in (sorted(source.rglob("*.npy")) if source.is_dir() else [source])]
    if not files:
        raise DatasetError(f"No .npy files in {', '.join(map(str, sources))}.")
    clips = []
    for file in files:
        try:
            keypoints = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DatasetError(f"{file} cannot be read as a NumPy array ({error}).") from error
        clips.append(reader(keypoints, f"{file.parent.name}/{file.stem}", clip_label_from_path(file)))
    return clips


def _table_clips(path: Path, label: str | None) -> list[Clip]:
    clips, notes = read_landmarks_csv(path, missing_joints=True)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if label is not None:
        clips = [clip for clip in clips if clip.label == label]
        if not clips:
            raise DatasetError(f"{path.name} has no clips labelled '{label}'.")
    return clips


def _common_label(clips: list[Clip]) -> str:
    labels = {clip.label for clip in clips}
    return labels.pop() if len(labels) == 1 else ""
