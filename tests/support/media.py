"""Synthetic media for tests, generated at run time (never committed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """An RGB frame whose top-left quarter is white: its position shows the orientation."""
    frame = np.full((height, width, 3), 40, np.uint8)
    frame[: height // 2, : width // 2] = 255
    frame[-4:, :] = index % 256  # a little change from frame to frame
    return frame


def write_video(path: Path, codec: str = "libx264", frames: int = 12, fps: int = 30, size=(64, 48),
                rotation: int | None = None, timestamps_s: list[float] | None = None,
                pixel_format: str = "yuv420p", gop: int | None = None) -> Path:
    """Encode `frames` pattern frames; `timestamps_s` gives each frame's time (variable rate);
    `gop` is the distance between key frames."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        if timestamps_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if gop is not None:
            stream.codec_context.gop_size = gop
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            if timestamps_s is not None:
                frame.pts, frame.time_base = round(timestamps_s[i] * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame.reformat(format=pixel_format)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def without_frame_data(path: Path, out: Path) -> Path:
    """A copy of an MP4 written with +faststart, cut where the frame data starts: the video
    stream and its index are there, not one frame can be decoded."""
    data = path.read_bytes()
    out.write_bytes(data[: data.index(b"mdat") + 4])
    return out


def write_image(path: Path, size=(320, 240), value: int = 128) -> Path:
    """A flat grey PNG: a picture with nobody in it."""
    frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), value, np.uint8), format="rgb24")
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "rgb24"
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def concatenate(clips: list[Path], path: Path, size=(640, 360), gap_s: float = 0.0, fps: int = 30) -> Path:
    """One H.264 clip made of `clips` one after another, each letterboxed to `size`, with `gap_s`
    seconds of black frames (nobody in them) between them: a workout that changes exercise."""
    from wpa.media.video import read_frames

    width, height = size
    black = np.zeros((height, width, 3), np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"

        def put(image: np.ndarray) -> None:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)

        for number, clip in enumerate(clips):
            if number and gap_s:
                for _ in range(round(gap_s * fps)):
                    put(black)
            for frame in read_frames(clip):
                put(letterbox(frame.rgb, size))
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_y4m(clip: Path, path: Path, size=(640, 480), fps: int = 15) -> Path:
    """`clip` letterboxed to `size` as a raw .y4m file: what Chromium's fake camera plays (looped)."""
    return write_y4m_frames(fake_camera_pictures(clip, size, fps), path, fps)


def fake_camera_pictures(clip: Path, size=(640, 480), fps: int = 15) -> list[np.ndarray]:
    """The RGB pictures of `clip` as a camera at `fps` would film them, letterboxed to `size`: at
    each of the camera's instants the clip's frame showing then, so the clip plays at its own speed
    whatever its frame rate (a 10 frames/s GIF's frames are shown more than once)."""
    from wpa.media.video import read_frames

    frames = list(read_frames(clip))
    starts = np.array([frame.timestamp_s for frame in frames])
    instants = np.arange(0.0, starts[-1] + 1 / fps / 2, 1 / fps) if starts[-1] > 0 else np.zeros(1)
    shown = np.searchsorted(starts, instants + 1e-6, side="right") - 1
    return [letterbox(frames[i].rgb, size) for i in np.clip(shown, 0, len(frames) - 1)]


def write_y4m_frames(pictures: list[np.ndarray], path: Path, fps: int = 15) -> Path:
    """RGB `pictures` of one size as a raw .y4m file at `fps`."""
    height, width = pictures[0].shape[:2]
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for picture in pictures:
            for packet in stream.encode(camera_frame(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def camera_frames(clip: Path, size=(640, 480), count: int = 60) -> list[av.VideoFrame]:
    """`count` frames of `clip` (looped), letterboxed to `size`, as the yuv420p frames WebRTC delivers."""
    from wpa.media.video import read_frames

    frames = [camera_frame(letterbox(frame.rgb, size)) for frame in read_frames(clip)]
    return [frames[i % len(frames)] for i in range(count)]


def camera_frame(rgb: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def letterbox(rgb: np.ndarray, size=(640, 360)) -> np.ndarray:
    """`rgb` scaled to fit `size` (width, height) whole, centred on black."""
    import cv2

    width, height = size
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    resized = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    return canvas
