"""The Upload page's work, without the page: analysis of a real clip, the annotated H.264 video,
the charts, the downloads, caching and cancelling."""

import json
import threading

import av
import numpy as np
import pytest

from tests.conftest import SQUAT_CLIP
from tests.media import concatenate, write_video
from tests.poses import random_pose
from tests.test_model import LABELS, make_model
from wpa.analysis import SPLIT_MIN_S, CaptionsAsPosesArrive, analyze_video
from wpa.annotate import H264Writer, draw_skeleton, frame_caption
from wpa.charts import probabilities_figure, timeline_figure
from wpa.errors import VideoError
from wpa.inference import InferenceConfig, predict_clip
from wpa.model import load_model
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.pose import PoseTrack, extract_pose
from wpa.store import SHIPPED_NAME, list_models
from wpa.video import probe_video


@pytest.fixture(scope="module")
def shipped():
    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture
def caches(tmp_path):
    return {"pose_cache_dir": tmp_path / "poses", "video_cache_dir": tmp_path / "videos"}


def test_a_real_clip_end_to_end(videos, shipped, caches):
    stages = []
    analysis = analyze_video(videos / SQUAT_CLIP, shipped, model_name="shipped", progress=stages.append, **caches)
    assert analysis.prediction.label == "squat" and not analysis.reused
    assert [s.stage for s in stages].count("pose") == 175 and stages[-1].stage == "video"
    assert stages[-1].done == stages[-1].total == 175 and stages[-1].frames_per_second > 0
    assert analysis.verdict()[0].startswith("Squat · ")

    with av.open(str(analysis.annotated_video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 175
    data = analysis.annotated_video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while it downloads

    table = analysis.frames_table()
    assert len(table) == 175 and list(table.columns[:6]) == ["frame", "time_s", "person", "label", "confidence", "raw_label"]
    assert [c for c in table.columns if c.startswith("p_")] == [f"p_{label}" for label in shipped.labels]
    np.testing.assert_allclose(table[[f"p_{label}" for label in shipped.labels]].sum(axis=1), 1.0, atol=1e-3)
    summary = json.loads(analysis.summary_json())
    assert summary["label"] == "squat" and summary["frames"] == 175 and summary["model"] == "shipped"
    segments = analysis.segments_table()
    assert list(segments.columns) == ["exercise", "start (s)", "end (s)", "duration (s)", "confidence"]


def test_the_same_clip_is_not_processed_again(videos, shipped, caches):
    first = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    calls = []
    second = analyze_video(videos / SQUAT_CLIP, shipped, progress=calls.append, **caches)
    assert second.reused and calls == [] and second.annotated_video == first.annotated_video
    # Another model, or other settings, draw another video (the poses are still reused).
    third = analyze_video(videos / SQUAT_CLIP, shipped, inference=InferenceConfig(min_confidence=0.9),
                          progress=calls.append, **caches)
    assert not third.reused and {c.stage for c in calls} == {"video"}


@pytest.mark.parametrize("stage", ["pose", "video"])
def test_a_cancelled_analysis_leaves_nothing_half_written(videos, shipped, caches, stage):
    class Cancelled(Exception):
        pass

    def cancel(progress):  # the video is drawn while poses are found, and finished after
        if progress.stage == stage and progress.done >= 50:
            raise Cancelled

    with pytest.raises(Cancelled):
        analyze_video(videos / SQUAT_CLIP, shipped, progress=cancel, **caches)
    assert list(caches["video_cache_dir"].iterdir()) == []
    assert not list(caches["pose_cache_dir"].glob("*"))
    assert not [t for t in threading.enumerate() if t.name.startswith("wpa-")], "drawing and decoding stopped"
    assert analyze_video(videos / SQUAT_CLIP, shipped, **caches).annotated_video.is_file()


def test_a_clip_with_nobody(tmp_path, shipped, caches):
    analysis = analyze_video(write_video(tmp_path / "empty-gym.mp4", frames=20, size=(320, 240)), shipped, **caches)
    assert analysis.prediction.label == "no_person"
    assert analysis.verdict()[0] == "Nobody found"
    assert analysis.annotated_video.is_file()


def test_a_file_that_is_not_a_video(tmp_path, shipped, caches):
    bad = tmp_path / "clip.mov"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError):
        analyze_video(bad, shipped, **caches)


def test_h264_writer_keeps_timestamps_and_even_sizes(tmp_path):
    with H264Writer(tmp_path / "out.mp4", 101, 75) as writer:
        for t in (0.0, 0.1, 0.5, 0.55):
            writer.write(np.zeros((75, 101, 3), np.uint8), t)
    with av.open(str(tmp_path / "out.mp4")) as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == (100, 74)
    np.testing.assert_allclose([f.time for f in frames], [0.0, 0.1, 0.5, 0.55], atol=1e-3)


def test_skeleton_is_drawn_where_the_person_is():
    image = np.zeros((200, 200, 3), np.uint8)
    pose = random_pose(frames=1)
    draw_skeleton(image, pose.landmarks[0])
    assert image.any()
    untouched = np.zeros((200, 200, 3), np.uint8)
    draw_skeleton(untouched, np.full((33, 4), np.nan, np.float32))
    assert not untouched.any()


def test_timeline_shows_exercises_gaps_and_segments():
    pose = random_pose(frames=90, missing=tuple(range(30, 70)))
    prediction = predict_clip(make_model(), pose, InferenceConfig(min_confidence=0.0))
    figure = timeline_figure(prediction, 0.5)
    names = [trace.name for trace in figure.data]
    assert names[-1] == "raw, per frame" and set(names[:-1]) <= {label.replace("_", " ") for label in LABELS}
    assert any(shape.type == "rect" for shape in figure.layout.shapes)  # the stretch with nobody
    assert figure.layout.xaxis.title.text == "time (s)"
    heatmap = probabilities_figure(prediction).data[0]
    assert np.asarray(heatmap.z).shape == (len(LABELS), 90) and list(heatmap.y) == [l.replace("_", " ") for l in LABELS]


def test_model_store_lists_the_shipped_model_and_explains_broken_ones(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.json").write_text("{broken")
    entries = list_models(user_dir=tmp_path)
    assert entries[0].name == SHIPPED_NAME and entries[0].usable and len(entries[0].labels) == 14
    assert entries[0].headline_metrics["clip_accuracy"] > 0.5 and "cross-validation" in entries[0].measured_by
    assert entries[1].name == "mine" and not entries[1].usable and "damaged" in entries[1].problem


def test_captions_drawn_while_poses_arrive_match_the_whole_clip(videos, shipped):
    pose = extract_pose(videos / SQUAT_CLIP)
    whole = predict_clip(shipped, pose)
    track = PoseTrack(pose.fps, pose.frame_size)

    def find_poses():  # the pose pass, a frame at a time, in another thread
        for i in range(len(pose)):
            track.add((pose.landmarks[i], pose.world_landmarks[i]), pose.timestamps_s[i], pose.frame_size)
        track.finish()

    finder = threading.Thread(target=find_poses)
    finder.start()
    captions = CaptionsAsPosesArrive(track, shipped, InferenceConfig())
    drawn = [captions(i, t) for i, t in enumerate(pose.timestamps_s)]
    finder.join()
    assert [text for _, text, _ in drawn] == [frame_caption(whole, i)[0] for i in range(len(pose))]
    assert all(np.array_equal(landmarks, pose.landmarks[i]) for i, (landmarks, _, _) in enumerate(drawn))
    assert captions(len(pose), pose.timestamps_s[-1] + 0.04) is None  # past the last pose: the video ends


def test_a_long_clip_is_split_among_pose_models_and_drawn_whole(videos, shipped, caches, tmp_path):
    clip = concatenate([videos / SQUAT_CLIP] * 3, tmp_path / "three-sets.mp4")
    assert probe_video(clip).duration_s >= SPLIT_MIN_S
    analysis = analyze_video(clip, shipped, **caches)
    assert analysis.prediction.label == "squat"
    with av.open(str(analysis.annotated_video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(analysis.pose)
