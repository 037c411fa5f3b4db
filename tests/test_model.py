"""Saved models: round trip, and clear refusal of anything that is not exactly what was saved."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.support.models import LABELS, make_model
from tests.support.poses import random_pose
from wpa.errors import ModelError
from wpa.poses.sequence import mirror_pose
from wpa.recognition.card import ModelCard
from wpa.recognition.features import DEFAULT_FEATURE_SET
import wpa.recognition.model as model_module
from wpa.recognition.model import ExerciseMLP, ModelConfig, Scaler, load_model, save_model


def test_mlp_has_the_original_shape():
    network = ExerciseMLP(ModelConfig(input_dim=99, num_classes=14))
    linear = [layer for layer in network.layers if isinstance(layer, torch.nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linear] == [(99, 512), (512, 256), (256, 128), (128, 14)]
    dropouts = [layer.p for layer in network.layers if isinstance(layer, torch.nn.Dropout)]
    assert dropouts == [0.4, 0.4, 0.4]


def test_round_trip_gives_identical_predictions(tmp_path):
    model = make_model()
    model.unknown_threshold = 0.37
    pose = random_pose(seed=3, missing=(2,))
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.labels == LABELS and loaded.feature_set == DEFAULT_FEATURE_SET
    assert loaded.unknown_threshold == 0.37
    assert loaded.card == replace(model.card, created=loaded.card.created) and loaded.card.created
    np.testing.assert_array_equal(loaded.predict_pose(pose), model.predict_pose(pose))
    assert np.isnan(loaded.predict_pose(pose)[2]).all()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.pt"]


def test_mirror_averaged_model_is_mirror_invariant():
    model = make_model()
    pose = random_pose(seed=5)
    np.testing.assert_allclose(model.predict_pose(mirror_pose(pose)), model.predict_pose(pose), atol=1e-5)


def test_saving_replaces_the_previous_model(tmp_path):
    save_model(make_model(seed=0), tmp_path / "m")
    newer = make_model(seed=1)
    save_model(newer, tmp_path / "m")
    pose = random_pose()
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict_pose(pose), newer.predict_pose(pose))
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folder left behind


@pytest.mark.parametrize("failing", ["torch_save", "replace"])
def test_a_crash_while_saving_leaves_the_old_model_whole(tmp_path, monkeypatch, failing):
    old = make_model(seed=0)
    save_model(old, tmp_path / "m")

    def crash(*args, **kwargs):
        raise OSError("disk full")
    if failing == "torch_save":
        monkeypatch.setattr(model_module.torch, "save", crash)
    else:
        monkeypatch.setattr(model_module, "replace_directory", crash)
    with pytest.raises(OSError):
        save_model(make_model(seed=1), tmp_path / "m")
    pose = random_pose()
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict_pose(pose), old.predict_pose(pose))
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def edit_metadata(directory, **changes):
    path = directory / "model.json"
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def test_a_model_of_another_feature_version_is_refused(tmp_path):
    save_model(make_model(), tmp_path / "m")
    edit_metadata(tmp_path / "m", feature_version=0)
    with pytest.raises(ModelError, match="version 0.*retrain"):
        load_model(tmp_path / "m")


def test_a_model_of_an_unknown_feature_set_is_refused(tmp_path):
    save_model(make_model(), tmp_path / "m")
    edit_metadata(tmp_path / "m", feature_set="angles-v9")
    with pytest.raises(ModelError, match="angles-v9"):
        load_model(tmp_path / "m")


def test_a_tampered_weights_file_is_refused(tmp_path):
    save_model(make_model(), tmp_path / "m")
    weights = tmp_path / "m" / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_model(tmp_path / "m")


def test_a_weights_file_holding_pickled_objects_is_refused(tmp_path):
    """Even with a matching checksum, only plain tensors are loaded (weights_only=True)."""
    save_model(make_model(), tmp_path / "m")
    weights = tmp_path / "m" / "weights.pt"
    torch.save({"payload": Scaler}, weights)  # a class reference: needs unpickling code to load
    import hashlib
    edit_metadata(tmp_path / "m", weights_sha256=hashlib.sha256(weights.read_bytes()).hexdigest())
    with pytest.raises(ModelError, match="damaged"):
        load_model(tmp_path / "m")


def test_damaged_json_is_refused(tmp_path):
    save_model(make_model(), tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    path.write_text(path.read_text()[:100])
    with pytest.raises(ModelError, match="damaged"):
        load_model(tmp_path / "m")


def test_inconsistent_sizes_are_refused(tmp_path):
    save_model(make_model(), tmp_path / "m")
    edit_metadata(tmp_path / "m", labels=["only_one"])
    with pytest.raises(ModelError):
        load_model(tmp_path / "m")


def test_a_folder_without_a_model_says_so(tmp_path):
    with pytest.raises(ModelError, match="No model"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"something": "else"}')
    with pytest.raises(ModelError, match="does not hold a wpa exercise model"):
        load_model(tmp_path)


def test_the_shipped_model_s_card_is_read_from_its_old_keys_and_saved_back_the_same(tmp_path):
    from wpa.paths import DEFAULT_MODEL_DIR

    shipped = load_model(DEFAULT_MODEL_DIR)
    card = shipped.card
    assert card.data.clips > 100 and card.data.val_clips and card.data.other_exercises
    assert card.scores.cross_validation["folds"] == 5 and card.scores.unknown_threshold.threshold == shipped.unknown_threshold
    assert card.scores.headline().measured_by.endswith("5-fold cross-validation") and card.created
    save_model(shipped, tmp_path / "again")
    before, after = (json.loads((folder / "model.json").read_text()) for folder in (DEFAULT_MODEL_DIR, tmp_path / "again"))
    assert {key: value for key, value in after.items() if key != "weights_sha256"} == \
        {key: value for key, value in before.items() if key != "weights_sha256"}


def test_a_model_saved_before_cards_loads_with_an_empty_one(tmp_path):
    save_model(make_model(), tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    metadata = json.loads(path.read_text())
    for key in ("wpa_version", "created", "train_config", "metrics", "data_summary"):
        del metadata[key]
    path.write_text(json.dumps(metadata))
    card = load_model(tmp_path / "m").card
    assert card == ModelCard(wpa_version="") and card.scores.headline() is None and not card.data.seen_clips


def test_a_card_that_is_not_a_card_is_a_damaged_model(tmp_path):
    from wpa.serving.store import list_models

    save_model(make_model(), tmp_path / "user" / "odd")
    path = tmp_path / "user" / "odd" / "model.json"
    metadata = json.loads(path.read_text())
    metadata["data_summary"] = {"clips": "many"}
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="'odd' is damaged: its card in model.json cannot be read"):
        load_model(tmp_path / "user" / "odd")
    entry = list_models(tmp_path / "user")[1]
    assert entry.name == "odd" and not entry.usable and "cannot be read" in entry.problem
