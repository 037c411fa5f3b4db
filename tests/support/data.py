"""Where the real clips are (../shared/data, or $WPA_TEST_DATA), and the clips tests use. The clips
are never copied into the repository; tests that need them skip, saying why, where they are absent."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("WPA_TEST_DATA", REPO.parent / "shared" / "data"))
VIDEOS = SHARED_DATA / "videos"

# Small real clips of distinct exercises, a few seconds each (one is a GIF, one a portrait phone clip).
SQUAT_CLIP = "squat/Sarvesh521__Rep-Right__Ayush.mp4"
SMALL_CLIPS = {
    "squat": ["squat/Sarvesh521__Rep-Right__Ayush.mp4", "squat/NgoQuocBao1010__Exercise-Correction__squat.gif"],
    "push_up": ["push_up/krishnawin__FitCenter__push-up_15.mp4", "push_up/krishnawin__FitCenter__push-up_18.mp4"],
    "jumping_jack": ["jumping_jack/kaiakol__computervision__jumpingjack_correct_003.mp4",
                     "jumping_jack/kaiakol__computervision__jumpingjack_correct_004.mp4"],
    "deadlift": ["deadlift/4a454646__MediaPipe-PoseReader__deadlift.mp4",
                 "deadlift/4a454646__MediaPipe-PoseReader__heellift.mp4"],
}
REPS_CLIP = "squat/saipranavr__Exercise-Correction__1.mp4"  # 3 squats, by eye (tests/rep_counts.csv)
# Back squats filmed from behind, 2 squats in 4.3 s (tests/rep_counts.csv), standing at both ends, so
# a fake camera's loop is one more squat. (Not SQUAT_CLIP: it starts half-way down a squat and has a
# pause after it, so looped it is the 6 s loop that repeats, not the squat, and the count stalls.)
CAMERA_CLIP = "squat/calimiro-ai__WorkoutTracker__squat_13.mp4"

# Our by-eye counts of real clips: tests/rep_counts.csv (its notes say how each was counted).
REP_COUNTS_CSV = REPO / "tests" / "rep_counts.csv"


def rep_count_rows() -> list[dict[str, str]]:
    """The rows of tests/rep_counts.csv."""
    with REP_COUNTS_CSV.open(newline="") as file:
        return list(csv.DictReader(file))


def rep_count_clips(videos: Path) -> tuple[list[dict[str, str]], list[Path]]:
    """tests/rep_counts.csv's rows and their clips (paths in it are relative to the shared folder,
    data/videos/...; `videos` may be elsewhere); a skip if any clip is missing."""
    rows = rep_count_rows()
    clips = [videos / Path(row["path"]).relative_to("data/videos") for row in rows]
    missing = [str(clip) for clip in clips if not clip.is_file()]
    if missing:
        pytest.skip(f"clips of {REP_COUNTS_CSV.name} missing from the shared data: {', '.join(missing)}")
    return rows, clips


# The by-eye counts by clip (path relative to the videos folder: reps).
REP_COUNTS = {Path(row["path"]).relative_to("data/videos").as_posix(): int(row["reps"]) for row in rep_count_rows()}


# Clips longer than 20 s of three exercises, counted by eye, that the Live count is checked on
# (tests/browser/test_live_count_browser.py): (path in the videos folder, exercise).
LIVE_COUNT_CLIPS = [
    ("pull_up/canset98__Exercise_Recognition_MediaPipe__The_Pull-Up.mp4", "pull_up"),
    ("squat/hasnain1307__Fitness-Factor-Backend__legs.mp4", "squat"),
    ("biceps_curl/NgoQuocBao1010__Exercise-Correction__bicep_curl.gif", "biceps_curl"),
    ("pull_up/calimiro-ai__WorkoutTracker__videoplayback__5.mp4", "pull_up"),
    ("pull_up/calimiro-ai__WorkoutTracker__videoplayback.mp4", "pull_up"),
]
