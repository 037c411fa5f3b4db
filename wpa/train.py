"""Training: the original MLP recipe with an honest split.

Adam 1e-3, StepLR(10, 0.5), cross-entropy, batch 32, up to 80 epochs, early stopping with
patience 5 — and three faults of the original fixed: clips, not frames, are split between
training and validation (no clip on both sides); the scaler is fitted on the training part only;
early stopping watches the validation loss. Runs are seeded and repeatable.

The loop knows no UI: it reports each epoch through `on_epoch` and asks `should_stop` whether
to give up early (a cancel button, a closed session).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from wpa.dataset import Clip, class_problems
from wpa.errors import DatasetError
from wpa.features import DEFAULT_FEATURE_SET, FEATURE_SETS, compute_features
from wpa.metrics import Evaluation, evaluate_probabilities
from wpa.model import ExerciseMLP, ExerciseModel, ModelConfig, Scaler
from wpa.pose import mirror_pose

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

    def __post_init__(self) -> None:
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set '{self.feature_set}' (known: {', '.join(FEATURE_SETS)})")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("val_fraction must be at least 0 and below 1")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.lr_step_size < 1:
            raise ValueError("epochs, batch_size, patience and lr_step_size must be at least 1")


@dataclass(frozen=True)
class EpochReport:
    """What one epoch did; passed to `on_epoch`."""

    epoch: int  # 1-based
    max_epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None  # None when there is no validation split
    val_accuracy: float | None
    learning_rate: float
    best: bool  # the lowest validation loss so far: these are the weights that will be kept
    elapsed_s: float


@dataclass
class TrainingResult:
    """A trained model, how it learned, and how it did on its held-out validation clips."""

    model: ExerciseModel
    history: list[EpochReport]
    evaluation: Evaluation | None  # None without validation clips
    stop_reason: str  # "early stopping", "max epochs" or "cancelled"
    train_clips: list[str] = field(default_factory=list)
    val_clips: list[str] = field(default_factory=list)


def check_clips(clips: Sequence[Clip]) -> tuple[str, ...]:
    """The sorted class labels of `clips`; raise DatasetError if they cannot train a classifier."""
    usable = [clip for clip in clips if clip.pose.present.any()]
    if not usable:
        raise DatasetError("No clip has a person in it: nothing to train on. Check that the videos show "
                           "the whole body.")
    labels = tuple(sorted({clip.label for clip in usable}))
    problems = class_problems(labels)
    if problems:
        raise DatasetError(problems[0])
    return labels


def split_by_clip(labels: Sequence[str], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and validation clips, stratified by class.

    Each class with at least two clips gives round(n × val_fraction) of them (at least one, and
    never all) to validation; a class with one clip stays in training.
    """
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in sorted(set(labels)):
        members = [i for i, clip_label in enumerate(labels) if clip_label == label]
        rng.shuffle(members)
        take = 0
        if val_fraction > 0 and len(members) > 1:
            take = min(max(1, round(len(members) * val_fraction)), len(members) - 1)
        val += members[:take]
        train += members[take:]
    return sorted(train), sorted(val)


