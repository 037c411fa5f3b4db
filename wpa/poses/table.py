"""The landmarks table: pose data as CSV, in and out.

Two layouts are read:

* **wpa's table** (written by `python -m wpa extract`): one row per frame with `clip_id`, `label`,
  `frame_index`, `timestamp_s`, `frame_width`, `frame_height`, then `<landmark>_x`, `_y`, `_z`,
  `_visibility` for the 33 landmarks in MediaPipe's order (`nose_x`, ..., `right_foot_index_visibility`),
  then MediaPipe's metric world landmarks `<landmark>_world_x`, `_world_y`, `_world_z` (optional when
  reading: without them, features that need them use the image landmarks' depth instead).
  Frames with nobody have empty landmark cells.

* **the original notebook's CSV**: a header `x0 … x32, y0 … y32, z0 … z32, label`. The notebook
  filled each row landmark by landmark (x, y, z of landmark 0, then of landmark 1, …), so the
  header's names do not match the values under them: the column called `x1` holds landmark 0's y.
  wpa reads the 99 coordinate columns in the order they stand in the file as (x, y, z) × 33 and
  ignores their names. Such a file has no clip ids, timestamps or frame size: contiguous rows of one
  label are taken as one clip, frames as 1/30 s apart, and the frame as square. Optional columns
  `clip_id` and `timestamp_s` are used when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.poses.sequence import LANDMARK_NAMES, NUM_LANDMARKS, PoseSequence

ORIGINAL_COLUMNS = tuple(f"{axis}{i}" for axis in "xyz" for i in range(NUM_LANDMARKS))
AXES = ("x", "y", "z", "visibility")
TABLE_COLUMNS = tuple(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in AXES)
# MediaPipe's metric world landmarks; optional when reading (tables written before them lack them).
WORLD_COLUMNS = tuple(f"{name}_world_{axis}" for name in LANDMARK_NAMES for axis in "xyz")
ASSUMED_FPS = 30.0
MAX_CLASSES = 500


def write_landmarks_table(clips: list[Clip], path: str | Path) -> Path:
    """Write `clips` as wpa's landmarks table (one row per frame)."""
    frames = []
    for clip in clips:
        pose = clip.pose
        table = pd.DataFrame(np.concatenate([pose.landmarks.reshape(len(pose), -1),
                                             pose.world_landmarks.reshape(len(pose), -1)], axis=1),
                             columns=TABLE_COLUMNS + WORLD_COLUMNS)
        table.insert(0, "clip_id", clip.clip_id)
        table.insert(1, "label", clip.label)
        table.insert(2, "frame_index", np.arange(len(pose)))
        table.insert(3, "timestamp_s", pose.timestamps_s)
        table.insert(4, "frame_width", pose.frame_size[0])
        table.insert(5, "frame_height", pose.frame_size[1])
        frames.append(table)
    path = Path(path)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.6g")
    return path


