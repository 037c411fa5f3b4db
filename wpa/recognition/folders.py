"""Training data on disk, found without decoding anything: a folder of class folders
(`DATA/<exercise>/<clip>`) or a clip list (a CSV of `path`, `label` and optionally `group`), as a
`DatasetScan`; the datasets a server offers, and paths checked to lie inside them."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from wpa.errors import DatasetError
from wpa.media.video import VIDEO_EXTENSIONS
from wpa.poses.clip import Clip, ClipRef


@dataclass(frozen=True)
class DatasetScan:
    """What a data folder holds, found without decoding anything."""

    root: Path
    clips: tuple[ClipRef, ...]
    ignored_files: tuple[Path, ...]  # files whose extension is not a video's
    empty_classes: tuple[str, ...]  # class folders with no clip in them
    notes: tuple[str, ...] = ()  # other things found while scanning

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({clip.label for clip in self.clips}))

    @property
    def clips_per_label(self) -> dict[str, int]:
        return dict(sorted(Counter(clip.label for clip in self.clips).items()))

    @property
    def warnings(self) -> list[str]:
        """Things a person should know before training on this data."""
        notes = [f"class '{label}' has only one clip: it cannot be both trained on and validated"
                 for label, count in self.clips_per_label.items() if count == 1]
        notes += [f"class folder '{label}' has no video files" for label in self.empty_classes]
        notes += list(self.notes)
        notes += [f"ignored {path.relative_to(self.root)} (not one of {', '.join(VIDEO_EXTENSIONS)})"
                  for path in self.ignored_files]
        return notes


def find_datasets(roots: Iterable[Path], depth: int = 2) -> list[Path]:
    """Folders under `roots` (the roots included, `depth` levels down) that hold class folders of clips."""
    found = []

    def visit(folder: Path, level: int) -> None:
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        if any(_holds_videos(child) for child in children):
            found.append(folder)
        if level < depth:
            for child in children:
                visit(child, level + 1)

    for root in roots:
        if Path(root).is_dir():
            visit(Path(root), 0)
    return found


def resolve_inside(path: str | Path, roots: Iterable[Path]) -> Path:
    """`path` as a real folder inside one of `roots`; DatasetError if it is not, so a page never
    reads folders the server's owner did not offer."""
    folder = Path(path).expanduser().resolve()
    allowed = [Path(root).resolve() for root in roots]
    if not any(folder == root or folder.is_relative_to(root) for root in allowed):
        raise DatasetError(f"{path} is outside the data folders this server offers "
                           f"({', '.join(str(root) for root in allowed)}).")
    if not folder.is_dir():
        raise DatasetError(f"{path}: no such folder.")
    return folder


def _holds_videos(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def scan_dataset(root: str | Path) -> DatasetScan:
    """List the clips of `root/<exercise>/<clip>`; raise DatasetError if there is nothing to train on."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder. Give a folder holding one sub-folder per exercise.")
    clips, ignored, empty = [], [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
        videos = [p for p in files if p.suffix.lower() in VIDEO_EXTENSIONS]
        ignored += [p for p in files if p.suffix.lower() not in VIDEO_EXTENSIONS]
        clips += [ClipRef(path=p, label=class_dir.name, name=p.relative_to(class_dir).as_posix()) for p in videos]
        if not videos:
            empty.append(class_dir.name)
    if not clips:
        raise DatasetError(f"{root}: no video clips found. Put clips in one sub-folder per exercise, "
                           f"e.g. {root}/squat/clip1.mp4 ({', '.join(VIDEO_EXTENSIONS)}).")
    return DatasetScan(root=root, clips=tuple(clips), ignored_files=tuple(ignored), empty_classes=tuple(empty))


def is_clip_list(path: str | Path) -> bool:
    """Whether `path` is a clip list: a CSV whose header names `path` and `label` columns."""
    path = Path(path)
    if not (path.is_file() and path.suffix.lower() == ".csv"):
        return False
    try:
        with open(path, newline="", encoding="utf-8") as table:
            header = next(csv.reader(table), [])
    except (OSError, UnicodeDecodeError):
        return False
    return {"path", "label"} <= {name.strip() for name in header}


def scan_clip_list(path: str | Path) -> DatasetScan:
    """The clips a clip list names: a CSV with columns `path`, `label` and optionally `group`
    (clips that must stay on one side of a split; `../shared/data/clips.csv` is one).

    A relative path is looked for beside the list, then in each folder above it, so a list kept
    in a data folder can name paths from the folder above (as clips.csv does). Raises
    DatasetError for a list without those columns, or naming no readable clip.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as table:
            rows = list(csv.DictReader(table))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path.name} cannot be read as a clip list ({error}).") from error
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise DatasetError(f"{path.name}: a clip list needs a header with `path` and `label` columns "
                           "(and optionally `group`), then one row per clip.")
    bases = [path.parent.resolve(), *path.parent.resolve().parents]
    clips, missing = [], []
    for row in rows:
        named, label = Path((row["path"] or "").strip()), (row["label"] or "").strip()
        found = next((base / named for base in bases if (base / named).is_file()), None) \
            if not named.is_absolute() else (named if named.is_file() else None)
        if found is None or not label or found.suffix.lower() not in VIDEO_EXTENSIONS:
            missing.append(row["path"])
            continue
        clips.append(ClipRef(path=found, label=label, name=found.name, group=(row.get("group") or "").strip()))
    if not clips:
        raise DatasetError(f"{path.name}: none of its {len(rows)} rows names a video file that exists "
                           f"(first: {rows[0]['path']}). Paths are read relative to the list's folder "
                           "or a folder above it.")
    notes = (f"{len(missing)} row(s) of {path.name} name no video file that exists or have no label, e.g. "
             f"{missing[0]}",) if missing else ()
    return DatasetScan(root=path.parent, clips=tuple(clips), ignored_files=(), empty_classes=(), notes=notes)


def with_groups(clips: Iterable[Clip], clip_list: str | Path) -> list[Clip]:
    """`clips` with the groups a clip list gives them, matched by the video's path (clips the
    list does not name keep their own group: each is a group of its own)."""
    groups = {ref.path.resolve(): ref.group for ref in scan_clip_list(clip_list).clips}
    return [replace(clip, group=groups.get(clip.source.resolve(), clip.group) if clip.source else clip.group)
            for clip in clips]