def grouped_folds(labels: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold number of each clip for grouped, stratified k-fold cross-validation: each class's
    clips are shuffled and dealt round the folds in turn, so every fold gets a share of every
    class that has enough clips."""
    rng = np.random.default_rng(seed)
    assignment = np.zeros(len(labels), np.int64)
    dealt = 0
    for label in sorted(set(labels)):
        members = [i for i, clip_label in enumerate(labels) if clip_label == label]
        rng.shuffle(members)
        for position, i in enumerate(members):
            assignment[i] = (dealt + position) % folds
        dealt += len(members)
    return assignment


def train_model(clips: Sequence[Clip], config: TrainConfig = TrainConfig(),
                on_epoch: Callable[[EpochReport], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> TrainingResult:
    """Split `clips` by clip, train the MLP, keep the weights of the lowest validation loss.

    Raises DatasetError for data that cannot train a classifier.
    """
    labels = check_clips(clips)
    clips = [clip for clip in clips if clip.pose.present.any()]
    train_index, val_index = split_by_clip([clip.label for clip in clips], config.val_fraction, config.seed)
    train_clips, val_clips = [clips[i] for i in train_index], [clips[i] for i in val_index]

    torch.manual_seed(config.seed)
    train_features, train_targets = _frame_arrays(train_clips, labels, config, mirrored_too=True)
    scaler = Scaler.fit(train_features)
    model_config = ModelConfig(input_dim=train_features.shape[1], num_classes=len(labels),
                               hidden_dims=tuple(config.hidden_dims), dropout=config.dropout)
    network = ExerciseMLP(model_config)
    val_views = _validation_views(val_clips, labels, config, scaler)
    history, stop_reason = _fit(network, scaler.transform(train_features), train_targets, val_views, config,
                                on_epoch, should_stop)

    model = ExerciseModel(network=network, config=model_config, labels=labels, scaler=scaler,
                          feature_set=config.feature_set, mirror_average=config.mirror,
                          train_config=_config_dict(config), data_summary=summarise_data(clips, train_clips, val_clips))
    evaluation = evaluate_model(model, val_clips) if val_clips else None
    if evaluation is not None:
        model.metrics = {"validation": evaluation.to_dict(), "stop_reason": stop_reason, "epochs_run": len(history),
                         "best_epoch": max((r.epoch for r in history if r.best), default=len(history))}
    return TrainingResult(model=model, history=history, evaluation=evaluation, stop_reason=stop_reason,
                          train_clips=[c.clip_id for c in train_clips], val_clips=[c.clip_id for c in val_clips])


def evaluate_model(model: ExerciseModel, clips: Sequence[Clip]) -> Evaluation:
    """Frame and clip metrics of `model` on `clips` (whose labels must be among the model's)."""
    return evaluate_probabilities(model.labels, [(clip.clip_id, clip.label, model.predict_pose(clip.pose))
                                                 for clip in clips])


def cross_validate(clips: Sequence[Clip], config: TrainConfig = TrainConfig(), folds: int = 5,
                   on_fold: Callable[[int, int], None] | None = None) -> Evaluation:
    """Grouped, stratified k-fold cross-validation: every clip is predicted by a model trained
    (with its own validation split for early stopping) on the other folds only."""
    labels = check_clips(clips)
    clips = [clip for clip in clips if clip.pose.present.any()]
    fold_of = grouped_folds([clip.label for clip in clips], folds, config.seed)
    predictions = []
    for fold in range(folds):
        if on_fold:
            on_fold(fold, folds)
        held_out = [clip for clip, f in zip(clips, fold_of) if f == fold]
        rest = [clip for clip, f in zip(clips, fold_of) if f != fold]
        if not held_out:
            continue
        fold_config = TrainConfig(**{**asdict(config), "seed": config.seed + fold})
        model = train_model(rest, fold_config).model
        predictions += [(clip.clip_id, clip.label, _align(model, clip, labels)) for clip in held_out]
    return evaluate_probabilities(labels, predictions)


def summarise_data(clips: Sequence[Clip], train_clips: Sequence[Clip] = (), val_clips: Sequence[Clip] = ()) -> dict:
    """Counts per class, for model.json and the pages."""
    per_class: dict[str, dict[str, int]] = {}
    for clip in clips:
        entry = per_class.setdefault(clip.label, {"clips": 0, "frames": 0, "frames_with_pose": 0})
        entry["clips"] += 1
        entry["frames"] += len(clip.pose)
        entry["frames_with_pose"] += int(clip.pose.present.sum())
    return {
        "clips": len(clips),
        "frames": sum(len(clip.pose) for clip in clips),
        "frames_with_pose": sum(int(clip.pose.present.sum()) for clip in clips),
        "classes": dict(sorted(per_class.items())),
        "train_clips": [clip.clip_id for clip in train_clips],
        "val_clips": [clip.clip_id for clip in val_clips],
    }


def _fit(network: ExerciseMLP, features: np.ndarray, targets: np.ndarray,
         val_views: tuple[list[torch.Tensor], torch.Tensor] | None, config: TrainConfig,
         on_epoch: Callable[[EpochReport], None] | None,
         should_stop: Callable[[], bool] | None) -> tuple[list[EpochReport], str]:
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step_size, gamma=config.lr_gamma)
    loss_function = nn.CrossEntropyLoss()
    inputs, labels = torch.from_numpy(features), torch.from_numpy(targets)
    shuffler = torch.Generator().manual_seed(config.seed)
    history: list[EpochReport] = []
    best_loss, best_state, epochs_without_improvement = float("inf"), None, 0
    started = time.monotonic()
    stop_reason = "max epochs"
    for epoch in range(1, config.epochs + 1):
        network.train()
        order = torch.randperm(len(inputs), generator=shuffler)
        loss_sum, correct = 0.0, 0
        for step, start in enumerate(range(0, len(inputs), config.batch_size)):
            if should_stop and step % 50 == 0 and should_stop():
                stop_reason = "cancelled"
                break
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad()
            logits = network(inputs[batch])
            loss = loss_function(logits, labels[batch])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(dim=1) == labels[batch]).sum())
        if stop_reason == "cancelled":
            break
        learning_rate = optimizer.param_groups[0]["lr"]
        scheduler.step()
        val_loss, val_accuracy = _validate(network, val_views) if val_views else (None, None)
        improved = val_loss is not None and val_loss < best_loss - 1e-6
        if improved:
            best_loss, epochs_without_improvement = val_loss, 0
            best_state = {name: tensor.clone() for name, tensor in network.state_dict().items()}
        else:
            epochs_without_improvement += 1
        report = EpochReport(epoch=epoch, max_epochs=config.epochs, train_loss=loss_sum / len(inputs),
                             train_accuracy=correct / len(inputs), val_loss=val_loss, val_accuracy=val_accuracy,
                             learning_rate=learning_rate, best=improved, elapsed_s=time.monotonic() - started)
        history.append(report)
        if on_epoch:
            on_epoch(report)
        if val_views and epochs_without_improvement >= config.patience:
            stop_reason = "early stopping"
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return history, stop_reason


