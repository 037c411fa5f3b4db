"""Bounded folders: least recently used entries go first, leased and hidden ones never; limits
come from the environment; uploads are refused, saying what to do, when nothing can make room."""

import gc
import os
import threading
import zipfile
from pathlib import Path

import pytest

from wpa.errors import SettingsError, WpaError
from wpa.media.archive import unpack_dataset_zip
from wpa.serving import disk
from wpa.serving.disk import BoundedFolder, DiskFullError
from wpa.settings import GB, DiskLimits, read_settings


def entry(folder: Path, name: str, size: int, used_at: float) -> Path:
    """A file of `size` bytes last used at `used_at` (seconds since the epoch)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (used_at, used_at))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_eviction_keeps_the_folder_under_its_limit_in_order_of_last_use(tmp_path):
    for index, name in enumerate("abcde"):
        entry(tmp_path, name, 100, 1_000 + index)  # created a, b, c, d, e
    folder = BoundedFolder(tmp_path, 300, "Test")
    folder.touch(tmp_path / "a")  # the oldest made becomes the last used
    assert folder.evict() == [tmp_path.resolve() / "b", tmp_path.resolve() / "c"]
    assert names(tmp_path) == ["a", "d", "e"]
    assert folder.usage().used_bytes == 300
    assert folder.evict(reserve_bytes=150) == [tmp_path.resolve() / "d", tmp_path.resolve() / "e"]
    assert names(tmp_path) == ["a"]


def test_a_pose_cache_hit_counts_as_a_use(tmp_path):
    from tests.support.poses import random_pose
    from wpa.poses.sequence import PoseOptions
    from wpa.poses.cache import PoseCache

    cache = PoseCache(tmp_path, PoseOptions())
    for key in ("first", "second"):
        cache.save(key, random_pose(frames=5, seed=1))
        os.utime(tmp_path / f"{key}.npz", (1_000, 1_000 if key == "first" else 2_000))
    assert cache.load("first") is not None
    size = (tmp_path / "first.npz").stat().st_size
    assert BoundedFolder(tmp_path, size, "Poses").evict() == [tmp_path.resolve() / "second.npz"]


def test_an_entry_in_use_is_never_removed_and_goes_once_released(tmp_path):
    old = entry(tmp_path, "old", 100, 1_000)
    entry(tmp_path, "new", 100, 2_000)
    folder = BoundedFolder(tmp_path, 0, "Test")
    lease = folder.use(old)
    os.utime(old, (1_000, 1_000))  # still the least recently used
    assert BoundedFolder(tmp_path, 0, "Another view").evict() == [tmp_path.resolve() / "new"]
    assert names(tmp_path) == ["old"]
    usage = folder.usage()
    assert (usage.used_bytes, usage.entries, usage.in_use, usage.over_limit) == (100, 1, 1, True)
    lease.release()
    lease.release()  # a second release changes nothing
    assert folder.evict() == [tmp_path.resolve() / "old"] and names(tmp_path) == []


def test_leases_are_counted_and_work_as_a_context_manager(tmp_path):
    path = entry(tmp_path, "clip.mp4", 10, 1_000)
    folder = BoundedFolder(tmp_path, 0, "Test")
    with folder.use(path), folder.use(path):
        assert folder.in_use(path)
        with folder.use(path):
            pass
        assert folder.evict() == [] and path.exists()
    assert not folder.in_use(path)
    assert folder.evict() == [tmp_path.resolve() / "clip.mp4"]


def test_a_lease_dropped_without_release_frees_the_entry(tmp_path):
    path = entry(tmp_path, "shown", 100, 1_000)
    folder = BoundedFolder(tmp_path, 0, "Test")
    session_state = {"lease": folder.use(path)}
    assert folder.evict() == []
    del session_state
    gc.collect()
    assert folder.evict() == [tmp_path.resolve() / "shown"]


def test_hidden_and_partial_files_count_but_are_never_removed(tmp_path):
    entry(tmp_path, ".clip.1234.partial.npz", 500, 1)  # being written (wpa.files.written_atomically)
    entry(tmp_path, ".model.x1.staging/weights.pt", 500, 1)  # a staging folder
    entry(tmp_path, "clip.npz", 100, 2)
    folder = BoundedFolder(tmp_path, 300, "Test")
    assert folder.usage().used_bytes == 1_100 and folder.usage().entries == 1
    assert folder.evict() == [tmp_path.resolve() / "clip.npz"]
    assert names(tmp_path) == [".clip.1234.partial.npz", ".model.x1.staging"]
    with pytest.raises(ValueError, match="hidden"):
        folder.use(tmp_path / ".clip.1234.partial.npz")


def test_folders_are_entries_as_a_whole(tmp_path):
    entry(tmp_path, "upload-old/data/squat/a.mp4", 200, 1_000)
    entry(tmp_path, "upload-old/data/plank/b.mp4", 200, 1_000)
    os.utime(tmp_path / "upload-old", (1_000, 1_000))
    entry(tmp_path, "upload-new/squat/c.mp4", 300, 1_000)
    os.utime(tmp_path / "upload-new", (2_000, 2_000))
    folder = BoundedFolder(tmp_path, 500, "Uploads")
    usage = folder.usage()
    assert (usage.used_bytes, usage.entries) == (700, 2)
    # A lease on a file deep inside holds its whole top-level folder.
    with folder.use(tmp_path / "upload-old" / "data"):
        assert folder.evict() == [tmp_path.resolve() / "upload-new"]
    assert names(tmp_path) == ["upload-old"]  # nothing left aside while deleting
    assert folder.evict(reserve_bytes=200) == [tmp_path.resolve() / "upload-old"] and names(tmp_path) == []


def test_paths_outside_the_folder_are_refused(tmp_path):
    folder = BoundedFolder(tmp_path / "cache", 10, "Test")
    with pytest.raises(ValueError, match="not inside"):
        folder.use(tmp_path / "elsewhere.mp4")
    with pytest.raises(ValueError, match="not inside"):
        folder.use(tmp_path / "cache")
    assert not folder.holds(tmp_path / "cache" / ".." / "x") and folder.holds(tmp_path / "cache" / "a" / "b")


def test_limits_come_from_the_environment():
    assert read_settings({}).limits == DiskLimits(2 * GB, 5 * GB, 10 * GB)
    limits = read_settings({"WPA_POSE_CACHE_GB": "0.5", "WPA_UPLOADS_GB": " 20 ", "WPA_ANNOTATED_CACHE_GB": ""}).limits
    assert (limits.annotated_videos, limits.poses, limits.uploads) == (2 * GB, GB // 2, 20 * GB)


@pytest.mark.parametrize("value", ["lots", "-1", "nan", "inf", "5GB"])
def test_a_bad_limit_names_its_variable_and_what_is_expected(value):
    with pytest.raises(SettingsError, match=r"WPA_UPLOADS_GB is '.*', but it must be a number of gigabytes"):
        read_settings({"WPA_UPLOADS_GB": value})
    assert issubclass(SettingsError, WpaError)  # shown as a message, not a traceback


def test_two_threads_evicting_at_once_while_entries_come_and_go(tmp_path):
    for index in range(200):
        entry(tmp_path, f"clip-{index:03}", 1_000, 1_000 + index)
    for index in range(20):
        entry(tmp_path, f"dir-{index:02}/poses/a.npz", 1_000, 1_000)
    folder = BoundedFolder(tmp_path, 50_000, "Test")
    errors, removed = [], []

    def evict():
        try:
            for _ in range(5):
                removed.extend(BoundedFolder(tmp_path, 50_000, "Test").evict())
        except Exception as error:  # noqa: BLE001 - any failure is what the test looks for
            errors.append(error)

    def churn():  # another process writing and deleting entries meanwhile
        try:
            for index in range(200):
                entry(tmp_path, f"new-{index:03}", 100, 5_000)
                (tmp_path / f"clip-{199 - index:03}").unlink(missing_ok=True)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=evict) for _ in range(2)] + [threading.Thread(target=churn)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(removed) == len(set(removed))  # no entry removed twice
    folder.evict()
    assert folder.usage().used_bytes <= 50_000
    assert not any(p.name.startswith(".wpa-evicted-") for p in tmp_path.iterdir())


def test_an_upload_is_refused_when_the_folder_is_full_of_entries_in_use(tmp_path):
    uploads = BoundedFolder(tmp_path / "uploads", 1_000, "Uploaded training data", setting="WPA_UPLOADS_GB")
    first = entry(tmp_path / "uploads", "upload-1/squat/a.mp4", 400, 1_000)
    second = entry(tmp_path / "uploads", "features.csv", 400, 2_000)
    leases = [uploads.use(first), uploads.use(second)]  # a training job, a page showing it
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("squat/b.mp4", b"y" * 300)
    with pytest.raises(DiskFullError) as refused:
        unpack_dataset_zip(archive, tmp_path / "uploads", make_room=uploads.ensure_room)
    message = str(refused.value)
    assert message.startswith("Uploaded training data is full") and "2 of 2 entries in use" in message
    assert "Wait for a training job to end" in message and "raise WPA_UPLOADS_GB" in message
    assert names(tmp_path / "uploads") == ["features.csv", "upload-1"]  # nothing removed, nothing unpacked

    leases.pop().release()  # the page showing the CSV is closed: its room can be taken
    root = unpack_dataset_zip(archive, tmp_path / "uploads", make_room=uploads.ensure_room)
    assert (root / "squat" / "b.mp4").is_file() and not second.exists() and first.exists()

    with pytest.raises(DiskFullError, match="may hold at most .* Use smaller data, or raise WPA_UPLOADS_GB"):
        uploads.ensure_room(5_000)


def test_the_apps_folders_use_the_paths_and_the_limits():
    from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR, UPLOADS_DIR

    folders = disk.all_folders()
    assert [f.directory for f in folders] == [ANNOTATED_CACHE_DIR, POSE_CACHE_DIR, UPLOADS_DIR]
    assert [f.limit_bytes for f in folders] == [2 * GB, 5 * GB, 10 * GB]
    assert [f.setting for f in folders] == ["WPA_ANNOTATED_CACHE_GB", "WPA_POSE_CACHE_GB", "WPA_UPLOADS_GB"]
    assert disk.annotated_videos().usage().describe().startswith("Annotated videos: ")
