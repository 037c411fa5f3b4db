"""Datasets: scanning class folders, parallel extraction with a content-hash cache, and CSV input."""

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.support.media import write_video
from tests.support.poses import original_layout_csv, random_pose
from wpa.errors import DatasetError
from wpa.poses.cache import PoseCache
from wpa.poses.clip import Clip
from wpa.poses.sequence import LANDMARK_NAMES, PoseOptions
from wpa.poses.table import ORIGINAL_COLUMNS, read_landmarks_csv, write_landmarks_table
from wpa.recognition.dataset import extract_dataset
from wpa.recognition.features import compute_features
from wpa.recognition.folders import is_clip_list, scan_clip_list, scan_dataset, with_groups
from wpa.recognition.manifest import read_cached_dataset, write_manifest
from wpa.recognition.sources import load_clips


def test_scan_lists_clips_by_class_and_warns(tmp_path):
    for label, names in {"squat": ["a.mp4", "b.MOV"], "plank": ["c.gif"], "lunge": []}.items():
        (tmp_path / label).mkdir()
        for name in names:
            (tmp_path / label / name).write_bytes(b"x")
    (tmp_path / "squat" / "notes.txt").write_text("hi")
    scan = scan_dataset(tmp_path)
    assert scan.labels == ("plank", "squat")
    assert scan.clips_per_label == {"plank": 1, "squat": 2}
    warnings = "\n".join(scan.warnings)
    assert "'plank' has only one clip" in warnings
    assert "'lunge' has no video files" in warnings
    assert "notes.txt" in warnings


def test_scan_refuses_an_empty_or_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        scan_dataset(tmp_path / "missing")
    (tmp_path / "squat").mkdir()
    with pytest.raises(DatasetError, match="no video clips"):
        scan_dataset(tmp_path)


def test_extraction_runs_in_parallel_caches_and_reports_bad_clips(small_dataset, tmp_path):
    broken = tmp_path / "data"
    broken.mkdir()
    for class_dir in small_dataset.iterdir():
        (broken / class_dir.name).symlink_to(class_dir)
    (broken / "junk").mkdir()
    (broken / "junk" / "text.mp4").write_text("not a video")
    clips = scan_dataset(broken).clips
    events = []
    first = extract_dataset(clips, tmp_path / "cache", workers=2, progress=events.append)
    assert len(first.clips) == 8 and first.reused == 0
    assert [clip.clip_id for clip, _ in first.failures] == ["junk/text.mp4"]
    assert "not a video" in first.failures[0][1]
    assert [e.done for e in events] == list(range(1, 10)) and events[-1].total == 9
    assert events[-1].frames == sum(len(c.pose) for c in first.clips)
    assert all(c.pose.present.mean() > 0.5 for c in first.clips)

    second = extract_dataset(clips, tmp_path / "cache", workers=2)
    assert second.reused == 8 and len(second.clips) == 8
    for a, b in zip(first.clips, second.clips):
        np.testing.assert_array_equal(a.pose.landmarks, b.pose.landmarks)


def test_the_app_extracts_in_worker_processes_at_a_lower_priority(tmp_path, monkeypatch):
    """The Train page's engine, on the server's worker pool, never extracts in the server process,
    even for one clip, and its workers run below the server's priority (live streams come first)."""
    import subprocess

    from wpa.poses.extraction import LocalEngine, engine_for
    from wpa.workers.pool import WorkerPool

    started = []
    real_popen = subprocess.Popen

    def watched_popen(command, *args, **kwargs):
        started.append(command)
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", watched_popen)
    video = write_video(tmp_path / "clip.mp4", frames=5)
    (tmp_path / "data" / "squat").mkdir(parents=True)
    (tmp_path / "data" / "squat" / "clip.mp4").symlink_to(video)
    pool = WorkerPool(niceness=7)
    engine = engine_for(workers=1, pool=pool)
    assert isinstance(engine, LocalEngine)
    try:
        extraction = extract_dataset(scan_dataset(tmp_path / "data").clips, tmp_path / "cache", engine=engine)
        assert len(extraction.clips) == 1 and len(extraction.clips[0].pose) == 5
        assert started == [[*started[0][:3], "--niceness", "7"]] and started[0][1:3] == ["-m", "wpa.worker"]
        # Everything cached: nothing to extract, no worker started.
        again = extract_dataset(scan_dataset(tmp_path / "data").clips, tmp_path / "cache", engine=engine)
        assert again.reused == 1 and len(started) == 1
    finally:
        pool.close()


