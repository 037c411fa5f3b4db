"""Analysing one clip for the Upload page: poses, predictions, repetitions, the annotated video
and the files to download.

Poses are cached by the clip's content (and pose settings), predictions and annotated videos by
content, model and settings (`wpa.serving.processing`), so the same clip uploaded again is not
processed again. The prediction the worker made (and drew the video from) is the one shown: the
model runs once per upload, and every count shown of a clip is that prediction's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wpa.media.video import VideoInfo, probe_video
from wpa.movement.form.feedback import Reference, form_json, rep_at, worst_repetitions
from wpa.movement.form.units import ClipForm
from wpa.movement.reps import reps_text
from wpa.paths import ANNOTATED_CACHE_DIR, POSE_CACHE_DIR
from wpa.poses.sequence import PoseOptions, PoseSequence
from wpa.recognition.inference import NO_PERSON, UNKNOWN, ClipPrediction, InferenceConfig, clip_warnings, readable
from wpa.recognition.model import ExerciseModel
from wpa.serving.processing import AnalysisProgress, ClipFiles, locate_files, make_files


@dataclass(frozen=True)
class VideoAnalysis:
    """Everything the Upload page shows about one clip."""

    video_name: str
    info: VideoInfo
    pose: PoseSequence
    prediction: ClipPrediction
    annotated_video: Path
    model_name: str
    reused: bool  # nothing had to be computed again
    # Form feedback per segment (None where its exercise has no reference), and the references.
    form: tuple[ClipForm | None, ...] = ()
    references: dict[str, Reference] = field(default_factory=dict)

    def frames_table(self) -> pd.DataFrame:
        """One row per frame: time, whether a person was found, the smoothed label and its
        confidence, the model's own top label, the repetition the frame is part of (`rep`: its
        number within its segment, from 1; 0 outside any repetition) and every class's probability."""
        prediction = self.prediction
        present = prediction.present
        raw = prediction.probabilities
        labels = np.array(prediction.labels)
        table = pd.DataFrame({
            "frame": np.arange(len(prediction.timestamps_s)),
            "time_s": np.round(prediction.timestamps_s, 4),
            "person": present,
            "label": prediction.frame_labels,
            "confidence": np.round(np.where(present, np.nan_to_num(prediction.smoothed).max(axis=1), np.nan), 4),
            "raw_label": np.where(present, labels[np.nan_to_num(raw).argmax(axis=1)], ""),
            "rep": self._frame_repetitions(),
        })
        for column, label in enumerate(prediction.labels):
            table[f"p_{label}"] = np.round(raw[:, column], 4)
        if any(self.form):
            reps = [rep_at(self.form, t) for t in prediction.timestamps_s]
            table["form_score"] = [round(rep.score, 3) if rep and np.isfinite(rep.score) else np.nan for rep in reps]
            table["form_cue"] = [rep.cues[0].text if rep and rep.cues else "" for rep in reps]
        return table

    def _frame_repetitions(self) -> np.ndarray:
        """Each frame's repetition number within its segment (from 1), 0 outside any repetition."""
        times = self.prediction.timestamps_s
        numbers = np.zeros(len(times), dtype=np.int64)
        for segment in self.prediction.segments:
            for number, repetition in enumerate(segment.repetitions, start=1):
                numbers[(times >= repetition.start_s) & (times < repetition.end_s)] = number
        return numbers

    def segments_table(self) -> pd.DataFrame:
        """The segments as a person reads them: exercise, start, end, duration, repetitions, mean
        confidence (the last two blank where nobody is visible)."""
        table = pd.DataFrame([{
            "exercise": readable(segment.label),
            "start (s)": round(segment.start_s, 2),
            "end (s)": round(segment.end_s, 2),
            "duration (s)": round(segment.duration_s, 2),
            "reps": segment.reps if segment.label != NO_PERSON else None,
            "confidence": round(segment.confidence, 3) if segment.label != NO_PERSON else None,
        } for segment in self.prediction.segments],
            columns=["exercise", "start (s)", "end (s)", "duration (s)", "reps", "confidence"])
        # Whole numbers even beside a blank (pandas would otherwise show 3 as 3.0).
        table["reps"] = table["reps"].astype("Int64")
        if any(self.form):
            table["form"] = [round(form.score, 1) if form and np.isfinite(form.score) else None for form in self.form]
            table["top cue"] = [form.cues[0].text if form and form.cues else "" for form in self.form]
        return table

    def repetitions_table(self) -> pd.DataFrame:
        """One row per judged repetition (or hold window): exercise, number, start, end, form score
        (0 typical of good form, higher further from it), its top cue, and whether it is among the
        clip's worst."""
        worst = worst_repetitions(self.form)
        rows = [{"exercise": readable(segment.label), "rep": number + 1, "start (s)": round(rep.start_s, 2),
                 "end (s)": round(rep.end_s, 2), "form": round(rep.score, 1) if np.isfinite(rep.score) else None,
                 "top cue": rep.cues[0].text if rep.cues else "", "worst": (s, number) in worst}
                for s, (segment, form) in enumerate(zip(self.prediction.segments, self.form)) if form
                for number, rep in enumerate(form.reps)]
        return pd.DataFrame(rows, columns=["exercise", "rep", "start (s)", "end (s)", "form", "top cue", "worst"])

    def form_text(self) -> str:
        """The clip's form in a sentence or two: its worst repetitions with their top cue."""
        worst = worst_repetitions(self.form)
        if not any(self.form):
            return ""
        if not worst:
            return "No repetition departs far from good form."
        parts = []
        for s, r in sorted(worst):
            rep = self.form[s].reps[r]
            cue = f": {rep.cues[0].text}" if rep.cues else ""
            parts.append(f"{readable(self.prediction.segments[s].label)} rep {r + 1} (form {rep.score:.1f}){cue}")
        return f"Furthest from good form: {'; '.join(parts)}."

    def verdict(self) -> tuple[str, str]:
        """What the clip shows, for a person: a title ("Squat · 12 reps · 94% confident") and a
        sentence or two of detail (changes of exercise, frames with nobody, no repetition found)."""
        prediction = self.prediction
        if prediction.label == NO_PERSON:
            return "Nobody found", "With no person in view there is nothing to classify."
        exercises = [s for s in prediction.segments if s.label not in (NO_PERSON, UNKNOWN)]
        details = []
        if len({s.label for s in exercises}) > 1:
            order = [readable(s.label) for s in exercises]
            if len(order) <= 3:
                title = ", then ".join(order).capitalize()
            else:
                title = f"{len(set(order))} exercises in {len(order)} stretches"
            if prediction.reps:
                title += f" · {reps_text(prediction.reps)}"
            details.append("The exercise changes: " + ", then ".join(
                f"{readable(s.label)} ({s.start_s:.0f}–{s.end_s:.0f} s, "
                f"{reps_text(s.reps) if s.reps else 'no repetition'}, {s.confidence:.0%})" for s in exercises) + ".")
        elif prediction.label == UNKNOWN:
            title = f"Not sure · most like {readable(prediction.best_guess)} ({prediction.confidence:.0%})"
            if prediction.reps:
                title += f" · {reps_text(prediction.reps)}"
        else:
            reps = f" · {reps_text(prediction.reps)}" if prediction.reps else ""
            title = f"{readable(prediction.label).capitalize()}{reps} · {prediction.confidence:.0%} confident"
        if not prediction.reps:
            # Said in words rather than a "0 reps" headline: holding a position (a plank) is no failure.
            details.append("No repetition was found: the movement does not repeat, or too little of it was seen.")
        hidden = 1 - prediction.frames_with_pose / max(len(prediction.timestamps_s), 1)
        if hidden > 0.05:
            details.append(f"Nobody was visible in {hidden:.0%} of the frames.")
        if not details:
            details.append("One exercise throughout, with a person visible in every frame.")
        return title, " ".join(details)

    def repetitions_text(self) -> str:
        """The repetitions in a sentence, for under the timeline."""
        prediction = self.prediction
        if not prediction.reps:
            return "No repetition was found."
        counted = [s for s in prediction.segments if s.reps]
        if len(counted) == 1:
            segment = counted[0]
            return (f"{reps_text(segment.reps).capitalize()} of {readable(segment.label)}, from "
                    f"{segment.repetitions[0].start_s:.1f} to {segment.repetitions[-1].end_s:.1f} s; "
                    "each is marked on the timeline at its end.")
        parts = ", ".join(f"{reps_text(s.reps)} of {readable(s.label)}" for s in counted)
        return f"{reps_text(prediction.reps).capitalize()} in all: {parts}; each is marked on the timeline at its end."

    def warnings(self) -> list[str]:
        """What to know before trusting the result (several people in view, a clip cut short...)."""
        return clip_warnings(self.pose, self.info.duration_s)

    def summary(self) -> dict[str, Any]:
        """The JSON summary offered for download."""
        return {
            "video": self.video_name,
            "model": self.model_name,
            "width": self.info.width,
            "height": self.info.height,
            "fps": round(self.info.fps, 3),
            "codec": self.info.codec,
            **self.prediction.summary(),
            "people": self.pose.people,
            "warnings": self.warnings(),
            "form": form_json(self.form, self.prediction, self.references) if any(self.form) else None,
        }

    def summary_json(self) -> str:
        return json.dumps(self.summary(), indent=1)


