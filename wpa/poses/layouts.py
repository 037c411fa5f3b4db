"""Poses from other tools, as wpa's clips: landmarks in MediaPipe's 33 slots, NaN for the joints a
layout lacks.

* `exercise_correction_clips`: Exercise-Correction's CSVs (a subset of MediaPipe's image
  landmarks, `<landmark>_x/_y/_z/_v`, from mirrored frames; one row per frame, no clip ids).
* `openpose18_clip`: an OpenPose COCO-18 array (T, 18, 3): x, y in pixels, confidence (0 = missing).
* `mediapipe17_clip`: a 17-landmark MediaPipe array (T, 17, 3): x, y normalised, visibility.
* `openpose18_table_clips`: a CSV of COCO-18 keypoints `0..35` (x, y in pixels, NaN = missing)
  with `filename` (`<session>_<hh-mm-ss.fff>`) and `label`, one row per frame in any order.

A frame-level source without clip ids is split into stretches: consecutive frames of one label
(of one session, where it has them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence, mirror_pose
from wpa.poses.table import ASSUMED_FPS, read_landmarks_csv

# MediaPipe's index of each OpenPose COCO-18 keypoint (the neck, 1, has none).
COCO18_TO_MEDIAPIPE = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
# MediaPipe's index of each landmark of the 17-landmark layout (nose, shoulders, elbows, wrists,
# hips, knees, ankles, heels, feet; left before right).
MEDIAPIPE17_TO_MEDIAPIPE = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
LAYOUTS = ("exercise-correction", "openpose18", "mediapipe17", "openpose18-table")


def exercise_correction_clips(path: str | Path, mirrored: bool = True) -> list[Clip]:
    """Clips of an Exercise-Correction CSV: one per stretch of one label. Its frames were mirrored
    before pose estimation, so left and right are swapped back (and x flipped) unless `mirrored`
    is false."""
    clips, _ = read_landmarks_csv(path, missing_joints=True)
    return [Clip(clip.clip_id, clip.label, mirror_pose(clip.pose) if mirrored else clip.pose) for clip in clips]


def openpose18_clip(keypoints: np.ndarray, clip_id: str, label: str, fps: float = ASSUMED_FPS) -> Clip:
    """A clip from OpenPose COCO-18 keypoints (T, 18, 3): x, y in pixels, confidence 0 = missing."""
    keypoints = _array(keypoints, 18, clip_id)
    xy = np.where(keypoints[:, :, 2:3] > 0, keypoints[:, :, :2], np.nan)
    return _clip(_placed(xy, keypoints[:, :, 2], COCO18_TO_MEDIAPIPE, pixels=True), clip_id, label,
                 np.arange(len(keypoints)) / fps)


def mediapipe17_clip(landmarks: np.ndarray, clip_id: str, label: str, fps: float = ASSUMED_FPS) -> Clip:
    """A clip from the 17-landmark MediaPipe layout (T, 17, 3): x, y normalised, visibility."""
    landmarks = _array(landmarks, 17, clip_id)
    return _clip(_placed(landmarks[:, :, :2], landmarks[:, :, 2], MEDIAPIPE17_TO_MEDIAPIPE, pixels=False),
                 clip_id, label, np.arange(len(landmarks)) / fps)


def openpose18_table_clips(path: str | Path, labels: dict[str, str] | None = None) -> list[Clip]:
    """Clips of a frame-level CSV of COCO-18 keypoints in pixels with `filename` and `label`: one per
    stretch of consecutive frames (by time) of one label within one session. `labels` renames
    labels ({"1.0": "correct"})."""
    path = Path(path)
    table = pd.read_csv(path)
    columns = [str(i) for i in range(36)]
    if not set(columns + ["filename", "label"]) <= set(table.columns):
        raise DatasetError(f"{path.name} lacks columns 0 … 35, filename or label (COCO-18 keypoints x, y).")
    parts = table["filename"].astype(str).str.extract(r"^(?P<session>[^_]+)_(?P<h>\d+)-(?P<m>\d+)-(?P<s>[\d.]+)$")
    if parts.isna().any().any():
        raise DatasetError(f"{path.name}: filenames must read <session>_<hh-mm-ss.fff>.")
    table["session"] = parts["session"]
    table["time_s"] = parts["h"].astype(float) * 3600 + parts["m"].astype(float) * 60 + parts["s"].astype(float)
    table["label"] = table["label"].astype(str).map(lambda label: (labels or {}).get(label, label))
    table = table.sort_values(["session", "time_s"], kind="stable").reset_index(drop=True)
    change = (table["label"] != table["label"].shift()) | (table["session"] != table["session"].shift())
    table["stretch"] = change.cumsum()
    clips = []
    for stretch, rows in table.groupby("stretch", sort=True):
        xy = rows[columns].to_numpy(np.float64).reshape(len(rows), 18, 2)
        times = rows["time_s"].to_numpy()
        times = times - times[0] + np.arange(len(times)) * 1e-3  # two frames of one instant stay in order
        label = str(rows["label"].iloc[0])
        clip_id = f"{label}/{rows['session'].iloc[0]}-{stretch}"
        clips.append(_clip(_placed(xy, np.isfinite(xy[:, :, 0]).astype(float), COCO18_TO_MEDIAPIPE, pixels=True),
                           clip_id, label, times, group=str(rows["session"].iloc[0])))
    return clips


def clip_label_from_path(path: Path) -> str:
    """`correct`/`incorrect` folders (or `good`/`bad` in the name) → "good"/"bad"; else the folder's name."""
    text = f"{path.parent.name}/{path.stem}".lower()
    if re.search(r"\bincorrect\b|_bad_|/bad", text):
        return "bad"
    if re.search(r"\bcorrect\b|_good_|/good", text):
        return "good"
    return path.parent.name


def _array(values: np.ndarray, joints: int, clip_id: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3 or values.shape[1:] != (joints, 3) or len(values) == 0:
        raise DatasetError(f"{clip_id}: expected keypoints of shape (frames, {joints}, 3), found {values.shape}.")
    return values


def _placed(xy: np.ndarray, visibility: np.ndarray, slots: tuple, pixels: bool) -> np.ndarray:
    """(T, J, 2) keypoints into (T, 33, 4) MediaPipe slots. Pixels are divided by one number for
    both axes (the largest coordinate), which keeps angles and proportions."""
    if pixels:
        scale = np.nanmax(np.abs(xy)) if np.isfinite(xy).any() else 1.0
        xy = xy / max(float(scale), 1e-9)
    landmarks = np.full((len(xy), NUM_LANDMARKS, 4), np.nan)
    for joint, slot in enumerate(slots):
        if slot is None:
            continue
        present = np.isfinite(xy[:, joint]).all(axis=1)
        landmarks[present, slot, :2] = xy[present, joint]
        landmarks[present, slot, 2] = 0.0
        landmarks[present, slot, 3] = visibility[present, joint]
    return landmarks


def _clip(landmarks: np.ndarray, clip_id: str, label: str, times_s: np.ndarray, group: str = "") -> Clip:
    pose = PoseSequence(landmarks=landmarks.astype(np.float32),
                        world_landmarks=np.full((len(landmarks), NUM_LANDMARKS, 3), np.nan, np.float32),
                        timestamps_s=np.asarray(times_s, dtype=np.float64), fps=ASSUMED_FPS, frame_size=(1, 1))
    return Clip(clip_id=clip_id, label=label, pose=pose, group=group)
