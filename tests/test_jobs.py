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