def test_a_damaged_cache_entry_is_extracted_again(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=5)
    (tmp_path / "data" / "squat").mkdir(parents=True)
    (tmp_path / "data" / "squat" / "clip.mp4").symlink_to(video)
    (tmp_path / "data" / "plank").mkdir()
    (tmp_path / "data" / "plank" / "clip.mp4").symlink_to(video)
    clips = scan_dataset(tmp_path / "data").clips
    extract_dataset(clips, tmp_path / "cache", workers=1)
    cache = PoseCache(tmp_path / "cache", PoseOptions())
    entry = tmp_path / "cache" / f"{cache.key(video)}.npz"
    entry.write_bytes(entry.read_bytes()[:50])
    assert cache.load(cache.key(video)) is None
    again = extract_dataset(clips, tmp_path / "cache", workers=1)
    assert again.reused == 0 and len(again.clips) == 2 and len(again.clips[0].pose) == 5


def test_a_cache_folder_can_stand_in_for_the_videos(small_dataset, small_clips, small_cache, tmp_path):
    shutil.copytree(small_cache, tmp_path / "poses")
    scan = scan_dataset(small_dataset)
    extraction = extract_dataset(scan.clips, tmp_path / "poses")
    assert extraction.reused == len(small_clips)
    write_manifest(tmp_path, scan, extraction)
    restored = read_cached_dataset(tmp_path)
    assert [c.clip_id for c in restored] == [c.clip_id for c in small_clips]
    assert load_clips(tmp_path).clips[0].clip_id == small_clips[0].clip_id


def test_original_csv_is_read_as_interleaved_values(tmp_path):
    squat, plank = random_pose(frames=10, seed=1), random_pose(frames=7, seed=2)
    path = original_layout_csv(tmp_path / "landmarks.csv", [("squat", squat), ("plank", plank)])
    table = pd.read_csv(path)
    # The column named x1 holds landmark 0's y: the layout this reader documents.
    assert table["x1"][0] == pytest.approx(float(squat.landmarks[0, 0, 1]), abs=1e-6)
    clips, notes = read_landmarks_csv(path)
    assert [(c.label, len(c.pose)) for c in clips] == [("squat", 10), ("plank", 7)]
    np.testing.assert_allclose(clips[0].pose.landmarks[..., :3], squat.landmarks[..., :3], atol=1e-6)
    assert any("consecutive rows" in note for note in notes)


def test_wpa_table_round_trip(tmp_path):
    clips = [Clip("squat/a.mp4", "squat", random_pose(frames=12, seed=3, missing=(4,))),
             Clip("plank/b.mp4", "plank", random_pose(frames=9, seed=4, frame_size=(360, 640)))]
    path = write_landmarks_table(clips, tmp_path / "table.csv")
    header = pd.read_csv(path, nrows=0).columns
    assert list(header[:6]) == ["clip_id", "label", "frame_index", "timestamp_s", "frame_width", "frame_height"]
    assert header[6] == f"{LANDMARK_NAMES[0]}_x"
    back, _ = read_landmarks_csv(path)
    assert [c.clip_id for c in back] == ["squat/a.mp4", "plank/b.mp4"]
    assert back[1].pose.frame_size == (360, 640)
    np.testing.assert_allclose(back[0].pose.landmarks, clips[0].pose.landmarks, atol=1e-5)
    assert not back[0].pose.present[4]
    np.testing.assert_allclose(back[0].pose.timestamps_s, clips[0].pose.timestamps_s, atol=1e-6)
    np.testing.assert_allclose(back[0].pose.world_landmarks, clips[0].pose.world_landmarks, atol=1e-5)
    # Tables written without world landmarks still give every feature set's rows.
    older = pd.read_csv(path).drop(columns=[c for c in header if "_world_" in c])
    older.to_csv(tmp_path / "older.csv", index=False)
    back, _ = read_landmarks_csv(tmp_path / "older.csv")
    assert np.isnan(back[0].pose.world_landmarks).all()
    rows = compute_features(back[0].pose, "world-travel")
    assert np.isfinite(rows[back[0].pose.present]).all()


