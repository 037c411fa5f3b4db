"""The Upload page's work, without the page: analysis of a real clip, the annotated H.264 video,
the charts, the downloads, the repetitions, caching and cancelling."""

import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from tests.support.data import REPS_CLIP, REP_COUNTS, SQUAT_CLIP
from tests.support.media import concatenate, write_video
from tests.support.models import LABELS, make_model
from tests.support.movement import curl
from tests.support.poses import random_pose
from wpa.errors import VideoError
from wpa.media import annotate
from wpa.media.annotate import H264Writer, caption_timeline, draw_skeleton, frame_caption
from wpa.media.charts import probabilities_figure, timeline_figure
from wpa.media.video import VideoInfo, probe_video
from wpa.movement.form import fit_profile
from wpa.movement.form.feedback import Reference
from wpa.movement.reps import Repetition
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.recognition.inference import InferenceConfig, Segment
from wpa.recognition.model import load_model
from wpa.recognition.recognizer import Recognizer
from wpa.serving.analysis import VideoAnalysis, analyze_video
from wpa.serving.processing import SPLIT_MIN_S, locate_files
from wpa.serving.store import SHIPPED_NAME, list_models

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
    """Within one of the count made by eye; the second time, the prediction the first analysis
    saved (the model is not run again)."""
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

    def cancel(progress):  # the video is drawn once the poses are all found
        if progress.stage == stage and progress.done >= 50:
            raise Cancelled

    with pytest.raises(Cancelled):
        analyze_video(videos / SQUAT_CLIP, shipped, progress=cancel, **caches)
    assert not list(caches["video_cache_dir"].glob("**/*"))
    # Poses are saved once they are all found, before the video is drawn: kept for the next time.
    assert len(list(caches["pose_cache_dir"].glob("*"))) == (stage == "video")
    assert not threads_left(), "drawing and decoding stopped"
    stages = []
    assert analyze_video(videos / SQUAT_CLIP, shipped, progress=stages.append, **caches).annotated_video.is_file()
    assert ("pose" in {p.stage for p in stages}) == (stage == "pose")


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
    prediction = Recognizer(make_model(), InferenceConfig(min_confidence=0.0)).predict_clip(pose)
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


def test_the_video_is_drawn_from_the_caption_timeline_of_the_saved_prediction(videos, shipped, caches, monkeypatch):
    """The encoder draws `caption_timeline` of the prediction the worker saved, which the page then
    reads back as it was (the model runs once per upload)."""
    drawn = []
    monkeypatch.setattr(annotate, "draw_caption", lambda image, text, color: drawn.append((text, color)))
    analysis = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    timeline = caption_timeline(analysis.prediction)
    assert drawn == [(caption.text, caption.color) for caption in timeline] and len(drawn) == len(analysis.pose)
    assert timeline[-1].reps == analysis.prediction.reps > 0 and timeline[-1].text.endswith(
        f"· {analysis.prediction.reps} reps")
    fresh = Recognizer(shipped).predict_clip(analysis.pose)
    assert analysis.prediction.segments == fresh.segments and analysis.prediction.frame_labels == fresh.frame_labels
    np.testing.assert_array_equal(analysis.prediction.smoothed, fresh.smoothed)

    def model_run(*args):
        raise AssertionError("the page ran the model again")
    monkeypatch.setattr(Recognizer, "predict_proba", model_run)
    again = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    assert again.reused and again.prediction.segments == analysis.prediction.segments


def test_the_videos_cues_are_the_clips_saved_form(videos, shipped, caches, monkeypatch):
    """The worker judges the clip's form against the references it is given, draws each judged
    repetition's top cue under the count (`caption_timeline`) and saves the form beside the
    prediction, which the page reads back as it was; other references make another entry."""
    # The squats judged against a curl's reference: far from it, every repetition gets a cue.
    references = {"squat": Reference(fit_profile([curl(seed=s) for s in range(4)]), "yours")}
    drawn = []
    monkeypatch.setattr(annotate, "draw_cue", lambda image, text: drawn.append(text))
    analysis = analyze_video(videos / SQUAT_CLIP, shipped, references=references, **caches)
    judged = [rep for form in analysis.form if form for rep in form.reps]
    assert len(judged) == analysis.prediction.reps and all(rep.cues for rep in judged)
    timeline = caption_timeline(analysis.prediction, analysis.form)
    assert drawn == [caption.cue for caption in timeline if caption.cue] and drawn
    assert drawn[0] == judged[0].cues[0].text and len(drawn) < len(analysis.pose)
    assert analysis.summary()["form"][0]["reference"] == "yours"
    again = analyze_video(videos / SQUAT_CLIP, shipped, references=references, **caches)
    assert again.reused and again.form == analysis.form
    plain = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    assert not plain.reused and not any(plain.form) and plain.annotated_video != analysis.annotated_video


def test_a_prediction_that_cannot_be_read_is_made_again(videos, shipped, caches):
    first = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    files = locate_files(videos / SQUAT_CLIP, shipped, InferenceConfig(), pose_cache_dir=caches["pose_cache_dir"],
                         video_cache_dir=caches["video_cache_dir"])
    files.prediction_file.write_bytes(b"not a prediction")
    again = analyze_video(videos / SQUAT_CLIP, shipped, **caches)
    assert not again.reused and again.prediction.segments == first.prediction.segments


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
    return pose, Recognizer(make_model(), InferenceConfig(min_confidence=0.0)).predict_clip(pose)


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
    prediction = Recognizer(make_model(), InferenceConfig(min_confidence=0.0)).predict_clip(pose)
    text = frame_caption(prediction, 0).text
    assert "rep" not in text
    assert frame_caption(prediction, 0, reps=1).text == f"{text}  · 1 rep"
    three = replace(frame_caption(prediction, 0), text=f"{text}  · 3 reps", reps=3)
    assert frame_caption(prediction, 0, reps=3) == three


def test_the_videos_running_count_rises_as_repetitions_end_and_starts_again_with_another_segment(three_seconds):
    pose, prediction = three_seconds
    # The squat's last repetition ends after its segment (it belongs to the segment holding its middle).
    prediction = with_repetitions(prediction, ("squat", 0.0, 1.5, [(0.2, 0.7), (0.7, 1.2), (1.1, 1.6)]),
                                  ("push_up", 1.5, 3.0, [(1.5, 2.5)]))
    done = prediction.reps_done()
    assert done[0] == 0 and done[20] == 0 and done[21] == 1 and done[36] == 2  # 0.7 s is frame 21, 1.2 s frame 36
    assert done[44] == 3  # the squat segment's last frame shows its whole count
    assert done[45] == 0 and done[75] == 1 and done[-1] == 1  # the push-ups counted from 0
    assert all(b >= a for a, b in zip(done[:45], done[1:45]))
    captions = caption_timeline(prediction)
    assert [c.reps for c in captions] == done.tolist() and captions[44].text.endswith("· 3 reps")
