"""A dataset's clips turned into pose sequences.

Clips are extracted by an engine of `wpa.poses.extraction` (processes on this machine, or tasks on a Ray
cluster), each cached on disk by the clip's content hash and the pose settings (`wpa.poses.cache`),
so a second run re-extracts nothing. Unreadable clips are skipped and reported. Finding the clips
is `wpa.recognition.folders`'; loading any kind of source, `wpa.recognition.sources`'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wpa.errors import Cancelled
from wpa.paths import POSE_CACHE_DIR
from wpa.poses.cache import PoseCache
from wpa.poses.clip import Clip, ClipRef
from wpa.poses.extraction import ExtractionEngine, ExtractionTask, LocalEngine
from wpa.poses.sequence import PoseOptions, PoseSequence


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


def extract_dataset(clips: Iterable[ClipRef], cache_dir: str | Path = POSE_CACHE_DIR,
                    options: PoseOptions | None = None, workers: int | None = None,
                    progress: Callable[[ExtractionProgress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    engine: ExtractionEngine | None = None) -> Extraction:
    """Pose sequences of `clips`, from the cache where possible, else extracted by `engine`
    (default: `LocalEngine(workers)`, one process per CPU core; `wpa.poses.extraction.RayEngine` runs
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

    outcome.clips = [Clip(clip.clip_id, clip.label, poses[clip], clip.path, keys[clip], clip.group)
                     for clip in clips if clip in poses]
    return outcome
