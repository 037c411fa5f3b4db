"""Training data: a folder of class folders (`DATA/<exercise>/<clip>`) turned into pose sequences.

Clips are extracted by an engine of `wpa.poses.extraction` (processes on this machine, or tasks on a Ray
cluster), each cached on disk by the clip's content hash and the pose settings (`wpa.poses.cache`),
so a second run re-extracts nothing. Unreadable clips are skipped and reported.
A dataset can also come from a landmarks CSV (see `read_landmarks_csv`).
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wpa.media.archive import unpack_dataset_zip
from wpa.errors import Cancelled, DatasetError, VideoError
from wpa.poses.extraction import ExtractionEngine, ExtractionTask, LocalEngine
from wpa.files import write_text_atomic
from wpa.paths import POSE_CACHE_DIR
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.poses.cache import PoseCache
from wpa.media.video import VIDEO_EXTENSIONS, probe_video

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "wpa-pose-dataset"
CACHE_SUBDIR = "poses"  # where `python -m wpa extract --out CACHE` keeps its entries
# Labels the classifier itself gives (wpa.recognition.inference.UNKNOWN and NO_PERSON): no class may be called so.
RESERVED_LABELS = ("unknown", "no_person")


@dataclass(frozen=True)
class ClipRef:
    """One clip of a dataset: where it is and what exercise it shows."""

    path: Path
    label: str
    name: str = ""  # path inside its class folder (default: the file name)
    # Clips that must stay on one side of a split (one person, camera or gym); "" is the clip alone.
    group: str = ""

    @property
    def clip_id(self) -> str:
        """`<label>/<path in the class folder>`: unique within a dataset and readable in reports."""
        return f"{self.label}/{self.name or self.path.name}"


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


@dataclass(frozen=True)
class Clip:
    """A clip with its poses: the unit of training data."""

    clip_id: str
    label: str
    pose: PoseSequence
    source: Path | None = None  # the video it came from, if any
    cache_key: str | None = None
    group: str = ""  # as ClipRef.group

    @property
    def split_group(self) -> str:
        """What honest splits keep together: the clip's group, or the clip alone."""
        return self.group or self.clip_id


@dataclass(frozen=True)
class ExtractionProgress:
    """Reported after each clip is done."""

    done: int
    total: int
    clip: ClipRef
    frames: int  # frames of pose estimation run so far in this extraction (cached clips count 0)
    elapsed_s: float
    from_cache: bool
    error: str | None = None

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class Extraction:
    """The outcome of extracting a dataset: the clips read and the ones skipped, with why."""

    clips: list[Clip] = field(default_factory=list)
    failures: list[tuple[ClipRef, str]] = field(default_factory=list)
    reused: int = 0  # clips taken from the cache


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


