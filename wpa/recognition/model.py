"""The exercise classifier: an MLP over per-frame features, and its saved form.

A saved model is a folder with two files, both free of pickle:

    weights.pt   the network's tensors (torch.save of a state dict; loaded with weights_only=True)
    model.json   everything else: labels, scaler, feature set and version, the network's shape,
                 the model card (wpa.recognition.card: the training recipe and data, the
                 scores), and the sha256 of weights.pt

It is written to a staging folder and swapped in atomically, so a crash mid-save leaves the
previous model whole.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wpa.errors import ModelError
from wpa.files import replace_directory, staging_directory
from wpa.poses.sequence import PoseSequence, mirror_pose
from wpa.recognition.card import ModelCard
from wpa.recognition.features import FEATURE_SETS, compute_features, feature_dim

MODEL_FORMAT = "wpa-exercise-model"
# Below this clip-mean probability of its best class a clip is "unknown", for models saved before
# the threshold was calibrated on held-out groups (see wpa.openset).
DEFAULT_UNKNOWN_THRESHOLD = 0.5
MODEL_FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.pt"
METADATA_FILE = "model.json"


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the MLP: input → hidden layers (ReLU, Dropout) → one logit per class."""

    input_dim: int
    num_classes: int
    hidden_dims: tuple[int, ...] = (512, 256, 128)
    dropout: float = 0.4


class ExerciseMLP(nn.Module):
    """input → 512 → 256 → 128 → classes, ReLU and Dropout between layers."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        layers: list[nn.Module] = []
        width = config.input_dim
        for hidden in config.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


@dataclass(frozen=True)
class Scaler:
    """Standardisation fitted on training features only: (x - mean) / scale."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Scaler:
        """Per-column mean and standard deviation, by scikit-learn's StandardScaler (constant
        columns get scale 1); kept as two arrays, so the saved model stays JSON."""
        # Imported here: scikit-learn (with SciPy and pandas) costs an analysis worker 170 MB.
        from sklearn.preprocessing import StandardScaler

        fitted = StandardScaler().fit(features)
        return cls(mean=fitted.mean_.astype(np.float32), scale=fitted.scale_.astype(np.float32))

    def transform(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale).astype(np.float32)


@dataclass
class ExerciseModel:
    """A trained classifier with everything needed to use it and to judge it."""

    network: ExerciseMLP
    config: ModelConfig
    labels: tuple[str, ...]
    scaler: Scaler
    feature_set: str
    # Average the predictions for the video and its mirror image: a left-handed curl is a curl.
    mirror_average: bool = True
    # A clip (or a stretch of frames) whose best class has a lower mean probability is "unknown":
    # set by the step that fits it (wpa.recognition.train.calibrate) so that few clips of known
    # exercises from unseen groups fall below it.
    unknown_threshold: float = DEFAULT_UNKNOWN_THRESHOLD
    card: ModelCard = field(default_factory=ModelCard)  # how it was trained, what it scored

    def __post_init__(self) -> None:
        self.network.eval()

    @property
    def feature_version(self) -> int:
        return FEATURE_SETS[self.feature_set].version

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of everything that decides this model's predictions (results are cached by it)."""
        digest = hashlib.sha256(json.dumps([self.labels, self.feature_set, self.feature_version,
                                            self.mirror_average]).encode())
        digest.update(self.scaler.mean.tobytes())
        digest.update(self.scaler.scale.tobytes())
        for name, tensor in self.network.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()

    def predict_pose(self, pose: PoseSequence) -> np.ndarray:
        """Class probabilities (T, classes) for every frame of `pose`; NaN where nobody was found."""
        probabilities = self.predict_proba(compute_features(pose, self.feature_set))
        if self.mirror_average:
            mirrored = self.predict_proba(compute_features(mirror_pose(pose), self.feature_set))
            probabilities = (probabilities + mirrored) / 2
        return probabilities

    @torch.no_grad()
    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) for feature rows (N, D); rows holding NaN give NaN."""
        probabilities = np.full((len(features), len(self.labels)), np.nan, np.float32)
        valid = ~np.isnan(features).any(axis=1)
        if valid.any():
            logits = self.network(torch.from_numpy(self.scaler.transform(features[valid])))
            probabilities[valid] = torch.softmax(logits, dim=1).numpy()
        return probabilities


def use_one_thread() -> None:
    """Run torch on one intra-op thread in this process; called by what runs the network (loading a
    model, training one), never at import.

    The network is small, so a second intra-op thread slows it down: with both cores busy a live
    window's prediction took 6.5 ms on two threads against 1.7 ms on one, and a training step of 32
    took 2-9 ms against 1.9. OpenMP's idle threads also spin on the cores the live streams need."""
    torch.set_num_threads(1)


def save_model(model: ExerciseModel, directory: str | Path) -> Path:
    """Write `model` to `directory`, replacing what was there in one atomic step."""
    directory = Path(directory)
    staged = staging_directory(directory)
    try:
        torch.save(model.network.state_dict(), staged / WEIGHTS_FILE)
        metadata = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "labels": list(model.labels),
            "feature_set": model.feature_set,
            "feature_version": model.feature_version,
            "mirror_average": model.mirror_average,
            "unknown_threshold": model.unknown_threshold,
            "model_config": asdict(model.config),
            "scaler": {"mean": model.scaler.mean.tolist(), "scale": model.scaler.scale.tolist()},
            **model.card.to_json(),
            "weights_sha256": _sha256(staged / WEIGHTS_FILE),
        }
        (staged / METADATA_FILE).write_text(json.dumps(metadata, indent=1, allow_nan=False))
        replace_directory(staged, directory)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return directory


