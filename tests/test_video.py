"""Decoding: the containers and codecs phones, cameras and websites produce, upright and timed."""

import threading

import av
import numpy as np
import pytest

from tests.support.media import write_image, write_video
from wpa.errors import VideoError
from wpa.media.video import probe_video, read_ahead, read_frames

FORMATS = [
    ("clip.mp4", "libx264", {}),
    ("clip.mov", "libx264", {}),
    ("clip.m4v", "libx264", {}),
    ("clip.mkv", "libx265", {}),  # HEVC
    ("clip.webm", "libvpx-vp9", {}),
    ("clip.mp4", "libsvtav1", {}),  # AV1
    ("clip.avi", "mpeg4", {}),
    ("clip.gif", "gif", {"pixel_format": "rgb8"}),
]


@pytest.mark.parametrize("name,codec,options", FORMATS, ids=[f"{n}-{c}" for n, c, _ in FORMATS])
def test_every_format_decodes_to_contiguous_rgb(tmp_path, name, codec, options):
    path = write_video(tmp_path / name, codec, frames=12, size=(64, 48), **options)
    info = probe_video(path)
    frames = list(read_frames(path))
    assert (info.width, info.height) == (64, 48)
    assert len(frames) == 12
    assert all(f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 and f.rgb.flags.c_contiguous for f in frames)
    assert frames[0].rgb[5, 5].mean() > 200 and frames[0].rgb[40, 60].mean() < 100  # top-left quarter is white
    assert [f.index for f in frames] == list(range(12))
    assert np.all(np.diff([f.timestamp_s for f in frames]) > 0)


@pytest.mark.parametrize("rotation,white_corner", [(90, "bottom-left"), (-90, "top-right"), (180, "bottom-right")])
def test_rotation_metadata_comes_out_upright(tmp_path, rotation, white_corner):
    path = write_video(tmp_path / "portrait.mp4", size=(64, 48), rotation=rotation)
    info = probe_video(path)
    frame = next(read_frames(path)).rgb
    expected_shape = (48, 64) if rotation == 180 else (64, 48)
    assert frame.shape[:2] == expected_shape
    assert (info.height, info.width) == expected_shape
    corners = {"bottom-left": frame[-3, 2], "top-right": frame[2, -3], "bottom-right": frame[-3, -3]}
    assert corners[white_corner].mean() > 200
    assert frame[2, 2].mean() < 100  # the original top-left is no longer at the top left


@pytest.mark.parametrize("name", ["vfr.mkv", "vfr.mp4"])
def test_variable_frame_rate_keeps_true_timestamps(tmp_path, name):
    times = [0.0, 0.03, 0.2, 0.21, 0.5, 0.9]
    path = write_video(tmp_path / name, frames=len(times), timestamps_s=times)
    np.testing.assert_allclose([f.timestamp_s for f in read_frames(path)], times, atol=1e-3)


def test_frames_are_scaled_down_to_max_side(tmp_path):
    path = write_video(tmp_path / "big.mp4", size=(640, 360), frames=3)
    frame = next(read_frames(path, max_side=320)).rgb
    assert frame.shape == (180, 320, 3) and frame.flags.c_contiguous


def test_odd_widths_give_contiguous_arrays(tmp_path):
    """PyAV pads rows for many widths; MediaPipe needs C-contiguous pixels."""
    path = write_video(tmp_path / "odd.mp4", size=(360, 202), frames=2)
    assert all(f.rgb.flags.c_contiguous and f.rgb.shape == (202, 360, 3) for f in read_frames(path))


def test_a_still_image_is_a_one_frame_video(tmp_path):
    frames = list(read_frames(write_image(tmp_path / "still.png")))
    assert len(frames) == 1 and frames[0].rgb.shape == (240, 320, 3)


def test_a_truncated_clip_gives_the_frames_before_the_cut(tmp_path):
    path = write_video(tmp_path / "whole.mkv", frames=60, size=(64, 48))
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    frames = list(read_frames(cut))
    assert 0 < len(frames) < 60


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        probe_video(tmp_path / "nope.mp4")


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match="not a video file"):
        probe_video(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(path)


def test_audio_only_file(tmp_path):
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        probe_video(path)


def test_mp4_cut_before_its_index_cannot_be_read(tmp_path):
    path = write_video(tmp_path / "whole.mp4", frames=30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(VideoError):
        probe_video(cut)


def test_memory_stays_flat_on_a_ten_minute_clip(tmp_path):
    """Frames are streamed: decoding 10 minutes holds no more than a few frames at a time."""
    import tracemalloc

    path = write_video(tmp_path / "ten-minutes.avi", "mpeg4", frames=10 * 60 * 30, fps=30, size=(64, 48))
    tracemalloc.start()
    count = 0
    for frame in read_frames(path):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 18_000
    assert peak < 2_000_000  # 18,000 frames of 9 kB each would be 166 MB


@pytest.mark.parametrize("name,codec", [("clip.mp4", "libx264"), ("clip.webm", "libvpx-vp9")])
def test_reading_from_a_moment_gives_the_same_frames_as_reading_through(tmp_path, name, codec):
    path = write_video(tmp_path / name, codec, frames=90, fps=30, size=(64, 48), gop=15)
    assert probe_video(path).seekable
    everything = list(read_frames(path))
    later = list(read_frames(path, start_s=1.51))
    assert later[0].timestamp_s >= 1.51 - 1e-3 and everything[-len(later) - 1].timestamp_s < 1.51
    assert [f.timestamp_s for f in later] == [f.timestamp_s for f in everything[-len(later):]]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(later, everything[-len(later):]))
    assert list(read_frames(path, start_s=10.0)) == []


def test_a_gif_is_not_split(tmp_path):
    assert not probe_video(write_video(tmp_path / "clip.gif", "gif", frames=12, pixel_format="rgb8")).seekable


def test_reading_ahead_gives_every_frame_and_stops_with_its_reader(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=40)
    assert [f.index for f in read_ahead(read_frames(path), depth=4)] == list(range(40))
    ahead = read_ahead(read_frames(path), depth=4)
    next(ahead)
    ahead.close()  # the reader stopped early: the decoding thread ends too
    assert not [t for t in threading.enumerate() if t.name == "wpa-decode"]


def test_reading_ahead_passes_errors_on():
    def broken():
        yield from ()
        raise VideoError("damaged")

    with pytest.raises(VideoError, match="damaged"):
        list(read_ahead(broken()))
