"""What decides what a training run produces (`TrainConfig`), as a model's card records it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from wpa.recognition.augment import AugmentConfig
from wpa.recognition.features import DEFAULT_FEATURE_SET, FEATURE_SETS

BALANCING = ("none", "class", "group")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces."""

    feature_set: str = DEFAULT_FEATURE_SET
    epochs: int = 80
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_step_size: int = 10
    lr_gamma: float = 0.5
    dropout: float = 0.4
    hidden_dims: tuple[int, ...] = (512, 256, 128)
    patience: int = 5
    val_fraction: float = 0.2
    seed: int = 0
    # Train on every clip and its mirror image, and average both views when predicting.
    mirror: bool = True
    # Also train on copies of each clip as other cameras and bodies would give it (None: no copies).
    augment: AugmentConfig | None = None
    label_smoothing: float = 0.0
    # The unknown threshold is set so that about this share of held-out clips of known exercises
    # (from groups the model did not train on) would be called unknown.
    known_called_unknown: float = 0.05
    # Weigh the loss so that each class ("class"), or each group within its class and each class
    # ("group"), counts alike however many frames it has; "none" weighs every frame alike.
    balance: str = "none"
    # Clips of these labels show exercises the model must not name: their frames are trained toward
    # equal probabilities for every class (outlier exposure), weighted by `outlier_weight`.
    other_labels: tuple[str, ...] = ()
    outlier_weight: float = 0.5
    # Also train on each clip stretched to the skeleton's box in every frame, without world
    # landmarks: as Countix-Fitness publishes its poses (wpa.recognition.features.box_stretched).
    box_copy: bool = False
    # Train on at most this many frames of each clip (and of each copy), evenly spaced (None: all).
    # Neighbouring frames are nearly alike, and long clips would otherwise outweigh short ones.
    max_rows_per_clip: int | None = None

    def __post_init__(self) -> None:
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set '{self.feature_set}' (known: {', '.join(FEATURE_SETS)})")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("val_fraction must be at least 0 and below 1")
        if self.balance not in BALANCING:
            raise ValueError(f"balance must be one of {', '.join(BALANCING)}, not '{self.balance}'")
        if not 0 < self.known_called_unknown < 1:
            raise ValueError("known_called_unknown must be above 0 and below 1")
        if self.max_rows_per_clip is not None and self.max_rows_per_clip < 1:
            raise ValueError("max_rows_per_clip must be at least 1 (or None for every frame)")
        if not self.outlier_weight >= 0:
            raise ValueError("outlier_weight must be 0 or more")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError("label_smoothing must be at least 0 and below 1")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.lr_step_size < 1:
            raise ValueError("epochs, batch_size, patience and lr_step_size must be at least 1")

    @property
    def augment_copies(self) -> int:
        """Augmented copies made of each clip (0 without augmentation)."""
        return self.augment.copies if self.augment else 0

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The config a model's `train_config` records (fields it lacks take their defaults)."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in values.items() if name in known}
        for name in ("hidden_dims", "other_labels"):
            if name in values:
                values[name] = tuple(values[name])
        if values.get("augment") is not None:
            values["augment"] = AugmentConfig(**values["augment"])
        return cls(**values)
