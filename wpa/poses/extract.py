"""Poses of a whole clip: every frame through the pose model, a long clip split into stretches of
time that several cores work on at once, and the people in view counted near its start.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import threading
from collections.abc import Callable
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import vision

from wpa.media.video import VideoInfo, probe_video, read_ahead, read_frames
from wpa.poses.estimator import PoseEstimator, create_landmarker, native_logs_silenced
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.poses.track import PoseTrack


def extract_pose(video_path: str | Path, options: PoseOptions | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 track: PoseTrack | None = None, parts: int = 1, count_people: bool = False,
                 info: VideoInfo | None = None, decode_ahead: bool = True) -> PoseSequence:
    """Run pose estimation on every frame of a clip.

    `progress(frames_done, frames_expected)` is called from the calling thread as frames are done
    (frames_expected is the container's estimate and may be 0 when unknown). `track`, if given,
    receives the poses in order as they are found, for another thread to read meanwhile.

    `parts` > 1 splits a long enough, seekable clip into that many stretches of time, each with
    a pose model of its own in its own thread, so that several cores work on one clip (the pose
    model itself uses one). The frames and timestamps are those of one pass; each stretch starts
    as a clip does, by detecting the person, so poses after a split differ from one pass's by the
    pose model's tracking (a median under 0.5% of the frame in tests). Raises VideoError for
    unreadable clips and PoseModelError for an unusable pose model.

    `count_people` also counts the people in view near the start of the clip (`people_in_view`),
    into the sequence's `people`. `info` is the clip's `probe_video`, for a caller that has it.

    Frames are decoded ahead of the pose model in a thread of their own: 8 for a clip in one
    stretch. In a split clip, with a pose model on every core, each stretch's decoder uses one
    thread and reads 2 ahead if `decode_ahead`, which fills the moments the pose models leave a
    core idle (`wpa classify` on a 36 s 720p clip: 74 frames/s, 65-70 without). A caller with a thread
    of its own working meanwhile (the Upload's drawing) fills them already and passes False: as
    fast, and 10-15 MB less at the peak of a 720p upload (benchmarks/pipeline.py).
    """
    options = options or PoseOptions()
    info = info or probe_video(video_path)
    track = track if track is not None else PoseTrack(info.fps, (info.width, info.height))
    if not info.seekable:
        parts = 1
    parts = max(1, min(parts, int(info.duration_s // MIN_PART_S)))
    stretches = [_Stretch(info.duration_s * k / parts) for k in range(parts)]
    stop = threading.Event()
    # Frames decoded ahead of each pose model, and its decoder's threads (0: FFmpeg's choice). With a
    # pose model on every core, more decoding threads would wait for a core holding frames (6 MB
    # more a decoder of 720p video).
    decoding = (8, 0) if parts == 1 else (2 if decode_ahead else 0, 1)
    workers = [threading.Thread(target=_estimate_stretch, name=f"wpa-pose-{k}", daemon=True,
                                args=(video_path, options, stretches[k], stretches[k + 1:], stop, None, None,
                                      decoding))
               for k in range(1, parts)]
    try:
        for worker in workers:
            worker.start()
        report = (lambda: progress(len(track) + sum(len(s.poses) for s in stretches[1:]), info.frame_count)
                  ) if progress else None
        _estimate_stretch(video_path, options, stretches[0], stretches[1:], stop, track, report, decoding)
        for stretch, worker in zip(stretches[1:], workers):
            while worker.is_alive():
                worker.join(timeout=0.1)
                if report:
                    report()
            if stretch.error is not None and stretch.first_s < math.inf:
                raise stretch.error  # one that failed before its first frame left them to the one before
            for found, timestamp_s, frame_size in stretch.poses:
                track.add(found, timestamp_s, frame_size)
            stretch.poses.clear()  # counted in the track from now on
        if workers and report:
            report()
        if count_people:  # once every pose model is closed (a reader of the track goes on meanwhile)
            track.people = people_in_view(video_path, options)
    finally:
        stop.set()
        for worker in workers:
            if worker.is_alive():
                worker.join()
        track.finish()
    return track.sequence()


MIN_PART_S = 4.0  # shorter stretches are not worth a pose model of their own
# What the system shows (`top -H`, /proc/PID/task/TID/comm) for a thread while it runs a pose model
# on a stretch, followed by its thread id: how many run at once can be seen, and counted
# (tests/test_worker_budget.py). Threads it starts meanwhile (the pose model's helpers) inherit the
# name; the id tells them apart from another pose model's.
POSE_THREAD_NAME = "wpa-pose"
# The moments (s into a clip) whose frames are searched for more than one person.
PEOPLE_CHECKS_S = (0.5, 1.5, 2.5)
MAX_PEOPLE = 4


def people_in_view(video_path: str | Path, options: PoseOptions) -> int | None:
    """How many people are in view, from the frames at a few moments near the start of a clip.

    The VIDEO-mode landmarker follows one person. Asking it for several on every frame would cost
    40% of its speed (measured on a real clip: 50.6 -> 31.8 frames/s), so a second landmarker, in
    IMAGE mode, looks at the frames of `PEOPLE_CHECKS_S` only (the first at or after each moment).
    The count is the most people seen in at least two of those frames (one frame is too easily
    fooled), or in the one frame checked in a clip shorter than 1.5 s; None for a clip shorter
    than the first moment.

    `extract_pose` calls it once its pose models are closed: a landmarker holds about 70 MB, and a
    third one beside a split clip's pose models made the peak of an upload. The clip's first
    seconds are decoded again for it (about 0.3 s of one core for 720p video) rather than their
    frames kept through the pass (8 MB at 720p, 75 MB at 4K; benchmarks/upload_memory.py).
    """
    counts: list[int] = []
    landmarker = None
    try:
        for frame in read_frames(video_path, max_side=options.max_side, threads=1):
            if frame.timestamp_s < PEOPLE_CHECKS_S[len(counts)]:
                continue
            if landmarker is None:
                with native_logs_silenced():
                    landmarker = create_landmarker(options, vision.RunningMode.IMAGE, MAX_PEOPLE)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.rgb))
            counts.append(len(landmarker.detect(image).pose_landmarks))
            if len(counts) == len(PEOPLE_CHECKS_S):
                break
    finally:
        if landmarker is not None:
            landmarker.close()
    if not counts:
        return None
    return sorted(counts)[-2] if len(counts) > 1 else counts[0]


class _Stretch:
    """One stretch of a clip's frames, from `start_s` to where the next stretch's first frame is."""

    def __init__(self, start_s: float):
        self.start_s = start_s
        self.first_s = math.inf  # timestamp of the first frame it found (inf: none)
        self.started = threading.Event()  # first_s is known
        self.poses: list[tuple[tuple[np.ndarray, np.ndarray] | None, float, tuple[int, int]]] = []
        self.error: BaseException | None = None


def _estimate_stretch(video_path: str | Path, options: PoseOptions, stretch: _Stretch, following: list[_Stretch],
                      stop: threading.Event, track: PoseTrack | None = None,
                      report: Callable[[], None] | None = None,
                      decoding: tuple[int, int] = (8, 0)) -> None:
    """Poses of the frames of `stretch`, into `track` (or the stretch's own list, in a worker
    thread). The stretch ends where the first of the `following` stretches that found a frame
    begins. `decoding`: frames decoded ahead in a thread of their own (0: none), and the
    decoder's threads (`read_frames`)."""
    ahead, decoder_threads = decoding
    in_worker = track is None
    try:
        frames = read_frames(video_path, max_side=options.max_side, start_s=stretch.start_s, threads=decoder_threads)
        if ahead:  # decoded in another thread while the pose model works
            frames = read_ahead(frames, ahead)
        with PoseEstimator(options) as estimator, contextlib.closing(frames), contextlib.ExitStack() as named:
            for frame in frames:
                if stop.is_set():
                    return
                if not stretch.started.is_set():
                    # Named once the decoder has started its threads (which would inherit the name).
                    named.enter_context(_shown_as(f"{POSE_THREAD_NAME}-{threading.get_native_id() % 100000}"))
                    stretch.first_s = frame.timestamp_s
                    stretch.started.set()
                while following and frame.timestamp_s >= following[0].start_s:
                    following[0].started.wait()
                    if following[0].first_s < math.inf:
                        break
                    following = following[1:]  # it found no frame: its frames are this stretch's
                if following and frame.timestamp_s >= following[0].first_s:
                    return
                found = estimator.detect(frame.rgb, frame.timestamp_s)
                frame_size = (frame.rgb.shape[1], frame.rgb.shape[0])
                if in_worker:
                    stretch.poses.append((found, frame.timestamp_s, frame_size))
                else:
                    track.add(found, frame.timestamp_s, frame_size)
                    if report:
                        report()
    except BaseException as error:
        if not in_worker:
            raise
        stretch.error = error
    finally:
        stretch.started.set()  # a stretch that found no frame leaves its frames to the one before


@contextlib.contextmanager
def _shown_as(name: str):
    """The calling thread shown to the system as `name` (15 characters at most) for a while, then
    as before. Linux only (elsewhere nothing changes). Threads started meanwhile inherit the name:
    set it once the pose model and the decoder have started theirs."""
    comm = Path(f"/proc/self/task/{threading.get_native_id()}/comm")
    try:
        before = comm.read_bytes().strip()
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        yield
        return
    prctl(PR_SET_NAME, name.encode()[:15])
    try:
        yield
    finally:
        prctl(PR_SET_NAME, before)


PR_SET_NAME = 15  # prctl(2)
