"""The model store: names, never replacing silently, the active model, deleting."""

import pytest

from tests.support.models import make_model
from wpa.errors import ModelError
from wpa.serving.store import (SHIPPED_NAME, active_entry, active_model_name, check_model_name, delete_user_model,
                       list_models, save_user_model, set_active_model)


@pytest.fixture
def store(tmp_path):
    return {"user_dir": tmp_path / "models"}, tmp_path / "active.json"


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 65, SHIPPED_NAME, "nul\0"])
def test_unsafe_or_odd_names_are_refused(name):
    with pytest.raises(ModelError):
        check_model_name(name)


def test_a_model_is_never_replaced_silently(store):
    place, _ = store
    save_user_model(make_model(seed=0), "squats", **place)
    with pytest.raises(ModelError, match="already exists"):
        save_user_model(make_model(seed=1), "squats", **place)
    save_user_model(make_model(seed=1), "squats", replace=True, **place)
    assert [entry.name for entry in list_models(**place)] == [SHIPPED_NAME, "squats"]


def test_the_active_model_and_deleting_it(store):
    place, active_file = store
    save_user_model(make_model(), "mine", **place)
    assert active_entry(active_file=active_file, **place).name == SHIPPED_NAME
    set_active_model("mine", active_file)
    assert active_entry(active_file=active_file, **place).name == "mine"
    delete_user_model("mine", active_file=active_file, **place)
    assert active_model_name(active_file) is None
    assert [entry.name for entry in list_models(**place)] == [SHIPPED_NAME]
    with pytest.raises(ModelError, match="no saved model"):
        delete_user_model("mine", active_file=active_file, **place)


def test_an_active_model_that_broke_falls_back_to_the_shipped_one(store):
    place, active_file = store
    path = save_user_model(make_model(), "fragile", **place)
    set_active_model("fragile", active_file)
    (path / "model.json").write_text("{")
    assert active_entry(active_file=active_file, **place).name == SHIPPED_NAME
    active_file.write_text("not json")
    assert active_model_name(active_file) is None
