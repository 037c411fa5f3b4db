"""Form feedback in a real browser: an upload of a shipped exercise shows each repetition's form
score and cue against the shipped model's references (models/default/form.json)."""

from tests.support.browsers import UPLOAD_RESULT_TIMEOUT_MS, open_upload_page
from tests.support.data import REPS_CLIP
from wpa.movement.form.references import load_references
from wpa.paths import DEFAULT_MODEL_DIR


def test_an_upload_shows_form_per_repetition(page, app, videos, screenshots):
    assert "squat" in load_references(DEFAULT_MODEL_DIR), "models/default/form.json is missing: run `make form-model`"
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / REPS_CLIP))
    page.get_by_role("heading", name="confident").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    page.get_by_role("heading", name="Form").wait_for(timeout=30_000)
    page.get_by_text("Each repetition against good repetitions (the model's)").wait_for(timeout=30_000)
    summary = page.get_by_text("Furthest from good form").or_(page.get_by_text("No repetition departs far"))
    summary.first.wait_for(timeout=30_000)
    table = page.locator('[data-testid="stDataFrame"]').nth(1)  # segments, then repetitions
    table.wait_for(timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(screenshots / "upload-form.png"))
    timeline = page.locator(".js-plotly-plot").first
    timeline.get_by_text("form (hover)").wait_for(timeout=30_000)  # the form dots' legend entry
    assert "Traceback" not in app.log
