"""A corpus of bad and odd inputs, generated at test time (nothing here is committed media).

Each case is a file a user might hand wpa, with what wpa must make of it: an `error` (a message
naming the problem, with nothing computed) or a result, with the `warning` the person must read
beside it. The same cases are fed to the command line and to the pages (test_corpus.py), and
docs/RELIABILITY.md lists them with what each gets.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

from tests.support.data import SQUAT_CLIP
from tests.support.media import without_frame_data, write_video
from tests.support.models import make_model
from tests.support.poses import random_pose
from wpa.media.video import read_frames
from wpa.poses.table import ORIGINAL_COLUMNS
from wpa.recognition.model import save_model

LANDSCAPE_CLIP = "push_up/krishnawin__FitCenter__push-up_1.mp4"


@dataclass(frozen=True)
class VideoCase:
    """A clip a user might upload. `error`: part of the refusal message. Otherwise a result is
    expected: `person` (someone was found), `label` (that exercise), `warning` (part of a note)."""

    name: str
    make: Callable[[Path, Path], Path]  # (folder to write in, real clips) -> the file
    error: str | None = None
    person: bool = False
    label: str | None = None
    warning: str | None = None


def real_frames(videos: Path, clip: str = SQUAT_CLIP, max_side: int = 480, count: int | None = None) -> list[np.ndarray]:
    frames = [frame.rgb for frame in read_frames(videos / clip, max_side=max_side)]
    return frames[:count] if count else frames


def encode(path: Path, frames: list[np.ndarray], timestamps_s: list[float] | None = None, fps: int = 30,
           rotation: int | None = None, codec: str = "libx264", options: dict | None = None) -> Path:
    """H.264 (by default) of RGB `frames`, at `fps` or at the given times (1 ms resolution)."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options={"preset": "ultrafast", **(options or {})})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if timestamps_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if timestamps_s is not None:
                frame.pts, frame.time_base = round(timestamps_s[index] * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def even(size: float) -> int:
    return max(2, int(size) // 2 * 2)


def text_named_mp4(folder: Path, videos: Path) -> Path:
    path = folder / "notes.mp4"
    path.write_text("These are my workout notes, not a video.\n" * 20)
    return path


def zero_bytes(folder: Path, videos: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def truncated(folder: Path, videos: Path) -> Path:
    """A real clip in Matroska (its duration is declared up front), cut off at 40% of its bytes."""
    whole = encode(folder / "whole.mkv", real_frames(videos))
    path = folder / "cut-short.mkv"
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 5])
    whole.unlink()
    return path


def no_frames(folder: Path, videos: Path) -> Path:
    """An MP4 whose video stream and index are whole, cut where the frame data starts."""
    whole = folder / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(10):
            for packet in stream.encode(av.VideoFrame(320, 240, "yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    path = without_frame_data(whole, folder / "no-frames.mp4")
    whole.unlink()
    return path


def audio_only(folder: Path, videos: Path) -> Path:
    """A second of a tone, AAC in an MP4 named like a video."""
    path = folder / "voice-memo.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = (np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100) * 0.3).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def one_pixel(folder: Path, videos: Path) -> Path:
    return write_video(folder / "one-pixel.mkv", codec="ffv1", size=(1, 1), pixel_format="yuv444p", frames=5)


def four_k(folder: Path, videos: Path) -> Path:
    frames = [cv2.resize(rgb, (3840, 2160)) for rgb in real_frames(videos, LANDSCAPE_CLIP, count=15)]
    return encode(folder / "4k.mp4", frames)


def one_frame(folder: Path, videos: Path) -> Path:
    return encode(folder / "one-frame.mp4", real_frames(videos, count=1))


def two_hundred_forty_fps(folder: Path, videos: Path) -> Path:
    return encode(folder / "slow-motion-240fps.mp4", real_frames(videos), fps=240)


def variable_frame_rate(folder: Path, videos: Path) -> Path:
    """A phone's variable frame rate: gaps between frames from 10 ms to 70 ms."""
    frames = real_frames(videos)
    gaps = np.random.default_rng(0).uniform(0.010, 0.070, len(frames))
    return encode(folder / "variable-rate.mp4", frames, timestamps_s=list(np.cumsum(gaps) - gaps[0]))


def portrait_rotated(folder: Path, videos: Path) -> Path:
    """A landscape clip stored sideways with a 90° display rotation, as phones write portrait video."""
    sideways = [np.ascontiguousarray(np.rot90(rgb, k=-1)) for rgb in real_frames(videos, LANDSCAPE_CLIP)]
    return encode(folder / "phone-rotated.mp4", sideways, rotation=90)


def nobody(folder: Path, videos: Path) -> Path:
    """An empty room: a still background with sensor noise."""
    rng = np.random.default_rng(1)
    room = np.full((240, 320, 3), (150, 140, 120), np.uint8)
    frames = [np.clip(room + rng.normal(0, 4, room.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    return encode(folder / "empty-room.mp4", frames)


def two_people(folder: Path, videos: Path) -> Path:
    """Two people side by side, doing squats out of step."""
    frames = real_frames(videos)
    height = 360
    width = even(frames[0].shape[1] * height / frames[0].shape[0])
    side = [cv2.resize(rgb, (width, height)) for rgb in frames]
    pairs = [np.hstack([side[i], side[min(i + 15, len(side) - 1)]]) for i in range(len(side))]
    return encode(folder / "two-people.mp4", pairs)


def black_frames(folder: Path, videos: Path) -> Path:
    return encode(folder / "lens-covered.mp4", [np.zeros((240, 320, 3), np.uint8)] * 30)


def huge_declared_size(folder: Path, videos: Path) -> Path:
    """A 1 kB GIF whose header declares a 12000 x 12000 picture (decoding it took 3 GB)."""
    small = write_video(folder / "small.gif", codec="gif", pixel_format="rgb8", frames=3, size=(32, 32))
    data = bytearray(small.read_bytes())
    data[6:10] = (12000).to_bytes(2, "little") * 2  # logical screen width and height
    small.unlink()
    path = folder / "declares-12000x12000.gif"
    path.write_bytes(bytes(data))
    return path


VIDEO_CASES = [
    VideoCase("text file named .mp4", text_named_mp4, error="not a video file"),
    VideoCase("zero-byte file", zero_bytes, error="the file is empty (0 bytes)"),
    VideoCase("truncated clip", truncated, person=True, label="squat", warning="may be cut short"),
    VideoCase("video stream of 0 frames", no_frames, error="no frames that can be decoded"),
    VideoCase("audio only", audio_only, error="holds no video stream"),
    VideoCase("1x1 pixel clip", one_pixel, error="only 1 x 1 pixels, too small"),
    VideoCase("4K clip", four_k, person=True),
    VideoCase("1-frame clip", one_frame, person=True),
    VideoCase("240 fps", two_hundred_forty_fps, person=True),
    VideoCase("variable frame rate", variable_frame_rate, person=True, label="squat"),
    VideoCase("portrait with rotation metadata", portrait_rotated, person=True, label="push_up"),
    VideoCase("nobody in it", nobody, warning="Nobody was found in any frame"),
    VideoCase("two people", two_people, person=True, label="squat", warning="2 people are in view"),
    VideoCase("black frames", black_frames, warning="Nobody was found in any frame"),
    VideoCase("huge declared size", huge_declared_size, error="declares frames of 12000 x 12000 pixels"),
]


# Archives and landmark tables: training data from a user.

@dataclass(frozen=True)
class DataCase:
    """Training data a user might upload (a zip of class folders, or a landmarks CSV), and part
    of the message that refuses it."""

    name: str
    file_name: str
    make: Callable[[], bytes]
    error: str


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def zip_with_traversal() -> bytes:
    return _zip({"squat/a.mp4": b"x", "../../evil.mp4": b"x"})


def zip_with_absolute_path() -> bytes:
    return _zip({"squat/a.mp4": b"x", "/tmp/evil/plank/b.mp4": b"x"})


def zip_bomb() -> bytes:
    """256 MB of zeros that compress to a quarter of a megabyte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        with bundle.open("squat/bomb.mp4", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(256):
                member.write(block)
    return buffer.getvalue()


def _csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def _table(frames: int = 6) -> pd.DataFrame:
    rows = [list(frame[:, :3].reshape(-1)) + [label] for label, seed in (("squat", 1), ("plank", 2))
            for frame in random_pose(frames=frames, seed=seed).landmarks]
    return pd.DataFrame(rows, columns=list(ORIGINAL_COLUMNS) + ["label"])


def csv_missing_columns() -> bytes:
    return _csv(_table().drop(columns=["y5", "z7"]))


def csv_with_nan() -> bytes:
    table = _table()
    table.loc[1, "z3"] = np.nan
    return _csv(table)


def csv_with_wrong_types() -> bytes:
    table = _table().astype({"x4": object})
    table.loc[2, "x4"] = "left knee"
    return _csv(table)


def csv_with_ten_thousand_classes() -> bytes:
    pose = random_pose(frames=1)
    rows = [list(pose.landmarks[0, :, :3].reshape(-1)) + [f"class{i}"] for i in range(10_000)]
    return _csv(pd.DataFrame(rows, columns=list(ORIGINAL_COLUMNS) + ["label"]))


def csv_that_is_binary() -> bytes:
    return b"\x00\x01\x02\xff binary, not text"


DATA_CASES = [
    DataCase("zip with ../ paths", "data.zip", zip_with_traversal, error="outside its folder"),
    DataCase("zip with absolute paths", "data.zip", zip_with_absolute_path, error="outside its folder"),
    DataCase("zip bomb", "data.zip", zip_bomb, error="refused as a possible zip bomb"),
    DataCase("CSV with missing columns", "landmarks.csv", csv_missing_columns, error="lacks coordinate columns"),
    DataCase("CSV with NaN", "landmarks.csv", csv_with_nan, error="have empty or NaN"),
    DataCase("CSV with wrong types", "landmarks.csv", csv_with_wrong_types, error="holds 'left knee'"),
    DataCase("CSV with 10,000 classes", "landmarks.csv", csv_with_ten_thousand_classes, error="10000 different labels"),
    DataCase("CSV that is binary", "landmarks.csv", csv_that_is_binary, error="cannot be read as CSV"),
]


# Saved models that must be refused, each made from a freshly saved good one.

def _edit_metadata(folder: Path, **changes) -> None:
    path = folder / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def tampered_weights(folder: Path) -> None:
    weights = folder / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))


def tampered_json(folder: Path) -> None:
    path = folder / "model.json"
    path.write_text(path.read_text()[:100])


def another_feature_version(folder: Path) -> None:
    _edit_metadata(folder, feature_version=0)


def weights_missing(folder: Path) -> None:
    (folder / "weights.pt").unlink()


MODEL_CASES = {
    "tampered weights file": (tampered_weights, "checksum"),
    "tampered JSON": (tampered_json, "damaged"),
    "another feature version": (another_feature_version, "version 0, but this wpa computes version"),
    "weights file missing": (weights_missing, "weights.pt"),
}


def broken_model(folder: Path, case: str) -> Path:
    """A model saved whole into `folder`, then broken as `case` says."""
    save_model(make_model(), folder)
    MODEL_CASES[case][0](folder)
    return folder
