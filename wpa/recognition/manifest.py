"""A dataset extracted by `python -m wpa extract --out CACHE`: its manifest (which cached clips make
it up), written after extraction and read back so `train CACHE` can use the clips without the videos."""

from __future__ import annotations

import json
from pathlib import Path

from wpa.errors import DatasetError
from wpa.files import write_text_atomic
from wpa.poses.cache import PoseCache
from wpa.poses.clip import Clip, ClipRef
from wpa.poses.sequence import PoseOptions
from wpa.recognition.dataset import Extraction, extract_dataset
from wpa.recognition.folders import DatasetScan

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "wpa-pose-dataset"
CACHE_SUBDIR = "poses"  # where `python -m wpa extract --out CACHE` keeps its entries


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
