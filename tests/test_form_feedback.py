"""Form feedback where people look: a classified clip's segments and repetitions, Upload's tables
and files, `classify --json`, and Live; on synthetic stick figures (tests/test_form.py)."""

from __future__ import annotations

import json

import numpy as np

from tests.support.movement import FPS, curl, figure_sequence, plank
from wpa.cli import main
from wpa.movement.form import fit_profile
from wpa.movement.form.references import save_references
from wpa.movement.reps import Repetition
from wpa.poses.sequence import PoseSequence
from wpa.recognition.inference import ClipPrediction, Segment


# --- feedback on a classified clip ------------------------------------------------------------


def _prediction(pose: PoseSequence, label: str, repetitions: tuple) -> ClipPrediction:
    times = pose.timestamps_s
    return ClipPrediction(labels=(label,), timestamps_s=times, probabilities=np.ones((len(times), 1)),
                          smoothed=np.ones((len(times), 1)), frame_labels=(label,) * len(times), label=label,
                          confidence=1.0, best_guess=label,
                          segments=(Segment(label, 0.0, float(times[-1]) + 1 / FPS, 1.0, repetitions),))


def test_each_repetition_of_a_segment_is_judged_and_the_worst_marked(tmp_path):
    from wpa.movement.form.feedback import Reference, form_record, segment_forms, worst_repetitions
    references = {"curl": Reference(fit_profile([curl(seed=s) for s in range(4)]), "the model's")}
    good, bad = curl(reps=3, seed=20), curl(reps=2, lean_deg=30, seed=21)
    pose = figure_sequence(np.concatenate([good.landmarks, bad.landmarks]), np.arange(len(good) + len(bad)) / FPS)
    repetitions = tuple(Repetition(2.0 * i, 2.0 * i + 2.0) for i in range(5))
    prediction = _prediction(pose, "curl", repetitions)
    forms = segment_forms(prediction, pose, references)
    assert len(forms[0].reps) == 5
    worst = worst_repetitions(forms)
    assert len(worst) == 1 and worst <= {(0, 3), (0, 4)}  # one of five: a leaning one
    record = form_record(prediction, pose, references)
    assert record[0]["reference"] == "the model's" and len(record[0]["reps"]) == 5
    assert record[0]["reps"][4]["cues"] and not record[0]["reps"][0]["cues"]
    assert form_record(prediction, pose, {}) is None


def test_a_segment_without_repetitions_is_not_judged_against_repetitions():
    from wpa.movement.form.feedback import Reference, segment_forms
    references = {"curl": Reference(fit_profile([curl(seed=s) for s in range(2)]), "the model's")}
    pose = curl(seed=3)
    assert segment_forms(_prediction(pose, "curl", ()), pose, references) == (None,)
    holds = {"plank": Reference(fit_profile([plank(seed=s) for s in range(2)]), "yours")}
    hold = plank(seed=4)
    assert len(segment_forms(_prediction(hold, "plank", ()), hold, holds)[0].reps) == 3


def test_my_good_form_replaces_the_models_reference(tmp_path):
    from wpa.movement.form.feedback import form_references, forget_good_form, save_good_form
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.json").write_text(json.dumps({"weights_sha256": "w", "labels": ["curl"]}))
    save_references({"curl": fit_profile([curl()])}, model_dir)
    assert form_references(model_dir, tmp_path / "mine")["curl"].source == "the model's"
    pose = curl(reps=4, seed=8)
    repetitions = tuple(Repetition(2.0 * i, 2.0 * i + 2.0) for i in range(4))
    assert save_good_form(_prediction(pose, "curl", repetitions), pose, tmp_path / "mine") == ["curl"]
    assert form_references(model_dir, tmp_path / "mine")["curl"].source == "yours"
    forget_good_form("curl", tmp_path / "mine")
    assert form_references(model_dir, tmp_path / "mine")["curl"].source == "the model's"


