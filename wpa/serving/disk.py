"""Bounded disk: the folders that grow with use (annotated videos, extracted poses, uploaded
training data) are kept under a size limit by removing what was used least recently.

An entry of a folder is one of its top-level children, a file or a whole folder. Recency is the
entry's modification time, set again on every use, so the order survives a restart. What a page
shows or a job reads is leased (`BoundedFolder.use`) and never removed while leased; names that
start with "." (files being written atomically, staging folders; see wpa/files.py) are never
entries and never removed, though they count toward the folder's size.

Leases are counted in this process only. Other processes (extraction workers, a second server)
may add or remove entries at any time; eviction takes that in its stride.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from wpa.errors import WpaError
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR, UPLOADS_DIR
from wpa.settings import GB, LIMIT_VARIABLES, DiskLimits, current

# Where eviction moves a folder before deleting it, so the folder stops being an entry at once
# (a lease taken meanwhile cannot land on half a folder). Only eviction makes such names, so
# these are the one kind of hidden name it may remove, e.g. after a process died mid-delete.
_TRASH_PREFIX = ".wpa-evicted-"


class DiskFullError(WpaError):
    """There is no room for something new: everything that could be removed was, and what is left is in use."""


@dataclass(frozen=True)
class FolderUsage:
    """How full a bounded folder is, at one moment."""

    what: str
    directory: Path
    used_bytes: int  # hidden files (being written) included
    limit_bytes: int
    entries: int
    in_use: int  # entries leased by a page or a job of this process
    setting: str = ""  # the environment variable that sets the limit

    @property
    def over_limit(self) -> bool:
        return self.used_bytes > self.limit_bytes

    def describe(self) -> str:
        """One line for a person, e.g. 'Annotated videos: 310 MB of 2 GB · 41 entries, 1 in use'."""
        text = f"{self.what}: {size_text(self.used_bytes)} of {size_text(self.limit_bytes)} · {self.entries} " \
               f"{'entry' if self.entries == 1 else 'entries'}"
        return text + (f", {self.in_use} in use" if self.in_use else "")


def size_text(size: int) -> str:
    """A size as people read it: kB below a MB, MB below a tenth of a GB, else GB with one decimal at most."""
    if size < 1024**2:
        return f"{size / 1024:.0f} kB"
    if size < GB / 10:
        return f"{size / 1024**2:.0f} MB"
    return f"{size / GB:.1f}".removesuffix(".0") + " GB"


class Lease:
    """A mark that an entry is in use: eviction leaves it alone until the lease is released.

    Released by `release()`, at the end of a `with` block, or when the lease is garbage-collected,
    so a lease kept in a Streamlit session's state ends with the session.
    """

    def __init__(self, entry: Path, path: Path):
        self.entry = entry  # the leased entry (resolved folder / top-level name)
        self.path = path  # what was asked for: the entry or something inside it
        _acquire(entry)
        # The callback holds the entry, never the lease, or the lease could not be collected.
        self._finalizer = weakref.finalize(self, _release, entry)

    @property
    def held(self) -> bool:
        return self._finalizer.alive

    def release(self) -> None:
        """End the lease; calling it again does nothing."""
        self._finalizer()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"Lease({str(self.entry)!r}, held={self.held})"


# Process-wide: every BoundedFolder over one directory sees the same leases and the same lock.
_REGISTRY_LOCK = threading.Lock()
_LEASES: dict[Path, int] = {}
_FOLDER_LOCKS: dict[Path, threading.RLock] = {}


def _acquire(entry: Path) -> None:
    with _REGISTRY_LOCK:
        _LEASES[entry] = _LEASES.get(entry, 0) + 1


def _release(entry: Path) -> None:
    with _REGISTRY_LOCK:
        count = _LEASES.get(entry, 0) - 1
        if count > 0:
            _LEASES[entry] = count
        else:
            _LEASES.pop(entry, None)


def _folder_lock(directory: Path) -> threading.RLock:
    with _REGISTRY_LOCK:
        return _FOLDER_LOCKS.setdefault(directory, threading.RLock())


def mark_used(path: str | Path) -> None:
    """Set `path`'s modification time to now: it is then the most recently used. A file that has
    vanished or cannot be changed (a read-only cache) is left as it is: recency is a hint."""
    try:
        os.utime(path)
    except OSError:
        pass


@dataclass(frozen=True)
class _Entry:
    path: Path
    size: int
    last_used: float


class BoundedFolder:
    """A folder kept at or under `limit_bytes` by removing its least recently used entries."""

    def __init__(self, directory: str | Path, limit_bytes: int, what: str, *, setting: str = ""):
        self.directory = Path(directory)
        self.limit_bytes = int(limit_bytes)
        self.what = what  # how a person calls it: "Annotated videos"
        self.setting = setting  # the environment variable that sets the limit, for messages

    @property
    def _root(self) -> Path:
        return self.directory.resolve()

    def entry_of(self, path: str | Path) -> Path:
        """The entry (top-level child, under the resolved folder) that holds `path`.

        Raises ValueError for a path outside the folder, the folder itself, or a hidden name."""
        root = self._root
        path = Path(path)
        # Lexically first, so a link inside the folder is the entry it is, not where it points.
        for candidate in (Path(os.path.abspath(path)), path.resolve()):
            for base in (root, Path(os.path.abspath(self.directory))):
                try:
                    parts = candidate.relative_to(base).parts
                except ValueError:
                    continue
                if not parts:
                    break
                if parts[0].startswith("."):
                    raise ValueError(f"{path} is hidden (being written or staged), not an entry of {self.directory}")
                return root / parts[0]
        raise ValueError(f"{path} is not inside {self.directory}")

    def holds(self, path: str | Path) -> bool:
        """Whether `path` lies in an entry of this folder."""
        try:
            self.entry_of(path)
        except ValueError:
            return False
        return True

    def use(self, path: str | Path) -> Lease:
        """Lease the entry holding `path` and mark it as just used. The entry may not exist yet:
        leasing a name before writing it keeps it from being evicted the moment it appears."""
        entry = self.entry_of(path)
        lease = Lease(entry, Path(path))
        mark_used(entry)
        return lease

    def touch(self, path: str | Path) -> None:
        """Mark the entry holding `path` as just used."""
        mark_used(self.entry_of(path))

    def in_use(self, path: str | Path) -> bool:
        with _REGISTRY_LOCK:
            return _LEASES.get(self.entry_of(path), 0) > 0

    def evict(self, reserve_bytes: int = 0) -> list[Path]:
        """Remove least recently used entries not in use until the folder holds at most
        `limit - reserve_bytes`. Entries in use are skipped even if the folder stays over its
        limit. Returns the entries removed."""
        root = self._root
        with _folder_lock(root):
            self._clear_trash(root)
            hidden, entries = self._scan(root)
            total = hidden + sum(entry.size for entry in entries)
            budget = self.limit_bytes - reserve_bytes
            removed = []
            for entry in sorted(entries, key=lambda e: (e.last_used, e.path.name)):
                if total <= budget:
                    break
                if self._remove(entry.path):
                    removed.append(entry.path)
                    total -= entry.size
            return removed

    def ensure_room(self, incoming_bytes: int) -> list[Path]:
        """Evict to make room for `incoming_bytes` more; raise DiskFullError, saying what to do,
        if what is left (in use, or being written) still leaves no room. Returns what was removed."""
        with _folder_lock(self._root):
            removed = self.evict(reserve_bytes=incoming_bytes)
            usage = self.usage()
        if usage.used_bytes + incoming_bytes <= self.limit_bytes:
            return removed
        raise_setting = f"raise {self.setting} (now {size_text(self.limit_bytes)})" if self.setting \
            else "raise its limit"
        if incoming_bytes > self.limit_bytes:
            raise DiskFullError(f"{self.what} may hold at most {size_text(self.limit_bytes)}, and this needs "
                                f"{size_text(incoming_bytes)}. Use smaller data, or {raise_setting}.")
        raise DiskFullError(
            f"{self.what} is full: {size_text(usage.used_bytes)} of its {size_text(self.limit_bytes)} are kept, "
            f"{usage.in_use} of {usage.entries} entries in use by pages or training jobs, and nothing else can be "
            f"removed; this needs {size_text(incoming_bytes)} more. Wait for a training job to end (or close other "
            f"pages showing uploaded data) and try again, or {raise_setting}.")

    def usage(self) -> FolderUsage:
        root = self._root
        hidden, entries = self._scan(root)
        with _REGISTRY_LOCK:
            in_use = sum(_LEASES.get(entry.path, 0) > 0 for entry in entries)
        return FolderUsage(what=self.what, directory=self.directory, used_bytes=hidden + sum(e.size for e in entries),
                           limit_bytes=self.limit_bytes, entries=len(entries), in_use=in_use, setting=self.setting)

    @staticmethod
    def _scan(root: Path) -> tuple[int, list[_Entry]]:
        """Bytes under hidden names, and the entries. Anything that vanishes meanwhile is skipped."""
        hidden, entries = 0, []
        try:
            children = list(os.scandir(root))
        except FileNotFoundError:
            return 0, []
        for child in children:
            try:
                info = child.stat(follow_symlinks=False)
                size = _tree_size(child.path) if child.is_dir(follow_symlinks=False) else info.st_size
            except FileNotFoundError:
                continue
            if child.name.startswith("."):
                hidden += size
            else:
                entries.append(_Entry(root / child.name, size, info.st_mtime))
        return hidden, entries

    @staticmethod
    def _remove(entry: Path) -> bool:
        """Remove an entry not in use; False if it is in use, or could not be removed. The check
        and the unlink (or the rename aside, for a folder) are one step under the lease lock."""
        with _REGISTRY_LOCK:
            if _LEASES.get(entry, 0) > 0:
                return False
            try:
                if entry.is_dir() and not entry.is_symlink():
                    trash = entry.with_name(f"{_TRASH_PREFIX}{uuid.uuid4().hex[:12]}")
                    os.rename(entry, trash)
                else:
                    entry.unlink()
                    return True
            except FileNotFoundError:
                return True  # removed by someone else: the room is made all the same
            except OSError:
                return False
        shutil.rmtree(trash, ignore_errors=True)  # outside the lock: a big folder takes a while
        return True

    @staticmethod
    def _clear_trash(root: Path) -> None:
        try:
            for child in os.scandir(root):
                if child.name.startswith(_TRASH_PREFIX):
                    shutil.rmtree(child.path, ignore_errors=True)
        except FileNotFoundError:
            pass


def _tree_size(directory: str) -> int:
    total = 0
    for parent, folders, files in os.walk(directory):  # os.walk skips what vanishes and never follows links
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except FileNotFoundError:
                pass
    return total


def limits() -> DiskLimits:
    """This process's limits (wpa.settings)."""
    return current().limits


def annotated_videos(directory: str | Path = ANNOTATED_CACHE_DIR) -> BoundedFolder:
    """The annotated-video cache (one video per clip, model and settings)."""
    return BoundedFolder(directory, limits().annotated_videos, "Annotated videos",
                         setting=LIMIT_VARIABLES["annotated_videos"])


def pose_cache(directory: str | Path = POSE_CACHE_DIR) -> BoundedFolder:
    """The pose cache (one file per clip and pose settings; see wpa.poses.cache)."""
    return BoundedFolder(directory, limits().poses, "Pose cache", setting=LIMIT_VARIABLES["poses"])


def uploads(directory: str | Path = UPLOADS_DIR) -> BoundedFolder:
    """Training data uploaded on the Train page (unpacked zips, CSV files)."""
    return BoundedFolder(directory, limits().uploads, "Uploaded training data", setting=LIMIT_VARIABLES["uploads"])


def all_folders() -> list[BoundedFolder]:
    """The app's three bounded folders, as the Train page lists them."""
    return [annotated_videos(), pose_cache(), uploads()]
