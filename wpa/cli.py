"""Command line: the same pipeline as the app, for batch use.

    python -m wpa extract  DATA --out CACHE
    python -m wpa train    DATA_OR_CACHE_OR_CSV --out MODEL_DIR
    python -m wpa evaluate DATA_OR_CACHE_OR_CSV --model MODEL_DIR
    python -m wpa crossval DATA_OR_CACHE_OR_CSV
    python -m wpa classify VIDEO [VIDEO ...] [--model MODEL_DIR] [--json]

Results go to stdout, progress and problems to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from wpa.dataset import (CACHE_SUBDIR, ExtractionProgress, extract_dataset, load_clips,
                         scan_dataset, write_manifest)
from wpa.errors import WpaError
from wpa.features import DEFAULT_FEATURE_SET, FEATURE_SETS
from wpa.inference import InferenceConfig, classify_video, clip_warnings
from wpa.metrics import Evaluation
from wpa.model import load_model, save_model
from wpa.paths import DEFAULT_MODEL_DIR, POSE_CACHE_DIR
from wpa.pose import PoseOptions
from wpa.table import write_landmarks_table
from wpa.train import EpochReport, TrainConfig, cross_validate, evaluate_model, train_model
from wpa.video import probe_video


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (0 success, 1 failure, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except WpaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_extract(args: argparse.Namespace) -> int:
    scan = scan_dataset(args.data)
    for warning in scan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    extraction = extract_dataset(scan.clips, args.out / CACHE_SUBDIR, _pose_options(args), args.workers,
                                 _extraction_printer())
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
        crossval = cross_validate(data.clips, config, args.crossval,
                                  on_fold=lambda fold, folds: _status(f"cross-validation fold {fold + 1}/{folds}"))
        print(_evaluation_text(crossval, f"grouped {args.crossval}-fold cross-validation"))
    result = train_model(data.clips, config, on_epoch=_print_epoch)
    if crossval is not None:
        result.model.metrics["cross_validation"] = {**crossval.to_dict(), "folds": args.crossval}
    save_model(result.model, args.out)
    print(f"stopped: {result.stop_reason} after {len(result.history)} epochs; saved to {args.out}")
    if result.evaluation is not None:
        print(_evaluation_text(result.evaluation, f"validation ({len(result.val_clips)} held-out clips)"))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = _load(args)
    seen = set(model.data_summary.get("train_clips", [])) | set(model.data_summary.get("val_clips", []))
    clips = [clip for clip in data.clips if clip.label in model.labels]
    unknown = sorted({clip.label for clip in data.clips} - set(model.labels))
    if unknown:
        print(f"warning: skipped classes the model does not know: {', '.join(unknown)}", file=sys.stderr)
    if not args.include_training_clips:
        trained_on = [clip for clip in clips if clip.clip_id in seen]
        clips = [clip for clip in clips if clip.clip_id not in seen]
        if trained_on:
            print(f"note: left out {len(trained_on)} clip(s) the model was trained or validated on "
                  "(--include-training-clips keeps them)", file=sys.stderr)
    if not clips:
        print("error: no clips left to evaluate: the model has seen all of them, or knows none of their "
              "classes. Use `python -m wpa crossval` to measure the training recipe on this data.", file=sys.stderr)
        return 1
    evaluation = evaluate_model(model, clips)
    print(json.dumps(evaluation.to_dict(), indent=1) if args.json else _evaluation_text(evaluation, str(args.source)))
    return 0


def run_crossval(args: argparse.Namespace) -> int:
    config = _train_config(args)
    data = _load(args)
    started = time.monotonic()
    evaluation = cross_validate(data.clips, config, args.folds,
                                on_fold=lambda fold, folds: _status(f"fold {fold + 1}/{folds}"))
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "folds": args.folds, "train_config": asdict(config),
                          "seconds": round(time.monotonic() - started, 1)}, indent=1))
    else:
        print(_evaluation_text(evaluation, f"grouped {args.folds}-fold cross-validation, features {config.feature_set}"))
    return 0


def run_classify(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    config = InferenceConfig(min_confidence=args.min_confidence)
    failed = 0
    for video in args.videos:
        started = time.monotonic()
        try:
            info = probe_video(video)
            pose, prediction = classify_video(video, model, _pose_options(args), config,
                                              progress=_frame_printer(Path(video).name), info=info)
        except WpaError as error:
            failed += 1
            _status("")
            print(f"error: {error}", file=sys.stderr)
            record: dict[str, Any] = {"video": str(video), "label": None, "confidence": None, "frames": 0,
                                      "frames_with_pose": 0, "segments": [], "warnings": [], "error": str(error)}
        else:
            _status("")
            record = {"video": str(video), **prediction.summary(), "people": pose.people,
                      "warnings": clip_warnings(pose, info.duration_s), "error": None,
                      "seconds": round(time.monotonic() - started, 2)}
            for warning in record["warnings"]:
                print(f"warning: {video}: {warning}", file=sys.stderr)
        print(json.dumps(record) if args.json else _prediction_text(record), flush=True)
    return 1 if failed else 0


def _load(args: argparse.Namespace):
    data = load_clips(args.source, args.cache, _pose_options(args), args.workers, _extraction_printer())
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
    return TrainConfig(**values)


def _print_epoch(report: EpochReport) -> None:
    validation = (f"val loss {report.val_loss:.4f} acc {report.val_accuracy:.3f}"
                  if report.val_loss is not None else "no validation")
    print(f"epoch {report.epoch:3d}/{report.max_epochs}  train loss {report.train_loss:.4f} "
          f"acc {report.train_accuracy:.3f}  {validation}  lr {report.learning_rate:.2e}"
          f"{'  *' if report.best else ''}", file=sys.stderr, flush=True)


def _extraction_printer():
    def show(progress: ExtractionProgress) -> None:
        final = progress.done == progress.total
        if progress.from_cache and not final and not sys.stderr.isatty():
            return  # a log file needs no line per cached clip
        state = "cached" if progress.from_cache else (f"skipped: {progress.error}" if progress.error else "done")
        rate = f", {progress.frames_per_second:.0f} frames/s" if progress.frames else ""
        left = ""
        if progress.frames and not final:
            left = f", ~{progress.elapsed_s / progress.done * (progress.total - progress.done):.0f} s left"
        _status(f"poses {progress.done}/{progress.total}: {progress.clip.clip_id} ({state}){rate}{left}", final=final)
    return show


def _frame_printer(name: str):
    started = time.monotonic()

    def show(done: int, expected: int) -> None:
        if done % 30 == 0:
            rate = done / max(time.monotonic() - started, 1e-6)
            _status(f"{name}: frame {done}/{expected or '?'} ({rate:.0f} frames/s)")
    return show


def _status(text: str, final: bool = False) -> None:
    """Progress on stderr: one line rewritten in place on a terminal, plain lines otherwise."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text + ("\n" if final else ""))
    elif text:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _report_failures(failures) -> None:
    for clip, reason in failures:
        name = getattr(clip, "clip_id", clip)
        print(f"skipped {name}: {reason}", file=sys.stderr)


