"""Background training jobs: cancelling while poses are extracted, and failing with a message."""

from wpa.recognition.train_config import TrainConfig
from wpa.serving.jobs import JobBoard, DataSource


def test_cancel_during_extraction(small_dataset, tmp_path):
    board = JobBoard()
    job = board.start("cancel me", DataSource(small_dataset), TrainConfig(epochs=2), cache_dir=tmp_path / "fresh-cache",
                      workers=2)
    job.cancel()
    assert job.wait(timeout=120)
    snapshot = job.snapshot()
    assert snapshot.state == "cancelled" and "stopped" in snapshot.message and not snapshot.running
    assert job.result is None


def test_bad_data_fails_with_a_message(tmp_path):
    (tmp_path / "data" / "squat").mkdir(parents=True)
    (tmp_path / "data" / "squat" / "a.mp4").write_text("not a video")
    (tmp_path / "data" / "plank").mkdir()
    (tmp_path / "data" / "plank" / "b.mp4").write_text("not a video")
    job = JobBoard().start("doomed", DataSource(tmp_path / "data"), TrainConfig(epochs=1), cache_dir=tmp_path / "c")
    assert job.wait(timeout=120)
    snapshot = job.snapshot()
    assert snapshot.state == "failed" and "None of the 2 clips could be read" in snapshot.message
    assert "not a video file" in snapshot.message


def test_a_job_extracts_on_the_ray_cluster_the_server_names(small_dataset, tmp_path, monkeypatch):
    """$WPA_RAY_ADDRESS sends the Train page's extraction to a cluster; one that does not answer
    fails the job with a message saying so (the cluster itself is tested in test_ray_engine.py)."""
    import socket

    from wpa.settings import current, reread

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("WPA_RAY_ADDRESS", address)
    reread()
    board = JobBoard(ray_address=current().workers.ray_address)  # as the app makes its board
    job = board.start("on a cluster", DataSource(small_dataset), TrainConfig(epochs=1), cache_dir=tmp_path / "c")
    assert job.extraction_where == f"on the Ray cluster at {address}"
    assert job.wait(timeout=120)
    snapshot = job.snapshot()
    assert snapshot.state == "failed" and f"No Ray cluster answers at {address}" in snapshot.message


def test_a_job_on_uploaded_data_holds_it_until_the_job_ends(monkeypatch):
    """Uploaded data cannot be evicted from under a running job (wpa.serving.disk); it can once the job ends."""
    import threading

    import wpa.serving.jobs
    from tests.support.poses import original_layout_csv, random_pose
    from wpa.serving import disk
    from wpa.paths import UPLOADS_DIR

    UPLOADS_DIR.mkdir(parents=True, exist_ok=True)
    path = original_layout_csv(UPLOADS_DIR / "job-lease-test.csv", [("squat", random_pose(frames=30, seed=1)),
                                                                    ("plank", random_pose(frames=30, seed=2))])
    reading, go_on = threading.Event(), threading.Event()
    real_read = wpa.serving.jobs.read_landmarks_csv

    def read_when_told(source):
        reading.set()
        assert go_on.wait(timeout=60)
        return real_read(source)

    monkeypatch.setattr(wpa.serving.jobs, "read_landmarks_csv", read_when_told)
    job = JobBoard().start("on an upload", DataSource(path), TrainConfig(epochs=1))
    assert reading.wait(timeout=60)
    assert disk.uploads().in_use(path) and job.snapshot().running
    assert path not in disk.BoundedFolder(UPLOADS_DIR, 0, "Uploads").evict() and path.is_file()
    go_on.set()
    assert job.wait(timeout=120)
    assert not disk.uploads().in_use(path)
    assert disk.BoundedFolder(UPLOADS_DIR, 0, "Uploads").evict(reserve_bytes=0) and not path.exists()
