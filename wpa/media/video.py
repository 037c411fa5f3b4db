"""Video decoding: any clip a phone, camera or website produces, as upright RGB frames.

PyAV (FFmpeg) reads mp4, mov, m4v, avi, webm, mkv and animated gif with H.264, HEVC, VP9, AV1
and MPEG-4 inside. Frames are streamed one at a time, so memory does not grow with clip length;
timestamps are the container's own, so variable-frame-rate clips keep their true timing; rotation
metadata (portrait phone video) is applied so people come out upright.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from wpa.background import Background
from wpa.errors import VideoError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv", ".gif")
# Frames this close together in time are treated as one moment; later ones are nudged forward so
# that timestamps stay strictly increasing, as MediaPipe's VIDEO mode requires.
MIN_FRAME_GAP_S = 1e-3
# Containers with an index of key frames (FFmpeg's format names), where `read_frames` may start
# part-way through a clip.
SEEKABLE_FORMATS = frozenset({"mov", "mp4", "m4a", "matroska", "webm"})
# Pictures smaller than this (shorter side, pixels) hold too little for the pose model to find a
# person in (it looks at 224 x 224).
MIN_SIDE_PX = 32
# Larger frames are refused before anything is decoded: a file may declare a size it does not
# hold, and decoding one 65535 x 65535 frame would take 16 GB. 8192 takes 8K video.
MAX_SIDE_PX = 8192


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as it will be decoded (upright size)."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # the container's count, or an estimate from duration × fps; 0 if unknown
    duration_s: float
    codec: str
    rotation: int  # degrees counter-clockwise that were applied to make frames upright
    seekable: bool = False  # frames carry timestamps in a container FFmpeg seeks in reliably


@dataclass(frozen=True)
class Frame:
    """One decoded frame: upright RGB pixels (H, W, 3) uint8, C-contiguous, and its time."""

    index: int
    timestamp_s: float
    rgb: np.ndarray


def probe_video(path: str | Path) -> VideoInfo:
    """Open `path`, decode its first frame and describe it; raise VideoError if it cannot be read."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        _check_size(path, stream.codec_context.width, stream.codec_context.height)
        first = next(_decode(container, stream, path), None)
        if first is None:
            raise VideoError(f"{path.name}: the video stream has no frames that can be decoded "
                             "(the file may be truncated or corrupt). Re-export the clip and try again.")
        _check_size(path, first.width, first.height)
        rotation = _quarter_turns(first) * 90
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        fps = _average_fps(stream)
        duration_s = _duration_s(container, stream)
        frame_count = stream.frames or (round(duration_s * fps) if duration_s and fps else 0)
        seekable = first.time is not None and bool(SEEKABLE_FORMATS & set(container.format.name.split(",")))
        return VideoInfo(path=path, width=width, height=height, fps=fps, frame_count=int(frame_count),
                         duration_s=duration_s, codec=stream.codec_context.name, rotation=rotation,
                         seekable=seekable)


def read_frames(path: str | Path, max_side: int | None = None, start_s: float = 0.0,
                threads: int = 0) -> Iterator[Frame]:
    """Yield the frames of `path` in display order, upright, optionally scaled so that neither
    side exceeds `max_side` pixels.

    `threads` decode (0: FFmpeg's choice, frame-threaded on all cores and one more); each decoding
    thread holds frames of its own, so a caller that has the other cores busy saves memory with 1.

    Timestamps start at 0 (the clip's first frame) and strictly increase. With `start_s` > 0 (for
    clips whose VideoInfo says `seekable`), decoding starts at the key frame before that moment
    and the first frame yielded is the first at or after it; its `index` is then 0. A corrupt
    packet in the middle of a clip is skipped; a clip cut short ends where the readable data ends.
    """
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding: large clips decode on all cores
        stream.codec_context.thread_count = threads
        fallback_fps = _average_fps(stream) or 30.0
        origin_s: float | None = None
        if start_s > 0:
            origin_s = _seek(container, stream, path, start_s)
            if origin_s is None:
                return
        previous_s = -math.inf
        index = 0
        for position, frame in enumerate(_decode(container, stream, path)):
            time_s = frame.time if frame.time is not None else position / fallback_fps
            origin_s = time_s if origin_s is None else origin_s
            if time_s - origin_s < start_s - MIN_FRAME_GAP_S / 2:
                continue  # decoded from the key frame before `start_s`, only to reach it
            timestamp_s = max(time_s - origin_s, previous_s + MIN_FRAME_GAP_S, 0.0)
            previous_s = timestamp_s
            yield Frame(index=index, timestamp_s=timestamp_s, rgb=to_upright_rgb(frame, max_side))
            index += 1


