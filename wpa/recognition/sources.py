"""Clips from any source the CLI and the pages accept: a folder of class folders, a clip list, a
zip of class folders, a folder written by `python -m wpa extract`, or a landmarks CSV."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from wpa.errors import DatasetError
from wpa.media.archive import unpack_dataset_zip
from wpa.paths import POSE_CACHE_DIR
from wpa.poses.clip import Clip
from wpa.poses.extraction import ExtractionEngine
from wpa.poses.sequence import PoseOptions
from wpa.poses.table import read_landmarks_csv
from wpa.recognition.dataset import ExtractionProgress, extract_dataset
from wpa.recognition.folders import is_clip_list, scan_clip_list, scan_dataset
from wpa.recognition.manifest import MANIFEST_NAME, read_cached_dataset


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
