"""The repetition counter measured honestly: settings chosen on one body of data, reported on another.

    python -m benchmarks.reps_cross [--pose-cache DIR] [--tests DIR] [--cached-only]

Two bodies of data (`tests.support.rep_data`): Countix-Fitness (148 YouTube videos, 8 exercises,
counted by its authors) and the real clips of ../shared/data counted by eye by us (with long sets
joined from clips of one exercise and one source). The counter's few settings (`GRID`) are chosen
on one (best share within ±1, then lowest MAE) and the figures reported on the other, in both
directions; and on Countix-Fitness, leave one exercise out: settings chosen on the seven others,
reported on the one left out. The plain counter (`wpa.movement.reps.plain`) is measured beside it on both.
`python -m benchmarks.reps --write` puts these figures at the head of docs/BENCHMARKS.md's section.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tests.support.rep_data import COUNTIX_DIR, SHARED_DIR, TESTS_DIR, Video, load_countix, load_real
from wpa.movement.reps import RepConfig, count_repetitions
from wpa.movement.reps.plain import plain_count
from wpa.paths import POSE_CACHE_DIR

# The settings chosen among (every combination): below what periodicity the plain counter's
# answer is taken. (How many of a video's own periods a movement must last to be drift is no
# longer chosen here: each video's self-similarity chooses it, `wpa.movement.reps.adapt`; nor how
# large a cycle must be to count: a share of the video's own clear repetitions,
# `wpa.movement.reps.counter.active_floor`.)
GRID = {
    "unsure_periodicity": (0.0, 0.2),
}


@dataclass(frozen=True)
class Score:
    """MAE = mean(|predicted − true| / true) over the videos with a true count above 0; OBO = the
    share of all videos counted within ±1."""

    mae: float
    obo: float
    videos: int

    def __str__(self) -> str:
        return f"MAE {self.mae:.3f}  OBO {self.obo:.3f}  ({self.videos} videos)"


def score(truth: list[int], predicted: list[int]) -> Score:
    errors = [abs(p - t) / t for t, p in zip(truth, predicted) if t > 0]
    within = [abs(p - t) <= 1 for t, p in zip(truth, predicted)]
    return Score(float(np.mean(errors)) if errors else 0.0, float(np.mean(within)) if within else 0.0, len(truth))


def grid_configs(base: RepConfig = RepConfig()) -> list[RepConfig]:
    """Every combination of the GRID's values, the other settings at `base`'s."""
    names = list(GRID)
    return [replace(base, **dict(zip(names, values))) for values in itertools.product(*GRID.values())]


def count_table(videos: list[Video], configs: list[RepConfig]) -> np.ndarray:
    """(configs, videos): the offline counter's count of each video with each configuration."""
    return np.array([[count_repetitions(v.pose, config=config).count for v in videos] for config in configs])


def choose(table: np.ndarray, truth: list[int], index: list[int] | None = None) -> int:
    """The configuration (row of `table`) with the best share within ±1 on the videos `index`,
    then the lowest MAE; the first of equals (GRID's order)."""
    index = list(range(len(truth))) if index is None else index
    scores = [score([truth[i] for i in index], [int(row[i]) for i in index]) for row in table]
    return min(range(len(scores)), key=lambda c: (-round(scores[c].obo, 9), round(scores[c].mae, 9), c))


def settings_text(config: RepConfig) -> str:
    return ", ".join(f"{name} {getattr(config, name)}" for name in GRID)


@dataclass(frozen=True)
class CrossResult:
    """The figures of the protocol (see the module's docstring)."""

    countix_from_real: Score  # settings chosen on the real clips
    real_from_countix: Score  # settings chosen on Countix-Fitness
    chosen_on_real: RepConfig
    chosen_on_countix: RepConfig
    countix_by_exercise: dict[str, Score]  # with the settings chosen on the real clips
    leave_one_out: dict[str, tuple[Score, RepConfig]]  # exercise → its score, settings chosen without it
    defaults: tuple[Score, Score]  # RepConfig() on Countix-Fitness, on the real clips
    plain: tuple[Score, Score]  # the plain counter on Countix-Fitness, on the real clips
    real_misses: list[str]  # the real clips off by more than one with the settings from Countix-Fitness
    real_videos: int
    real_exercises: int


