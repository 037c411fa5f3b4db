"""Progress on stderr: a tqdm bar on a terminal, plain lines in a log, nothing with --quiet;
results on stdout the same either way."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import REPO
from tests.support.media import write_video
from tests.support.poses import random_pose
from wpa import cli
from wpa.poses.clip import Clip, ClipRef
from wpa.poses.table import write_landmarks_table
from wpa.progress import Progress
from wpa.recognition.dataset import ExtractionProgress


def wpa(*args) -> subprocess.CompletedProcess:
    """`python -m wpa ...` with stderr a pipe, as in a log or CI."""
    return subprocess.run([sys.executable, "-m", "wpa", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def landmarks_csv(tmp_path_factory) -> Path:
    """Synthetic poses of two exercises, four clips each, as a landmarks CSV."""
    clips = [Clip(f"{label}/clip{i}", label, random_pose(frames=30, seed=10 * j + i))
             for j, label in enumerate(("squat", "lunge")) for i in range(4)]
    return write_landmarks_table(clips, tmp_path_factory.mktemp("csv") / "landmarks.csv")


@pytest.mark.slow
def test_training_progress_is_plain_lines_in_a_log_and_nothing_when_quiet(landmarks_csv, tmp_path):
    logged = wpa("train", landmarks_csv, "--out", tmp_path / "a", "--epochs", 2, "--crossval", 2)
    assert logged.returncode == 0, logged.stderr
    lines = logged.stderr.splitlines()
    assert "\r" not in logged.stderr and "\033" not in logged.stderr
    assert lines[:2] == ["cross-validation fold 1/2", "cross-validation fold 2/2"]
    assert [line.split()[:2] for line in lines[2:]] == [["epoch", "1/2"], ["epoch", "2/2"]]

    quiet = wpa("-q", "train", landmarks_csv, "--out", tmp_path / "b", "--epochs", 2, "--crossval", 2)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout == logged.stdout.replace(str(tmp_path / "a"), str(tmp_path / "b"))


@pytest.mark.parametrize(("argv", "quiet"), [(["-q", "crossval", "x.csv"], True),
                                             (["crossval", "x.csv", "--quiet"], True),
                                             (["crossval", "x.csv"], False)])
def test_quiet_goes_before_or_after_the_command(argv, quiet):
    assert cli._parser().parse_args(argv).quiet is quiet


def test_quiet_keeps_errors(tmp_path):
    result = wpa("-q", "train", tmp_path / "missing.csv", "--out", tmp_path / "m")
    assert result.returncode == 1 and result.stderr.startswith("error: ")


@pytest.mark.slow
def test_extraction_progress_is_plain_lines_in_a_log_and_nothing_when_quiet(tmp_path):
    data = tmp_path / "data"
    for label in ("squat", "lunge"):
        (data / label).mkdir(parents=True)
        for i in range(2):
            write_video(data / label / f"clip{i}.mp4", frames=10)
    logged = wpa("extract", data, "--out", tmp_path / "out", "--workers", 1)
    assert logged.returncode == 0, logged.stderr  # nobody in the pattern clips, which is no error
    assert "\r" not in logged.stderr and "\033" not in logged.stderr
    progress = [line for line in logged.stderr.splitlines() if line.startswith("poses ")]
    assert [line.split(":")[0] for line in progress] == ["poses 1/4", "poses 2/4", "poses 3/4", "poses 4/4"]
    assert all("frames/s" in line for line in progress)
    assert "s left" in progress[0]

    quiet = wpa("extract", data, "--out", tmp_path / "quiet", "-q")  # from the cache this time
    assert quiet.returncode == 0 and quiet.stderr == ""
    same = quiet.stdout.replace("4 from cache", "0 from cache").replace(str(tmp_path / "quiet"), str(tmp_path / "out"))
    assert same == logged.stdout


def _report(done: int, from_cache: bool = False) -> ExtractionProgress:
    return ExtractionProgress(done=done, total=4, clip=ClipRef(Path(f"/d/squat/c{done}.mp4"), "squat"),
                              frames=0 if from_cache else 300 * done, elapsed_s=10.0 * done, from_cache=from_cache)


def test_on_a_terminal_extraction_is_a_bar_with_clips_frame_rate_and_time_left(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(cli, "_progress", Progress(stream=terminal, mininterval=0))  # draw every update
    show = cli._extraction_printer()
    for done in range(1, 5):
        show(_report(done))
    text = terminal.getvalue()
    assert "\r" in text and "poses:" in text and "|" in text
    assert "1/4 clips" in text and "4/4 clips" in text and "30 frames/s" in text
    assert "100%" in text and text.endswith("\n")  # the finished bar stays
    # time left: about 30 s after the first of four clips took 10 s
    first = text.split("\r")[2]
    assert "1/4 clips [00:10<00:30" in first, first


def test_on_a_terminal_quiet_writes_nothing(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(cli, "_progress", Progress(quiet=True, stream=terminal))
    show = cli._extraction_printer()
    for done in range(1, 5):
        show(_report(done))
    frames = cli._frame_printer("clip.mp4")
    for done in range(1, 61):
        frames(done, 60)
    assert terminal.getvalue() == ""


def test_in_a_log_cached_clips_get_no_line_but_the_last(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(cli, "_progress", Progress(stream=log))
    show = cli._extraction_printer()
    for done in range(1, 5):
        show(_report(done, from_cache=True))
    assert log.getvalue() == "poses 4/4: squat/c4.mp4 (cached)\n"
