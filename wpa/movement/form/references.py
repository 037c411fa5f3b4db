"""References of good form where the exercises come from: one profile per class of a model, learnt
from the repetitions of the clips it was trained on, saved beside it as `form.json`; and a
person's own "my good form" profiles under the data folder.

`form.json` records the model's weights checksum: references of another version of the model
are not used (`load_references` returns none), so a retrained model needs `make form-model`
(or `wpa form model`) again.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from wpa.movement.form.profile import FormError, FormProfile
from wpa.movement.form.units import fit_profile
from wpa.paths import DATA_DIR, DEFAULT_MODEL_DIR
from wpa.poses.clip import Clip
from wpa.recognition.model import METADATA_FILE, read_model_card

REFERENCES_FILE = "form.json"
REFERENCES_VERSION = 1
USER_FORM_DIR = DATA_DIR / "form"


def fit_references(clips: list[Clip], labels: tuple[str, ...] | None = None,
                   keep_units: bool = True) -> dict[str, FormProfile]:
    """One profile per label, from all of its clips' repetitions (hold windows where nothing repeats).
    Without `keep_units` a profile keeps only medians and spreads, no repetition's own measurements
    (for references committed with a model trained on data whose rights are not ours: the score
    then lacks its nearest-good-repetition part)."""
    references = {}
    for label in labels or tuple(sorted({clip.label for clip in clips})):
        of_label = [clip for clip in clips if clip.label == label]
        if of_label:
            try:
                references[label] = fit_profile([clip.pose for clip in of_label], label=label,
                                                profile=FormProfile() if keep_units else FormProfile(max_references=0),
                                                groups=[clip.split_group for clip in of_label])
            except FormError:
                continue  # no usable repetitions: this class gets no form feedback
    return references


def save_references(references: dict[str, FormProfile], model_dir: str | Path) -> Path:
    """Write `references` as the model's form.json, tied to its weights."""
    model_dir = Path(model_dir)
    data = {"format_version": REFERENCES_VERSION, "weights_sha256": _weights_checksum(model_dir),
            "profiles": {label: profile.to_json() for label, profile in sorted(references.items())}}
    path = model_dir / REFERENCES_FILE
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def load_references(model_dir: str | Path) -> dict[str, FormProfile]:
    """The model's references by label; none where it has no form.json or one of another version
    of the model."""
    path = Path(model_dir) / REFERENCES_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if data.get("format_version") != REFERENCES_VERSION or data.get("weights_sha256") != _weights_checksum(Path(model_dir)):
        return {}
    return {label: FormProfile.from_json(profile) for label, profile in data.get("profiles", {}).items()}


def model_labels(model_dir: str | Path) -> tuple[str, ...]:
    """The classes of the model saved in `model_dir` (none if it cannot be read)."""
    try:
        return tuple(json.loads((Path(model_dir) / METADATA_FILE).read_text()).get("labels", ()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return ()


def model_training_clips(model_dir: str | Path, clips: list[Clip]) -> list[Clip]:
    """The clips among `clips` that the model was trained or validated on (its metadata lists them)."""
    seen = read_model_card(model_dir).data.seen_clips
    return [clip for clip in clips if clip.clip_id in seen]


def user_profile_path(label: str, folder: Path = USER_FORM_DIR) -> Path:
    """Where a person's "my good form" profile of an exercise is kept."""
    return folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', label) or 'exercise'}.json"


def load_user_profile(label: str, folder: Path = USER_FORM_DIR) -> FormProfile | None:
    path = user_profile_path(label, folder)
    try:
        return FormProfile.load(path) if path.is_file() else None
    except FormError:
        return None


def save_user_profile(profile: FormProfile, label: str, folder: Path = USER_FORM_DIR) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return profile.save(user_profile_path(label, folder))


def add_model_command(verbs: argparse._SubParsersAction) -> None:
    model = verbs.add_parser("model", help="learn one form profile per class from a model's training clips "
                                           f"and save it beside the model ({REFERENCES_FILE})")
    model.add_argument("model", type=Path, nargs="?", default=DEFAULT_MODEL_DIR, help="model folder (default: %(default)s)")
    model.add_argument("--data", type=Path, required=True,
                       help="the data the model was trained on (clip list, folder, extract output or table)")
    model.add_argument("--aggregates-only", action="store_true",
                       help="keep medians and spreads only, no repetition's measurements (for a model to be shared)")
    model.set_defaults(run=run_model)


def run_model(args: argparse.Namespace) -> int:
    # Imported here: it brings pandas, which a worker judging a clip's form does not need.
    from wpa.recognition.sources import load_clips

    labels = model_labels(args.model)
    if not labels:
        raise FormError(f"{args.model} holds no readable model ({METADATA_FILE}). Give a model folder.")
    loaded = load_clips(args.data, labels=labels)
    clips = model_training_clips(args.model, loaded.clips) or loaded.clips
    references = fit_references(clips, labels, keep_units=not args.aggregates_only)
    path = save_references(references, args.model)
    units = ", ".join(f"{label} {profile.n_units_}" for label, profile in references.items())
    print(f"{len(clips)} clips; repetitions per class: {units} -> {path}", file=sys.stderr)
    return 0


def _weights_checksum(model_dir: Path) -> str | None:
    try:
        return json.loads((model_dir / METADATA_FILE).read_text()).get("weights_sha256")
    except (OSError, json.JSONDecodeError):
        return None
