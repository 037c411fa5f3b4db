"""Form feedback: measurements, the profile, cues, units, converters and the CLI, on synthetic stick
figures whose angles are known (../shared/data/form is used only by the test marked so)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.support.movement import curl, figure, plank
from wpa.cli import main
from wpa.movement.form import FormError, FormProfile, fit_profile, form_units, judge_pose
from wpa.movement.form.cues import describe, unit_cues
from wpa.poses.layouts import (COCO18_TO_MEDIAPIPE, exercise_correction_clips, mediapipe17_clip, openpose18_clip,
                              openpose18_table_clips)
from wpa.movement.form.measures import FRAME_MEASURES, MEASURE_NAMES, MEASURES, frame_measures, visible_points
from wpa.movement.form.references import (fit_references, load_references, load_user_profile, save_references,
                                 save_user_profile)
from wpa.movement.reps import Repetition
from wpa.poses.sequence import LANDMARK_NAMES
from wpa.poses.table import read_landmarks_csv


def _column(name: str) -> int:
    return [m.name for m in FRAME_MEASURES].index(name)


# --- measurements -----------------------------------------------------------------------------


def test_joint_angles_lean_and_body_line_are_measured_in_degrees():
    measures = frame_measures(visible_points(np.stack([figure(lean_deg=-20, elbow_deg=90)])))[0]
    assert measures[_column("elbow angle")] == pytest.approx(90, abs=0.5)
    assert measures[_column("torso lean")] == pytest.approx(-20, abs=0.5)  # back: away from the face
    assert measures[_column("knee angle")] == pytest.approx(180, abs=0.5)
    assert measures[_column("elbow asymmetry")] == pytest.approx(0, abs=1e-6)


def test_hips_above_the_body_line_are_positive_and_below_negative():
    up = frame_measures(visible_points(np.stack([figure(lying=True, hips_up=0.3)])))[0]
    down = frame_measures(visible_points(np.stack([figure(lying=True, hips_up=-0.3)])))[0]
    assert up[_column("body line")] > 5 and down[_column("body line")] < -5


def test_missing_joints_leave_only_their_measures_empty():
    landmarks = np.stack([figure(elbow_deg=90)])
    landmarks[:, 25:29] = np.nan  # no knees or ankles (a table of the upper body)
    measures = frame_measures(visible_points(landmarks))[0]
    assert np.isnan(measures[_column("knee angle")]) and np.isnan(measures[_column("body line")])
    assert measures[_column("elbow angle")] == pytest.approx(90, abs=0.5)


def test_barely_visible_landmarks_are_taken_as_missing():
    landmarks = np.stack([figure(elbow_deg=90)])
    landmarks[:, [15, 16], 3] = 0.05
    assert np.isnan(frame_measures(visible_points(landmarks))[0][_column("elbow angle")])


# --- profile and cues -------------------------------------------------------------------------


def test_a_profile_scores_departures_higher_and_round_trips_through_json(tmp_path):
    rng = np.random.default_rng(1)
    good = rng.normal(100, 2, (30, len(MEASURES)))
    profile = FormProfile().fit(good)
    far = good[:3].copy()
    far[:, 5] += 40
    assert profile.score(far).min() > profile.score(good).max()
    again = FormProfile.load(profile.save(tmp_path / "p.json"))
    np.testing.assert_allclose(again.score(far), profile.score(far), rtol=1e-4)


def test_a_profile_refuses_what_it_cannot_use(tmp_path):
    with pytest.raises(FormError, match="No good repetitions"):
        FormProfile().fit(np.zeros((0, len(MEASURES))))
    with pytest.raises(FormError, match="not been fitted"):
        FormProfile().score(np.zeros((1, len(MEASURES))))
    (tmp_path / "old.json").write_text(json.dumps({"format_version": 0}))
    with pytest.raises(FormError, match="Fit it again"):
        FormProfile.load(tmp_path / "old.json")
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(FormError, match="cannot be read"):
        FormProfile.load(tmp_path / "junk.json")


def _sources(rng, sources: int, units: int) -> tuple[np.ndarray, np.ndarray]:
    """Good units of `sources` people or cameras: each source's form a little off the others' (10
    around 100), its own units alike (within 2)."""
    offsets = rng.normal(0, 10, (sources, 1, len(MEASURES)))
    X = (100 + offsets + rng.normal(0, 2, (sources, units, len(MEASURES)))).reshape(-1, len(MEASURES))
    return X, np.repeat(np.arange(sources).astype(str), units)


def _cued_share(profile: FormProfile, X: np.ndarray) -> float:
    return float((np.abs(profile.deviations(X)).max(axis=1) >= profile.cue_z_).mean())


def test_a_reference_that_knows_its_sources_learns_its_cue_threshold_from_held_out_sources():
    rng = np.random.default_rng(3)
    X, groups = _sources(rng, 8, 12)
    new_source, _ = _sources(rng, 6, 12)  # people it has never seen
    pooled, by_source = FormProfile().fit(X), FormProfile().fit(X, groups=groups)
    assert by_source.cue_z_ > pooled.cue_z_ and by_source.n_groups_ == 8 and pooled.n_groups_ == 0
    np.testing.assert_array_equal(by_source.median_, pooled.median_)  # the envelope and score are the same
    np.testing.assert_array_equal(by_source.score(new_source), pooled.score(new_source))
    assert _cued_share(by_source, new_source) < _cued_share(pooled, new_source)  # fewer of their good units cued


def test_groups_of_one_unit_or_too_few_groups_leave_the_threshold_to_the_units():
    rng = np.random.default_rng(4)
    X, groups = _sources(rng, 8, 3)
    pooled = FormProfile().fit(X).cue_z_
    assert FormProfile().fit(X, groups=np.arange(len(X))).cue_z_ == pooled  # each unit its own group
    assert FormProfile().fit(X, groups=np.array(["a", "b"] * 12)).cue_z_ == pooled  # two groups
    with pytest.raises(FormError, match="one group per unit"):
        FormProfile().fit(X, groups=groups[:-1])


def test_a_profile_from_clips_takes_each_clip_or_its_group_as_a_source():
    poses = [curl(seed=s) for s in range(6)]
    assert fit_profile(poses).n_groups_ == 6  # each clip its own source
    assert fit_profile(poses, groups=["gym a", "gym a", "gym b", "gym b", "gym c", "gym c"]).n_groups_ == 3
    assert fit_profile(poses[:2]).n_groups_ == 0  # too few sources: the threshold from the units


def test_a_profile_of_the_format_before_groups_still_loads(tmp_path):
    rng = np.random.default_rng(5)
    X, groups = _sources(rng, 4, 5)
    saved = FormProfile().fit(X, groups=groups).to_json()
    assert saved["format_version"] == 3 and saved["groups"] == 4
    older = {key: value for key, value in saved.items() if key != "groups"} | {"format_version": 2}
    (tmp_path / "v2.json").write_text(json.dumps(older))
    loaded = FormProfile.load(tmp_path / "v2.json")
    assert loaded.n_groups_ == 0 and loaded.cue_z_ == saved["cue_z"]
    np.testing.assert_allclose(loaded.score(X), FormProfile.from_json(saved).score(X))


def test_measures_unseen_in_good_reps_are_ignored_not_fatal():
    good = np.full((10, len(MEASURES)), 50.0) + np.random.default_rng(0).normal(0, 1, (10, len(MEASURES)))
    good[:, 0] = np.nan
    profile = FormProfile().fit(good)
    assert np.isfinite(profile.score(good)).all()


def test_cues_name_the_body_part_and_direction():
    line = next(m for m in MEASURES if m.name == "body line middle")
    lean = next(m for m in MEASURES if m.name == "torso lean low")
    assert describe(line, -14.0, 0.0, lying=True) == "hips 14° lower than in good reps (body line)"
    assert describe(lean, -20.0, 0.0, lying=False).startswith("torso leans back 20° more")
    knee_range = next(m for m in MEASURES if m.name == "knee angle range")
    assert describe(knee_range, -25.0, 100.0, lying=False).startswith("knees move through 25% less range")


def test_a_leaning_curl_gets_a_torso_cue_and_a_clean_one_none():
    profile = fit_profile([curl(seed=s) for s in range(4)])
    clean, leaning = judge_pose(profile, curl(seed=9)), judge_pose(profile, curl(lean_deg=25, seed=9))
    assert leaning.score > clean.score + 2
    assert leaning.cues and leaning.cues[0].part == "torso" and "back" in leaning.cues[0].text
    assert not any(rep.cues for rep in clean.reps)
    assert len(leaning.reps) >= 3  # judged per repetition


def test_a_hold_is_judged_in_windows_and_sagging_hips_are_cued():
    profile = fit_profile([plank(seed=s) for s in range(3)])
    sagging = judge_pose(profile, plank(hips_up=-0.4, seed=7))
    assert len(sagging.reps) == 3  # 9 s in 3 s windows
    assert sagging.cues[0].part == "hips" and "lower" in sagging.cues[0].text


def test_units_follow_given_repetitions():
    units = form_units(curl(), (Repetition(0.0, 2.0), Repetition(2.0, 4.0)))
    assert [(u.start_s, u.end_s, u.static) for u in units] == [(0.0, 2.0, False), (2.0, 4.0, False)]
    assert units[0].values.shape == (len(MEASURES),)
    assert units[0].values[MEASURE_NAMES.index("duration")] == pytest.approx(2.0, abs=0.05)


def test_unit_cues_are_few_and_from_different_parts():
    profile = fit_profile([curl(seed=s) for s in range(4)])
    values = form_units(curl(lean_deg=30, seed=5))[0].values
    cues = unit_cues(profile, values, max_cues=2)
    assert 1 <= len(cues) <= 2 and len({cue.part for cue in cues}) == len(cues)


# --- references -------------------------------------------------------------------------------


def test_references_are_tied_to_the_model_weights(tmp_path):
    from wpa.poses.clip import Clip
    (tmp_path / "model.json").write_text(json.dumps({"weights_sha256": "abc", "labels": ["curl"]}))
    references = fit_references([Clip("curl/a", "curl", curl()), Clip("curl/b", "curl", curl(seed=1))])
    save_references(references, tmp_path)
    assert set(load_references(tmp_path)) == {"curl"}
    (tmp_path / "model.json").write_text(json.dumps({"weights_sha256": "retrained", "labels": ["curl"]}))
    assert load_references(tmp_path) == {}


def test_my_good_form_is_kept_per_exercise(tmp_path):
    assert load_user_profile("biceps curl", tmp_path) is None
    save_user_profile(fit_profile([curl()]), "biceps curl", tmp_path)
    assert load_user_profile("biceps curl", tmp_path).n_units_ >= 3


# --- other tools' layouts ---------------------------------------------------------------------


def test_openpose18_keypoints_land_in_mediapipe_slots_with_missing_ones_empty():
    keypoints = np.zeros((2, 18, 3))
    keypoints[:, :, :2] = np.arange(36).reshape(18, 2) * 10.0 + 10
    keypoints[:, :, 2] = 0.9
    keypoints[:, 4, 2] = 0.0  # right wrist not found
    pose = openpose18_clip(keypoints, "c", "good").pose
    scale = keypoints[:, :, :2].max()
    assert pose.landmarks[0, 12, :2] == pytest.approx(keypoints[0, 2, :2] / scale)  # r-shoulder
    assert np.isnan(pose.landmarks[0, 16]).all()  # r-wrist missing
    assert np.isnan(pose.landmarks[0, 1]).all()  # MediaPipe's inner eye: no COCO point
    assert sum(slot is not None for slot in COCO18_TO_MEDIAPIPE) == 17


def test_mediapipe17_layout_keeps_left_before_right():
    landmarks = np.random.default_rng(0).uniform(0, 1, (3, 17, 3))
    pose = mediapipe17_clip(landmarks, "c", "bad").pose
    assert pose.landmarks[:, 11, :2] == pytest.approx(landmarks[:, 1, :2].astype(np.float32))
    assert pose.landmarks[:, 32, :2] == pytest.approx(landmarks[:, 16, :2].astype(np.float32))
    with pytest.raises(Exception, match="shape"):
        mediapipe17_clip(np.zeros((3, 18, 3)), "c", "bad")


def test_a_frame_level_subset_table_is_split_into_stretches_and_unmirrored(tmp_path):
    names = ["nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip"]
    rows = []
    for i, label in enumerate("CCLLLC"):
        row = {"label": label}
        for j, name in enumerate(names):
            row.update({f"{name}_x": 0.1 * j, f"{name}_y": 0.1 * i, f"{name}_z": 0.0, f"{name}_v": 0.9})
        rows.append(row)
    pd.DataFrame(rows).to_csv(tmp_path / "ec.csv", index=False)
    clips = exercise_correction_clips(tmp_path / "ec.csv")
    assert [(c.label, len(c.pose)) for c in clips] == [("C", 2), ("L", 3), ("C", 1)]
    left = LANDMARK_NAMES.index("left_shoulder")
    assert clips[0].pose.landmarks[0, left, 0] == pytest.approx(1 - 0.2)  # was the right shoulder, mirrored
    assert np.isnan(clips[0].pose.landmarks[0, LANDMARK_NAMES.index("left_knee")]).all()


def test_the_classifier_still_refuses_tables_with_missing_landmarks(tmp_path):
    pd.DataFrame({"label": ["a"], "nose_x": [0.5], "nose_y": [0.5]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(Exception, match="lacks coordinate columns"):
        read_landmarks_csv(tmp_path / "t.csv")
    clips, notes = read_landmarks_csv(tmp_path / "t.csv", missing_joints=True)
    assert clips[0].pose.landmarks[0, 0, 3] == 1.0 and "32 of 33 landmarks absent" in notes[-3]


def test_a_session_keypoint_table_becomes_stretches_in_time_order(tmp_path):
    rows = []
    for filename, label in (("7_10-00-02.000", 1.0), ("7_10-00-01.000", 1.0), ("7_10-00-03.000", 2.0),
                            ("8_09-00-00.000", 1.0)):
        rows.append({**{str(i): float(i + 1) for i in range(36)}, "filename": filename, "label": label})
    pd.DataFrame(rows).to_csv(tmp_path / "vay.csv")
    clips = openpose18_table_clips(tmp_path / "vay.csv", {"1.0": "correct", "2.0": "high"})
    assert [(c.label, c.group, len(c.pose)) for c in clips] == [("correct", "7", 2), ("high", "7", 1), ("correct", "8", 1)]
    assert clips[0].pose.timestamps_s[1] == pytest.approx(1.0, abs=0.01)


# --- the command line -------------------------------------------------------------------------


def _write_openpose_clips(folder, make, count):
    folder.mkdir(parents=True)
    for i in range(count):
        landmarks = make(i)
        keypoints = np.zeros((len(landmarks), 18, 3))
        for joint, slot in enumerate(COCO18_TO_MEDIAPIPE):
            if slot is not None:
                keypoints[:, joint, :2] = landmarks[:, slot, :2] * 640
                keypoints[:, joint, 2] = 0.9
        np.save(folder / f"clip_{i}.npy", keypoints)


def test_cli_converts_fits_and_scores(tmp_path, capsys):
    _write_openpose_clips(tmp_path / "correct", lambda i: curl(seed=i).landmarks, 4)
    _write_openpose_clips(tmp_path / "incorrect", lambda i: curl(lean_deg=25, seed=10 + i).landmarks, 2)
    table = tmp_path / "table.csv"
    assert main(["form", "convert", "openpose18", str(tmp_path / "correct"), str(tmp_path / "incorrect"),
                 "--out", str(table)]) == 0
    assert main(["form", "fit", str(table), "--label", "good", "--out", str(tmp_path / "p.json")]) == 0
    capsys.readouterr()
    assert main(["form", "score", str(table), "--profile", str(tmp_path / "p.json"), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["clip"] for r in records][-2:] == ["incorrect/clip_0", "incorrect/clip_1"]
    assert min(r["score"] for r in records[-2:]) > max(r["score"] for r in records[:4])
    assert set(records[0]) == {"clip", "score", "reps", "cues"}
    assert set(records[0]["reps"][0]) == {"score", "start_s", "end_s", "cues"}
    assert any("torso" in cue for cue in records[-1]["cues"])


def test_cli_says_what_is_wrong(tmp_path, capsys):
    (tmp_path / "p.json").write_text("{}")
    pd.DataFrame({"label": ["a"], "nose_x": [0.5], "nose_y": [0.5]}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["form", "score", str(tmp_path / "t.csv"), "--profile", str(tmp_path / "p.json")]) == 1
    assert "Fit it again" in capsys.readouterr().err
    assert main(["form", "fit", str(tmp_path / "t.csv"), "--label", "zzz", "--out", str(tmp_path / "q.json")]) == 1
    assert "no clips labelled 'zzz'" in capsys.readouterr().err


# --- the shared labelled data -----------------------------------------------------------------


def test_on_the_shared_plank_stretches_bad_form_scores_higher(shared_form):
    clips = exercise_correction_clips(shared_form / "exercise-correction" / "plank" / "test.csv")
    good = [c for c in clips if c.label == "C"]
    profile = fit_profile([c.pose for c in good[::2]])
    held_out = [judge_pose(profile, c.pose).score for c in good[1::2]]
    bad = [judge_pose(profile, c.pose) for c in clips if c.label != "C"]
    assert np.mean([form.score > max(held_out) for form in bad]) >= 0.8
    assert np.mean([form.cues[0].part == "hips" for form in bad if form.cues]) >= 0.7


@pytest.fixture
def shared_form():
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "form"
    if not (folder / "exercise-correction" / "plank" / "test.csv").is_file():
        pytest.skip(f"the shared form data is not at {folder}")
    return folder


def test_a_model_saved_from_the_train_page_keeps_its_references(tmp_path):
    from tests.support.models import LABELS, make_model
    from wpa.serving.store import save_user_model
    references = {LABELS[0]: fit_profile([curl()])}
    path = save_user_model(make_model(), "with form", user_dir=tmp_path, form_references=references)
    assert set(load_references(path)) == {LABELS[0]}
    again = save_user_model(make_model(seed=1), "with form", replace=True, user_dir=tmp_path)
    assert load_references(again) == {}  # a model saved without them has none, never another's
