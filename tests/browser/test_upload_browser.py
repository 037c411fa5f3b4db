"""Upload page in a real browser: real clips in; the label, the repetitions, the timeline and a
playing video out."""

import json
import re
from pathlib import Path

from tests.support.browsers import UPLOAD_RESULT_TIMEOUT_MS, open_upload_page
from tests.support.data import REPS_CLIP, REP_COUNTS, SQUAT_CLIP
from tests.support.media import concatenate

LONG_CLIP = "pull_up/calimiro-ai__WorkoutTracker__videoplayback.mp4"  # about a minute


def test_upload_a_real_clip(page, app, videos, screenshots):
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / SQUAT_CLIP))
    headline = page.get_by_role("heading", name="confident")
    headline.wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    assert headline.inner_text().startswith("Squat · ")

    timeline = page.locator(".js-plotly-plot").first
    timeline.wait_for(timeout=60_000)
    assert timeline.locator(".scatterlayer .trace").count() >= 2  # the squat trace and the raw line

    video = page.locator("video").first
    video.wait_for(timeout=60_000)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => { const v = document.querySelector('video'); "
                           "return v && v.readyState >= 3 && v.currentTime > 0.5; }", timeout=60_000)
    assert video.evaluate("v => v.videoWidth") > 0

    page.get_by_text("Per-frame CSV").wait_for()
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole page, for a person to look at
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "upload.png"))


def test_a_real_clip_shows_its_repetitions(page, app, videos, screenshots):
    """The count in the headline and the table, and a numbered mark per repetition on the timeline,
    within one of our by-eye count (tests/rep_counts.csv: 3 squats)."""
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / REPS_CLIP))
    headline = page.get_by_role("heading", name="confident")
    headline.wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    counted = re.match(r"Squat · (\d+) reps? · ", headline.inner_text())
    assert counted, headline.inner_text()
    reps = int(counted.group(1))
    assert abs(reps - REP_COUNTS[REPS_CLIP]) <= 1
    page.get_by_text("marked on the timeline").wait_for(timeout=30_000)

    timeline = page.locator(".js-plotly-plot").first
    timeline.wait_for(timeout=60_000)
    # The marks are the timeline's one trace with text: one numbered mark per repetition.
    numbers = timeline.locator(".scatterlayer .trace .textpoint")
    assert numbers.count() == reps
    assert [numbers.nth(i).text_content() for i in range(reps)] == [str(i + 1) for i in range(reps)]
    assert timeline.get_by_text("repetition ends").count() == 1  # in the legend

    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "upload-reps.png"))
    assert "Traceback" not in app.log


def test_a_changing_workout_gets_segments_and_the_video_jumps_to_them(page, app, videos, tmp_path, screenshots):
    workout = concatenate([videos / SQUAT_CLIP, videos / "push_up/krishnawin__FitCenter__push-up_1.mp4"],
                          tmp_path / "workout.mp4", gap_s=1.5)
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(workout))
    page.get_by_role("heading", name="Squat, then push up").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    push_up = page.locator("button", has_text="push up · 7.3 s")
    push_up.click()
    page.wait_for_function("() => document.querySelector('video').currentTime >= 7", timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "upload-workout.png"))


def test_a_second_upload_cancels_the_first(page, app, videos):
    open_upload_page(page, app.url)
    upload = page.locator('input[type="file"]')
    upload.set_input_files(str(videos / LONG_CLIP))
    progress = page.get_by_text("Finding the person in every frame")
    progress.wait_for(timeout=60_000)
    assert "frames/s" in progress.inner_text() and "left" in page.get_by_text("frames/s").inner_text()
    upload.set_input_files(str(videos / "deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4"))
    page.get_by_role("heading", name="Deadlift · ").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    assert not list((app.home / "cache").rglob("*.partial*"))
    assert "Traceback" not in app.log


def test_leaving_the_page_while_it_works(page, app, videos):
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / LONG_CLIP))
    page.get_by_text("Finding the person in every frame").wait_for(timeout=60_000)
    page.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=30_000)
    page.get_by_role("link", name="Upload").click()
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / SQUAT_CLIP))
    page.get_by_role("heading", name="Squat · ").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    assert "Traceback" not in app.log


def test_a_file_that_is_not_a_video(page, app, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video")
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(fake))
    page.get_by_text("not a video file that can be read").wait_for(timeout=60_000)


def test_downloads(page, app, videos, tmp_path):
    open_upload_page(page, app.url)
    page.locator('input[type="file"]').set_input_files(str(videos / SQUAT_CLIP))
    page.get_by_role("heading", name="Squat · ").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
    saved = {}
    for button in ("Per-frame CSV", "JSON summary", "Annotated video (MP4)"):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=button).click()
        saved[button] = tmp_path / download.value.suggested_filename
        download.value.save_as(saved[button])
    assert saved["Per-frame CSV"].read_text().startswith("frame,time_s,person,label,confidence,raw_label,rep,p_")
    assert '"label": "squat"' in saved["JSON summary"].read_text()
    assert saved["Annotated video (MP4)"].read_bytes()[4:8] == b"ftyp"


def test_sessions_at_once_each_get_their_own_result(browser, app, videos, tmp_path):
    """Three people upload at the same moment to a server analysing two clips at once: the third
    waits, told where it stands; each page shows its own clip's exercise and summary, never
    another's (the load test, benchmarks/load.py, does this at scale)."""
    # Clips no other test of this file uploads (a cached result would need no worker); the shortest last.
    clips = {"Squat": "squat/calimiro-ai__WorkoutTracker__squat_13.mp4",
             "Deadlift": "deadlift/krishnawin__FitCenter__deadlift_1.mp4",
             "Push up": "push_up/krishnawin__FitCenter__push-up_10.mp4"}
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in clips]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            open_upload_page(page, app.url)
        for page, clip in zip(pages, clips.values()):
            page.locator('input[type="file"]').set_input_files(str(videos / clip))
        # The third waits for the squat's or the deadlift's worker.
        pages[2].get_by_text(re.compile(r"Waiting for a free worker: (yours is next|\d+ clips? ahead of yours)")
                             ).wait_for(timeout=60_000)
        for page, (exercise, clip) in zip(pages, clips.items()):
            page.get_by_role("heading", name=f"{exercise} · ").wait_for(timeout=UPLOAD_RESULT_TIMEOUT_MS)
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name="JSON summary").click()
            summary = json.loads(download.value.path().read_text())
            assert summary["video"] == Path(clip).name and summary["label"] == exercise.lower().replace(" ", "_")
    finally:
        for context in contexts:
            context.close()
    assert "Traceback" not in app.log