# --- Live -------------------------------------------------------------------------------------


def test_live_shows_a_cue_after_a_leaning_repetition_for_a_few_seconds():
    from wpa.movement.form.feedback import Reference
    from wpa.movement.form.live import LiveForm
    live = LiveForm({"curl": Reference(fit_profile([curl(seed=s) for s in range(4)]), "the model's")}, show_s=3.0)
    good, bad = curl(reps=2, seed=30), curl(reps=1, lean_deg=30, seed=31)
    frames = np.concatenate([good.landmarks, bad.landmarks])
    shown = []
    for i, landmarks in enumerate(frames):
        t = i / FPS
        counted = tuple(Repetition(2.0 * k, 2.0 * k + 2.0) for k in range(int(t // 2.0)))  # counted as it ends
        shown.append(live.update("curl", landmarks, t, counted))
    counted = tuple(Repetition(2.0 * k, 2.0 * k + 2.0) for k in range(3))  # the last, counted a frame later
    shown.append(live.update("curl", frames[-1], len(frames) / FPS, counted))
    cues = [text for text in shown if text]
    assert "good rep" in cues  # the first repetitions: no cue, but a word that they were judged
    assert live.latest.cues and live.latest.cues[0].part == "torso"
    assert live.update("curl", frames[-1], len(frames) / FPS + 5.0, counted) == ""  # gone after show_s
    assert live.update("squat", frames[-1], len(frames) / FPS + 6.0, ()) == ""  # no reference: nothing


def test_classify_json_has_form_per_segment(tmp_path, capsys):
    from wpa.poses.clip import Clip
    from wpa.poses.table import write_landmarks_table
    pose = curl(reps=5)
    landmarks = np.where(np.isnan(pose.landmarks), pose.landmarks[:, 23:24], pose.landmarks)  # every landmark there
    pose = PoseSequence(landmarks, np.zeros((len(pose), 33, 3), np.float32), pose.timestamps_s, FPS, (640, 480))
    write_landmarks_table([Clip("curl/a", "curl", pose)], tmp_path / "t.csv")
    assert main(["classify", str(tmp_path / "t.csv"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert len(record["form"]) == len(record["segments"])  # the shipped model's references (form.json)
    for segment, form in zip(record["segments"], record["form"]):
        assert form is None or (len(form["reps"]) == segment["reps"] and form["reference"] == "the model's")


def test_uploads_files_and_tables_carry_form(tmp_path):
    from types import SimpleNamespace
    from wpa.serving.analysis import VideoAnalysis
    from wpa.movement.form.feedback import Reference, segment_forms
    references = {"curl": Reference(fit_profile([curl(seed=s) for s in range(4)]), "the model's")}
    pose = curl(reps=3, lean_deg=30, seed=40)
    prediction = _prediction(pose, "curl", tuple(Repetition(2.0 * i, 2.0 * i + 2.0) for i in range(3)))
    info = SimpleNamespace(width=640, height=480, fps=30.0, codec="h264", duration_s=6.0)
    analysis = VideoAnalysis("c.mp4", info, pose, prediction, tmp_path / "v.mp4", "default", False,
                             segment_forms(prediction, pose, references), references)
    frames = analysis.frames_table()
    assert frames["form_score"].notna().all() and frames["form_cue"].str.contains("torso").any()
    assert list(analysis.segments_table().columns[-2:]) == ["form", "top cue"]
    assert len(analysis.repetitions_table()) == 3 and analysis.repetitions_table()["worst"].sum() == 1
    summary = json.loads(analysis.summary_json())
    assert summary["form"][0]["reference"] == "the model's" and len(summary["form"][0]["reps"]) == 3
    assert analysis.form_text().startswith("Furthest from good form: curl rep")


# --- the annotated video ------------------------------------------------------------------------


def _form_of(*reps):
    """A ClipForm of repetitions given as (start_s, end_s, cue text or "")."""
    from wpa.movement.form.cues import Cue
    from wpa.movement.form.units import ClipForm, RepForm
    return ClipForm(tuple(RepForm(a, b, 1.0, (Cue("torso lean top", "torso", 5.0, 20.0, cue),) if cue else ())
                          for a, b, cue in reps), 1.0, ())


def test_a_repetitions_cue_shows_under_the_count_for_a_moment_after_it_ends():
    from wpa.media.annotate import cue_timeline
    times = np.arange(0, 12, 0.5)
    forms = (_form_of((0.0, 2.0, "torso leans back"), (2.0, 3.0, "hips higher")),
             None, _form_of((5.0, 6.0, ""), (7.0, 8.0, "squat shallower")))
    shown = dict(zip(times.tolist(), cue_timeline(forms, times, show_s=2.0)))
    assert shown[0.0] == shown[1.5] == ""  # nothing before the first repetition ends
    assert shown[2.0] == shown[2.5] == "torso leans back"  # from its end...
    assert shown[3.0] == shown[4.5] == "hips higher"  # ...until the next one's end replaces it
    assert shown[5.0] == ""  # the next repetition was fine (and clears the last cue)...
    assert shown[6.0] == shown[6.5] == ""  # ...and a later one with a cue shows it for show_s only
    assert shown[8.0] == shown[9.5] == "squat shallower" and shown[10.0] == ""
    assert cue_timeline((), times) == [""] * len(times) == cue_timeline((None,), times)


def test_the_caption_carries_the_cue_and_the_cue_is_drawn_under_the_count():
    from wpa.media.annotate import caption_timeline, draw_caption, draw_cue
    pose = curl(reps=3)
    prediction = _prediction(pose, "curl", (Repetition(0.0, 2.0), Repetition(2.0, 4.0)))
    captions = caption_timeline(prediction, (_form_of((0.0, 2.0, "torso leans back 20° more"), (2.0, 4.0, "")),))
    assert [c.cue for c in captions[:60]] == [""] * 60 and captions[60].cue == "torso leans back 20° more"
    assert captions[60].reps == 1 and captions[119].cue == captions[60].cue  # 2 s on...
    assert captions[120].cue == "" and captions[120].reps == 2  # ...until a repetition without a cue ends
    image = np.full((480, 640, 3), 200, np.uint8)
    draw_caption(image, captions[60].text, captions[60].color)
    band = (image[:, 320] != 200).any(axis=1).nonzero()[0][-1] + 1  # the caption's band ends here
    draw_cue(image, captions[60].cue)
    below = image[band:band + 60]
    assert (below != 200).any() and (image[band + 120:] == 200).all()  # just under the caption, no lower


def test_a_clips_form_is_saved_and_read_back_as_it_was(tmp_path):
    from wpa.movement.form.feedback import Reference, segment_forms
    from wpa.movement.form.saved import load_forms, save_forms
    references = {"curl": Reference(fit_profile([curl(seed=s) for s in range(4)]), "the model's")}
    pose = curl(reps=3, lean_deg=30, seed=41)
    forms = segment_forms(_prediction(pose, "curl", tuple(Repetition(2.0 * i, 2.0 * i + 2.0) for i in range(3))),
                          pose, references) + (None,)
    save_forms(forms, tmp_path / "form.json")
    assert load_forms(tmp_path / "form.json") == forms and forms[0].reps[2].cues
    (tmp_path / "form.json").write_text("{not json")
    assert load_forms(tmp_path / "form.json") is None and load_forms(tmp_path / "absent.json") is None


def test_references_travel_to_a_worker_as_json():
    from wpa.movement.form.feedback import Reference, references_from_json, references_json
    references = {"curl": Reference(fit_profile([curl(seed=s) for s in range(4)]), "yours")}
    data = json.loads(json.dumps(references_json(references)))
    back = references_from_json(data)
    assert back["curl"].source == "yours" and references_json(back) == data
