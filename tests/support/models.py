"""A small untrained model over LABELS, for tests that need one to load, save, run or choose."""

from __future__ import annotations

import torch

from tests.support.poses import random_pose
from wpa.recognition.card import ModelCard, Scores, TrainingData
from wpa.recognition.features import DEFAULT_FEATURE_SET, compute_features, feature_dim
from wpa.recognition.model import ExerciseMLP, ExerciseModel, ModelConfig, Scaler

LABELS = ("plank", "push_up", "squat")


def make_model(seed: int = 0, feature_set: str = DEFAULT_FEATURE_SET) -> ExerciseModel:
    torch.manual_seed(seed)
    config = ModelConfig(input_dim=feature_dim(feature_set), num_classes=len(LABELS))
    features = compute_features(random_pose(seed=seed), feature_set)
    return ExerciseModel(network=ExerciseMLP(config), config=config, labels=LABELS,
                         scaler=Scaler.fit(features), feature_set=feature_set,
                         card=ModelCard(data=TrainingData(clips=3, train_clips=("squat/a.mp4",)),
                                        scores=Scores(validation={"clip_accuracy": 0.5})))
