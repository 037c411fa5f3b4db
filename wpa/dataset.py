"""Training data: a folder of class folders (`DATA/<exercise>/<clip>`) turned into pose sequences.

Clips are extracted by an engine of `wpa.extraction` (processes on this machine, or tasks on a Ray
cluster), each cached on disk by the clip's content hash and the pose settings (`wpa.pose_cache`),
so a second run re-extracts nothing. Unreadable clips are skipped and reported.
A dataset can also come from a landmarks CSV (see `read_landmarks_csv`).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wpa.archive import unpack_dataset_zip
from wpa.errors import Cancelled, DatasetError, VideoError
from wpa.extraction import ExtractionEngine, ExtractionTask, LocalEngine
from wpa.files import write_text_atomic
from wpa.paths import POSE_CACHE_DIR
from wpa.pose import PoseOptions, PoseSequence
from wpa.pose_cache import PoseCache
from wpa.video import VIDEO_EXTENSIONS, probe_video

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "wpa-pose-dataset"
CACHE_SUBDIR = "poses"  # where `python -m wpa extract --out CACHE` keeps its entries
# Labels the classifier itself gives (wpa.inference.UNKNOWN and NO_PERSON): no class may be called so.
RESERVED_LABELS = ("unknown", "no_person")


@dataclass(frozen=True)
class ClipRef:
    """One clip of a dataset: where it is and what exercise it shows."""

    path: Path
    label: str
    name: str = ""  # path inside its class folder (default: the file name)

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


def extract_dataset(clips: Iterable[ClipRef], cache_dir: str | Path = POSE_CACHE_DIR,
                    options: PoseOptions | None = None, workers: int | None = None,
                    progress: Callable[[ExtractionProgress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    engine: ExtractionEngine | None = None) -> Extraction:
    """Pose sequences of `clips`, from the cache where possible, else extracted by `engine`
    (default: `LocalEngine(workers)`, one process per CPU core; `wpa.extraction.RayEngine` runs
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

    outcome.clips = [Clip(clip.clip_id, clip.label, poses[clip], clip.path, keys[clip]) for clip in clips if clip in poses]
    return outcome


def write_manifest(directory: str | Path, scan: DatasetScan, extraction: Extraction) -> Path:
    """Record which cached clips make up a dataset, so `train CACHE` can use them without the videos."""
    path = Path(directory) / MANIFEST_NAME
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "source": str(scan.root.resolve()),
        "clips": [{"clip_id": clip.clip_id, "label": clip.label, "file": str(clip.source.resolve()),
                   "cache_key": clip.cache_key, "frames": len(clip.pose),
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
        clips.append(Clip(entry["clip_id"], entry["label"], pose, source, entry["cache_key"]))
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
               engine: ExtractionEngine | None = None) -> LoadedData:
    """Clips from any source the CLI and pages accept: a folder of class folders (extracted with
    the cache, by `engine` as in `extract_dataset`), a zip archive of class folders, a folder
    written by `python -m wpa extract` (its manifest), or a landmarks CSV."""
    from wpa.table import read_landmarks_csv  # table builds on this module's Clip

    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        clips, notes = read_landmarks_csv(source)
        return LoadedData(clips=clips, notes=notes)
    if source.is_file() and source.suffix.lower() == ".zip":
        # Unpacked (safely: see wpa.archive) into a fresh temporary folder; the poses are cached,
        # so the videos are not needed once extracted.
        with tempfile.TemporaryDirectory(prefix="wpa-zip-") as folder:
            return load_clips(unpack_dataset_zip(source, folder), cache_dir, options, workers, progress, engine)
    if (source / MANIFEST_NAME).is_file():
        return LoadedData(clips=read_cached_dataset(source, options))
    if source.is_file():
        raise DatasetError(f"{source.name}: give a folder of class folders, a zip of class folders, a folder "
                           "made by `python -m wpa extract`, or a landmarks .csv file.")
    scan = scan_dataset(source)
    extraction = extract_dataset(scan.clips, cache_dir, options, workers, progress, engine=engine)
    return LoadedData(clips=extraction.clips, notes=scan.warnings,
                      failures=[(clip.clip_id, reason) for clip, reason in extraction.failures])
