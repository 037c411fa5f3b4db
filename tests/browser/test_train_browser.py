"""Train page in a real browser: train on a few real clips, watch the curves, save the model, make
it active, and classify a clip with it on the Upload page."""

import re

import pytest

from tests.support.data import SQUAT_CLIP
from wpa.serving.store import set_active_model


@pytest.fixture
def shipped_model_active_afterwards(app):
    yield
    set_active_model(None, app.home / "data" / "active_model.json")  # other tests expect the shipped model


def test_train_save_activate_and_use(page, app, small_dataset, videos, screenshots, shipped_model_active_afterwards):
    page.goto(f"{app.url}/train")
    page.get_by_role("heading", name="Train").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]', has_text="Dataset").click()
    page.get_by_role("option", name=str(small_dataset)).click()
    page.get_by_text("4 exercises, 8 clips").wait_for(timeout=60_000)

    page.get_by_text("Training settings").click()
    for label, value in (("Most epochs", "40"), ("Stop after epochs without improvement", "40")):
        field = page.get_by_label(label)  # long enough to watch it learn
        field.fill(value)
        field.press("Enter")
    name = page.get_by_label("Model name")
    name.fill("browser-model")
    name.press("Enter")
    page.get_by_role("button", name="Start training").click()

    page.get_by_text("Training: epoch").wait_for(timeout=240_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Cancel training").wait_for()
    page.screenshot(path=str(screenshots / "train-running.png"))

    page.get_by_text("Clips right", exact=True).wait_for(timeout=240_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)  # confusion matrix and learning curves
    page.set_viewport_size({"width": 1400, "height": 3000})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "train-results.png"))

    page.get_by_role("button", name="Save model").click()
    page.get_by_text("Saved as 'browser-model' and made active.").wait_for(timeout=60_000)
    assert (app.home / "data" / "models" / "browser-model" / "model.json").is_file()

    page.get_by_role("link", name="Upload").click()
    page.get_by_text("What exercise is this?").wait_for(timeout=60_000)
    page.get_by_text("Knows 4 exercises: deadlift, jumping jack, push up, squat").wait_for(timeout=30_000)
    page.locator('input[type="file"]').set_input_files(str(videos / SQUAT_CLIP))
    # Eight clips make a weak model: it must answer with its own exercises, right or not.
    page.get_by_text("Per-frame CSV").wait_for(timeout=240_000)
    verdict = page.locator("h2").filter(has_text=re.compile("deadlift|jumping jack|push up|squat", re.I))
    assert verdict.count() == 1

    # Back on the Train page, the shipped model is made active again from the list of saved models.
    page.get_by_role("link", name="Train").click()
    page.get_by_text("The active model is browser-model").wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]', has_text="Model").last.click()
    page.get_by_role("option", name="default (shipped)").click()
    page.get_by_role("button", name="Make active").click()
    page.get_by_text("The active model is default (shipped)").wait_for(timeout=60_000)
    assert "Traceback" not in app.log