def load_model(directory: str | Path) -> ExerciseModel:
    """Load a saved model; raise ModelError saying what is wrong if it cannot be used as it is."""
    use_one_thread()
    directory = Path(directory)
    metadata = check_model_files(directory)
    name = directory.name
    feature_set = metadata["feature_set"]
    weights_path = directory / WEIGHTS_FILE
    try:
        config = ModelConfig(**{**metadata["model_config"], "hidden_dims": tuple(metadata["model_config"]["hidden_dims"])})
        scaler = Scaler(mean=np.asarray(metadata["scaler"]["mean"], np.float32),
                        scale=np.asarray(metadata["scaler"]["scale"], np.float32))
        labels = tuple(str(label) for label in metadata["labels"])
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        network = ExerciseMLP(config)
        network.load_state_dict(state)
    except Exception as error:  # any inconsistency in a file we did not write ourselves
        raise ModelError(f"Model '{name}' is damaged ({type(error).__name__}: {error}). "
                         "Restore it or train the model again.") from error
    if config.input_dim != feature_dim(feature_set) or len(scaler.mean) != config.input_dim \
            or config.num_classes != len(labels):
        raise ModelError(f"Model '{name}' is inconsistent: its sizes do not match its feature set and labels. "
                         "Train the model again.")
    return ExerciseModel(network=network, config=config, labels=labels, scaler=scaler, feature_set=feature_set,
                         mirror_average=bool(metadata.get("mirror_average", False)),
                         unknown_threshold=float(metadata.get("unknown_threshold", DEFAULT_UNKNOWN_THRESHOLD)),
                         card=model_card(metadata, name))


def check_model_files(directory: str | Path) -> dict[str, Any]:
    """The metadata of a saved model whose files are whole and made for this version of wpa: its
    JSON readable, its features ones this wpa computes, its weights there and matching their
    checksum. Raises ModelError saying what is wrong. (The weights are checked, not loaded.)"""
    directory = Path(directory)
    metadata = read_model_metadata(directory)
    name = directory.name
    feature_set = metadata["feature_set"]
    if feature_set not in FEATURE_SETS:
        raise ModelError(f"Model '{name}' uses feature set '{feature_set}', which this version of wpa does not "
                         f"have (it has {', '.join(FEATURE_SETS)}). Retrain it with `python -m wpa train`.")
    expected_version = FEATURE_SETS[feature_set].version
    if metadata["feature_version"] != expected_version:
        raise ModelError(f"Model '{name}' was trained on features '{feature_set}' version "
                         f"{metadata['feature_version']}, but this wpa computes version {expected_version}. "
                         "Its predictions would be wrong: retrain it on your data with `python -m wpa train`.")
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelError(f"Model '{name}' has no {WEIGHTS_FILE}. Save or train the model again.")
    if _sha256(weights_path) != metadata.get("weights_sha256"):
        raise ModelError(f"Model '{name}': {WEIGHTS_FILE} does not match the checksum in {METADATA_FILE} "
                         "(the file is damaged or was changed). Restore it or train the model again.")
    return metadata


def read_model_card(directory: str | Path) -> ModelCard:
    """The card of the model saved in `directory` (without loading or checking its weights)."""
    return model_card(read_model_metadata(directory), Path(directory).name)


def model_card(metadata: dict[str, Any], name: str) -> ModelCard:
    """The card in a model's metadata; ModelError if its fields are not what a card holds."""
    try:
        return ModelCard.from_json(metadata)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ModelError(f"Model '{name}' is damaged: its card in {METADATA_FILE} cannot be read "
                         f"({type(error).__name__}: {error}). Restore it or train the model again.") from error


def read_model_metadata(directory: str | Path) -> dict[str, Any]:
    """The JSON half of a saved model, checked to be a wpa model of a format this version reads."""
    directory = Path(directory)
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ModelError(f"No model at {directory} (no {METADATA_FILE}). Train one with `python -m wpa train` "
                         "or choose another model folder.")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"Model '{directory.name}': {METADATA_FILE} is damaged ({error}). "
                         "Restore it or train the model again.") from error
    if not isinstance(metadata, dict) or metadata.get("format") != MODEL_FORMAT:
        raise ModelError(f"{directory} does not hold a wpa exercise model. Choose a folder written by "
                         "`python -m wpa train`.")
    if metadata.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"Model '{directory.name}' was saved in format version {metadata.get('format_version')}; "
                         f"this wpa reads version {MODEL_FORMAT_VERSION}. Retrain it with this version.")
    missing = [key for key in ("labels", "feature_set", "feature_version", "model_config", "scaler")
               if key not in metadata]
    if missing:
        raise ModelError(f"Model '{directory.name}': {METADATA_FILE} lacks {', '.join(missing)}. "
                         "Train the model again.")
    return metadata


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
