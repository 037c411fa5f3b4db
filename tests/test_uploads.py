"""What the pages upload, kept by wpa.serving.uploads: training data unpacked or written into the
bounded uploads folder and leased while shown; a clip to analyse kept in a temporary folder only
while its analysis waits and runs, its ticket cancelled however the wait ends."""

import io
import zipfile
from pathlib import Path

import pytest

from wpa.errors import WpaError
from wpa.recognition.inference import InferenceConfig
from wpa.serving.analysis_queue import DONE, FAILED, RUNNING, WAITING, TicketStatus
from wpa.serving.disk import BoundedFolder, DiskFullError
from wpa.serving.uploads import TrainingUploads, analysed_upload


def class_folders_zip() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("mine/squat/a.mp4", b"not really a video")
        archive.writestr("mine/plank/b.mp4", b"nor this")
    return data.getvalue()


def test_a_zip_is_unpacked_into_the_uploads_folder_and_not_kept(tmp_path):
    uploads = TrainingUploads(BoundedFolder(tmp_path / "uploads", 10_000, "Uploads"))
    folder = uploads.unpack_zip("id1", class_folders_zip())
    assert sorted(p.name for p in folder.iterdir()) == ["plank", "squat"] and folder.is_relative_to(tmp_path / "uploads")
    assert not list((tmp_path / "uploads").glob("*.zip"))
    lease = uploads.hold(folder)
    assert uploads.hold(folder, lease) is lease and lease.held
    other = uploads.hold(tmp_path / "uploads" / "elsewhere", lease)
    assert not lease.held and other.held


def test_a_csv_is_written_once_and_leased_while_shown(tmp_path):
    uploads = TrainingUploads(BoundedFolder(tmp_path / "uploads", 10_000, "Uploads"))
    lease = uploads.store_csv("id2", b"label\nsquat\n")
    written = lease.path.stat().st_mtime_ns
    assert uploads.store_csv("id2", b"label\nsquat\n", held=lease) is lease and lease.path.stat().st_mtime_ns == written
    assert lease.path.read_bytes() == b"label\nsquat\n" and uploads.folder.in_use(lease.path)
    with pytest.raises(DiskFullError, match="may hold at most"):
        TrainingUploads(BoundedFolder(tmp_path / "small", 4, "Uploads")).store_csv("id3", b"more than four bytes")


class FakeTicket:
    def __init__(self, states: list[str]):
        self.states, self.cancelled = states, False

    def status(self) -> TicketStatus:
        state = self.states[0]
        return TicketStatus(state=state, ahead=0, wait_s=None, progress=None,
                            error="the worker crashed" if state == FAILED else None)

    def wait(self, timeout: float | None = None) -> TicketStatus:
        if len(self.states) > 1:
            self.states.pop(0)
        return self.status()

    def cancel(self) -> None:
        self.cancelled = True


class FakeQueue:
    def __init__(self, states: list[str]):
        self.ticket, self.videos = FakeTicket(states), []

    def submit(self, video: Path, model, model_dir, inference, references=None):
        self.videos.append((video, video.read_bytes()))
        return self.ticket


def upload(queue: FakeQueue, on_status):
    return analysed_upload(b"clip bytes", "../../My Clip.MOV", queue, None, Path("m"), InferenceConfig(), on_status)


def test_a_clip_waits_in_a_temporary_folder_that_goes_when_its_analysis_is_done():
    queue, heard = FakeQueue([WAITING, RUNNING, DONE]), []
    with upload(queue, heard.append) as ticket:
        video, data = queue.videos[0]
        assert ticket is queue.ticket and video.name == "upload.mov" and data == b"clip bytes" and video.is_file()
    assert [status.state for status in heard] == [WAITING, RUNNING]
    assert not video.parent.exists() and queue.ticket.cancelled


def test_a_page_that_stops_waiting_cancels_the_clip_and_a_failure_is_a_message():
    class Rerun(Exception):
        pass

    def rerun(status):
        raise Rerun

    queue = FakeQueue([WAITING, RUNNING, DONE])
    with pytest.raises(Rerun):
        with upload(queue, rerun):
            pass
    assert queue.ticket.cancelled and not queue.videos[0][0].parent.exists()
    queue = FakeQueue([RUNNING, FAILED])
    with pytest.raises(WpaError, match="the worker crashed"):
        with upload(queue, lambda status: None):
            pass
    assert queue.ticket.cancelled and not queue.videos[0][0].parent.exists()
