"""What people upload through the pages, kept on the server's disk: training data for the Train
page (in the bounded uploads folder, wpa.serving.disk) and a clip to analyse for the Upload page
(in a temporary folder for as long as its analysis waits and runs).

The pages hand over the bytes and show what comes back; room, leases, atomic writes, unpacking,
temporary folders and waiting on the analysis are here.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from wpa.errors import WpaError
from wpa.files import written_atomically
from wpa.media.archive import unpack_dataset_zip
from wpa.movement.form.feedback import Reference
from wpa.recognition.inference import InferenceConfig
from wpa.recognition.model import ExerciseModel
from wpa.serving import disk
from wpa.serving.analysis_queue import FAILED, AnalysisQueue, Ticket, TicketStatus

POLL_S = 0.25  # how often a waiting page hears where its clip stands


class TrainingUploads:
    """Training data uploaded on the Train page: unpacked zips of class folders and landmarks CSVs,
    named by the upload's id, in `folder` (default: the app's bounded uploads folder)."""

    def __init__(self, folder: disk.BoundedFolder | None = None):
        self.folder = folder or disk.uploads()

    def unpack_zip(self, upload_id: str, data: bytes | memoryview) -> Path:
        """The folder of class folders unpacked (safely: wpa.media.archive) from the zip `data`,
        after making room for it; the archive itself is not kept. DiskFullError when there is no room."""
        archive = self.folder.directory / f"{upload_id}.zip"
        self.folder.ensure_room(len(data))
        with self.folder.use(archive):  # no other session's eviction takes it while it is unpacked
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(data)
            try:
                return unpack_dataset_zip(archive, self.folder.directory, make_room=self.folder.ensure_room)
            finally:
                archive.unlink(missing_ok=True)

    def store_csv(self, upload_id: str, data: bytes | memoryview, held: disk.Lease | None = None) -> disk.Lease:
        """A lease on the landmarks CSV `data`, written (atomically) unless an earlier run of the page
        wrote it; `held` is the lease the page holds now (kept if it is on the same file)."""
        path = self.folder.directory / f"{upload_id}.csv"
        lease = self.hold(path, held)  # before writing: a new file must not be evicted as it appears
        if not path.is_file():
            self.folder.ensure_room(len(data))
            with written_atomically(path) as partial:
                partial.write_bytes(data)
        return lease

    def hold(self, path: Path, held: disk.Lease | None = None) -> disk.Lease:
        """A lease on `path`, so the bounded folder keeps it while a page shows it: `held` if it
        already holds `path`, else a new one (and `held` released). A page keeps it in its
        session's state, so it ends with the session."""
        if held is not None and held.held and held.path == path:
            return held
        if held is not None:
            held.release()
        return self.folder.use(path)


@contextlib.contextmanager
def analysed_upload(data: bytes | memoryview, file_name: str, queue: AnalysisQueue, model: ExerciseModel,
                    model_dir: Path, inference: InferenceConfig,
                    on_status: Callable[[TicketStatus], None],
                    references: dict[str, Reference] | None = None) -> Iterator[Ticket]:
    """The ticket of an uploaded clip's finished analysis, for the `with` block; WpaError if it failed.

    The clip is written to a temporary folder (only the extension of `file_name` is used: a user's
    file name never becomes a path) and put in `queue`; `on_status` hears where it stands every
    `POLL_S` seconds. When the block ends, or `on_status` raises (a page rerun by a new upload, or
    left, raises there), the ticket is cancelled (no effect once the analysis has ended) and the
    folder removed, leaving nothing half-written in the caches.
    """
    folder = Path(tempfile.mkdtemp(prefix="wpa-upload-"))
    ticket = None
    try:
        video = folder / f"upload{Path(file_name).suffix.lower()}"
        video.write_bytes(data)
        ticket = queue.submit(video, model, model_dir, inference, references)
        status = ticket.status()
        while not status.finished:
            on_status(status)
            status = ticket.wait(timeout=POLL_S)
        if status.state == FAILED:
            raise WpaError(status.error)
        yield ticket
    finally:
        if ticket is not None:
            ticket.cancel()
        shutil.rmtree(folder, ignore_errors=True)
