"""Repetition counts that hold on data they were not tuned on (issue 22).

- Pure functions: joining clips' poses into one long set, reading the by-eye count tables.
- Synthetic skeletons (tests/test_reps.py's) for what the real clips have too few of: a still
  person lying down, slow repetitions (up to 10 s), a long set of 100+ repetitions, a set longer
  than the streaming counter's window, whose live count must end where the offline count ends.
- The real development clips counted by eye (tests/rep_counts_dev.csv, rep_sets_dev.csv): one clip
  of each exercise (the first in the tables: no choice by result), their poses extracted once per
  test session, and the shortest joined long set. The issue's bar for all of them (90 % within ±1,
  `python -m benchmarks.reps`) is measured by the benchmark; here a counter that regressed to the
  plain counter's level (about 60 % within ±1 on Countix-Fitness) fails.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from tests.support.rep_data import (CountedClips, Video, clip_poses, join_poses, read_counts, videos_of)
from tests.support.data import SHARED_DATA
from tests.support.movement import FPS, feed, phase_of, sequence, skeleton
from wpa.movement.reps import RepCounter, count_repetitions
from wpa.movement.reps.movement import take_cuts
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

# The real clips' test: the share of them that must be counted within ±1 (the issue's target for
# the whole development set is 0.9; this floor is below it, above the plain counter's level).
REAL_WITHIN_ONE = 0.75
CLIPS_PER_TEST = 14  # one clip of each exercise, up to this many: pose extraction costs 5-15 s a clip


def lying(landmarks: np.ndarray) -> np.ndarray:
    """The skeleton turned to lie along the frame (x and y swapped about the centre), as on a bench."""
    turned = landmarks.copy()
    turned[..., 0], turned[..., 1] = landmarks[..., 1], landmarks[..., 0]
    return turned


# --- pure functions ---------------------------------------------------------------------------

def _pose(frames: int, fps: float, size: tuple[int, int], x: float) -> PoseSequence:
    landmarks = np.full((frames, NUM_LANDMARKS, 4), 0.5, np.float32)
    landmarks[..., 0] = x
    return PoseSequence(landmarks=landmarks, world_landmarks=np.zeros((frames, NUM_LANDMARKS, 3), np.float32),
                        timestamps_s=np.arange(frames) / fps, fps=fps, frame_size=size)


def test_joined_poses_follow_one_another_in_time_on_the_first_clips_frame():
    first, second = _pose(30, 30.0, (640, 480), 0.6), _pose(20, 10.0, (480, 480), 0.6)
    joined = join_poses([first, second, first])
    assert len(joined) == 80
    times = joined.timestamps_s
    assert np.all(np.diff(times) > 0)
    assert times[30] == pytest.approx(29 / 30 + 1 / 30)  # one frame after the first clip's last
    assert times[50] == pytest.approx(times[49] + 1 / 10)
    assert joined.frame_size == (640, 480)
    # x of the square clip is put on the first clip's 4:3 frame: same place in y's units.
    assert joined.landmarks[35, 0, 0] * joined.aspect_ratio == pytest.approx(0.6 * 1.0)
    assert joined.landmarks[5, 0, 0] == pytest.approx(0.6)


def test_nothing_to_join_is_a_clear_error():
    with pytest.raises(ValueError, match="nothing to join"):
        join_poses([])


def test_count_tables_are_read_with_their_joined_sets(tmp_path):
    (tmp_path / "rep_counts.csv").write_text("path,label,reps,rep_times_s,notes\ndata/a.mp4,squat,3,,x\n")
    (tmp_path / "rep_counts_dev.csv").write_text(
        "path,label,reps,rep_times_s,source,notes\ndata/b.mp4,plank,0,,s,\ndata/c.mp4,squat,,,s,not counted yet\n")
    (tmp_path / "rep_sets_dev.csv").write_text("set,label,paths,reps,notes\nlong,squat,data/a.mp4;data/a.mp4,6,\n")
    counted = read_counts(tmp_path)
    assert counted.clips == [("data/a.mp4", "squat", 3), ("data/b.mp4", "plank", 0)]
    assert counted.sets == [("long", "squat", ["data/a.mp4", "data/a.mp4"], 6)]
    assert counted.paths == ["data/a.mp4", "data/b.mp4"]
    pose = _pose(40, 30.0, (640, 480), 0.5)
    videos, missing = videos_of(counted, {"data/a.mp4": pose})
    assert [(v.name, v.count, len(v.pose)) for v in videos] == [("data/a.mp4", 3, 40), ("long", 6, 80)]
    assert missing == ["data/b.mp4"]


def test_the_repository_tables_hold_the_development_set():
    counted = read_counts()
    assert len(counted.clips) >= 19
    assert all(reps >= 0 for _, _, reps in counted.clips)
    assert all(len(paths) >= 1 and reps >= 0 for _, _, paths, reps in counted.sets)


# --- synthetic: still, slow, long ---------------------------------------------------------------

def test_a_person_lying_still_and_breathing_counts_zero():
    phase = np.zeros(int(40 * FPS))
    landmarks = lying(skeleton(phase, noise=0.004, seed=3))
    breath = 0.004 * np.sin(2 * np.pi * np.arange(len(phase)) / (4.0 * FPS))  # a chest rising every 4 s
    landmarks[:, [11, 12], 1] += breath[:, None].astype(np.float32)
    assert count_repetitions(sequence(landmarks)).count == 0


@pytest.mark.parametrize("seconds_each, reps", [(7.0, 8), (9.5, 6)])
def test_slow_repetitions_lying_down_are_counted(seconds_each, reps):
    landmarks = lying(skeleton(phase_of([(seconds_each * reps, 1 / seconds_each)]), "raise", seed=4))
    result = count_repetitions(sequence(landmarks))
    assert result.count == reps
    assert result.period_s == pytest.approx(seconds_each, rel=0.15)


def test_a_long_set_of_over_a_hundred_repetitions():
    landmarks = skeleton(phase_of([(130.0, 1 / 1.25)]), "squat", seed=6)  # 104 squats of 1.25 s
    assert abs(count_repetitions(sequence(landmarks)).count - 104) <= 1


def test_a_long_set_joined_from_a_far_and_a_near_take_is_counted_in_both():
    far = skeleton(phase_of([(40.0, 0.4)]), scale=0.2, shift=(0.1, 0.2), seed=1)  # 16 squats, the person small
    near = skeleton(phase_of([(20.0, 0.4)]), seed=2)  # then 8 filmed five times nearer
    result = count_repetitions(sequence(np.concatenate([far, near])))
    assert result.count == 24
    assert result.repetitions[0].start_s < 2.0


def test_a_set_that_speeds_up_to_twice_its_pace_and_shortens_is_counted_to_its_end():
    # 8 of 2 s, 8 of 1.5 s, 10 of 1.2 s, 12 of 0.9 s: the last ones, twice as fast as the first,
    # move half as far (a tiring hammer curl).
    phase = phase_of([(16.0, 1 / 2.0), (12.0, 1 / 1.5), (12.0, 1 / 1.2), (10.8, 1 / 0.9)])
    moving, still = skeleton(phase, seed=7), skeleton(np.zeros(len(phase)), seed=8)
    reach = np.interp(np.arange(len(phase)), [0, 16 * FPS, len(phase)], [1.0, 1.0, 0.5])[:, None, None]
    result = count_repetitions(sequence((still + reach * (moving - still)).astype(np.float32)))
    assert result.count == 38
    assert result.repetitions[-1].end_s > 50.0


def test_a_camera_cut_is_where_the_torso_length_jumps_not_where_it_changes_gradually():
    rate = 15.0
    torso = np.concatenate([np.full(150, 0.1), np.full(90, 0.35)])  # a cut at sample 150
    torso *= 1 + 0.05 * np.random.default_rng(0).standard_normal(len(torso))
    assert take_cuts(torso, rate) == (150,)
    assert take_cuts(np.geomspace(0.1, 0.35, 240), rate) == ()  # walking towards the camera
    bending = 0.2 * (1 - 0.5 * (1 - np.cos(np.linspace(0, 8 * np.pi, 240))) / 2)  # torso foreshortened to half
    assert take_cuts(bending, rate) == ()
    glitch = np.full(240, 0.2)
    glitch[100:105] = 0.6  # a third of a second of a wrong pose is no take of its own
    assert take_cuts(glitch, rate) == ()


def test_live_ends_where_the_offline_count_of_the_same_frames_ends():
    """A 100 s set with a pace change and a rest, longer than the streaming counter's minute."""
    landmarks = skeleton(phase_of([(40.0, 0.4), (10.0, 0.0), (50.0, 1 / 3.0)]), seed=12)  # 16, rest, 16 or 17
    offline = count_repetitions(sequence(landmarks))
    counter = RepCounter(aspect_ratio=640 / 480)
    feed(counter, landmarks)
    assert counter.finish() == offline.count
    assert abs(offline.count - 33) <= 1


