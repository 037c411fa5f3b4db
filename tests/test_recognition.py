"""Recognition with data it lacked: examples of other exercises trained toward "none of these"
(outlier exposure), poses published only stretched to the skeleton's box (Countix-Fitness), and a
landmarks table without world landmarks classified end to end."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from tests.support.cli import wpa
from tests.support.poses import random_pose
from wpa.errors import DatasetError
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.poses.clip import Clip
from wpa.poses.table import WORLD_COLUMNS, write_landmarks_table
from wpa.recognition.countix import load_countix_clips, pose_from_box_array
from wpa.recognition.features import FEATURE_SETS, box_stretched, compute_features
from wpa.recognition.model import load_model
from wpa.recognition.train import check_clips, row_losses, train_model
from wpa.recognition.train_config import TrainConfig
from wpa.recognition.training_rows import OTHER, training_rows

QUICK = TrainConfig(epochs=4, patience=4)


def test_a_frame_of_another_exercise_is_trained_toward_equal_probabilities():
    loss_function = nn.CrossEntropyLoss(reduction="none")
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [3.0, -2.0, 0.0]])
    targets = torch.tensor([0, OTHER, OTHER])
    losses = row_losses(logits, targets, loss_function)
    assert losses[0] == pytest.approx(float(loss_function(logits[:1], targets[:1])[0]))
    # Against the uniform target: log(classes) when the network favours no class, more when it does.
    assert losses[1] == pytest.approx(np.log(3))
    assert losses[2] > losses[1]
    assert losses[2] == pytest.approx(float(torch.logsumexp(logits[2], 0) - logits[2].mean()))


def test_training_on_real_landmarks_with_other_exercises(small_clips):
    others = ("jumping_jack",)
    config = replace(QUICK, other_labels=others, outlier_weight=1.0)
    assert check_clips(small_clips, others) == ("deadlift", "push_up", "squat")
    rows, targets, _ = training_rows(small_clips, ("deadlift", "push_up", "squat"), config)
    jumping = sum(2 * int(c.pose.present.sum()) for c in small_clips if c.label in others)  # and mirrored
    assert (targets == OTHER).sum() == jumping and len(rows) == len(targets)

    result = train_model(small_clips, config)
    model = result.model
    assert model.labels == ("deadlift", "push_up", "squat")
    # Each clip here is its own group: one of another exercise dealt to validation is left out.
    trained_others = [c for c in small_clips if c.label in others and c.clip_id in result.train_clips]
    assert model.card.data.other_exercises == {"jumping_jack": len(trained_others)} and trained_others
    assert not any(c.label in others for c in small_clips if c.clip_id in result.val_clips)
    assert {c.split_group for c in trained_others} <= set(model.card.data.groups_seen)
    assert model.card.train_config["other_labels"] == ["jumping_jack"] or model.card.train_config["other_labels"] == others

    def top(clips):
        return np.mean([np.nanmean(model.predict_pose(c.pose), axis=0).max() for c in clips])

    trained = [c for c in small_clips if c.clip_id in result.train_clips]
    # What it was shown as "none of these" it learnt to leave undecided; what it learnt, it names.
    assert top([c for c in trained if c.label in others]) < top([c for c in trained if c.label not in others])
    with pytest.raises(DatasetError):
        train_model([c for c in small_clips if c.label in others], config)


def test_other_labels_survive_the_saved_config():
    config = TrainConfig(other_labels=("crunch", "sit_up"), box_copy=True, max_rows_per_clip=60)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.__dict__, default=list))) == config
    with pytest.raises(ValueError):
        TrainConfig(max_rows_per_clip=0)
    with pytest.raises(ValueError):
        TrainConfig(outlier_weight=-1)


def test_the_box_stretch_is_what_countix_publishes_and_box_features_survive_it():
    pose = random_pose(60, frame_size=(640, 480), missing=(5,))
    stretched = box_stretched(pose)
    points = stretched.landmarks[stretched.present][..., :3]
    assert np.allclose(points.min(axis=1), 0) and np.allclose(points.max(axis=1), 1)
    assert np.isnan(stretched.world_landmarks).all() and stretched.frame_size == (1, 1)
    assert not stretched.present[5] and stretched.present.sum() == pose.present.sum()
    # The box-travel features are the same for a clip and for its poses as Countix publishes them.
    published = pose_from_box_array(np.nan_to_num(stretched.landmarks[..., :3]).reshape(len(pose), -1))
    ours, theirs = compute_features(pose, "box-travel"), compute_features(published, "box-travel")
    assert ours.shape == theirs.shape == (60, FEATURE_SETS["box-travel"].dim)
    assert np.allclose(ours[pose.present], theirs[pose.present], atol=1e-4)
    assert np.isnan(theirs[5]).all()
    # Training rows: a box copy of each clip adds its frames again (mirrored too), capped per clip.
    clip = Clip("squat/a", "squat", pose)
    rows, _, _ = training_rows([clip], ("squat",), TrainConfig(box_copy=True))
    assert len(rows) == 4 * pose.present.sum()
    rows, _, _ = training_rows([clip], ("squat",), TrainConfig(box_copy=True, max_rows_per_clip=10))
    assert len(rows) == 4 * 10


def test_countix_poses_become_clips_of_their_own_groups(tmp_path):
    (tmp_path / "annotation").mkdir()
    (tmp_path / "poses").mkdir()
    (tmp_path / "annotation" / "test.csv").write_text(
        ",type,name,count\n0,bench_pressing,bench1.mp4,5\n1,rope_pushdown,rope1.mp4,3\n"
        "2,pull_ups,pull1.mp4,4\n3,battle_rope,rope9.mp4,2\n")
    frames = np.random.default_rng(0).uniform(0, 1, (50, 99)).astype(np.float32)
    frames[10] = 0
    np.save(tmp_path / "poses" / "bench1.npy", frames)
    np.save(tmp_path / "poses" / "rope1.npy", frames)
    np.save(tmp_path / "poses" / "pull1.npy", np.zeros((0,), np.float32))  # no usable frame: left out
    clips = load_countix_clips(tmp_path)
    assert [(c.clip_id, c.label, c.group) for c in clips] == [
        ("bench_press/countix-bench1", "bench_press", "countix:bench1"),
        ("tricep_pushdown/countix-rope1", "tricep_pushdown", "countix:rope1")]
    pose = clips[0].pose
    assert len(pose) == 50 and not pose.present[10] and pose.present.sum() == 49
    assert pose.timestamps_s[-1] == pytest.approx(49 / 30) and np.isnan(pose.world_landmarks).all()
    with pytest.raises(DatasetError, match="annotation"):
        load_countix_clips(tmp_path / "poses")


def test_a_table_without_world_landmarks_is_classified_end_to_end(small_clips, tmp_path):
    if not (DEFAULT_MODEL_DIR / "model.json").is_file():
        pytest.skip("no shipped model")
    model = load_model(DEFAULT_MODEL_DIR)
    squat = next(c for c in small_clips if c.label == "squat")
    table = write_landmarks_table([squat], tmp_path / "with-world.csv")
    # The same table as a tool that keeps only image landmarks writes it.
    import pandas as pd

    image_only = pd.read_csv(table).drop(columns=list(WORLD_COLUMNS))
    image_only.to_csv(tmp_path / "image-only.csv", index=False)
    result = wpa("classify", tmp_path / "image-only.csv", "--json")
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["error"] is None and line["clip"] == squat.clip_id
    assert line["frames_with_pose"] == int(squat.pose.present.sum())
    assert line["label"] in (*model.labels, "unknown") and line["best_guess"] in model.labels
    assert 0 <= line["confidence"] <= 1 and line["reps"] == sum(s["reps"] for s in line["segments"])
