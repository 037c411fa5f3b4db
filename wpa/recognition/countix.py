"""Countix-Fitness poses read as clips: public recognition data from about a hundred more people
and cameras, in image landmarks only.

The release (`annotation/test.csv`, `poses/<name>.npy`) holds per video a float32 array (T, 99):
x, y, z of MediaPipe's 33 landmarks, each axis stretched to 0..1 over the skeleton's extent in
every frame (the frame's size is not published), all zeros where nobody was found, and no world
landmarks, visibility or frame rate. They become PoseSequences with NaN world landmarks (features
then take the image landmarks' depth, as for tables without world landmarks), visibility 1, a
square frame and 30 frames/s. Each video is a different YouTube video, so each is its own group.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from wpa.errors import DatasetError
from wpa.poses.clip import Clip
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

ASSUMED_FPS = 30.0
# Countix-Fitness's exercise names, as wpa's class names.
LABELS = {"bench_pressing": "bench_press", "lunge": "lunge", "pull_ups": "pull_up", "push_up": "push_up",
          "squat": "squat", "front_raise": "front_raise", "rope_pushdown": "tricep_pushdown", "sit_up": "sit_up"}


def pose_from_box_array(array: np.ndarray, fps: float = ASSUMED_FPS) -> PoseSequence:
    """A PoseSequence from (T, 99) box-stretched image landmarks (all-zero rows: nobody; an empty
    array is a video with no frames)."""
    if array.size == 0:
        array = array.reshape(0, NUM_LANDMARKS * 3)
    if array.ndim != 2 or array.shape[1] != NUM_LANDMARKS * 3:
        raise DatasetError(f"expected landmarks of shape (frames, {NUM_LANDMARKS * 3}), got {array.shape}")
    points = array.reshape(len(array), NUM_LANDMARKS, 3).astype(np.float32)
    landmarks = np.concatenate([points, np.ones((len(array), NUM_LANDMARKS, 1), np.float32)], axis=2)
    landmarks[~np.any(array != 0, axis=1)] = np.nan
    world = np.full((len(array), NUM_LANDMARKS, 3), np.nan, np.float32)
    return PoseSequence(landmarks=landmarks, world_landmarks=world,
                        timestamps_s=np.arange(len(array)) / fps, fps=fps, frame_size=(1, 1))


def load_countix_clips(root: str | Path, labels: Mapping[str, str] = LABELS) -> list[Clip]:
    """The videos of `root` whose exercise `labels` names, with a person in at least one frame,
    each its own group (`countix:<name>`), labelled with wpa's class name."""
    root = Path(root)
    annotation = root / "annotation" / "test.csv"
    if not annotation.is_file():
        raise DatasetError(f"{root} is not a Countix-Fitness folder: it has no annotation/test.csv.")
    clips = []
    for row in pd.read_csv(annotation).itertuples():
        path = root / "poses" / (Path(str(row.name)).stem + ".npy")
        if row.type not in labels or not path.is_file():
            continue
        pose = pose_from_box_array(np.load(path, allow_pickle=False))
        if pose.present.any():
            name = Path(str(row.name)).stem
            clips.append(Clip(clip_id=f"{labels[row.type]}/countix-{name}", label=labels[row.type], pose=pose,
                              source=path, group=f"countix:{name}"))
    return clips
