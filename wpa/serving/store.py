"""The models a user can choose from: the shipped default and those saved in USER_MODELS_DIR, and
which of them is active (used by the Upload and Live pages unless another is chosen).

Saving never replaces a model silently, and the store is locked while it changes, so two people
saving at once cannot end with a mix of their models.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wpa.errors import ModelError
from wpa.files import write_text_atomic
from wpa.movement.form.references import save_references
from wpa.recognition.card import Headline, ModelCard
from wpa.recognition.model import (DEFAULT_UNKNOWN_THRESHOLD, METADATA_FILE, ExerciseModel, check_model_files, model_card,
                                  save_model)
from wpa.paths import DATA_DIR, DEFAULT_MODEL_DIR, USER_MODELS_DIR

SHIPPED_NAME = "default (shipped)"
ACTIVE_FILE = DATA_DIR / "active_model.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")


@dataclass(frozen=True)
class ModelEntry:
    """A model folder: its classes, threshold and card, or the reason it cannot be used."""

    name: str
    path: Path
    card: ModelCard | None  # None: the model cannot be used (`problem` says why)
    labels: tuple[str, ...] = ()
    # Below this confidence the model calls a clip unknown (see ExerciseModel).
    unknown_threshold: float = DEFAULT_UNKNOWN_THRESHOLD
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.card is not None

    @property
    def shipped(self) -> bool:
        return self.name == SHIPPED_NAME

    @property
    def headline(self) -> Headline | None:
        """Accuracy on clips the model never saw: cross-validation if it was run, else the
        validation split; None if it was not measured."""
        return self.card.scores.headline() if self.card else None


def list_models(user_dir: Path = USER_MODELS_DIR, shipped: Path = DEFAULT_MODEL_DIR) -> list[ModelEntry]:
    """The shipped model first, then the user's models by name. Broken folders are listed with
    their problem, so a person sees why one cannot be chosen."""
    entries = [_entry(SHIPPED_NAME, shipped)]
    if user_dir.is_dir():
        entries += [_entry(folder.name, folder) for folder in sorted(user_dir.iterdir())
                    if folder.is_dir() and not folder.name.startswith(".") and (folder / METADATA_FILE).exists()]
    return entries


def check_model_name(name: str) -> str:
    """`name` stripped, or ModelError saying what a model name may hold (it becomes a folder name)."""
    name = name.strip()
    if not _NAME.fullmatch(name) or name == SHIPPED_NAME:
        raise ModelError("A model name is 1 to 64 letters, digits, spaces, '-', '_' or '.', starting with a "
                         "letter or digit (and not the shipped model's name).")
    return name


def save_user_model(model: ExerciseModel, name: str, replace: bool = False, user_dir: Path = USER_MODELS_DIR,
                    form_references: dict | None = None) -> Path:
    """Save `model` as `name` in the store, with its references of good form (`wpa.movement.form.references`)
    when given. An existing model of that name is replaced only when `replace` is True; otherwise
    ModelError says so."""
    name = check_model_name(name)
    with _locked(user_dir):
        _remove_leftovers(user_dir)
        target = user_dir / name
        if target.exists() and not replace:
            raise ModelError(f"A model named '{name}' already exists. Choose another name, or choose to replace it.")
        path = save_model(model, target)
        if form_references:
            save_references(form_references, path)
        return path


def delete_user_model(name: str, user_dir: Path = USER_MODELS_DIR, active_file: Path = ACTIVE_FILE) -> None:
    """Remove a saved model (never the shipped one). If it was active, the shipped model becomes active."""
    name = check_model_name(name)
    with _locked(user_dir):
        target = user_dir / name
        if not target.is_dir():
            raise ModelError(f"There is no saved model named '{name}'.")
        # Rename first: a crash mid-delete leaves a hidden folder, never a half-deleted model.
        doomed = user_dir / f".{name}.deleted-{os.getpid()}"
        os.rename(target, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        if active_model_name(active_file) == name:
            set_active_model(None, active_file)


def active_model_name(active_file: Path = ACTIVE_FILE) -> str | None:
    """The user model chosen as active, or None for the shipped model."""
    try:
        name = json.loads(active_file.read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def set_active_model(name: str | None, active_file: Path = ACTIVE_FILE) -> None:
    """Make the saved model `name` (None: the shipped model) the one Upload and Live start with."""
    write_text_atomic(active_file, json.dumps({"name": name}))


def active_entry(user_dir: Path = USER_MODELS_DIR, active_file: Path = ACTIVE_FILE,
                 entries: list[ModelEntry] | None = None) -> ModelEntry:
    """The active model's entry; the shipped model if the active one is gone or broken. `entries`:
    the store's `list_models`, for a caller that has it (listing checks every weights file)."""
    entries = entries if entries is not None else list_models(user_dir)
    chosen = active_model_name(active_file)
    for entry in entries:
        if entry.name == chosen and entry.usable:
            return entry
    return entries[0]


@contextlib.contextmanager
def _locked(user_dir: Path) -> Iterator[None]:
    """Hold the store's lock (an flock: it holds across threads and server processes alike)."""
    user_dir.mkdir(parents=True, exist_ok=True)
    with open(user_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_leftovers(user_dir: Path) -> None:
    """Delete the hidden folders a save or delete that was killed part-way left behind (staged
    models, old versions swapped out, models being deleted). Called with the lock held, when no
    other save or delete through the store can be under way."""
    for folder in user_dir.glob(".*"):
        if folder.is_dir() and (folder.name.endswith((".staging", ".old")) or ".deleted-" in folder.name):
            shutil.rmtree(folder, ignore_errors=True)


def _entry(name: str, path: Path) -> ModelEntry:
    try:
        metadata = check_model_files(path)
        card = model_card(metadata, path.name)
    except ModelError as error:
        return ModelEntry(name=name, path=path, card=None, problem=str(error))
    return ModelEntry(name=name, path=path, card=card,
                      labels=tuple(str(label) for label in metadata["labels"]),
                      unknown_threshold=float(metadata.get("unknown_threshold", DEFAULT_UNKNOWN_THRESHOLD)))
