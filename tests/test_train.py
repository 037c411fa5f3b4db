"""Training: the grouped split, the scaler fitted on training clips only, early stopping on
validation loss, repeatability, cancellation, and cross-validation — on real landmarks."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.poses import random_pose
from wpa.dataset import Clip
from wpa.errors import DatasetError
from wpa.features import compute_features
from wpa.pose import mirror_pose
from wpa.train import TrainConfig, check_clips, cross_validate, grouped_folds, split_by_clip, train_model

QUICK = TrainConfig(epochs=3, patience=3)


def test_split_keeps_every_clip_on_one_side_and_every_class_in_both():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"]
    train, val = split_by_clip(labels, 0.2, seed=0)
    assert not set(train) & set(val) and sorted(train + val) == list(range(len(labels)))
    val_labels = [labels[i] for i in val]
    assert val_labels.count("a") == 2 and val_labels.count("b") == 1 and val_labels.count("c") == 1
    assert "d" not in val_labels  # a class with one clip cannot be validated
    assert split_by_clip(labels, 0.2, seed=0) == (train, val)
    assert split_by_clip(labels, 0.2, seed=1) != (train, val)


def test_folds_deal_each_class_round_the_folds():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 3
    folds = grouped_folds(labels, 5, seed=0)
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    for label in "ab":
        members = folds[[i for i, l in enumerate(labels) if l == label]]
        assert sorted(set(members)) == [0, 1, 2, 3, 4]


def test_training_on_real_landmarks(small_clips):
    epochs = []
    result = train_model(small_clips, QUICK, on_epoch=epochs.append)
    assert [e.epoch for e in epochs] == [1, 2, 3] and result.history == epochs
    assert all(e.val_loss is not None and 0 <= e.val_accuracy <= 1 for e in epochs)
    assert not set(result.train_clips) & set(result.val_clips)
    assert len(result.val_clips) == 4  # one of the two clips of each of the four classes
    assert result.model.labels == ("deadlift", "jumping_jack", "push_up", "squat")
    assert result.evaluation is not None and len(result.evaluation.clips) == 4
    assert result.model.metrics["validation"]["clips"] == 4
    assert result.model.data_summary["clips"] == 8 and result.model.data_summary["val_clips"] == result.val_clips
    # The frames the model was trained on are learnt.
    assert epochs[-1].train_accuracy > 0.8


def test_the_scaler_sees_only_training_clips(small_clips):
    result = train_model(small_clips, QUICK)
    train = [c for c in small_clips if c.clip_id in result.train_clips]
    poses = [c.pose for c in train] + [mirror_pose(c.pose) for c in train]
    rows = np.concatenate([compute_features(p, QUICK.feature_set) for p in poses])
    rows = rows[~np.isnan(rows).any(axis=1)]
    np.testing.assert_allclose(result.model.scaler.mean, rows.mean(axis=0), rtol=1e-4, atol=1e-4)


def test_early_stopping_watches_validation_loss_and_keeps_the_best_weights(small_clips):
    config = TrainConfig(epochs=40, patience=2, learning_rate=3e-3)
    result = train_model(small_clips, config)
    losses = [e.val_loss for e in result.history]
    best = int(np.argmin(losses))
    assert result.stop_reason == "early stopping"
    assert len(losses) == best + 1 + config.patience
    assert result.history[best].best
    # The kept weights are those of the best epoch: their validation loss is the minimum.
    from wpa.train import _validation_views, _validate
    views = _validation_views([c for c in small_clips if c.clip_id in result.val_clips], result.model.labels,
                              config, result.model.scaler)
    assert _validate(result.model.network, views)[0] == pytest.approx(losses[best], rel=1e-5)


def test_training_is_repeatable(small_clips):
    first, second = train_model(small_clips, QUICK), train_model(small_clips, QUICK)
    assert [e.val_loss for e in first.history] == [e.val_loss for e in second.history]
    for (name, a), (_, b) in zip(first.model.network.state_dict().items(), second.model.network.state_dict().items()):
        assert torch.equal(a, b), name
    other = train_model(small_clips, replace(QUICK, seed=1))
    assert [e.val_loss for e in other.history] != [e.val_loss for e in first.history]


def test_training_can_be_cancelled(small_clips):
    seen = []
    result = train_model(small_clips, QUICK, on_epoch=seen.append, should_stop=lambda: len(seen) >= 1)
    assert result.stop_reason == "cancelled" and len(result.history) == 1


def test_raw_features_without_mirroring_train_too(small_clips):
    result = train_model(small_clips, TrainConfig(feature_set="raw", mirror=False, epochs=2))
    assert result.model.config.input_dim == 99 and not result.model.mirror_average


def test_cross_validation_predicts_every_clip_from_models_that_never_saw_it(small_clips):
    evaluation = cross_validate(small_clips, TrainConfig(epochs=2, patience=2), folds=2)
    assert sorted(c.clip_id for c in evaluation.clips) == sorted(c.clip_id for c in small_clips)
    assert evaluation.frame_confusion.sum() == sum(int(c.pose.present.sum()) for c in small_clips)


def test_data_that_cannot_train_a_classifier_is_refused():
    with pytest.raises(DatasetError, match="at least two"):
        check_clips([Clip("a/1", "squat", random_pose()), Clip("a/2", "squat", random_pose(seed=1))])
    with pytest.raises(DatasetError, match="No clip has a person"):
        check_clips([Clip("a/1", "squat", random_pose(frames=3, missing=(0, 1, 2)))])
    with pytest.raises(DatasetError, match="reserved"):
        check_clips([Clip("a/1", "squat", random_pose()), Clip("b/1", "unknown", random_pose())])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        TrainConfig(val_fraction=1.0)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError):
        TrainConfig(feature_set="nope")