def extract_dataset(clips: Iterable[ClipRef], cache_dir: str | Path = POSE_CACHE_DIR,
                    options: PoseOptions | None = None, workers: int | None = None,
                    progress: Callable[[ExtractionProgress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    engine: ExtractionEngine | None = None) -> Extraction:
    """Pose sequences of `clips`, from the cache where possible, else extracted by `engine`
    (default: `LocalEngine(workers)`, one process per CPU core; `wpa.poses.extraction.RayEngine` runs
    them on a Ray cluster). Clips that cannot be read are reported, not raised.

    `should_stop` is asked after each clip; when it answers True, clips not yet started are
    dropped, the ones in progress are stopped, and Cancelled is raised.
    """
    clips, options = list(clips), options or PoseOptions()
    engine = engine or LocalEngine(workers)
    cache = PoseCache(cache_dir, options)
    started, frames, outcome = time.monotonic(), 0, Extraction()
    poses: dict[ClipRef, PoseSequence] = {}

    def report(clip: ClipRef, from_cache: bool, error: str | None = None) -> None:
        if progress:
            progress(ExtractionProgress(done=len(poses) + len(outcome.failures), total=len(clips), clip=clip,
                                        frames=frames, elapsed_s=time.monotonic() - started,
                                        from_cache=from_cache, error=error))

    keys, todo = {}, {}
    for clip in clips:
        try:
            keys[clip] = cache.key(clip.path)
        except OSError as error:
            outcome.failures.append((clip, f"cannot read the file ({error.strerror or error})"))
            report(clip, from_cache=False, error=outcome.failures[-1][1])
            continue
        cached = cache.load(keys[clip])
        if cached is None:
            todo[ExtractionTask(clip.path, keys[clip])] = clip
        else:
            poses[clip] = cached
            outcome.reused += 1
            report(clip, from_cache=True)

    extractions = engine.run(list(todo), cache, options)
    try:
        for task, result in extractions:
            clip = todo[task]
            if isinstance(result, str):
                outcome.failures.append((clip, result))
                report(clip, from_cache=False, error=result)
            else:
                poses[clip] = result
                frames += len(result)
                report(clip, from_cache=False)
            if should_stop and should_stop():
                raise Cancelled(f"Pose extraction stopped after {len(poses)} of {len(clips)} clips.")
    finally:
        extractions.close()  # drops the clips not started yet

    outcome.clips = [Clip(clip.clip_id, clip.label, poses[clip], clip.path, keys[clip], clip.group)
                     for clip in clips if clip in poses]
    return outcome


def write_manifest(directory: str | Path, scan: DatasetScan, extraction: Extraction) -> Path:
    """Record which cached clips make up a dataset, so `train CACHE` can use them without the videos."""
    path = Path(directory) / MANIFEST_NAME
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "source": str(scan.root.resolve()),
        "clips": [{"clip_id": clip.clip_id, "label": clip.label, "file": str(clip.source.resolve()),
                   "cache_key": clip.cache_key, "group": clip.group, "frames": len(clip.pose),
                   "frames_with_pose": int(clip.pose.present.sum())} for clip in extraction.clips],
        "failures": [{"clip_id": clip.clip_id, "reason": reason} for clip, reason in extraction.failures],
    }
    write_text_atomic(path, json.dumps(manifest, indent=1))
    return path


def read_cached_dataset(directory: str | Path, options: PoseOptions | None = None) -> list[Clip]:
    """The clips recorded in `directory`'s manifest (written by `python -m wpa extract`).

    A clip whose cache entry is gone or damaged is extracted again from its video, if that is
    still where it was; otherwise DatasetError says which clips are lost.
    """
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        entries = manifest["clips"] if manifest.get("format") == MANIFEST_FORMAT else None
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise DatasetError(f"{directory / MANIFEST_NAME} cannot be read ({error}). Run "
                           "`python -m wpa extract` again.") from error
    if entries is None:
        raise DatasetError(f"{directory / MANIFEST_NAME} is not a wpa dataset manifest.")
    cache = PoseCache(directory / CACHE_SUBDIR, options or PoseOptions())
    clips, missing = [], []
    for entry in entries:
        source = Path(entry["file"])
        pose = cache.load(entry["cache_key"])
        if pose is None and source.is_file():
            extraction = extract_dataset([ClipRef(source, entry["label"])], cache.directory, options, workers=1)
            pose = extraction.clips[0].pose if extraction.clips else None
        if pose is None:
            missing.append(entry["clip_id"])
            continue
        clips.append(Clip(entry["clip_id"], entry["label"], pose, source, entry["cache_key"], entry.get("group", "")))
    if missing:
        raise DatasetError(f"{len(missing)} clip(s) of {directory} are neither cached nor at their recorded "
                           f"path ({', '.join(missing[:5])}...). Run `python -m wpa extract` again.")
    return clips


@dataclass(frozen=True)
class DatasetPreview:
    """What a dataset holds, shown before training: one row per class, things to know, and
    problems that stop training until they are fixed."""

    classes: list[dict[str, Any]]  # class, clips, readable clips, frames, seconds
    warnings: list[str]
    problems: list[str]

    @property
    def ready(self) -> bool:
        return not self.problems


def class_problems(labels_with_data: Iterable[str]) -> list[str]:
    """Why a set of classes (those with usable clips) cannot train a classifier; empty if it can."""
    labels = sorted(set(labels_with_data))
    problems = []
    if len(labels) < 2:
        problems.append(f"Only {len(labels)} class{'' if len(labels) == 1 else 'es'} "
                        f"{'(' + labels[0] + ') ' if labels else ''}has usable clips; a classifier needs at least two.")
    reserved = [label for label in labels if label in RESERVED_LABELS]
    if reserved:
        problems.append(f"Class names {', '.join(RESERVED_LABELS)} are reserved for predictions; "
                        f"rename the folder(s) {', '.join(reserved)}.")
    return problems


def _class_row(label: str) -> dict[str, Any]:
    """A class's row of a preview, before its clips are counted."""
    return {"class": label, "clips": 0, "readable clips": 0, "frames": 0, "seconds": 0.0}


def folder_listing(folder: Path) -> tuple:
    """Every file under `folder` with its time and size: what a preview of it depends on."""
    return tuple(sorted((str(p), p.stat().st_mtime, p.stat().st_size) for p in folder.rglob("*") if p.is_file()))


def preview_folder(scan: DatasetScan, progress: Callable[[int, int], None] | None = None) -> DatasetPreview:
    """Open every clip of `scan` (no pose estimation) to count frames and find unreadable files."""
    rows = {label: _class_row(label) for label in scan.labels}
    warnings = list(scan.warnings)
    for done, clip in enumerate(scan.clips, start=1):
        row = rows[clip.label]
        row["clips"] += 1
        try:
            info = probe_video(clip.path)
        except VideoError as error:
            warnings.append(f"{clip.clip_id} cannot be read and will be skipped: {error}")
        else:
            row["readable clips"] += 1
            row["frames"] += info.frame_count
            row["seconds"] = round(row["seconds"] + info.duration_s, 1)
        if progress:
            progress(done, len(scan.clips))
    problems = [f"Class '{label}' has no readable clip. Fix or remove its folder."
                for label, row in rows.items() if row["readable clips"] == 0]
    problems += class_problems(label for label, row in rows.items() if row["readable clips"])
    return DatasetPreview(classes=list(rows.values()), warnings=warnings, problems=problems)


def preview_clips(clips: list[Clip], notes: Iterable[str] = ()) -> DatasetPreview:
    """The same overview for clips already loaded (from a landmarks CSV)."""
    rows: dict[str, dict[str, Any]] = {}
    for clip in clips:
        row = rows.setdefault(clip.label, _class_row(clip.label))
        row["clips"] += 1
        row["readable clips"] += int(clip.pose.present.any())
        row["frames"] += len(clip.pose)
        row["seconds"] = round(row["seconds"] + (float(clip.pose.timestamps_s[-1]) if len(clip.pose) else 0.0), 1)
    warnings = list(notes) + [f"class '{label}' has only one clip: it cannot be both trained on and validated"
                              for label, row in rows.items() if row["clips"] == 1]
    return DatasetPreview(classes=sorted(rows.values(), key=lambda row: row["class"]), warnings=warnings,
                          problems=class_problems(label for label, row in rows.items() if row["readable clips"]))


@dataclass
class LoadedData:
    """Clips ready for training or evaluation, and what a person should know about them."""

    clips: list[Clip]
    notes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (clip id, why it was skipped)


def load_clips(source: str | Path, cache_dir: str | Path = POSE_CACHE_DIR, options: PoseOptions | None = None,
               workers: int | None = None, progress: Callable[[ExtractionProgress], None] | None = None,
               engine: ExtractionEngine | None = None, labels: Collection[str] | None = None) -> LoadedData:
    """Clips from any source the CLI and pages accept: a folder of class folders (extracted with
    the cache, by `engine` as in `extract_dataset`), a clip list (see `scan_clip_list`), a zip
    archive of class folders, a folder written by `python -m wpa extract` (its manifest), or a
    landmarks CSV. With `labels`, only clips of those classes (a class with none is an error)."""
    from wpa.poses.table import read_landmarks_csv  # table builds on this module's Clip

    source = Path(source)
    if not source.exists():
        raise DatasetError(f"{source}: no such file or folder. Give a folder holding one sub-folder per exercise, "
                           "a clip list or landmarks table (.csv), or a zip of class folders.")
    if source.is_file() and source.suffix.lower() == ".zip":
        # Unpacked (safely: see wpa.media.archive) into a fresh temporary folder; the poses are cached,
        # so the videos are not needed once extracted.
        with tempfile.TemporaryDirectory(prefix="wpa-zip-") as folder:
            return load_clips(unpack_dataset_zip(source, folder), cache_dir, options, workers, progress, engine, labels)
    if is_clip_list(source) or source.is_dir() and not (source / MANIFEST_NAME).is_file():
        scan = scan_clip_list(source) if is_clip_list(source) else scan_dataset(source)
        if labels is not None:
            scan = replace(scan, clips=tuple(clip for clip in scan.clips if clip.label in labels),
                           empty_classes=tuple(label for label in scan.empty_classes if label in labels))
            _check_labels_found(labels, set(scan.labels), source)
        extraction = extract_dataset(scan.clips, cache_dir, options, workers, progress, engine=engine)
        return LoadedData(clips=extraction.clips, notes=scan.warnings,
                          failures=[(clip.clip_id, reason) for clip, reason in extraction.failures])
    if source.is_file() and source.suffix.lower() == ".csv":
        clips, notes = read_landmarks_csv(source)
    elif (source / MANIFEST_NAME).is_file():
        clips, notes = read_cached_dataset(source, options), []
    else:
        raise DatasetError(f"{source.name}: give a folder of class folders, a clip list or landmarks table (.csv), "
                           "a zip of class folders, or a folder made by `python -m wpa extract`.")
    clips = [clip for clip in clips if labels is None or clip.label in labels]
    _check_labels_found(labels, {clip.label for clip in clips}, source)
    return LoadedData(clips=clips, notes=notes)


def _check_labels_found(asked: Collection[str] | None, found: set[str], source: Path) -> None:
    missing = sorted(set(asked or ()) - found)
    if missing:
        raise DatasetError(f"{source.name} has no clips of {', '.join(missing)}. Check the class names "
                           "(they are the folder names, or the label column).")