def read_landmarks_csv(path: str | Path, missing_joints: bool = False) -> tuple[list[Clip], list[str]]:
    """Clips from a landmarks CSV in either layout, and notes on what had to be assumed.

    With `missing_joints`, a table of wpa's layout may hold only some of the 33 landmarks (other
    pose estimators, subsets of MediaPipe's), and some landmarks of a frame may be empty: the
    absent ones are read as NaN. Visibility may be called `_v`; without it, a landmark is visible.
    Off by default: the exercise classifier needs every landmark.

    Raises DatasetError naming the problem: missing columns, values that are not numbers, empty
    labels, too many classes.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, low_memory=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DatasetError(f"{path.name} cannot be read as CSV ({error}).") from error
    table.columns = [str(column).strip() for column in table.columns]
    if "label" not in table.columns:
        raise DatasetError(f"{path.name} has no 'label' column. Expected the original layout "
                           "(x0 … x32, y0 … y32, z0 … z32, label) or wpa's landmarks table.")
    if table.empty:
        raise DatasetError(f"{path.name} has a header but no rows.")
    notes: list[str] = []
    world = np.full((len(table), NUM_LANDMARKS, 3), np.nan)
    if all(column in table.columns for column in TABLE_COLUMNS):
        landmarks = _numbers(table, list(TABLE_COLUMNS), path).reshape(len(table), NUM_LANDMARKS, 4)
        partial = np.isnan(landmarks).any(axis=(1, 2)) & ~np.isnan(landmarks).all(axis=(1, 2))
        if not missing_joints:
            _refuse_rows(partial, path, "have some landmark values empty but not all")
        if all(column in table.columns for column in WORLD_COLUMNS):
            world = _numbers(table, list(WORLD_COLUMNS), path).reshape(len(table), NUM_LANDMARKS, 3).copy()
            world[np.isnan(world).any(axis=(1, 2))] = np.nan  # a frame's world skeleton is whole or absent
    elif all(column in table.columns for column in ORIGINAL_COLUMNS):
        coordinates = [column for column in table.columns if column in ORIGINAL_COLUMNS]  # file order
        xyz = _numbers(table, coordinates, path).reshape(len(table), NUM_LANDMARKS, 3)
        _refuse_rows(np.isnan(xyz).any(axis=(1, 2)), path, "have empty or NaN coordinates")
        landmarks = np.concatenate([xyz, np.ones((len(table), NUM_LANDMARKS, 1))], axis=2)
        notes.append("original layout: values read in file order as x, y, z per landmark; visibility set to 1")
    elif missing_joints and any(f"{name}_x" in table.columns for name in LANDMARK_NAMES):
        landmarks = _some_landmarks(table, path, notes)
    else:
        missing = [c for c in ORIGINAL_COLUMNS if c not in table.columns]
        raise DatasetError(f"{path.name} lacks coordinate columns ({', '.join(missing[:6])}"
                           f"{' …' if len(missing) > 6 else ''}). Expected x0 … x32, y0 … y32, z0 … z32 and "
                           "label, or wpa's landmarks table.")
    labels = table["label"]
    if labels.isna().any() or (labels.astype(str).str.strip() == "").any():
        rows = np.flatnonzero(labels.isna() | (labels.astype(str).str.strip() == "")) + 2
        raise DatasetError(f"{path.name}: empty label on line(s) {_lines(rows)}.")
    labels = labels.astype(str).str.strip().to_numpy()
    classes = len(set(labels))
    if classes > MAX_CLASSES:
        raise DatasetError(f"{path.name} has {classes} different labels; wpa trains at most {MAX_CLASSES} "
                           "classes. Is the label column the right one?")
    return _clips(table, landmarks.astype(np.float32), world.astype(np.float32), labels, notes, path), notes


def _some_landmarks(table: pd.DataFrame, path: Path, notes: list[str]) -> np.ndarray:
    """(T, 33, 4) landmarks of a table holding only some of them, NaN for the others."""
    landmarks = np.full((len(table), NUM_LANDMARKS, 4), np.nan)
    absent = []
    for index, name in enumerate(LANDMARK_NAMES):
        if f"{name}_x" not in table.columns or f"{name}_y" not in table.columns:
            absent.append(name)
            continue
        landmarks[:, index, :2] = _numbers(table, [f"{name}_x", f"{name}_y"], path)
        landmarks[:, index, 2] = _numbers(table, [f"{name}_z"], path)[:, 0] if f"{name}_z" in table.columns else 0.0
        visibility = next((f"{name}_{axis}" for axis in ("visibility", "v") if f"{name}_{axis}" in table.columns), None)
        landmarks[:, index, 3] = _numbers(table, [visibility], path)[:, 0] if visibility else 1.0
    landmarks[np.isnan(landmarks[:, :, :2]).any(axis=2)] = np.nan  # a landmark is whole or absent
    notes.append(f"{len(absent)} of {NUM_LANDMARKS} landmarks absent from the table, read as empty"
                 + (f" ({', '.join(absent[:4])}{' …' if len(absent) > 4 else ''})" if absent else ""))
    return landmarks


def _clips(table: pd.DataFrame, landmarks: np.ndarray, world: np.ndarray, labels: np.ndarray, notes: list[str],
           path: Path) -> list[Clip]:
    if "clip_id" in table.columns:
        clip_ids = table["clip_id"].astype(str).to_numpy()
    else:
        # Without clip ids, a run of rows with one label is the best guess at a clip.
        run = np.concatenate([[0], np.cumsum(labels[1:] != labels[:-1])])
        clip_ids = np.array([f"{labels[i]}/rows-{run[i] + 1}" for i in range(len(labels))])
        notes.append("no clip_id column: each run of consecutive rows with one label is taken as one clip")
    if "timestamp_s" in table.columns:
        timestamps = _numbers(table, ["timestamp_s"], path)[:, 0]
    else:
        timestamps = None
        notes.append(f"no timestamp_s column: frames taken as 1/{ASSUMED_FPS:g} s apart")
    clips = []
    for clip_id in dict.fromkeys(clip_ids):  # first-seen order
        rows = np.flatnonzero(clip_ids == clip_id)
        clip_labels = set(labels[rows])
        if len(clip_labels) > 1:
            raise DatasetError(f"{path.name}: clip '{clip_id}' has rows with different labels ({', '.join(sorted(clip_labels))}).")
        times = timestamps[rows] if timestamps is not None else np.arange(len(rows)) / ASSUMED_FPS
        if np.any(np.isnan(times)) or np.any(np.diff(times) <= 0):
            raise DatasetError(f"{path.name}: timestamps of clip '{clip_id}' are not strictly increasing.")
        size = (int(table["frame_width"].iloc[rows[0]]), int(table["frame_height"].iloc[rows[0]])) \
            if {"frame_width", "frame_height"} <= set(table.columns) else (1, 1)
        clip_landmarks = landmarks[rows]
        pose = PoseSequence(landmarks=clip_landmarks, world_landmarks=world[rows],
                            timestamps_s=(times - times[0]).astype(np.float64),
                            fps=ASSUMED_FPS if timestamps is None else _fps(times), frame_size=size)
        clips.append(Clip(clip_id=clip_id, label=str(labels[rows[0]]), pose=pose))
    return clips


def _numbers(table: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    values = table[columns].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & table[columns].notna()
    if bad.to_numpy().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise DatasetError(f"{path.name}: line {row + 2}, column '{columns[column]}' holds "
                           f"'{table[columns[column]].iloc[row]}', which is not a number.")
    return values.to_numpy(np.float64)


def _refuse_rows(bad: np.ndarray, path: Path, problem: str) -> None:
    if bad.any():
        raise DatasetError(f"{path.name}: line(s) {_lines(np.flatnonzero(bad) + 2)} {problem}. "
                           "Remove or fix those rows.")


def _lines(lines: np.ndarray) -> str:
    shown = ", ".join(str(line) for line in lines[:5])
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def _fps(times: np.ndarray) -> float:
    return float(1 / np.median(np.diff(times))) if len(times) > 1 else ASSUMED_FPS
