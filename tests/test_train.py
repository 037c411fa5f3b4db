"""Training: the grouped split, the scaler fitted on training clips only, early stopping on
validation loss, repeatability, cancellation, and cross-validation — on real landmarks."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.support.poses import random_pose
from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.poses.sequence import mirror_pose
from wpa.recognition.augment import AugmentConfig
from wpa.recognition.features import compute_features
from wpa.recognition.train import check_clips, cross_validate, fold_of_each_clip, split_by_group, train_model
from wpa.recognition.train_config import TrainConfig
from wpa.recognition.training_rows import balancing_weights as _balancing_weights, training_rows as _training_rows

QUICK = TrainConfig(epochs=3, patience=3)


def test_split_keeps_every_group_on_one_side():
    labels = ["a"] * 10 + ["b"] * 6 + ["c"] * 3 + ["d"] * 2
    # Groups span clips (and classes): one person filmed doing a and b, another doing only d.
    groups = ["p1", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9",
              "p1", "p1", "p10", "p11", "p12", "p13", "p14", "p15", "p16", "solo", "solo"]
    train, val = split_by_group(labels, groups, 0.2, seed=0)
    assert sorted(train + val) == list(range(len(labels))) and val
    assert not {groups[i] for i in train} & {groups[i] for i in val}
    assert not any(labels[i] == "d" for i in val)  # d's only group cannot be validated
    assert {labels[i] for i in train} == set("abcd")
    assert split_by_group(labels, groups, 0.2, seed=0) == (train, val)
    assert any(split_by_group(labels, groups, 0.2, seed=s) != (train, val) for s in (1, 2, 3))
    assert split_by_group(labels, groups, 0.0, seed=0) == (list(range(len(labels))), [])


def test_folds_never_put_a_group_in_two_folds():
    rng = np.random.default_rng(0)
    labels = ["a"] * 20 + ["b"] * 12 + ["c"] * 8
    groups = [f"g{rng.integers(0, 12)}" for _ in labels]
    folds = fold_of_each_clip(labels, groups, 4, seed=0)
    assert sorted(set(folds)) == [0, 1, 2, 3]
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1, group
    with pytest.raises(DatasetError, match="at least 5 groups"):
        fold_of_each_clip(["a", "b"] * 4, ["x", "y"] * 4, 5, seed=0)


def test_training_on_real_landmarks(small_clips):
    epochs = []
    result = train_model(small_clips, QUICK, on_epoch=epochs.append)
    assert [e.epoch for e in epochs] == [1, 2, 3] and result.history == epochs
    assert all(e.val_loss is not None and 0 <= e.val_accuracy <= 1 for e in epochs)
    assert not set(result.train_clips) & set(result.val_clips)
    # Two clips a class allow two folds at most: one clip of each class validates.
    assert sorted(clip_id.split("/")[0] for clip_id in result.val_clips) == ["deadlift", "jumping_jack", "push_up", "squat"]
    assert result.model.labels == ("deadlift", "jumping_jack", "push_up", "squat")
    assert result.evaluation is not None and len(result.evaluation.clips) == len(result.val_clips)
    assert result.model.card.scores.validation["clips"] == len(result.val_clips)
    assert result.model.card.data.clips == 8 and list(result.model.card.data.val_clips) == result.val_clips
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
    from wpa.recognition.train import _validate
    from wpa.recognition.training_rows import validation_views as _validation_views
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


def test_augmented_balanced_training_on_real_landmarks(small_clips):
    config = TrainConfig(feature_set="body-travel", augment=AugmentConfig(copies=1), balance="group",
                         label_smoothing=0.1, epochs=2, patience=2)
    rows, targets, weights = _training_rows(small_clips, ("deadlift", "jumping_jack", "push_up", "squat"), config)
    frames = sum(int(clip.pose.present.sum()) for clip in small_clips)
    assert rows.shape == (4 * frames, 351) and len(targets) == len(weights) == 4 * frames  # clip, copy, mirrors
    assert np.isfinite(rows).all()
    result = train_model(small_clips, config)
    assert result.model.feature_set == "body-travel" and result.model.card.train_config["augment"]["copies"] == 1


def test_balancing_gives_each_class_and_each_group_of_a_class_the_same_weight():
    owners = [("a", "g1")] * 60 + [("a", "g2")] * 20 + [("b", "g3")] * 10
    weights = _balancing_weights(owners, "class")
    assert weights[:80].sum() == pytest.approx(weights[80:].sum()) and weights.mean() == pytest.approx(1)
    weights = _balancing_weights(owners, "group")
    assert weights[:60].sum() == pytest.approx(weights[60:80].sum()) == pytest.approx(weights[80:].sum() / 2)
    assert (_balancing_weights(owners, "none") == 1).all()
    with pytest.raises(ValueError, match="balance"):
        TrainConfig(balance="people")


def test_a_model_s_recipe_can_be_read_back_from_what_it_records(small_clips):
    config = TrainConfig(feature_set="body-travel", augment=AugmentConfig(copies=1, max_yaw_deg=30), epochs=1)
    recorded = train_model(small_clips, config).model.card.train_config
    assert TrainConfig.from_dict(json.loads(json.dumps(recorded))) == config


def test_the_unknown_threshold_is_calibrated_on_held_out_clips(small_clips):
    result = train_model(small_clips, QUICK)
    confidences = sorted(clip.confidence for clip in result.evaluation.clips)
    assert confidences[0] <= result.model.unknown_threshold <= confidences[-1]
    calibration = result.model.card.scores.unknown_threshold
    assert calibration.calibrated_on == f"{len(result.val_clips)} validation clips"
    assert calibration.threshold == result.model.unknown_threshold
    assert result.evaluation.unknown_share is not None
