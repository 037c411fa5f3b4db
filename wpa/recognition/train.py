"""Training: the original MLP recipe with an honest split.

Adam 1e-3, StepLR(10, 0.5), cross-entropy, batch 32, up to 80 epochs, early stopping with
patience 5 — and three faults of the original fixed: groups of clips (one person, camera or gym;
each clip alone where none is named), not frames, are split between training and validation; the
scaler is fitted on the training part only; early stopping watches the validation loss. The
validation groups also calibrate the threshold below which a clip is called unknown. Runs are
seeded and repeatable.

The loop knows no UI: it reports each epoch through `on_epoch` and asks `should_stop` whether
to give up early (a cancel button, a closed session).
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold
from torch import nn

from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.recognition.card import Calibration, ModelCard, TrainingData
from wpa.recognition.metrics import Evaluation, HeldOut, calibrate_unknown_threshold, evaluate_probabilities
from wpa.recognition.model import ExerciseMLP, ExerciseModel, ModelConfig, Scaler, use_one_thread
from wpa.recognition.preview import class_problems
from wpa.recognition.recognizer import Recognizer
from wpa.recognition.train_config import TrainConfig
from wpa.recognition.training_rows import OTHER, training_rows, validation_views




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


def check_clips(clips: Sequence[Clip], other_labels: Sequence[str] = ()) -> tuple[str, ...]:
    """The sorted class labels of `clips` (but `other_labels`, the exercises not to name); raise
    DatasetError if they cannot train a classifier."""
    usable = [clip for clip in clips if clip.pose.present.any() and clip.label not in other_labels]
    if not usable:
        raise DatasetError("No clip has a person in it: nothing to train on (clips of exercises not to name do not "
                           "count). Check that the videos show the whole body.")
    labels = tuple(sorted({clip.label for clip in usable}))
    problems = class_problems(labels)
    if problems:
        raise DatasetError(problems[0])
    return labels


def split_by_group(labels: Sequence[str], groups: Sequence[str], val_fraction: float,
                   seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and validation clips: whole groups go to validation, about
    `val_fraction` of each class's clips (scikit-learn's StratifiedGroupKFold deals the groups;
    of its folds, the one holding the most classes validates).

    A class whose clips all share one group stays whole in training: validating it would leave
    nothing to learn it from. No group is ever on both sides.
    """
    everything = list(range(len(labels)))
    groups_of_class: dict[str, set[str]] = {}
    for label, group in zip(labels, groups):
        groups_of_class.setdefault(label, set()).add(group)
    # Groups holding a class that has no other group never leave training.
    pinned = {group for members in groups_of_class.values() if len(members) == 1 for group in members}
    movable = [i for i in everything if groups[i] not in pinned]
    movable_groups = {groups[i] for i in movable}
    if val_fraction <= 0 or len(movable_groups) < 2:
        return everything, []
    # StratifiedGroupKFold wants some class with at least as many clips as folds.
    largest_class = max(Counter(labels[i] for i in movable).values())
    splits = min(max(2, round(1 / val_fraction)), len(movable_groups), max(2, largest_class))
    splitter = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "least populated class has fewer members than folds": expected
        warnings.simplefilter("ignore", UserWarning)
        folds = [sorted(movable[j] for j in val_part) for _, val_part in
                 splitter.split(movable, [labels[i] for i in movable], [groups[i] for i in movable])]
    val = max(folds, key=lambda fold: len({labels[i] for i in fold}))
    val_set = set(val)
    return [i for i in everything if i not in val_set], val