def _evaluation_text(evaluation: Evaluation, title: str) -> str:
    lines = [f"{title}: frame accuracy {evaluation.frame_accuracy:.1%} ({evaluation.frame_confusion.sum()} frames), "
             f"clip accuracy {evaluation.clip_accuracy:.1%} ({len(evaluation.clips)} clips), "
             f"clip macro-F1 {evaluation.macro_f1('clip'):.3f}",
             f"  {'class':<22}{'precision':>10}{'recall':>8}{'f1':>7}{'frames':>8}"]
    lines += [f"  {row['label']:<22}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>7.3f}{row['support']:>8}"
              for row in evaluation.per_class("frame") if row["support"]]
    lines += [f"  wrong: {c.clip_id} -> {c.predicted} ({c.confidence:.0%})" for c in evaluation.wrong_clips]
    return "\n".join(lines)


def _prediction_text(record: dict[str, Any]) -> str:
    if record["error"]:
        return f"{record['video']}: error: {record['error']}"
    head = f"{record['video']}: {record['label']} ({record['confidence']:.0%}), " \
           f"{record['frames_with_pose']}/{record['frames']} frames with a person"
    segments = [f"  {s['start_s']:7.2f}-{s['end_s']:7.2f} s  {s['label']} ({s['confidence']:.0%})" for s in record["segments"]]
    return "\n".join([head] + segments)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m wpa", description="Recognise workout exercises in video.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def pose_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--pose-model", type=Path, help="PoseLandmarker .task file (default: the shipped full model)")
        command.add_argument("--max-side", type=int, help="scale frames so no side exceeds this many pixels")

    def data_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("source", type=Path, help="folder of class folders, zip of class folders, folder made by `extract`, or landmarks CSV")
        command.add_argument("--cache", type=Path, default=POSE_CACHE_DIR, help="pose cache folder (default: %(default)s)")
        command.add_argument("--workers", type=int, help="parallel extraction processes (default: one per core)")
        pose_options(command)

    def training_options(command: argparse.ArgumentParser) -> None:
        defaults = TrainConfig()
        command.add_argument("--feature-set", choices=sorted(FEATURE_SETS), default=DEFAULT_FEATURE_SET)
        for name, help_text in (("epochs", "most epochs"), ("batch_size", "batch size"), ("learning_rate", "Adam learning rate"),
                                ("lr_step_size", "StepLR step (epochs)"), ("lr_gamma", "StepLR factor"),
                                ("dropout", "dropout"), ("patience", "early-stopping patience (epochs)"),
                                ("val_fraction", "share of each class's clips held out for validation"),
                                ("seed", "random seed")):
            default = getattr(defaults, name)
            command.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default),
                                 help=f"{help_text} (default: {default})")
        command.add_argument("--no-mirror", action="store_true", help="do not train on mirrored clips or average mirrored views")

    extract = commands.add_parser("extract", help="extract poses of a dataset into a cache folder")
    extract.add_argument("data", type=Path, help="folder with one sub-folder of clips per exercise")
    extract.add_argument("--out", type=Path, required=True, help="cache folder to write")
    extract.add_argument("--workers", type=int, help="parallel processes (default: one per core)")
    pose_options(extract)
    extract.set_defaults(run=run_extract)

    train = commands.add_parser("train", help="train a model and save it")
    data_options(train)
    training_options(train)
    train.add_argument("--out", type=Path, required=True, help="model folder to write")
    train.add_argument("--force", action="store_true", help="replace a model already in --out")
    train.add_argument("--crossval", type=int, default=0, metavar="K",
                       help="first run grouped K-fold cross-validation and store its metrics in the model")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="measure a saved model on clips it did not train on")
    data_options(evaluate)
    evaluate.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    evaluate.add_argument("--json", action="store_true", help="print the full evaluation as JSON")
    evaluate.add_argument("--include-training-clips", action="store_true",
                          help="also count clips the model was trained or validated on")
    evaluate.set_defaults(run=run_evaluate)

    crossval = commands.add_parser("crossval", help="grouped k-fold cross-validation of the training recipe")
    data_options(crossval)
    training_options(crossval)
    crossval.add_argument("--folds", type=int, default=5)
    crossval.add_argument("--json", action="store_true", help="print the full evaluation as JSON")
    crossval.set_defaults(run=run_crossval)

    classify = commands.add_parser("classify", help="classify videos")
    classify.add_argument("videos", nargs="+", type=Path)
    classify.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    classify.add_argument("--json", action="store_true", help="one JSON object per video, one per line")
    classify.add_argument("--min-confidence", type=float, default=InferenceConfig().min_confidence,
                          help="below this the label is 'unknown' (default: %(default)s)")
    pose_options(classify)
    classify.set_defaults(run=run_classify)
    return parser
