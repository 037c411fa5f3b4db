"""What a dataset holds, shown before training: one row per class, things to know, and problems that
stop training until they are fixed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wpa.errors import VideoError
from wpa.media.video import probe_video
from wpa.poses.clip import Clip
from wpa.recognition.folders import DatasetScan

# Labels the classifier itself gives (wpa.recognition.inference.UNKNOWN and NO_PERSON): no class may be called so.
RESERVED_LABELS = ("unknown", "no_person")


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
