"""The repetition counter's two bodies of data, as lists of `Video` (a pose and a true count).

- Countix-Fitness (`load_countix`): MediaPipe poses of 148 YouTube workout videos of 8 exercises,
  counted by the data set's authors (../shared/data/reps/countix-fitness).
- The real clips (`load_real`): clips of ../shared/data counted by eye by us: tests/rep_counts.csv,
  tests/rep_counts_dev.csv (`path,label,reps,...`, paths relative to the shared folder), and the long
  sets of tests/rep_sets_dev.csv (`set,label,paths,reps,notes`: clips of one exercise from one source
  joined end to end on their poses, `join_poses`; a clip may appear more than once). Their poses come
  through wpa's own extraction and its content-hash cache, so a clip is extracted once per cache.

A data set's coordinates need not be the app's: the counter is hip-centred and torso-scaled.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wpa.paths import POSE_CACHE_DIR, REPO_DIR
from wpa.poses.cache import PoseCache
from wpa.poses.clip import ClipRef
from wpa.poses.sequence import NUM_LANDMARKS, PoseOptions, PoseSequence
from wpa.recognition.dataset import extract_dataset

SHARED_DIR = REPO_DIR.parent / "shared"
COUNTIX_DIR = SHARED_DIR / "data" / "reps" / "countix-fitness"
TESTS_DIR = REPO_DIR / "tests"
CLIP_TABLES = ("rep_counts.csv", "rep_counts_dev.csv")  # one clip a row
SET_TABLE = "rep_sets_dev.csv"  # joined clips a row
COUNTIX_FPS = 30.0  # not stored with the poses


@dataclass(frozen=True)
class Video:
    """One counted video: `count` repetitions of `exercise` in `pose`."""

    name: str
    exercise: str
    count: int
    pose: PoseSequence


def countix_pose(array: np.ndarray, fps: float = COUNTIX_FPS) -> PoseSequence:
    """A Countix-Fitness pose array (T, 99) as a PoseSequence: all-zero frames become NaN
    (nobody), visibility 1, a square frame (the set's coordinates are per-frame bounding-box
    normalised and its frame size unknown), no world landmarks."""
    frames = len(array)
    xyz = np.asarray(array, dtype=np.float32).reshape(frames, NUM_LANDMARKS, 3)
    landmarks = np.concatenate([xyz, np.ones((frames, NUM_LANDMARKS, 1), np.float32)], axis=2)
    landmarks[~(array != 0).any(axis=1)] = np.nan
    return PoseSequence(landmarks=landmarks, world_landmarks=np.full((frames, NUM_LANDMARKS, 3), np.nan, np.float32),
                        timestamps_s=np.arange(frames) / fps, fps=fps, frame_size=(1000, 1000))


def load_countix(data: Path = COUNTIX_DIR) -> tuple[list[Video], int]:
    """The usable Countix-Fitness videos (a pose with at least one person), and how many were left out."""
    videos, skipped = [], 0
    with open(data / "annotation" / "test.csv", newline="") as file:
        for row in csv.DictReader(file):
            path = data / "poses" / (Path(row["name"]).stem + ".npy")
            array = np.load(path, allow_pickle=False) if path.exists() else np.zeros((0,), np.float32)
            if array.ndim != 2 or array.shape[1] != 3 * NUM_LANDMARKS or not (array != 0).any():
                skipped += 1
                continue
            videos.append(Video(row["name"], row["type"], int(row["count"]), countix_pose(array)))
    return videos, skipped


def join_poses(poses: list[PoseSequence]) -> PoseSequence:
    """Pose sequences one after the other as one: each starts one frame after the previous one's
    last frame. x (and z) are put on the first clip's frame: a clip of another aspect ratio keeps
    its proportions."""
    if not poses:
        raise ValueError("nothing to join: no pose sequence given")
    first = poses[0]
    landmarks, worlds, times, offset = [], [], [], 0.0
    for pose in poses:
        scaled = np.array(pose.landmarks, dtype=np.float32, copy=True)
        scaled[..., [0, 2]] *= pose.aspect_ratio / first.aspect_ratio
        landmarks.append(scaled)
        worlds.append(pose.world_landmarks)
        stamps = np.asarray(pose.timestamps_s, dtype=np.float64)
        stamps = stamps - stamps[0] if len(stamps) else stamps
        times.append(stamps + offset)
        if len(stamps):
            offset += float(stamps[-1]) + 1 / (pose.fps or first.fps or 30.0)
    return PoseSequence(landmarks=np.concatenate(landmarks), world_landmarks=np.concatenate(worlds),
                        timestamps_s=np.concatenate(times), fps=first.fps, frame_size=first.frame_size)


@dataclass(frozen=True)
class CountedClips:
    """The rows of the real clips' tables: single clips (path, label, reps) and joined sets
    (name, label, paths, reps); paths relative to the shared folder."""

    clips: list[tuple[str, str, int]]
    sets: list[tuple[str, str, list[str], int]]

    @property
    def paths(self) -> list[str]:
        """Every clip needed, once each, in order of first use."""
        return list(dict.fromkeys([p for p, _, _ in self.clips] + [p for s in self.sets for p in s[2]]))


def read_counts(tests_dir: Path = TESTS_DIR) -> CountedClips:
    """The real clips' by-eye counts from the tables in `tests_dir` (a missing table holds nothing)."""
    clips, sets = [], []
    for table in CLIP_TABLES:
        path = tests_dir / table
        if path.is_file():
            with path.open(newline="") as file:
                clips += [(row["path"], row["label"], int(row["reps"])) for row in csv.DictReader(file)
                          if (row.get("reps") or "").strip()]
    path = tests_dir / SET_TABLE
    if path.is_file():
        with path.open(newline="") as file:
            sets = [(row["set"], row["label"], [p.strip() for p in row["paths"].split(";") if p.strip()],
                     int(row["reps"])) for row in csv.DictReader(file) if (row.get("reps") or "").strip()]
    return CountedClips(clips, sets)