def test_csv_with_missing_columns(tmp_path):
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=3))])
    pd.read_csv(path).drop(columns=["y5", "z7"]).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="lacks coordinate columns.*y5"):
        read_landmarks_csv(path)


def test_csv_without_label(tmp_path):
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=3))])
    pd.read_csv(path).drop(columns=["label"]).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="no 'label' column"):
        read_landmarks_csv(path)


def test_csv_with_nan(tmp_path):
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=3))])
    table = pd.read_csv(path)
    table.loc[1, "z3"] = np.nan
    table.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="line\\(s\\) 3 have empty or NaN"):
        read_landmarks_csv(path)


def test_csv_with_wrong_types(tmp_path):
    path = original_layout_csv(tmp_path / "l.csv", [("squat", random_pose(frames=3))])
    table = pd.read_csv(path).astype({"x4": object})
    table.loc[2, "x4"] = "left knee"
    table.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="line 4, column 'x4' holds 'left knee'"):
        read_landmarks_csv(path)


def test_csv_with_ten_thousand_classes(tmp_path):
    pose = random_pose(frames=1)
    rows = [list(pose.landmarks[0, :, :3].reshape(-1)) + [f"class{i}"] for i in range(10_000)]
    path = tmp_path / "l.csv"
    pd.DataFrame(rows, columns=list(ORIGINAL_COLUMNS) + ["label"]).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="10000 different labels"):
        read_landmarks_csv(path)


def test_csv_that_is_not_csv(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(DatasetError):
        read_landmarks_csv(path)


def test_a_clip_list_names_clips_with_their_groups(tmp_path):
    # A list kept in data/ naming paths from the folder above it, as ../shared/data/clips.csv does.
    (tmp_path / "data" / "videos" / "squat").mkdir(parents=True)
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "data" / "videos" / "squat" / name).write_bytes(b"x")
    (tmp_path / "data" / "clips.csv").write_text(
        "label,path,group,source\n"
        "squat,data/videos/squat/a.mp4,gym1,x\n"
        "squat,data/videos/squat/b.mp4,,x\n"
        "squat,data/videos/squat/gone.mp4,gym2,x\n")
    assert is_clip_list(tmp_path / "data" / "clips.csv")
    scan = scan_clip_list(tmp_path / "data" / "clips.csv")
    assert [(clip.path.name, clip.group) for clip in scan.clips] == [("a.mp4", "gym1"), ("b.mp4", "")]
    assert any("gone.mp4" in warning for warning in scan.warnings)
    # A clip without a group is a group of its own.
    clips = [Clip(f"squat/{ref.path.name}", "squat", random_pose(), ref.path, group=ref.group) for ref in scan.clips]
    assert [clip.split_group for clip in clips] == ["gym1", "squat/b.mp4"]


def test_groups_from_a_clip_list_reach_clips_found_in_a_folder(tmp_path):
    (tmp_path / "squat").mkdir()
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "squat" / name).write_bytes(b"x")
    (tmp_path / "groups.csv").write_text("path,label,group\nsquat/a.mp4,squat,person1\n")
    clips = [Clip(f"squat/{name}", "squat", random_pose(), tmp_path / "squat" / name) for name in ("a.mp4", "b.mp4")]
    assert [clip.group for clip in with_groups(clips, tmp_path / "groups.csv")] == ["person1", ""]


def test_a_clip_list_that_cannot_be_used_says_why(tmp_path):
    (tmp_path / "table.csv").write_text("clip,exercise\nx.mp4,squat\n")
    assert not is_clip_list(tmp_path / "table.csv")
    with pytest.raises(DatasetError, match="`path` and `label` columns"):
        scan_clip_list(tmp_path / "table.csv")
    (tmp_path / "list.csv").write_text("path,label\nmissing.mp4,squat\n")
    with pytest.raises(DatasetError, match="names a video file that exists"):
        scan_clip_list(tmp_path / "list.csv")


def test_only_the_classes_asked_for_are_loaded(small_dataset, small_clips, small_cache):
    data = load_clips(small_dataset, small_cache, labels=["squat"])
    assert {clip.label for clip in data.clips} == {"squat"} and len(data.clips) == 2
    with pytest.raises(DatasetError, match="no clips of lateral_raise"):
        load_clips(small_dataset, small_cache, labels=["squat", "lateral_raise"])