def analyze_video(video_path: str | Path, model: ExerciseModel, *, model_name: str = "model",
                  video_name: str | None = None, pose_options: PoseOptions | None = None,
                  inference: InferenceConfig = InferenceConfig(),
                  pose_cache_dir: Path = POSE_CACHE_DIR, video_cache_dir: Path = ANNOTATED_CACHE_DIR,
                  progress: Callable[[AnalysisProgress], None] | None = None,
                  references: dict[str, Reference] | None = None) -> VideoAnalysis:
    """Poses of every frame, the model's predictions and an annotated H.264 video of `video_path`,
    all computed in this process (the Upload page has them computed by `wpa.serving.analysis_queue`).

    Raises VideoError if the clip cannot be read. An exception raised by `progress` (a page that
    is left, a new upload) stops the work; nothing half-done is left in the caches.
    """
    video_path = Path(video_path)
    info = probe_video(video_path)
    files = locate_files(video_path, model, inference, pose_options, pose_cache_dir, video_cache_dir, references)
    computed = make_files(video_path, info, model, inference, files, pose_options, progress, references=references)
    return read_analysis(files, info, model_name=model_name, video_name=video_name or video_path.name,
                         reused=not computed, references=references)


def read_analysis(files: ClipFiles, info: VideoInfo, *, model_name: str, video_name: str, reused: bool,
                  references: dict[str, Reference] | None = None) -> VideoAnalysis:
    """The analysis of a clip whose files `make_files` has made: its poses, prediction, form and
    video as they were saved (`references`: those its files were located with, by exercise)."""
    pose = files.load_pose()
    prediction = files.load_prediction()
    return VideoAnalysis(video_name=video_name, info=info, pose=pose, prediction=prediction,
                         annotated_video=files.annotated_video, model_name=model_name, reused=reused,
                         form=files.load_forms(), references=references or {})
