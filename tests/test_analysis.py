"""The Upload page's work, without the page: analysis of a real clip, the annotated H.264 video,
the charts, the downloads, the repetitions, caching and cancelling."""

import json
import threading
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from tests.support.data import REPS_CLIP, REP_COUNTS, SQUAT_CLIP
from tests.support.media import concatenate, write_video
from tests.support.models import LABELS, make_model
from tests.support.movement import phase_of, skeleton
from tests.support.poses import random_pose
from wpa.serving.analysis import VideoAnalysis, analyze_video
from wpa.serving.processing import SPLIT_MIN_S, CaptionsAsPosesArrive
from wpa.media.annotate import H264Writer, draw_skeleton, frame_caption, pose_annotations, running_count
from wpa.media.charts import probabilities_figure, timeline_figure
from wpa.errors import VideoError
from wpa.recognition.inference import InferenceConfig, Segment, count_segment_repetitions, predict_clip
from wpa.recognition.model import load_model
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.poses.extract import extract_pose
from wpa.poses.track import PoseTrack
from wpa.movement.reps import Repetition
from wpa.movement.sets import SET_CHANGE_S, SetTracker
from wpa.serving.store import SHIPPED_NAME, list_models
from wpa.media.video import VideoInfo, probe_video

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
    reps = analysis.prediction.reps
    assert reps > 0 and all(0 <= r.start_s < r.end_s <= 5.9 for r in analysis.prediction.repetitions)
    assert analysis.verdict()[0].startswith(f"Squat · {reps} rep")

    with av.open(str(analysis.annotated_video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 175
    data = analysis.annotated_video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while it downloads

    table = analysis.frames_table()
    assert len(table) == 175
    assert list(table.columns[:7]) == ["frame", "time_s", "person", "label", "confidence", "raw_label", "rep"]
    assert sorted(set(table["rep"])) == list(range(reps + 1))
    assert [c for c in table.columns if c.startswith("p_")] == [f"p_{label}" for label in shipped.labels]
    np.testing.assert_allclose(table[[f"p_{label}" for label in shipped.labels]].sum(axis=1), 1.0, atol=1e-3)
    summary = json.loads(analysis.summary_json())
    assert summary["label"] == "squat" and summary["frames"] == 175 and summary["model"] == "shipped"
    assert summary["reps"] == reps == sum(len(s["rep_times_s"]) for s in summary["segments"])
    segments = analysis.segments_table()
    assert list(segments.columns) == ["exercise", "start (s)", "end (s)", "duration (s)", "reps", "confidence"]
    assert segments["reps"].sum() == reps


def test_repetitions_of_a_real_clip_fresh_and_cached(videos, shipped, caches):
    """Within one of the count made by eye; and counted from the poses each time, never cached,
    so a clip whose poses were cached before repetitions existed gets them too."""
    first = analyze_video(videos / REPS_CLIP, shipped, **caches)
    assert abs(first.prediction.reps - REP_COUNTS[REPS_CLIP]) <= 1
    assert first.verdict()[0].startswith(f"Squat · {first.prediction.reps} reps")
    again = analyze_video(videos / REPS_CLIP, shipped, **caches)
    assert again.reused and again.prediction.repetitions == first.prediction.repetitions
    assert again.summary()["reps"] == first.prediction.reps


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
def test_a_cancelled_analysis_leaves_nothing_half_written(videos, shipped, caches, stage, threads_left):
    class Cancelled(Exception):
        pass

    def cancel(progress):  # the video is drawn while poses are found, and finished after
        if progress.stage == stage and progress.done >= 50:
            raise Cancelled

    with pytest.raises(Cancelled):
        analyze_video(videos / SQUAT_CLIP, shipped, progress=cancel, **caches)
    assert list(caches["video_cache_dir"].iterdir()) == []
    assert not list(caches["pose_cache_dir"].glob("*"))
    assert not threads_left(), "drawing and decoding stopped"
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
    assert entries[0].name == SHIPPED_NAME and entries[0].usable and len(entries[0].labels) == 15
    assert entries[0].headline.clip_accuracy > 0.5 and "cross-validation" in entries[0].headline.measured_by
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
    # The same captions, running count included, as drawn later from the cached poses.
    from_cache = pose_annotations(pose, count_segment_repetitions(whole, pose))
    expected = [from_cache(i, t)[1] for i, t in enumerate(pose.timestamps_s)]
    assert [text for _, text, _ in drawn] == expected
    assert expected[0] == frame_caption(whole, 0)[0] and any(" rep" in text for text in expected)
    assert all(np.array_equal(landmarks, pose.landmarks[i]) for i, (landmarks, _, _) in enumerate(drawn))
    assert captions(len(pose), pose.timestamps_s[-1] + 0.04) is None  # past the last pose: the video ends


def test_a_long_clip_is_split_among_pose_models_and_drawn_whole(videos, shipped, caches, tmp_path):
    clip = concatenate([videos / SQUAT_CLIP] * 3, tmp_path / "three-sets.mp4")
    assert probe_video(clip).duration_s >= SPLIT_MIN_S
    analysis = analyze_video(clip, shipped, **caches)
    assert analysis.prediction.label == "squat"
    with av.open(str(analysis.annotated_video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(analysis.pose)


def analysis_of(prediction, pose) -> VideoAnalysis:
    info = VideoInfo(path=Path("clip.mp4"), width=640, height=480, fps=pose.fps, frame_count=len(pose),
                     duration_s=len(pose) / pose.fps, codec="h264", rotation=0)
    return VideoAnalysis(video_name="clip.mp4", info=info, pose=pose, prediction=prediction,
                         annotated_video=Path("clip-annotated.mp4"), model_name="test", reused=False)


def with_repetitions(prediction, *per_segment):
    """`prediction` with its segments replaced by (label, start, end, [(rep start, rep end), ...])."""
    segments = tuple(Segment(label=label, start_s=start, end_s=end, confidence=0.9 if label != "no_person" else 0.0,
                             repetitions=tuple(Repetition(a, b) for a, b in reps))
                     for label, start, end, reps in per_segment)
    return replace(prediction, segments=segments, label=segments[0].label, best_guess=segments[0].label,
                   confidence=0.9)


@pytest.fixture(scope="module")
def three_seconds():
    pose = random_pose(frames=90)  # 30 frames/s: frame i at i / 30 s
    return pose, predict_clip(make_model(), pose, InferenceConfig(min_confidence=0.0))


def test_each_frame_gets_the_number_of_its_repetition_within_its_segment(three_seconds):
    pose, prediction = three_seconds
    prediction = with_repetitions(prediction, ("squat", 0.0, 1.5, [(0.2, 0.7), (0.7, 1.2)]),
                                  ("push_up", 1.5, 3.0, [(1.5, 2.5)]))
    table = analysis_of(prediction, pose).frames_table()
    expected = np.zeros(90, int)
    expected[6:21], expected[21:36], expected[45:75] = 1, 2, 1  # [start, end): 0.2 s is frame 6, 0.7 s frame 21
    np.testing.assert_array_equal(table["rep"], expected)
    assert table["rep"].dtype.kind == "i"


def test_the_segments_table_has_the_repetitions(three_seconds):
    pose, prediction = three_seconds
    prediction = with_repetitions(prediction, ("squat", 0.0, 2.0, [(0.2, 0.7), (0.7, 1.2)]),
                                  ("no_person", 2.0, 3.0, []))
    table = analysis_of(prediction, pose).segments_table()
    assert table["reps"].tolist()[0] == 2 and pd.isna(table["reps"].tolist()[1])  # blank where nobody is visible
    assert "2 reps of squat" in analysis_of(prediction, pose).repetitions_text().lower()


def test_the_headline_says_the_repetitions_and_says_plainly_when_there_are_none(three_seconds):
    pose, prediction = three_seconds
    counted = analysis_of(with_repetitions(prediction, ("squat", 0.0, 3.0, [(0.2, 1.2), (1.2, 2.2)])), pose)
    assert counted.verdict()[0] == "Squat · 2 reps · 90% confident"
    assert "No repetition" not in counted.verdict()[1]
    one = analysis_of(with_repetitions(prediction, ("squat", 0.0, 3.0, [(0.2, 1.2)])), pose)
    assert one.verdict()[0] == "Squat · 1 rep · 90% confident"
    none = analysis_of(with_repetitions(prediction, ("plank", 0.0, 3.0, [])), pose)
    title, details = none.verdict()
    assert title == "Plank · 90% confident" and "0 rep" not in title + details
    assert "No repetition was found" in details and none.repetitions_text() == "No repetition was found."
    changing = analysis_of(with_repetitions(prediction, ("squat", 0.0, 1.5, [(0.2, 0.7), (0.7, 1.2)]),
                                            ("push_up", 1.5, 3.0, [(1.5, 2.5)])), pose)
    title, details = changing.verdict()
    assert title == "Squat, then push up · 3 reps"
    assert "squat (0–2 s, 2 reps, 90%)" in details and "push up (2–3 s, 1 rep, 90%)" in details


def test_the_timeline_marks_each_repetition_at_its_end(three_seconds):
    pose, prediction = three_seconds
    prediction = with_repetitions(prediction, ("squat", 0.0, 1.5, [(0.2, 0.7), (0.7, 1.2)]),
                                  ("push_up", 1.5, 3.0, [(1.5, 2.5)]))
    marks = [trace for trace in timeline_figure(prediction, 0.5).data if trace.name == "repetition ends"]
    assert len(marks) == 1
    assert list(marks[0].x) == [0.7, 1.2, 2.5] and list(marks[0].text) == ["1", "2", "1"]
    assert "squat rep 2 of 2" in marks[0].hovertext[1] and "0.70–1.20 s" in marks[0].hovertext[1]
    unmarked = timeline_figure(with_repetitions(prediction, ("plank", 0.0, 3.0, [])), 0.5)
    assert not [trace for trace in unmarked.data if trace.name == "repetition ends"]


def test_the_caption_shows_the_running_count():
    pose = random_pose(frames=30)
    prediction = predict_clip(make_model(), pose, InferenceConfig(min_confidence=0.0))
    text = frame_caption(prediction, 0)[0]
    assert "rep" not in text
    assert frame_caption(prediction, 0, reps=1)[0] == f"{text}  · 1 rep"
    assert frame_caption(prediction, 0, reps=3)[0] == f"{text}  · 3 reps"


def running_counts(landmarks, labels, fps=30.0):
    tracker = SetTracker()
    return [running_count(tracker, frame, i / fps, label, 640 / 480, last=i == len(landmarks) - 1)
            for i, (frame, label) in enumerate(zip(landmarks, labels))]


def test_the_videos_running_count_rises_as_repetitions_end_and_starts_again_with_another_exercise():
    squats = skeleton(phase_of([(12.0, 0.5)]))  # 6 squats of 2 s
    raises = skeleton(phase_of([(12.0, 0.5)]), exercise="raise", seed=1)
    counts = running_counts(np.concatenate([squats, raises]), ["squat"] * 360 + ["lateral_raise"] * 360)
    assert counts[0] == 0 and all(b >= a for a, b in zip(counts[:359], counts[1:360]))
    assert 5 <= counts[359] <= 6  # the last squat is counted a little after it ends
    assert counts[360 + int((SET_CHANGE_S + 0.5) * 30)] <= 1  # a new exercise: from 0 again, once it has held
    assert counts[-1] == 6
    # A flicker of another label, or frames it is unsure of, do not restart the count.
    labels = ["squat"] * 360
    labels[200:215] = ["lateral_raise"] * 15
    labels[250:300] = ["unknown"] * 50
    flickering = running_counts(squats, labels)
    assert all(b >= a for a, b in zip(flickering, flickering[1:])) and flickering[-1] == 6