@torch.no_grad()
def _validate(network: ExerciseMLP, val_views: tuple[list[torch.Tensor], torch.Tensor]) -> tuple[float, float]:
    """Loss and accuracy of the probabilities the saved model would give (views averaged)."""
    views, targets = val_views
    network.eval()
    probabilities = torch.stack([torch.softmax(network(view), dim=1) for view in views]).mean(dim=0)
    loss = nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-12)), targets).item()
    return loss, float((probabilities.argmax(dim=1) == targets).float().mean())


def _validation_views(clips: Sequence[Clip], labels: tuple[str, ...], config: TrainConfig,
                      scaler: Scaler) -> tuple[list[torch.Tensor], torch.Tensor] | None:
    if not clips:
        return None
    features, targets = _frame_arrays(clips, labels, config, mirrored_too=False)
    views = [torch.from_numpy(scaler.transform(features))]
    if config.mirror:
        mirrored = [compute_features(mirror_pose(clip.pose), config.feature_set) for clip in clips]
        mirrored = np.concatenate([rows[~np.isnan(rows).any(axis=1)] for rows in mirrored])
        views.append(torch.from_numpy(scaler.transform(mirrored)))
    return views, torch.from_numpy(targets)


def _frame_arrays(clips: Sequence[Clip], labels: tuple[str, ...], config: TrainConfig,
                  mirrored_too: bool) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and class indices of every frame with a person (and of the mirror images,
    when `mirrored_too` and the config mirrors)."""
    index = {label: i for i, label in enumerate(labels)}
    poses = [(clip.pose, index[clip.label]) for clip in clips]
    if mirrored_too and config.mirror:
        poses += [(mirror_pose(clip.pose), index[clip.label]) for clip in clips]
    rows, targets = [], []
    for pose, target in poses:
        features = compute_features(pose, config.feature_set)
        features = features[~np.isnan(features).any(axis=1)]
        rows.append(features)
        targets.append(np.full(len(features), target, np.int64))
    return np.concatenate(rows), np.concatenate(targets)


def _align(model: ExerciseModel, clip: Clip, labels: tuple[str, ...]) -> np.ndarray:
    """The model's probabilities for `clip`, in the column order of `labels` (a fold's model may
    lack a class whose clips all fell in the held-out fold)."""
    probabilities = model.predict_pose(clip.pose)
    aligned = np.zeros((len(probabilities), len(labels)), np.float32)
    for column, label in enumerate(model.labels):
        aligned[:, labels.index(label)] = probabilities[:, column]
    aligned[np.isnan(probabilities).any(axis=1)] = np.nan
    return aligned


def _config_dict(config: TrainConfig) -> dict:
    values = asdict(config)
    values["hidden_dims"] = list(config.hidden_dims)
    return values
