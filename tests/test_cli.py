"""The command line, run as a user runs it: `python -m wpa ...` in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SHIPPED_CHECKS = {  # one real clip per exercise, from ../shared/data
    "squat": "squat/Sarvesh521__Rep-Right__Ayush.mp4",
    "push_up": "push_up/krishnawin__FitCenter__push-up_15.mp4",
    "jumping_jack": "jumping_jack/kaiakol__computervision__jumpingjack_correct_004.mp4",
    "bench_press": "bench_press/krishnawin__FitCenter__bench_press_1.mp4",
    "biceps_curl": "biceps_curl/saipranavr__Exercise-Correction__Bicep_Curl.mp4",
}


def wpa(*args, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wpa", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def test_classify_json_contract_with_a_bad_file_among_good_ones(videos, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_text("not a video")
    clip = videos / SHIPPED_CHECKS["squat"]
    result = wpa("classify", clip, bad, clip, "--json")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["video"] for line in lines] == [str(clip), str(bad), str(clip)]
    for line in lines:
        assert {"video", "label", "confidence", "frames", "frames_with_pose", "segments", "error"} <= set(line)
    good, broken = lines[0], lines[1]
    assert good["error"] is None and good["label"] == "squat" and good["confidence"] > 0.5
    assert good["frames"] == 175 and good["frames_with_pose"] > 160
    assert good["segments"] and set(good["segments"][0]) >= {"label", "start_s", "end_s"}
    assert broken["label"] is None and "not a video file" in broken["error"]
    assert "not a video file" in result.stderr  # and progress/problems stay off stdout


def test_the_shipped_model_names_real_exercises(videos):
    clips = [videos / clip for clip in SHIPPED_CHECKS.values()]
    result = wpa("classify", *clips, "--json")
    assert result.returncode == 0, result.stderr
    labels = [json.loads(line)["label"] for line in result.stdout.splitlines()]
    assert labels == list(SHIPPED_CHECKS)


def test_classify_prints_readable_text(videos):
    clip = videos / SHIPPED_CHECKS["squat"]
    result = wpa("classify", clip)
    assert result.returncode == 0
    head, *segments = result.stdout.splitlines()
    assert head.startswith(f"{clip}: squat (") and head.endswith("frames with a person")
    assert segments and "squat" in segments[0]


def test_a_missing_model_is_a_clear_error(videos, tmp_path):
    result = wpa("classify", videos / SHIPPED_CHECKS["squat"], "--model", tmp_path)
    assert result.returncode == 1 and "No model at" in result.stderr and "Traceback" not in result.stderr


def test_extract_train_evaluate_crossval(small_dataset, small_clips, small_cache, tmp_path):
    import shutil
    cache = tmp_path / "cache"
    (cache).mkdir()
    shutil.copytree(small_cache, cache / "poses")  # reuse the session's extraction
    extracted = wpa("extract", small_dataset, "--out", cache)
    assert extracted.returncode == 0, extracted.stderr
    assert "8 clips" in extracted.stdout and "8 from cache" in extracted.stdout
    assert (cache / "manifest.json").is_file() and (cache / "landmarks.csv").is_file()

    trained = wpa("train", cache, "--out", tmp_path / "model", "--epochs", 2)
    assert trained.returncode == 0, trained.stderr
    assert "epoch   1/2" in trained.stderr and "validation (4 held-out clips)" in trained.stdout
    metadata = json.loads((tmp_path / "model" / "model.json").read_text())
    assert metadata["train_config"]["epochs"] == 2 and len(metadata["labels"]) == 4

    again = wpa("train", cache, "--out", tmp_path / "model", "--epochs", 1)
    assert again.returncode == 1 and "--force" in again.stderr

    seen = wpa("evaluate", cache, "--model", tmp_path / "model")
    assert seen.returncode == 1 and "crossval" in seen.stderr  # every clip was used in training
    forced = wpa("evaluate", cache / "landmarks.csv", "--model", tmp_path / "model", "--include-training-clips", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["clips"] == 8

    crossval = wpa("crossval", cache / "landmarks.csv", "--folds", 2, "--epochs", 1, "--json")
    assert crossval.returncode == 0, crossval.stderr
    report = json.loads(crossval.stdout)
    assert report["clips"] == 8 and 0 <= report["clip_accuracy"] <= 1 and report["folds"] == 2


def test_training_on_a_folder_without_clips_says_what_to_do(tmp_path):
    (tmp_path / "data" / "squat").mkdir(parents=True)
    result = wpa("train", tmp_path / "data", "--out", tmp_path / "m")
    assert result.returncode == 1 and "no video clips found" in result.stderr
