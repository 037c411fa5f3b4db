"""The models a user can choose from: the shipped default and those saved in USER_MODELS_DIR."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wpa.errors import ModelError
from wpa.model import METADATA_FILE, read_model_metadata
from wpa.paths import DEFAULT_MODEL_DIR, USER_MODELS_DIR

SHIPPED_NAME = "default (shipped)"


@dataclass(frozen=True)
class ModelEntry:
    """A model folder, with its metadata or the reason it cannot be used."""

    name: str
    path: Path
    metadata: dict[str, Any] | None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.metadata is not None

    @property
    def labels(self) -> list[str]:
        return list(self.metadata.get("labels", [])) if self.metadata else []

    @property
    def headline_metrics(self) -> dict[str, float]:
        """Frame and clip accuracy on clips the model never saw: cross-validation if it was run,
        else the validation split."""
        metrics = (self.metadata or {}).get("metrics", {})
        source = metrics.get("cross_validation") or metrics.get("validation") or {}
        return {key: source[key] for key in ("frame_accuracy", "clip_accuracy") if key in source}

    @property
    def measured_by(self) -> str:
        metrics = (self.metadata or {}).get("metrics", {})
        if "cross_validation" in metrics:
            return f"grouped {metrics['cross_validation'].get('folds', '?')}-fold cross-validation"
        return "held-out validation clips" if "validation" in metrics else "not measured"


def list_models(user_dir: Path = USER_MODELS_DIR, shipped: Path = DEFAULT_MODEL_DIR) -> list[ModelEntry]:
    """The shipped model first, then the user's models by name. Broken folders are listed with
    their problem, so a person sees why one cannot be chosen."""
    entries = [_entry(SHIPPED_NAME, shipped)]
    if user_dir.is_dir():
        entries += [_entry(folder.name, folder) for folder in sorted(user_dir.iterdir())
                    if folder.is_dir() and not folder.name.startswith(".") and (folder / METADATA_FILE).exists()]
    return entries


def _entry(name: str, path: Path) -> ModelEntry:
    try:
        return ModelEntry(name=name, path=path, metadata=read_model_metadata(path))
    except ModelError as error:
        return ModelEntry(name=name, path=path, metadata=None, problem=str(error))
