"""Repetition counts of real clips, as a user gets them: one `wpa classify --json` over every clip
of tests/rep_counts.csv, and the Upload page's analysis (`analyze_video`) of each; the counts in
that file were made by eye from the clips' frames (its notes say how each was counted, and which
repetitions at a clip's ends are in or out and why).

The bar (issue 22, for real clips counted with settings chosen on Countix-Fitness): at least 90%
of counts within ±1 of the eye's. Issue 13 asked for every one; the counter that adapts to each
video may miss one of these 19 (docs/BENCHMARKS.md, "Repetition counting", names the real clips it
misses). Nothing here is tuned to these clips; the counter's settings come from Countix-Fitness
(`python -m benchmarks.reps`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import REPO, rep_count_clips
from wpa.paths import DEFAULT_MODEL_DIR
from wpa.recognition.model import load_model
from wpa.serving.analysis import analyze_video

WITHIN_ONE_SHARE = 0.9  # issue 22's bar for real clips


@pytest.mark.slow
def test_the_upload_page_counts_real_clips_within_one_repetition(videos, tmp_path):
    rows, clips = rep_count_clips(videos)
    model = load_model(DEFAULT_MODEL_DIR)
    lines, wrong = [], []
    for row, clip in zip(rows, clips):
        analysis = analyze_video(clip, model, pose_cache_dir=tmp_path / "poses", video_cache_dir=tmp_path / "videos")
        truth, counted = int(row["reps"]), analysis.prediction.reps
        off = abs(counted - truth) > 1
        wrong += [row["path"]] if off else []
        lines.append(f"{'OFF ' if off else 'ok  '}{clip.name}: truth {truth}, counted {counted} "
                     f"({analysis.verdict()[0]})")
    summary = f"{len(rows) - len(wrong)}/{len(rows)} clips within ±1\n" + "\n".join(lines)
    print(summary)
    assert len(rows) - len(wrong) >= WITHIN_ONE_SHARE * len(rows), summary


@pytest.mark.slow
def test_real_clips_are_counted_within_one_repetition(videos):
    rows, clips = rep_count_clips(videos)
    result = subprocess.run([sys.executable, "-m", "wpa", "classify", *map(str, clips), "--json", "-q"],
                            cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["video"] for record in records] == [str(clip) for clip in clips]

    lines, wrong = [], []
    for row, record in zip(rows, records):
        truth, counted = int(row["reps"]), record["reps"]
        segments = "; ".join(f"{s['label']} {s['start_s']:.1f}-{s['end_s']:.1f} s: {s['reps']} "
                             f"{[[round(a, 1), round(b, 1)] for a, b in s['rep_times_s']]}"
                             for s in record["segments"])
        off = abs(counted - truth) > 1
        wrong += [row["path"]] if off else []
        lines.append(f"{'OFF ' if off else 'ok  '}{Path(row['path']).name}: truth {truth} ({row['rep_times_s']}), "
                     f"counted {counted}, label {record['label']} | {segments}")
    errors = [abs(record["reps"] - int(row["reps"])) / int(row["reps"]) for row, record in zip(rows, records)]
    summary = (f"{len(rows) - len(wrong)}/{len(rows)} clips within ±1, MAE {sum(errors) / len(errors):.3f}\n"
               + "\n".join(lines))
    print(summary)
    assert len(rows) - len(wrong) >= WITHIN_ONE_SHARE * len(rows), summary
