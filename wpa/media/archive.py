"""Zip archives of training data uploaded in a browser, unpacked without trusting them.

Every member must stay inside a fresh folder (no absolute paths, no `..`, no links); the archive
may hold at most MAX_FILES files and MAX_TOTAL_BYTES unpacked, no member may claim a compression
ratio above MAX_RATIO (zip bombs), and no member may unpack to more bytes than it declares.
"""

from __future__ import annotations

import shutil
import stat
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from wpa.errors import DatasetError
from wpa.media.video import VIDEO_EXTENSIONS

MAX_FILES = 5_000
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_RATIO = 200  # video and CSV files compress far less than this
_CHUNK = 1 << 20


def unpack_dataset_zip(archive: str | Path, destination_root: str | Path,
                       make_room: Callable[[int], object] | None = None) -> Path:
    """Unpack `archive` into a new folder under `destination_root` and return the folder that holds
    the class folders (a single wrapping folder, as most zip tools add, is stepped into).

    `make_room`, if given, is called with the bytes the archive declares it unpacks to, after the
    archive passed its checks and before anything is written (wpa.serving.disk's `BoundedFolder.ensure_room`,
    which raises if there is no room).

    Raises DatasetError, leaving nothing behind, for an archive that is not a zip or breaks a rule.
    """
    Path(destination_root).mkdir(parents=True, exist_ok=True)
    target = Path(destination_root) / f"upload-{uuid.uuid4().hex[:12]}"
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir() and not _is_noise(m.filename)]
            _check(members)
            if make_room is not None:
                make_room(sum(member.file_size for member in members))
            target.mkdir(parents=True)
            for member in members:
                _unpack(bundle, member, target / _safe_relative(member.filename))
    except zipfile.BadZipFile as error:
        shutil.rmtree(target, ignore_errors=True)
        raise DatasetError(f"The upload is not a zip archive, or it is damaged ({error}).") from error
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    root = target
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir() and not any(
                p.suffix.lower() in VIDEO_EXTENSIONS for p in entries[0].iterdir() if p.is_file()):
            root = entries[0]
        else:
            return root


def _check(members: list[zipfile.ZipInfo]) -> None:
    if not members:
        raise DatasetError("The zip archive is empty. Put one folder per exercise, with its clips, in the archive.")
    if len(members) > MAX_FILES:
        raise DatasetError(f"The zip archive holds {len(members)} files; at most {MAX_FILES} are accepted.")
    total = sum(member.file_size for member in members)
    if total > MAX_TOTAL_BYTES:
        raise DatasetError(f"The zip archive would unpack to {total / 1024**3:.1f} GB; at most "
                           f"{MAX_TOTAL_BYTES / 1024**3:.0f} GB are accepted.")
    for member in members:
        _safe_relative(member.filename)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise DatasetError(f"The zip archive holds a link ({member.filename}); links are not accepted.")
        if member.file_size > _CHUNK and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise DatasetError(f"{member.filename} in the zip archive is compressed {member.file_size // max(member.compress_size, 1)}"
                               f" times: refused as a possible zip bomb.")


def _safe_relative(name: str) -> PurePosixPath:
    """The member's path, refused if it could land outside the unpacking folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (path.parts and (":" in path.parts[0])) or ".." in path.parts or not path.parts:
        raise DatasetError(f"The zip archive holds a file that would be written outside its folder "
                           f"('{name}'); such archives are refused.")
    return path


def _unpack(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with bundle.open(member) as source, open(destination, "wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > member.file_size:
                raise DatasetError(f"{member.filename} in the zip archive holds more data than it declares; refused.")
            sink.write(chunk)


def _is_noise(name: str) -> bool:
    """Files zip tools add that are not data (macOS resource forks, hidden files)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(part == "__MACOSX" or part.startswith(".") for part in parts if part not in ("..",))