def fold_of_each_clip(labels: Sequence[str], groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold number of each clip for stratified group k-fold cross-validation (scikit-learn's
    StratifiedGroupKFold): no group in two folds, each fold with a share of every class that has
    enough groups. Raises DatasetError when there are fewer groups than folds."""
    distinct, largest_class = len(set(groups)), max(Counter(labels).values(), default=0)
    if distinct < folds or largest_class < folds:
        raise DatasetError(f"{folds}-fold cross-validation needs at least {folds} groups of clips and a class with "
                           f"{folds} clips; these clips make {distinct} groups and the largest class has "
                           f"{largest_class}. Use fewer folds or add clips from other people and places.")
    assignment = np.zeros(len(labels), np.int64)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
            assignment[held_out] = fold
    return assignment


def train_model(clips: Sequence[Clip], config: TrainConfig = TrainConfig(),
                on_epoch: Callable[[EpochReport], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> TrainingResult:
    """Split `clips` by clip, train the MLP, keep the weights of the lowest validation loss.

    Raises DatasetError for data that cannot train a classifier.
    """
    use_one_thread()
    labels = check_clips(clips, config.other_labels)
    others = [clip for clip in clips if clip.pose.present.any() and clip.label in config.other_labels]
    clips = [clip for clip in clips if clip.pose.present.any() and clip.label not in config.other_labels]
    train_index, val_index = split_by_group([clip.label for clip in clips], [clip.split_group for clip in clips],
                                            config.val_fraction, config.seed)
    train_clips, val_clips = [clips[i] for i in train_index], [clips[i] for i in val_index]
    # Examples of other exercises train only from groups that validation does not hold.
    val_groups = {clip.split_group for clip in val_clips}
    train_clips += [clip for clip in others if clip.split_group not in val_groups]

    torch.manual_seed(config.seed)
    train_features, train_targets, train_weights = training_rows(train_clips, labels, config)
    scaler = Scaler.fit(train_features)
    model_config = ModelConfig(input_dim=train_features.shape[1], num_classes=len(labels),
                               hidden_dims=tuple(config.hidden_dims), dropout=config.dropout)
    network = ExerciseMLP(model_config)
    val_views = validation_views(val_clips, labels, config, scaler)
    history, stop_reason = _fit(network, scaler.transform(train_features), train_targets, train_weights, val_views,
                                config, on_epoch, should_stop)

    trained_others = Counter(clip.label for clip in train_clips if clip.label in config.other_labels)
    card = ModelCard(train_config=_config_dict(config), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     data=replace(summarise_data(clips, train_clips, val_clips),
                                  other_exercises=dict(sorted(trained_others.items()))))
    model = ExerciseModel(network=network, config=model_config, labels=labels, scaler=scaler,
                          feature_set=config.feature_set, mirror_average=config.mirror, card=card)
    evaluation = None
    if val_clips:
        predictions = _predictions(model, val_clips)
        calibrate(model, evaluate_probabilities(labels, predictions), config.known_called_unknown,
                  f"{len(val_clips)} validation clips")
        # The same predictions, judged with the threshold the model now has.
        evaluation = evaluate_probabilities(labels, [p._replace(unknown_threshold=model.unknown_threshold)
                                                     for p in predictions])
        model.card = model.card.scored(validation=evaluation.to_dict(), stop_reason=stop_reason,
                                       epochs_run=len(history),
                                       best_epoch=max((r.epoch for r in history if r.best), default=len(history)))
    return TrainingResult(model=model, history=history, evaluation=evaluation, stop_reason=stop_reason,
                          train_clips=[c.clip_id for c in train_clips], val_clips=[c.clip_id for c in val_clips])


def calibrate(model: ExerciseModel, evaluation: Evaluation, known_called_unknown: float, held_out: str) -> None:
    """Fit `model`'s unknown threshold on held-out clips of known exercises (`evaluation`), so that
    about `known_called_unknown` of such clips would be called unknown; its card records how."""
    threshold = calibrate_unknown_threshold(evaluation, known_called_unknown)
    if threshold is not None:
        model.unknown_threshold = threshold
        model.card = model.card.calibrated(Calibration(threshold, held_out, known_called_unknown))


def evaluate_model(model: ExerciseModel, clips: Sequence[Clip]) -> Evaluation:
    """Frame and clip metrics of `model` on `clips` (whose labels must be among the model's)."""
    return evaluate_probabilities(model.labels, _predictions(model, clips))


def _predictions(model: ExerciseModel, clips: Sequence[Clip]) -> list[HeldOut]:
    recognizer = Recognizer(model)
    return [HeldOut(clip.clip_id, clip.label, recognizer.predict_proba(clip.pose), clip.pose.timestamps_s,
                    recognizer.threshold) for clip in clips]


def cross_validate(clips: Sequence[Clip], config: TrainConfig = TrainConfig(), folds: int = 5,
                   on_fold: Callable[[int, int], None] | None = None) -> Evaluation:
    """Stratified group k-fold cross-validation: every clip is predicted by a model trained (with
    its own grouped validation split for early stopping) on the other folds only, so no group
    (`Clip.split_group`: one person, camera or gym) is on both sides."""
    labels = check_clips(clips, config.other_labels)
    clips = [clip for clip in clips if clip.pose.present.any()]
    fold_of = fold_of_each_clip([clip.label for clip in clips], [clip.split_group for clip in clips], folds, config.seed)
    predictions = []
    for fold in range(folds):
        if on_fold:
            on_fold(fold, folds)
        held_out = [clip for clip, f in zip(clips, fold_of) if f == fold]
        rest = [clip for clip, f in zip(clips, fold_of) if f != fold]
        if not held_out:
            continue
        fold_config = replace(config, seed=config.seed + fold)
        model = train_model(rest, fold_config).model
        predictions += [HeldOut(clip.clip_id, clip.label, _align(model, clip, labels), clip.pose.timestamps_s,
                                Recognizer(model).threshold) for clip in held_out if clip.label in labels]
    return evaluate_probabilities(labels, predictions)


def summarise_data(clips: Sequence[Clip], train_clips: Sequence[Clip] = (), val_clips: Sequence[Clip] = ()) -> TrainingData:
    """Counts per class and the clips and groups seen, for the model card."""
    per_class: dict[str, dict[str, int]] = {}
    for clip in clips:
        entry = per_class.setdefault(clip.label, {"clips": 0, "frames": 0, "frames_with_pose": 0})
        entry["clips"] += 1
        entry["frames"] += len(clip.pose)
        entry["frames_with_pose"] += int(clip.pose.present.sum())
    return TrainingData(clips=len(clips), frames=sum(len(clip.pose) for clip in clips),
                        frames_with_pose=sum(int(clip.pose.present.sum()) for clip in clips),
                        classes=dict(sorted(per_class.items())), train_clips=tuple(clip.clip_id for clip in train_clips),
                        val_clips=tuple(clip.clip_id for clip in val_clips),
                        groups_seen=tuple(sorted({clip.split_group for clip in [*train_clips, *val_clips]})))


def _fit(network: ExerciseMLP, features: np.ndarray, targets: np.ndarray, weights: np.ndarray,
         val_views: tuple[list[torch.Tensor], torch.Tensor] | None, config: TrainConfig,
         on_epoch: Callable[[EpochReport], None] | None,
         should_stop: Callable[[], bool] | None) -> tuple[list[EpochReport], str]:
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step_size, gamma=config.lr_gamma)
    loss_function = nn.CrossEntropyLoss(reduction="none", label_smoothing=config.label_smoothing)
    inputs, labels, frame_weights = torch.from_numpy(features), torch.from_numpy(targets), torch.from_numpy(weights)
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
            logits, targets, batch_weights = network(inputs[batch]), labels[batch], frame_weights[batch]
            loss = (row_losses(logits, targets, loss_function) * batch_weights).sum() / batch_weights.sum()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(dim=1) == targets).sum())
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