# --- the real development clips -----------------------------------------------------------------

def chosen_clips(counted: CountedClips, limit: int = CLIPS_PER_TEST) -> CountedClips:
    """The first clip of each exercise in the dev table (not the older rep_counts.csv, which
    tests/test_reps_real.py covers), up to `limit`, and the joined set with the fewest clips."""
    dev_paths = {path for path, _, _ in read_counts().clips} - {path for path, _, _ in _older_rows()}
    firsts: dict[str, tuple[str, str, int]] = {}
    for row in counted.clips:
        if row[0] in dev_paths and row[1] not in firsts:
            firsts[row[1]] = row
    sets = sorted(counted.sets, key=lambda s: len(set(s[2])))[:1]
    return CountedClips(list(firsts.values())[:limit], sets)


def _older_rows() -> list[tuple[str, str, int]]:
    with (Path(__file__).with_name("rep_counts.csv")).open(newline="") as file:
        return [(row["path"], row["label"], int(row["reps"])) for row in csv.DictReader(file)]


@pytest.fixture(scope="module")
def real_videos(tmp_path_factory) -> list[Video]:
    """The chosen dev clips with their poses (extracted once, into this session's cache)."""
    if not (SHARED_DATA / "videos").is_dir():
        pytest.skip(f"real clips not found at {SHARED_DATA} (set WPA_TEST_DATA to the shared data folder)")
    counted = chosen_clips(read_counts())
    if not counted.clips:
        pytest.skip("no development clips counted in tests/rep_counts_dev.csv")
    # A pose cache of one's own may be named (WPA_TEST_POSE_CACHE) to skip the extraction.
    cache = Path(os.environ.get("WPA_TEST_POSE_CACHE") or tmp_path_factory.mktemp("dev-poses"))
    poses = clip_poses(counted.paths, SHARED_DATA.parent, cache)
    videos, missing = videos_of(counted, poses)
    if missing:
        pytest.skip(f"clips of the development set missing from the shared data: {', '.join(missing)}")
    return videos


@pytest.mark.slow
def test_real_development_clips_are_counted_within_one(real_videos):
    lines, within = [], 0
    for video in real_videos:
        counted = count_repetitions(video.pose).count
        ok = abs(counted - video.count) <= 1
        within += ok
        lines.append(f"{'ok  ' if ok else 'OFF '}{video.name}: truth {video.count}, counted {counted}")
    summary = f"{within}/{len(real_videos)} within ±1\n" + "\n".join(lines)
    print(summary)
    assert within >= REAL_WITHIN_ONE * len(real_videos), summary


@pytest.mark.slow
def test_real_clips_counted_live_end_where_the_offline_count_ends(real_videos):
    for video in real_videos[:4]:
        counter = RepCounter(aspect_ratio=video.pose.aspect_ratio)
        for frame, now in zip(video.pose.landmarks, video.pose.timestamps_s):
            counter.update(None if np.isnan(frame[0, 0]) else frame, float(now))
        assert counter.finish() == count_repetitions(video.pose).count, video.name