def _check_size(path: Path, width: int, height: int) -> None:
    """Raise VideoError for frames too large to decode safely or too small to find a person in
    (0 means the container does not say)."""
    if max(width, height) > MAX_SIDE_PX:
        raise VideoError(f"{path.name}: the video declares frames of {width} x {height} pixels; wpa reads "
                         f"up to {MAX_SIDE_PX} pixels a side. Re-export the clip at 4K or less.")
    if 0 < min(width, height) < MIN_SIDE_PX:
        raise VideoError(f"{path.name}: the picture is only {width} x {height} pixels, too small to find a "
                         f"person in. Use a clip at least {MIN_SIDE_PX} pixels on its shorter side.")


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path,
          start_s: float) -> float | None:
    """Move to the key frame before `start_s` seconds after the first frame; return the first
    frame's time (the clip's origin), or None if the clip has no frames."""
    first = next(_decode(container, stream, path), None)
    if first is None:
        return None
    origin_s = first.time or 0.0
    container.seek(int((origin_s + start_s) / stream.time_base), stream=stream, backward=True, any_frame=False)
    return origin_s


def read_ahead(frames: Iterable[Frame], depth: int = 8) -> Iterator[Frame]:
    """Yield `frames`, decoded in a background thread up to `depth` frames ahead of the consumer.

    Decoding, scaling and colour conversion (FFmpeg, which releases the GIL) then run on another
    core while the consumer works on the previous frame. Errors raised while decoding reach the
    consumer; a consumer that stops early stops the thread. The frames waiting are memory (2.8 MB
    each at 720p), but a pose model on its own was 6% slower with 2 waiting than with 8.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def produce() -> None:
        try:
            for frame in frames:
                if not _put(ready, frame, stop):
                    return
        finally:  # the end of the frames, or an error: the consumer stops waiting either way
            _put(ready, finished, stop)
            if hasattr(frames, "close"):  # a generator stopped early closes its file now
                frames.close()

    decoding = Background(produce, name="wpa-decode").start()
    try:
        while (item := ready.get()) is not finished:
            yield item
        decoding.result()  # raises what stopped the decoding, if anything did
    finally:
        stop.set()
        decoding.wait()


def _put(ready: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put `item` on the queue unless the consumer has stopped; False if it has."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoError(f"{path}: no such file. Check the path and try again.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name}: the file is empty (0 bytes). The upload or copy may have failed; try again.")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise VideoError(f"{path.name}: not a video file that can be read ({_reason(error)}). "
                         f"Use a clip in one of {', '.join(VIDEO_EXTENSIONS)}.") from error
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name}: the file holds no video stream (is it audio only, or empty?). "
                         "Choose a clip with video in it.")
    return container


def _decode(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            path: Path) -> Iterator[av.VideoFrame]:
    """Decode `stream`, skipping packets FFmpeg rejects and stopping where the data ends."""
    try:
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.error.InvalidDataError:
                continue  # one damaged packet: the decoder resynchronises at the next key frame
    except av.error.FFmpegError:
        return  # truncated container: keep the frames read so far


def to_upright_rgb(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    """A decoded frame (from a file or a camera stream) as upright RGB (H, W, 3) uint8, C-contiguous,
    scaled so that neither side exceeds `max_side` pixels."""
    width, height = frame.width, frame.height
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
        # Even sizes keep every pixel format's chroma planes whole.
        width, height = max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
        rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
    else:
        rgb = frame.to_ndarray(format="rgb24")
    quarter_turns = _quarter_turns(frame)
    if quarter_turns:
        rgb = np.rot90(rgb, k=quarter_turns)
    # PyAV pads rows for many widths; MediaPipe silently finds nobody in a strided array.
    return np.ascontiguousarray(rgb)


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that make the frame upright, from its display matrix."""
    rotation = getattr(frame, "rotation", 0) or 0
    return round(rotation / 90) % 4


def _average_fps(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
