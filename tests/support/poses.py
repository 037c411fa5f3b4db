"""Synthetic pose sequences for pure-function tests, and landmark tables written from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence
from wpa.poses.table import ORIGINAL_COLUMNS


def random_pose(frames: int = 40, fps: float = 30.0, seed: int = 0, frame_size=(640, 480),
                missing: tuple[int, ...] = ()) -> PoseSequence:
    """A wobbling random skeleton inside the frame; frames in `missing` have nobody."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, size=(NUM_LANDMARKS, 3))
    base[:, 2] -= 0.5
    drift = 0.02 * np.sin(np.linspace(0, 6, frames))[:, None, None]
    xyz = base[None] + drift + rng.normal(0, 0.01, size=(frames, NUM_LANDMARKS, 3))
    visibility = rng.uniform(0.5, 1.0, size=(frames, NUM_LANDMARKS, 1))
    landmarks = np.concatenate([xyz, visibility], axis=2).astype(np.float32)
    world = rng.normal(0, 0.3, size=(frames, NUM_LANDMARKS, 3)).astype(np.float32)
    for i in missing:
        landmarks[i] = np.nan
        world[i] = np.nan
    return PoseSequence(landmarks=landmarks, world_landmarks=world, timestamps_s=np.arange(frames) / fps,
                        fps=fps, frame_size=frame_size)


def with_landmarks(pose: PoseSequence, landmarks: np.ndarray) -> PoseSequence:
    """`pose` with other landmark values."""
    return PoseSequence(landmarks=landmarks.astype(np.float32), world_landmarks=pose.world_landmarks,
                        timestamps_s=pose.timestamps_s, fps=pose.fps, frame_size=pose.frame_size)


def original_layout_csv(path, clips):
    """Rows as the original notebook wrote them: values interleaved per landmark under x0..z32."""
    rows = []
    for label, pose in clips:
        for frame in pose.landmarks:
            rows.append(list(frame[:, :3].reshape(-1)) + [label])
    pd.DataFrame(rows, columns=list(ORIGINAL_COLUMNS) + ["label"]).to_csv(path, index=False)
    return path