def row_losses(logits: torch.Tensor, targets: torch.Tensor, loss_function: nn.Module) -> torch.Tensor:
    """Each row's loss: `loss_function` (cross-entropy, reduction "none") against its class, or
    for a frame of another exercise (target OTHER) the cross-entropy against equal probabilities
    for every class (outlier exposure), lowest when the network favours no class."""
    return torch.where(targets != OTHER, loss_function(logits, targets.clamp_min(0)),
                       -torch.log_softmax(logits, dim=1).mean(dim=1))


@torch.no_grad()
def _validate(network: ExerciseMLP, val_views: tuple[list[torch.Tensor], torch.Tensor]) -> tuple[float, float]:
    """Loss and accuracy of the probabilities the saved model would give (views averaged)."""
    views, targets = val_views
    network.eval()
    probabilities = torch.stack([torch.softmax(network(view), dim=1) for view in views]).mean(dim=0)
    loss = nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-12)), targets).item()
    return loss, float((probabilities.argmax(dim=1) == targets).float().mean())


def _align(model: ExerciseModel, clip: Clip, labels: tuple[str, ...]) -> np.ndarray:
    """The model's probabilities for `clip`, in the column order of `labels` (a fold's model may
    lack a class whose clips all fell in the held-out fold)."""
    probabilities = Recognizer(model).predict_proba(clip.pose)
    aligned = np.zeros((len(probabilities), len(labels)), np.float32)
    for column, label in enumerate(model.labels):
        aligned[:, labels.index(label)] = probabilities[:, column]
    aligned[np.isnan(probabilities).any(axis=1)] = np.nan
    return aligned


def _config_dict(config: TrainConfig) -> dict:
    values = asdict(config)
    values["hidden_dims"] = list(config.hidden_dims)
    return values