def cross_protocol(countix: list[Video], real: list[Video], log=print) -> CrossResult:
    configs = grid_configs()
    started = time.perf_counter()
    countix_table, real_table = count_table(countix, configs), count_table(real, configs)
    log(f"  {len(configs)} settings counted on {len(countix)} + {len(real)} videos in "
        f"{time.perf_counter() - started:.0f} s")
    countix_truth, real_truth = [v.count for v in countix], [v.count for v in real]
    on_real, on_countix = choose(real_table, real_truth), choose(countix_table, countix_truth)
    countix_predicted = [int(c) for c in countix_table[on_real]]
    by_exercise: dict[str, list[int]] = defaultdict(list)
    for i, video in enumerate(countix):
        by_exercise[video.exercise].append(i)
    leave_one_out = {}
    for exercise, held in sorted(by_exercise.items()):
        others = [i for i in range(len(countix)) if countix[i].exercise != exercise]
        chosen = choose(countix_table, countix_truth, others)
        leave_one_out[exercise] = (score([countix_truth[i] for i in held], [int(countix_table[chosen][i]) for i in held]),
                                   configs[chosen])
    default = RepConfig()
    defaults = (score(countix_truth, [count_repetitions(v.pose, config=default).count for v in countix]),
                score(real_truth, [count_repetitions(v.pose, config=default).count for v in real]))
    plain = tuple(score([v.count for v in videos],
                        [plain_count(v.pose.landmarks, v.pose.timestamps_s, v.pose.aspect_ratio) for v in videos])
                  for videos in (countix, real))
    misses = [f"{v.name}: {v.count} counted {int(real_table[on_countix][i])}" for i, v in enumerate(real)
              if abs(int(real_table[on_countix][i]) - v.count) > 1]
    return CrossResult(
        countix_from_real=score(countix_truth, countix_predicted),
        real_from_countix=score(real_truth, [int(c) for c in real_table[on_countix]]),
        chosen_on_real=configs[on_real], chosen_on_countix=configs[on_countix],
        countix_by_exercise={e: score([countix_truth[i] for i in index], [countix_predicted[i] for i in index])
                             for e, index in sorted(by_exercise.items())},
        leave_one_out=leave_one_out, defaults=defaults, plain=plain, real_misses=misses,
        real_videos=len(real), real_exercises=len({v.exercise for v in real}))


def print_result(result: CrossResult) -> None:
    print(f"\nCountix-Fitness, settings chosen on the real clips ({settings_text(result.chosen_on_real)}): "
          f"{result.countix_from_real}")
    for exercise, s in result.countix_by_exercise.items():
        print(f"  {exercise:16s} {s}")
    print(f"real clips, settings chosen on Countix-Fitness ({settings_text(result.chosen_on_countix)}): "
          f"{result.real_from_countix}")
    for miss in result.real_misses:
        print(f"  off by more than one: {miss}")
    print("leave one exercise out on Countix-Fitness (settings chosen on the other seven):")
    for exercise, (s, config) in result.leave_one_out.items():
        print(f"  {exercise:16s} {s}   ({settings_text(config)})")
    print(f"default settings: Countix-Fitness {result.defaults[0]}; real clips {result.defaults[1]}")
    print(f"plain counter: Countix-Fitness {result.plain[0]}; real clips {result.plain[1]}")


def load_both(args: argparse.Namespace) -> tuple[list[Video], list[Video]]:
    countix, skipped = load_countix(args.data)
    print(f"Countix-Fitness: {len(countix)} usable videos ({skipped} without a pose) from {args.data}")
    real, missing = load_real(args.tests, SHARED_DIR, args.pose_cache, cached_only=args.cached_only)
    print(f"real clips: {len(real)} counted by eye, {len({v.exercise for v in real})} exercises "
          f"(tables in {args.tests}; poses cached in {args.pose_cache})"
          + (f"; {len(missing)} left out, their clips missing or not extracted" if missing else ""))
    return countix, real


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=COUNTIX_DIR, help="the Countix-Fitness folder")
    parser.add_argument("--tests", type=Path, default=TESTS_DIR, help="folder of the by-eye count tables")
    parser.add_argument("--pose-cache", type=Path, default=POSE_CACHE_DIR, help="wpa's pose cache folder")
    parser.add_argument("--cached-only", action="store_true", help="leave out clips whose poses are not cached")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    if not (args.data / "annotation" / "test.csv").exists():
        raise SystemExit(f"no Countix-Fitness annotation under {args.data} (see ../shared/README.md)")
    countix, real = load_both(args)
    print_result(cross_protocol(countix, real))


if __name__ == "__main__":
    main()
