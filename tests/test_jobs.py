"""Background training jobs: cancelling while poses are extracted, and failing with a message."""

from wpa.jobs import JobBoard, DataSource
from wpa.train import TrainConfig


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

    import wpa.jobs

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(wpa.jobs, "RAY_ADDRESS", address)
    job = JobBoard().start("on a cluster", DataSource(small_dataset), TrainConfig(epochs=1), cache_dir=tmp_path / "c")
    assert job.extraction_where == f"on the Ray cluster at {address}"
    assert job.wait(timeout=120)
    snapshot = job.snapshot()
    assert snapshot.state == "failed" and f"No Ray cluster answers at {address}" in snapshot.message
