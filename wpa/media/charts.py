"""Plotly figures: a clip's timeline and class probabilities; a training run's learning curves and
confusion matrix; a live stream's recent past."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from wpa.media.colors import NO_PERSON_COLOR, UNKNOWN_COLOR, color_for, rgb
from wpa.movement.form.feedback import worst_repetitions
from wpa.recognition.inference import NO_PERSON, UNKNOWN, ClipPrediction, readable
from wpa.recognition.metrics import Evaluation
from wpa.recognition.train import EpochReport
from wpa.serving.live import LiveReading


def timeline_figure(prediction: ClipPrediction, min_confidence: float, form: tuple = ()) -> go.Figure:
    """What was done when: for each exercise, the smoothed confidence on the frames it was
    recognised, the model's raw per-frame confidence, stretches with nobody as grey bands, the
    segments named along the top, a numbered mark at the end of each repetition and, with `form`
    (`wpa.movement.form.feedback.segment_forms`), a dot under it coloured by its form, the worst marked."""
    times = prediction.timestamps_s
    labels = np.array(prediction.frame_labels)
    smoothed = np.nan_to_num(prediction.smoothed, nan=0.0)
    best = np.where(prediction.present, smoothed.max(axis=1), np.nan)
    figure = go.Figure()
    for label in [*prediction.labels, UNKNOWN]:
        on = labels == label
        if not on.any():
            continue
        # Frames of other labels become gaps, so each exercise is drawn only where it was seen.
        y = np.where(on, best, np.nan)
        color = color_for(label, prediction.labels)
        figure.add_trace(go.Scatter(
            x=times, y=y, mode="lines", name=readable(label), line={"color": color, "width": 2},
            fill="tozeroy", fillcolor=_transparent(color, 0.25), connectgaps=False,
            hovertemplate="%{x:.2f} s<br>" + readable(label) + " %{y:.0%}<extra></extra>"))
    raw = np.where(prediction.present, np.nan_to_num(prediction.probabilities).max(axis=1), np.nan)
    figure.add_trace(go.Scatter(x=times, y=raw, mode="lines", name="raw, per frame", connectgaps=False,
                                line={"color": "rgba(60,60,60,0.45)", "width": 1},
                                hovertemplate="%{x:.2f} s<br>raw top class %{y:.0%}<extra></extra>"))
    figure.add_hline(y=min_confidence, line={"dash": "dot", "color": UNKNOWN_COLOR, "width": 1},
                     annotation_text="unsure below", annotation_position="bottom right")
    _add_repetition_marks(figure, prediction)
    if any(form):
        _add_form_marks(figure, prediction, form)
    for segment in prediction.segments:
        if segment.label == NO_PERSON:
            figure.add_vrect(x0=segment.start_s, x1=segment.end_s, fillcolor=NO_PERSON_COLOR, opacity=0.5,
                             line_width=0)
        figure.add_vline(x=segment.start_s, line={"dash": "dash", "color": "rgba(0,0,0,0.3)", "width": 1})
        figure.add_annotation(x=(segment.start_s + segment.end_s) / 2, y=SEGMENT_NAME_Y, yref="y", showarrow=False,
                              text=f"<b>{readable(segment.label)}</b>",
                              font={"color": color_for(segment.label, prediction.labels), "size": 12})
    figure.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="closest",
                         legend={"orientation": "h", "y": -0.25}, xaxis_title="time (s)",
                         yaxis={"title": "confidence", "range": [0, 1.2], "tickformat": ".0%",
                                "tickvals": [0, 0.25, 0.5, 0.75, 1]})
    return figure


REPETITION_MARK_Y = 1.0  # on the 100 % line, numbered just above it, below the segments' names
SEGMENT_NAME_Y = 1.13
FORM_MARK_Y = 0.9  # form dots just under the repetition marks
FORM_GOOD_COLOR, FORM_CUE_COLOR, FORM_WORST_COLOR = "rgb(46,160,67)", "rgb(230,150,20)", "rgb(210,40,40)"


def _add_repetition_marks(figure: go.Figure, prediction: ClipPrediction) -> None:
    """One mark per repetition, at its end (where a person counts it), numbered within its
    segment, its start and end in the hover; one trace for them all, so the legend can hide them."""
    ends, numbers, hovers = [], [], []
    for segment in prediction.segments:
        for number, repetition in enumerate(segment.repetitions, start=1):
            ends.append(repetition.end_s)
            numbers.append(str(number))
            hovers.append(f"{readable(segment.label)} rep {number} of {segment.reps}<br>"
                          f"{repetition.start_s:.2f}–{repetition.end_s:.2f} s ({repetition.duration_s:.1f} s)")
    if not ends:
        return
    figure.add_trace(go.Scatter(
        x=ends, y=[REPETITION_MARK_Y] * len(ends), mode="markers+text", name="repetition ends",
        text=numbers, textposition="top center", textfont={"size": 12, "color": "rgb(40,40,40)"},
        marker={"symbol": "line-ns-open", "size": 14, "color": "rgb(40,40,40)", "line": {"width": 2}},
        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>"))


def _add_form_marks(figure: go.Figure, prediction: ClipPrediction, form: tuple) -> None:
    """Under each judged repetition's end, a dot: green like good form, amber with a cue, red and
    larger among the clip's worst; the score and cues in the hover."""
    worst = worst_repetitions(form)
    ends, colors, sizes, hovers = [], [], [], []
    for s, (segment, judged) in enumerate(zip(prediction.segments, form)):
        for number, rep in enumerate(judged.reps if judged else (), start=1):
            ends.append(rep.end_s)
            colors.append(FORM_WORST_COLOR if (s, number - 1) in worst else FORM_CUE_COLOR if rep.cues else FORM_GOOD_COLOR)
            sizes.append(13 if (s, number - 1) in worst else 9)
            cues = "<br>".join(cue.text for cue in rep.cues) or "no cue"
            hovers.append(f"{readable(segment.label)} rep {number}: form {rep.score:.1f}"
                          f"{' (worst)' if (s, number - 1) in worst else ''}<br>{cues}")
    figure.add_trace(go.Scatter(x=ends, y=[FORM_MARK_Y] * len(ends), mode="markers", name="form (hover)",
                                marker={"size": sizes, "color": colors, "line": {"width": 1, "color": "white"}},
                                hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>"))


def probabilities_figure(prediction: ClipPrediction) -> go.Figure:
    """Every class's smoothed probability over time, as a heatmap (blank where nobody is visible)."""
    names = [readable(label) for label in prediction.labels]
    figure = go.Figure(go.Heatmap(
        x=prediction.timestamps_s, y=names, z=prediction.smoothed.T, zmin=0, zmax=1, colorscale="Blues",
        colorbar={"title": "p", "tickformat": ".0%", "thickness": 12},
        hovertemplate="%{x:.2f} s<br>%{y}: %{z:.1%}<extra></extra>"))
    figure.update_layout(height=60 + 22 * len(names), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="time (s)", yaxis={"autorange": "reversed"})
    return figure


def _transparent(hex_color: str, alpha: float) -> str:
    red, green, blue = rgb(hex_color)
    return f"rgba({red},{green},{blue},{alpha})"


def learning_curves_figure(epochs: Sequence[EpochReport]) -> go.Figure:
    """Loss and accuracy per epoch, training and validation; the epoch whose weights are kept
    (lowest validation loss) is marked."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"), horizontal_spacing=0.08)
    numbers = [report.epoch for report in epochs]
    for column, (metric, tick) in enumerate((("loss", None), ("accuracy", ".0%")), start=1):
        for split, color in (("train", "#0067a5"), ("val", "#e25822")):
            values = [getattr(report, f"{split}_{metric}") for report in epochs]
            figure.add_trace(go.Scatter(x=numbers, y=values, mode="lines+markers", name=f"{split} {metric}",
                                        line={"color": color, "dash": "solid" if split == "val" else "dot"},
                                        legendgroup=split), row=1, col=column)
        if tick:
            figure.update_yaxes(tickformat=tick, row=1, col=column)
    best = [report.epoch for report in epochs if report.best]
    if best:
        figure.add_vline(x=best[-1], line={"dash": "dash", "color": "rgba(0,0,0,0.35)"},
                         annotation_text="kept", annotation_position="top")
    figure.update_xaxes(title_text="epoch", dtick=max(1, len(numbers) // 10))
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "y": -0.3})
    return figure


def confusion_figure(evaluation: Evaluation, level: str = "clip") -> go.Figure:
    """Confusion matrix (rows: true exercise, columns: predicted), coloured by the share of each
    true class, with the counts written in."""
    matrix = evaluation.clip_confusion if level == "clip" else evaluation.frame_confusion
    present = [i for i in range(len(evaluation.labels)) if matrix[i].sum() or matrix[:, i].sum()]
    matrix = matrix[np.ix_(present, present)]
    names = [readable(evaluation.labels[i]) for i in present]
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = go.Figure(go.Heatmap(
        z=shares, x=names, y=names, text=matrix, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        showscale=False, hovertemplate="true %{y}<br>predicted %{x}<br>%{text} " + level + "s<extra></extra>"))
    figure.update_layout(height=120 + 28 * len(names), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis={"title": "predicted", "side": "bottom"}, yaxis={"title": "true", "autorange": "reversed"})
    return figure


def live_timeline_figure(readings: Sequence[LiveReading], labels: tuple[str, ...], now_s: float) -> go.Figure:
    """The last seconds of a live stream: each frame's exercise (colour) and confidence (height),
    with time in seconds before now."""
    figure = go.Figure()
    seen = [label for label in [*labels, UNKNOWN, NO_PERSON] if any(r.label == label for r in readings)]
    for label in seen:
        points = [r for r in readings if r.label == label]
        figure.add_trace(go.Scatter(
            x=[r.time_s - now_s for r in points], y=[r.confidence for r in points], mode="markers",
            name=readable(label), marker={"color": color_for(label, labels), "size": 6},
            hovertemplate="%{x:.1f} s<br>" + readable(label) + " %{y:.0%}<extra></extra>"))
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend={"orientation": "h", "y": -0.3},
                         xaxis={"title": "seconds ago", "range": [-30, 0]},
                         yaxis={"title": "confidence", "range": [0, 1.05], "tickformat": ".0%"})
    return figure