def clip_poses(paths: list[str], shared_dir: Path = SHARED_DIR, cache_dir: Path = POSE_CACHE_DIR,
               workers: int | None = None, cached_only: bool = False) -> dict[str, PoseSequence]:
    """Poses of the clips at `paths` (relative to `shared_dir`), from wpa's pose cache in
    `cache_dir` where there, else extracted into it (unless `cached_only`). A clip missing or
    unreadable is left out."""
    refs = {path: ClipRef(shared_dir / path, label=Path(path).parent.name) for path in paths
            if (shared_dir / path).is_file()}
    if cached_only:
        cache = PoseCache(cache_dir, PoseOptions())
        refs = {path: ref for path, ref in refs.items() if cache.path(cache.key(ref.path)).is_file()}
    extraction = extract_dataset(list(refs.values()), cache_dir=cache_dir, workers=workers)
    by_file = {clip.source: clip.pose for clip in extraction.clips}
    return {path: by_file[ref.path] for path, ref in refs.items() if ref.path in by_file}


def videos_of(counted: CountedClips, poses: dict[str, PoseSequence]) -> tuple[list[Video], list[str]]:
    """The counted clips and joined sets whose poses are in `poses`, and the names of those left
    out (a clip's poses missing)."""
    videos, missing = [], []
    for path, label, reps in counted.clips:
        if path in poses:
            videos.append(Video(path, label, reps, poses[path]))
        else:
            missing.append(path)
    for name, label, paths, reps in counted.sets:
        if all(p in poses for p in paths):
            videos.append(Video(name, label, reps, join_poses([poses[p] for p in paths])))
        else:
            missing.append(name)
    return videos, missing


def load_real(tests_dir: Path = TESTS_DIR, shared_dir: Path = SHARED_DIR, cache_dir: Path = POSE_CACHE_DIR,
              workers: int | None = None, cached_only: bool = False) -> tuple[list[Video], list[str]]:
    """The real clips and joined sets counted by eye, and the names of those left out (a clip missing)."""
    counted = read_counts(tests_dir)
    return videos_of(counted, clip_poses(counted.paths, shared_dir, cache_dir, workers, cached_only))
