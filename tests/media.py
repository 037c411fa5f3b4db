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
                pixel_format: str = "yuv420p") -> Path:
    """Encode `frames` pattern frames; `timestamps_s` gives each frame's time (variable rate)."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        if timestamps_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            if timestamps_s is not None:
                frame.pts, frame.time_base = round(timestamps_s[i] * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame.reformat(format=pixel_format)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


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
