"""Command line: the same pipeline as the app, for batch use. `wpa` once installed (`pip install .`),
`python -m wpa` in a checkout.

    wpa extract  DATA --out CACHE
    wpa train    DATA_OR_CACHE_OR_CSV --out MODEL_DIR
    wpa evaluate DATA_OR_CACHE_OR_CSV --model MODEL_DIR
    wpa crossval DATA_OR_CACHE_OR_CSV
    wpa classify VIDEO_OR_TABLE [...] [--model MODEL_DIR] [--json]

Results go to stdout, progress and problems to stderr: progress through one `Progress` (a bar on
a terminal, plain lines in a log, nothing with --quiet), problems printed directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from wpa.cli_text import evaluation_text, prediction_text
from wpa.errors import SettingsError, WpaError
from wpa.media.video import probe_video
from wpa.movement.form.cli import add_form_commands
from wpa.movement.form.feedback import form_record, form_references
from wpa.paths import DEFAULT_MODEL_DIR, POSE_CACHE_DIR
from wpa.poses.extract import extract_pose
from wpa.poses.extraction import ExtractionEngine, engine_for
from wpa.poses.sequence import PoseOptions
from wpa.poses.table import ASSUMED_FPS, read_landmarks_csv, write_landmarks_table
from wpa.progress import Progress
from wpa.recognition.augment import AugmentConfig
from wpa.recognition.dataset import ExtractionProgress, extract_dataset
from wpa.recognition.features import DEFAULT_FEATURE_SET, FEATURE_SETS
from wpa.recognition.folders import is_clip_list, scan_clip_list, scan_dataset, with_groups
from wpa.recognition.inference import InferenceConfig, clip_warnings
from wpa.recognition.manifest import CACHE_SUBDIR, write_manifest
from wpa.recognition.model import load_model, save_model
from wpa.recognition.recognizer import Recognizer
from wpa.recognition.sources import load_clips
from wpa.recognition.train import EpochReport, calibrate, cross_validate, evaluate_model, train_model
from wpa.recognition.train_config import BALANCING, TrainConfig
from wpa.settings import current


# All progress of the command being run; main() sets whether it is quiet.
_progress = Progress()


def main(argv: list[str] | None = None, prog: str = "wpa") -> int:
    """Run one command; return the exit status (0 success, 1 failure, 2 usage or settings)."""
    try:
        settings = current()  # checked before anything runs: a wrong setting is one message
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args = _parser(prog, settings.workers.ray_address).parse_args(argv)
    _progress.quiet = args.quiet
    try:
        try:
            return args.run(args)
        finally:
            _progress.close()  # before any error below, so it is not printed into a bar
    except WpaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_extract(args: argparse.Namespace) -> int:
    scan = scan_clip_list(args.data) if is_clip_list(args.data) else scan_dataset(args.data)
    for warning in scan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    extraction = extract_dataset(scan.clips, args.out / CACHE_SUBDIR, _pose_options(args),
                                 progress=_extraction_printer(), engine=_engine(args))
    write_manifest(args.out, scan, extraction)
    table = write_landmarks_table(extraction.clips, args.out / "landmarks.csv") if extraction.clips else None
    frames = sum(len(clip.pose) for clip in extraction.clips)
    print(f"{len(extraction.clips)} clips, {frames} frames ({extraction.reused} from cache) -> {args.out}"
          + (f" (table: {table})" if table else ""))
    _report_failures(extraction.failures)
    return 1 if not extraction.clips else 0


def run_train(args: argparse.Namespace) -> int:
    if (args.out / "model.json").exists() and not args.force:
        print(f"error: {args.out} already holds a model; choose another --out or pass --force to replace it.",
              file=sys.stderr)
        return 1
    config = _train_config(args)
    data = _load(args)
    crossval = None
    if args.crossval:
        crossval = cross_validate(data.clips, config, args.crossval, on_fold=_fold_printer())
        _progress.close(finished=True)
        print(evaluation_text(crossval, f"stratified group {args.crossval}-fold cross-validation"))
    result = train_model(data.clips, config, on_epoch=_epoch_printer())
    _progress.close()
    if crossval is not None:
        result.model.card = result.model.card.scored(cross_validation={**crossval.to_dict(), "folds": args.crossval})
        # Every clip held out once is a better guide to the threshold than the validation split alone.
        calibrate(result.model, crossval, config.known_called_unknown,
                  f"{len(crossval.clips)} clips held out by stratified group {args.crossval}-fold cross-validation")
    save_model(result.model, args.out)
    print(f"stopped: {result.stop_reason} after {len(result.history)} epochs; saved to {args.out}")
    if result.evaluation is not None:
        print(evaluation_text(result.evaluation, f"validation ({len(result.val_clips)} held-out clips)"))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = _load(args)
    seen_clips, seen_groups = model.card.data.seen_clips, set(model.card.data.groups_seen)
    clips = [clip for clip in data.clips if clip.label in model.labels]
    unknown = sorted({clip.label for clip in data.clips} - set(model.labels))
    if unknown:
        print(f"warning: skipped classes the model does not know: {', '.join(unknown)}", file=sys.stderr)
    if not args.include_training_clips:
        fair = [clip for clip in clips if clip.clip_id not in seen_clips and clip.split_group not in seen_groups]
        trained_on, clips = len(clips) - len(fair), fair
        if trained_on:
            print(f"note: left out {trained_on} clip(s) the model was trained or validated on, or of a group "
                  "(person, camera, gym) it was (--include-training-clips keeps them)", file=sys.stderr)
    if not clips:
        print("error: no clips left to evaluate: the model has seen all of them, or knows none of their "
              "classes. Use `python -m wpa crossval` to measure the training recipe on this data.", file=sys.stderr)
        return 1
    evaluation = evaluate_model(model, clips)
    print(json.dumps(evaluation.to_dict(), indent=1) if args.json else evaluation_text(evaluation, str(args.source)))
    return 0


def run_crossval(args: argparse.Namespace) -> int:
    config = _train_config(args)
    data = _load(args)
    started = time.monotonic()
    evaluation = cross_validate(data.clips, config, args.folds, on_fold=_fold_printer())
    _progress.close(finished=True)
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "folds": args.folds, "train_config": asdict(config),
                          "seconds": round(time.monotonic() - started, 1)}, indent=1))
    else:
        print(evaluation_text(evaluation, f"stratified group {args.folds}-fold cross-validation, features {config.feature_set}"))
    return 0


def run_classify(args: argparse.Namespace) -> int:
    recognizer = Recognizer(load_model(args.model), InferenceConfig(min_confidence=args.min_confidence))
    references = form_references(args.model)
    failed = 0
    for source in args.videos:
        records = _classify_table(source, recognizer, references) if _is_table(source) else \
            [_classify_one_video(source, recognizer, args, references)]
        for record in records:
            failed += record["error"] is not None
            print(json.dumps(record) if args.json else prediction_text(record), flush=True)
    return 1 if failed else 0


def _is_table(path: Path) -> bool:
    """Whether `classify` reads `path` as a landmarks table rather than a video."""
    return path.suffix.lower() == ".csv"


def _classify_one_video(video: Path, recognizer: Recognizer, args: argparse.Namespace, references) -> dict:
    started = time.monotonic()
    try:
        info = probe_video(video)
        # A long clip is split among one pose model per core; the people in view are counted.
        pose = extract_pose(video, _pose_options(args), progress=_frame_printer(Path(video).name),
                            parts=os.cpu_count() or 1, count_people=True, info=info)
    except WpaError as error:
        _progress.close()
        print(f"error: {error}", file=sys.stderr)
        return _error_record(video, error)
    _progress.close()
    prediction = recognizer.predict_clip(pose)
    record = {"video": str(video), **prediction.summary(), "form": form_record(prediction, pose, references),
              "people": pose.people, "warnings": clip_warnings(pose, info.duration_s), "error": None,
              "seconds": round(time.monotonic() - started, 2)}
    for warning in record["warnings"]:
        print(f"warning: {video}: {warning}", file=sys.stderr)
    return record


def _classify_table(table: Path, recognizer: Recognizer, references: dict) -> list[dict[str, Any]]:
    """One record per clip of a landmarks table (`wpa.poses.table.read_landmarks_csv`): the poses are
    already there, so only the model, the repetition counter and form feedback run."""
    started = time.monotonic()
    try:
        clips, notes = read_landmarks_csv(table)
    except WpaError as error:
        print(f"error: {error}", file=sys.stderr)
        return [{**_error_record(table, error), "clip": None}]
    for note in notes:
        print(f"note: {table}: {note}", file=sys.stderr)
    records = []
    for clip in clips:
        prediction = recognizer.predict_clip(clip.pose)
        record = {"video": str(table), "clip": clip.clip_id, **prediction.summary(), "people": clip.pose.people,
                  "form": form_record(prediction, clip.pose, references), "warnings": clip_warnings(clip.pose),
                  "error": None, "seconds": round(time.monotonic() - started, 2)}
        for warning in record["warnings"]:
            print(f"warning: {table} [{clip.clip_id}]: {warning}", file=sys.stderr)
        records.append(record)
        started = time.monotonic()
    return records


def _error_record(path: Path, error: Exception) -> dict[str, Any]:
    return {"video": str(path), "label": None, "confidence": None, "frames": 0, "frames_with_pose": 0,
            "reps": None, "segments": [], "form": None, "warnings": [], "error": str(error)}


def _engine(args: argparse.Namespace) -> ExtractionEngine:
    return engine_for(args.ray, args.workers, args.ray_shared_paths)


def _load(args: argparse.Namespace):
    others = list(getattr(args, "other_labels", None) or ())
    data = load_clips(args.source, args.cache, _pose_options(args), progress=_extraction_printer(), engine=_engine(args),
                      labels=args.classes.split(",") + others if args.classes else None)
    if args.groups is not None:
        data.clips = with_groups(data.clips, args.groups)
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    _report_failures(data.failures)
    return data


def _pose_options(args: argparse.Namespace) -> PoseOptions:
    options = PoseOptions()
    overrides = {"model_path": args.pose_model, "max_side": args.max_side}
    return PoseOptions(**{**asdict(options), **{k: v for k, v in overrides.items() if v is not None}})


def _train_config(args: argparse.Namespace) -> TrainConfig:
    names = {field.name for field in fields(TrainConfig)}
    values = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    values["mirror"] = not args.no_mirror
    values["augment"] = AugmentConfig(copies=args.augment_copies) if args.augment_copies else None
    return TrainConfig(**values)


def _epoch_printer():
    """Training progress: epochs done of the most, and the latest losses and accuracies."""
    task = None

    def show(report: EpochReport) -> None:
        nonlocal task
        if task is None:
            task = _progress.task("training", report.max_epochs, "epoch")
        validation = (f"val loss {report.val_loss:.4f} acc {report.val_accuracy:.3f}"
                      if report.val_loss is not None else "no validation")
        line = (f"epoch {report.epoch:3d}/{report.max_epochs}  train loss {report.train_loss:.4f} "
                f"acc {report.train_accuracy:.3f}  {validation}  lr {report.learning_rate:.2e}"
                f"{'  *' if report.best else ''}")
        task.update(report.epoch, line=line, postfix=f"loss {report.train_loss:.4f}, " + (
            f"val acc {report.val_accuracy:.3f}" if report.val_accuracy is not None else "no validation"))
    return show


def _fold_printer():
    """Cross-validation progress: folds started of all."""
    task = None

    def show(fold: int, folds: int) -> None:
        nonlocal task
        if task is None:
            task = _progress.task("cross-validation", folds, "fold")
        task.update(fold, line=f"cross-validation fold {fold + 1}/{folds}")
    return show


def _extraction_printer():
    """Extraction progress: clips done of all, frames/s and time left."""
    task = None

    def show(progress: ExtractionProgress) -> None:
        nonlocal task
        if task is None:
            task = _progress.task("poses", progress.total, "clip", rate_shown_by_caller=True,
                                  elapsed_s=progress.elapsed_s)
        final = progress.done == progress.total
        rate = f"{progress.frames_per_second:.0f} frames/s" if progress.frames else ""
        line = None
        if not progress.from_cache or final:  # a log needs no line per cached clip
            state = "cached" if progress.from_cache else (f"skipped: {progress.error}" if progress.error else "done")
            left = ""
            if progress.frames and not final:
                left = f", ~{progress.elapsed_s / progress.done * (progress.total - progress.done):.0f} s left"
            line = (f"poses {progress.done}/{progress.total}: {progress.clip.clip_id} ({state})"
                    f"{', ' + rate if rate else ''}{left}")
        task.update(progress.done, postfix=rate, line=line)
        if final:
            task.close()
    return show


def _frame_printer(name: str):
    """Progress through one video: frames done of those expected, and frames/s."""
    task = None

    def show(done: int, expected: int) -> None:
        nonlocal task
        if task is None:
            task = _progress.task(name, expected, "frame", leave=False)
        line = None
        if done % 30 == 0:
            line = f"{name}: frame {done}/{expected or '?'} ({done / max(task.elapsed_s, 1e-6):.0f} frames/s)"
        task.update(done, line=line)
    return show


def _report_failures(failures) -> None:
    for clip, reason in failures:
        name = getattr(clip, "clip_id", clip)
        print(f"skipped {name}: {reason}", file=sys.stderr)


def _parser(prog: str = "wpa", ray_address: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Recognise workout exercises in video.")
    quiet_help = "no progress on stderr (errors and warnings still print)"
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def pose_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--pose-model", type=Path, help="PoseLandmarker .task file (default: the shipped full model)")
        command.add_argument("--max-side", type=int, help="scale frames so no side exceeds this many pixels")

    def engine_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--workers", type=int, help="parallel extraction processes (default: one per core)")
        command.add_argument("--ray", metavar="ADDRESS", default=ray_address,
                             help="extract on a Ray cluster: `auto`, or HOST:PORT of its head (default: $WPA_RAY_ADDRESS, "
                                  "else this machine)")
        command.add_argument("--ray-shared-paths", action="store_true",
                             help="Ray workers read the clips from the same paths (a folder all nodes share) "
                                  "instead of being sent their bytes")

    def data_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("source", type=Path, help="folder of class folders, clip list (CSV: path, label, group), zip of "
                                                        "class folders, folder made by `extract`, or landmarks CSV")
        command.add_argument("--cache", type=Path, default=POSE_CACHE_DIR, help="pose cache folder (default: %(default)s)")
        command.add_argument("--classes", metavar="A,B,...", help="use only the clips of these classes (default: all)")
        command.add_argument("--groups", type=Path, metavar="CLIP_LIST",
                             help="a CSV with columns path, label, group (e.g. ../shared/data/clips.csv): clips of one "
                                  "group (person, camera, gym) stay on one side of every split; clips it does not name "
                                  "are groups of their own (a clip list given as the source brings its groups itself)")
        engine_options(command)
        pose_options(command)

    def training_options(command: argparse.ArgumentParser) -> None:
        defaults = TrainConfig()
        command.add_argument("--feature-set", choices=sorted(FEATURE_SETS), default=DEFAULT_FEATURE_SET)
        for name, help_text in (("epochs", "most epochs"), ("batch_size", "batch size"), ("learning_rate", "Adam learning rate"),
                                ("lr_step_size", "StepLR step (epochs)"), ("lr_gamma", "StepLR factor"),
                                ("dropout", "dropout"), ("patience", "early-stopping patience (epochs)"),
                                ("val_fraction", "share of each class's clips held out for validation"),
                                ("label_smoothing", "label smoothing of the cross-entropy"),
                                ("outlier_weight", "loss weight of the frames of --others"), ("max_rows_per_clip", "most frames of a clip trained on"),
                                ("seed", "random seed")):
            default = getattr(defaults, name)
            command.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int if default is None else type(default),
                                 help=f"{help_text} (default: {default})")
        command.add_argument("--no-mirror", action="store_true", help="do not train on mirrored clips or average mirrored views")
        command.add_argument("--augment", dest="augment_copies", type=int, default=defaults.augment_copies,
                             metavar="COPIES", help="train on this many copies of each clip as other cameras and "
                                                    "bodies would give it, 0 for none (default: %(default)s)")
        command.add_argument("--balance", choices=BALANCING, default=defaults.balance,
                             help="weigh classes, or groups within classes, alike in the loss (default: %(default)s)")
        command.add_argument("--others", dest="other_labels", type=lambda text: tuple(text.split(",")), metavar="A,B,...",
                             help="classes of exercises not to name, trained toward equal probabilities (outlier exposure)")

    extract = commands.add_parser("extract", help="extract poses of a dataset into a cache folder")
    extract.add_argument("data", type=Path, help="folder with one sub-folder of clips per exercise, or a clip list "
                                                 "(CSV with columns path, label and optionally group)")
    extract.add_argument("--out", type=Path, required=True, help="cache folder to write")
    engine_options(extract)
    pose_options(extract)
    extract.set_defaults(run=run_extract)

    train = commands.add_parser("train", help="train a model and save it")
    data_options(train)
    training_options(train)
    train.add_argument("--out", type=Path, required=True, help="model folder to write")
    train.add_argument("--force", action="store_true", help="replace a model already in --out")
    train.add_argument("--crossval", type=int, default=0, metavar="K",
                       help="first run stratified group K-fold cross-validation, store its metrics in the model and calibrate its unknown threshold on the clips it held out")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="measure a saved model on clips it did not train on")
    data_options(evaluate)
    evaluate.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    evaluate.add_argument("--json", action="store_true", help="print the full evaluation as JSON")
    evaluate.add_argument("--include-training-clips", action="store_true",
                          help="also count clips the model was trained or validated on")
    evaluate.set_defaults(run=run_evaluate)

    crossval = commands.add_parser("crossval", help="stratified group k-fold cross-validation of the training recipe")
    data_options(crossval)
    training_options(crossval)
    crossval.add_argument("--folds", type=int, default=5)
    crossval.add_argument("--json", action="store_true", help="print the full evaluation as JSON")
    crossval.set_defaults(run=run_crossval)

    classify = commands.add_parser(
        "classify", help="classify videos (or landmarks tables) and count the repetitions",
        description="Name the exercise of each video and count its repetitions. A landmarks table "
                    "(a .csv file: wpa's own, as `extract` writes, or the original notebook's layout "
                    "x0..x32, y0..y32, z0..z32, label) can stand in for a video: each of its clips is "
                    "classified and counted from the poses in it. The original layout has no timestamps, "
                    f"clip ids or frame size: its frames are taken as 1/{ASSUMED_FPS:g} s apart, each run of "
                    "rows with one label as one clip, and the frame as square.")
    classify.add_argument("videos", nargs="+", type=Path, metavar="VIDEO_OR_TABLE",
                          help="a video file, or a landmarks table (.csv): one result per clip in it")
    classify.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    classify.add_argument("--json", action="store_true",
                          help="one JSON object per video (per clip of a table), one per line")
    classify.add_argument("--min-confidence", type=float,
                          help="below this the label is 'unknown' (default: the model's threshold, calibrated on "
                               "clips of people and places it did not train on)")
    pose_options(classify)
    classify.set_defaults(run=run_classify)
    add_form_commands(commands)
    for command in commands.choices.values():  # --quiet also after the command: `wpa train ... -q`
        command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet_help)
    return parser
