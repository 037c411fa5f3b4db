"""The pose cache: a clip's poses on disk, found again by the clip's content and the pose settings.

Every extraction engine (local processes, a Ray cluster) and the Upload page write the same
entries, so a cache made on a cluster is the same as one made on this machine.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from wpa.files import written_atomically
from wpa.poses.sequence import NUM_LANDMARKS, PoseOptions, PoseSequence
from wpa.serving.disk import mark_used

# Bump when extraction changes what it stores, so old cache entries are not reused.
EXTRACTOR_VERSION = 1


def pose_to_arrays(pose: PoseSequence) -> dict[str, np.ndarray]:
    """A PoseSequence as plain arrays: what the cache stores and what a Ray task sends back."""
    return {"landmarks": pose.landmarks, "world_landmarks": pose.world_landmarks,
            "timestamps_s": pose.timestamps_s, "fps": np.float64(pose.fps), "frame_size": np.array(pose.frame_size),
            "people": np.int64(-1 if pose.people is None else pose.people)}


def pose_from_arrays(arrays) -> PoseSequence:
    """The inverse of `pose_to_arrays` (any mapping of the same names, an open `.npz` included)."""
    people = int(arrays["people"]) if "people" in arrays else -1
    return PoseSequence(landmarks=arrays["landmarks"], world_landmarks=arrays["world_landmarks"],
                        timestamps_s=arrays["timestamps_s"], fps=float(arrays["fps"]),
                        frame_size=(int(arrays["frame_size"][0]), int(arrays["frame_size"][1])),
                        people=people if people >= 0 else None)


class PoseCache:
    """Pose sequences on disk, one `.npz` per (clip content, pose settings).

    Entries are written atomically and read without pickle; an entry that cannot be read back is
    treated as missing, so a damaged file is simply extracted again. Reading an entry marks it as
    used, so the bounded pose cache (wpa.serving.disk.pose_cache) removes the entries least recently read,
    not the oldest written.
    """

    def __init__(self, directory: str | Path, options: PoseOptions):
        self.directory = Path(directory)
        self._settings = settings_digest(options)

    def key(self, video_path: Path) -> str:
        """The entry name for a clip: its content hash combined with the pose settings."""
        digest = hashlib.sha256()
        with open(video_path, "rb") as video:
            for block in iter(lambda: video.read(1 << 20), b""):
                digest.update(block)
        return f"{digest.hexdigest()[:32]}-{self._settings}"

    def path(self, key: str) -> Path:
        """The file the entry `key` is kept in."""
        return self.directory / f"{key}.npz"

    def load(self, key: str) -> PoseSequence | None:
        """The cached poses for `key`, or None when absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                pose = pose_from_arrays(stored)
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
            return None
        frames = len(pose.timestamps_s)
        if pose.landmarks.shape != (frames, NUM_LANDMARKS, 4) or pose.world_landmarks.shape != (frames, NUM_LANDMARKS, 3):
            return None
        mark_used(path)
        return pose

    def save(self, key: str, pose: PoseSequence) -> None:
        """Store `pose` under `key` (write to a temporary file, then rename over)."""
        with written_atomically(self.path(key)) as temporary:  # keeps .npz, as np.savez wants
            np.savez(temporary, **pose_to_arrays(pose))


def settings_digest(options: PoseOptions) -> str:
    """A short hash of everything besides the clip that decides its poses: the pose model's
    content (not its path, so a copy on another machine gives the same key) and the settings."""
    model = hashlib.sha256(Path(options.model_path).read_bytes()).hexdigest() if Path(options.model_path).is_file() else "missing"
    settings = json.dumps([EXTRACTOR_VERSION, model, options.min_detection_confidence, options.min_presence_confidence,
                           options.min_tracking_confidence, options.max_side])
    return hashlib.sha256(settings.encode()).hexdigest()[:12]
