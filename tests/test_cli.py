"""The command line, run as a user runs it: `python -m wpa ...` in a subprocess."""

import json
import re

import numpy as np
import pytest

from tests.support.cli import wpa
from tests.support.movement import phase_of, skeleton
from tests.support.poses import original_layout_csv
from wpa.poses.clip import Clip
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence
from wpa.poses.table import write_landmarks_table

SHIPPED_CHECKS = {  # one real clip per exercise, from ../shared/data
    "squat": "squat/Sarvesh521__Rep-Right__Ayush.mp4",
    "push_up": "push_up/krishnawin__FitCenter__push-up_15.mp4",
    "jumping_jack": "jumping_jack/kaiakol__computervision__jumpingjack_correct_004.mp4",
    "bench_press": "bench_press/krishnawin__FitCenter__bench_press_1.mp4",
    "biceps_curl": "biceps_curl/saipranavr__Exercise-Correction__Bicep_Curl.mp4",
}


def test_classify_json_contract_with_a_bad_file_among_good_ones(videos, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_text("not a video")
    clip = videos / SHIPPED_CHECKS["squat"]
    result = wpa("classify", clip, bad, clip, "--json")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["video"] for line in lines] == [str(clip), str(bad), str(clip)]
    for line in lines:
        assert {"video", "label", "confidence", "frames", "frames_with_pose", "reps", "segments", "error"} <= set(line)
    good, broken = lines[0], lines[1]
    assert good["error"] is None and good["label"] == "squat" and good["confidence"] > 0.5
    assert good["frames"] == 175 and good["frames_with_pose"] > 160
    assert good["segments"] and set(good["segments"][0]) >= {"label", "start_s", "end_s", "reps", "rep_times_s"}
    # The clip's count is its segments' counts, each repetition with its start and end inside its segment.
    assert good["reps"] == sum(segment["reps"] for segment in good["segments"]) >= 1
    for segment in good["segments"]:
        assert len(segment["rep_times_s"]) == segment["reps"]
        for start, end in segment["rep_times_s"]:
            assert segment["start_s"] - 0.1 <= start < end <= segment["end_s"] + 0.1
    assert broken["label"] is None and broken["reps"] is None and "not a video file" in broken["error"]
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
    assert re.match(rf"{re.escape(str(clip))}: squat · \d+ reps? \(\d+%\), ", head), head
    assert head.endswith("frames with a person")
    assert segments and re.search(r"squat · \d+ reps? \(", segments[0]), segments


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


# Landmarks tables of synthetic skeletons whose repetitions are known (tests/test_reps.py): no real
# data, no pose extraction. `--min-confidence 1.01` makes every frame `unknown`, so each clip is one
# segment whatever the model thinks of a stick figure, and its count is the counter's on the whole clip.
EVERY_FRAME_UNKNOWN = ("--min-confidence", 1.01)


def synthetic_clip(clip_id: str, exercise: str, repetitions: int, seconds_each: float) -> Clip:
    landmarks = skeleton(phase_of([(repetitions * seconds_each, 1 / seconds_each)]), exercise)
    frames = len(landmarks)
    pose = PoseSequence(landmarks=landmarks, world_landmarks=np.full((frames, NUM_LANDMARKS, 3), np.nan, np.float32),
                        timestamps_s=np.arange(frames) / 30.0, fps=30.0, frame_size=(640, 480))
    return Clip(clip_id, {"raise": "lateral_raise"}.get(exercise, exercise), pose)


def test_classify_counts_every_clip_of_a_landmarks_table(tmp_path):
    clips = [synthetic_clip("squat/a.mp4", "squat", 8, 2.5), synthetic_clip("lateral_raise/b.mp4", "raise", 5, 3.0)]
    table = write_landmarks_table(clips, tmp_path / "landmarks.csv")
    result = wpa("classify", table, "--json", *EVERY_FRAME_UNKNOWN)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["video"], line["clip"]) for line in lines] == [(str(table), "squat/a.mp4"),
                                                                  (str(table), "lateral_raise/b.mp4")]
    for line, clip, truth, seconds_each in zip(lines, clips, (8, 5), (2.5, 3.0)):
        assert line["error"] is None and line["label"] == "unknown"
        assert line["frames"] == line["frames_with_pose"] == len(clip.pose)
        assert line["duration_s"] == pytest.approx(truth * seconds_each, abs=0.05)
        [segment] = line["segments"]
        assert line["reps"] == segment["reps"] == truth
        ends = [end for _, end in segment["rep_times_s"]]
        assert ends == pytest.approx([seconds_each * (k + 1) for k in range(truth)], abs=0.6)

    # The model's own labels: the same keys, and the segments' counts add up to the clip's.
    named = [json.loads(line) for line in wpa("classify", table, "--json").stdout.splitlines()]
    assert [line["clip"] for line in named] == ["squat/a.mp4", "lateral_raise/b.mp4"]
    for line in named:
        assert {"label", "confidence", "best_guess", "top", "segments", "reps", "warnings", "error"} <= set(line)
        assert line["reps"] == sum(segment["reps"] for segment in line["segments"])


def test_classify_reads_the_original_notebook_layout_at_30_frames_a_second(tmp_path):
    clips = [synthetic_clip("", "squat", 6, 2.0), synthetic_clip("", "raise", 4, 2.5)]
    table = original_layout_csv(tmp_path / "original.csv", [(clip.label, clip.pose) for clip in clips])
    result = wpa("-q", "classify", table, "--json", *EVERY_FRAME_UNKNOWN)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["clip"] for line in lines] == ["squat/rows-1", "lateral_raise/rows-2"]
    assert [line["reps"] for line in lines] == [6, 4]
    # No timestamps in that layout: frames are taken as 1/30 s apart, and the user is told so.
    assert [line["duration_s"] for line in lines] == pytest.approx([12.0, 10.0], abs=0.05)
    assert "1/30 s apart" in result.stderr and "1/30 s apart" in wpa("classify", "--help").stdout


def test_classify_takes_videos_and_tables_together_with_errors_per_file(tmp_path):
    table = write_landmarks_table([synthetic_clip("squat/a.mp4", "squat", 4, 2.0)], tmp_path / "good.csv")
    broken_table = tmp_path / "broken.csv"
    broken_table.write_text("a,b\n1,2\n")
    not_a_video = tmp_path / "holiday.mp4"
    not_a_video.write_text("not a video")
    result = wpa("classify", not_a_video, broken_table, table, tmp_path / "missing.csv", "--json",
                 *EVERY_FRAME_UNKNOWN)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["video"] for line in lines] == [str(not_a_video), str(broken_table), str(table),
                                                 str(tmp_path / "missing.csv")]
    video_error, table_error, good, missing = lines
    assert "not a video file" in video_error["error"] and "clip" not in video_error
    for error in (table_error, missing):
        assert error["clip"] is None and error["label"] is None and error["reps"] is None and error["segments"] == []
    assert "no 'label' column" in table_error["error"] and "missing.csv" in missing["error"]
    assert good["error"] is None and good["clip"] == "squat/a.mp4" and good["reps"] == 4
    assert "no 'label' column" in result.stderr and "Traceback" not in result.stderr

    text = wpa("classify", table, broken_table, *EVERY_FRAME_UNKNOWN)
    head, segment, error = text.stdout.splitlines()
    assert head.startswith(f"{table} [squat/a.mp4]: unknown · 4 reps (") and head.endswith("frames with a person")
    assert segment.endswith("unknown · 4 reps (0%)") and "0.00-   8.00 s" in segment
    assert error.startswith(f"{broken_table}: error: ")
