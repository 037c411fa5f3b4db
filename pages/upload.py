"""Upload page: a workout clip analysed frame by frame, its repetitions counted, shown as a timeline
with the annotated video.

The work happens in the server's worker processes (`wpa.serving.analysis_queue`, on the pool of
`wpa.workers`), and the clip waits for them in `wpa.serving.uploads`; this page holds widgets and
layout, and while its clip waits or is analysed it shows where it stands. A new upload, or leaving
the page, reruns the script: Streamlit then raises in the progress bar and the clip's ticket is
cancelled (the analysis stops unless another session waits for the same clip), leaving nothing
half-written in the caches.
"""

from pathlib import Path

import streamlit as st

from wpa.errors import WpaError
from wpa.media.charts import probabilities_figure, timeline_figure
from wpa.media.video import VIDEO_EXTENSIONS
from wpa.movement.form.feedback import form_references, save_good_form
from wpa.recognition.inference import SMOOTHING_HELP, InferenceConfig, readable
from wpa.serving.analysis import VideoAnalysis, read_analysis
from wpa.serving.store import ModelEntry
from wpa.serving.uploads import analysed_upload

from app.serving import guard_page, serving_settings
from app.shared import choose_model, inside_the_app, shared_model, unsure_below, upload_queue

inside_the_app(__file__)

MAX_UPLOAD_MB = st.get_option("server.maxUploadSize")


def analyse(upload, entry: ModelEntry, inference: InferenceConfig) -> VideoAnalysis:
    model = shared_model(entry)
    bar = st.progress(0.0, text="Reading the clip…")
    references = form_references(entry.path)  # the video's cues and the page's are judged against these
    try:
        # A rerun (new upload, page left) raises in bar.progress, which cancels the clip's analysis.
        with analysed_upload(upload.getbuffer(), upload.name, upload_queue(), model, entry.path, inference,
                             on_status=lambda status: bar.progress(status.fraction, text=status.text()),
                             references=references) as ticket:
            analysis = read_analysis(ticket.files, ticket.info, model_name=entry.name,
                                     video_name=upload.name, reused=not ticket.status().computed,
                                     references=references)
            # Kept while this session shows it: the bounded cache never evicts a video being watched.
            st.session_state.video_lease = ticket.lease_video()
        return analysis
    finally:
        bar.empty()


def jump_from_segments() -> None:
    chosen = st.session_state.jump_segment
    if chosen is not None:
        st.session_state.jump_s = float(st.session_state.analysis.prediction.segments[chosen].start_s)


def jump_from_timeline() -> None:
    points = st.session_state.timeline.selection.points
    if points:
        st.session_state.jump_s = float(points[0]["x"])


def show(analysis: VideoAnalysis, min_confidence: float) -> None:
    prediction = analysis.prediction
    title, details = analysis.verdict()
    st.header(title, anchor=False)
    st.write(details)
    for warning in analysis.warnings():
        st.warning(warning)
    if analysis.reused:
        st.caption("This clip was analysed before with this model: shown from the cache.")
    left, right = st.columns([3, 2])
    with left:
        portrait = analysis.info.height > analysis.info.width
        st.video(str(analysis.annotated_video), start_time=st.session_state.get("jump_s", 0.0),
                 width=360 if portrait else "stretch")
    with right:
        st.dataframe(analysis.segments_table(), hide_index=True,
                     column_config={
                         # Narrow: beside the reps column, a wider bar would be scrolled out of sight.
                         "reps": st.column_config.NumberColumn(width=40),
                         "confidence": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1,
                                                                       width=90)})
        segments = prediction.segments
        st.pills("Play from", range(len(segments)), key="jump_segment", on_change=jump_from_segments,
                 format_func=lambda i: f"{readable(segments[i].label)} · {segments[i].start_s:.1f} s",
                 help="Or click a point of the timeline.")
        # Two a row: three side by side cut "Frames with a person" short in this column.
        c1, c2 = st.columns(2)
        c1.metric("Repetitions", prediction.reps)
        c2.metric("Length", f"{analysis.info.duration_s or prediction.timestamps_s[-1]:.1f} s")
        c3, _ = st.columns(2)
        c3.metric("Frames with a person", f"{prediction.frames_with_pose} / {len(prediction.timestamps_s)}")
    st.subheader("Timeline")
    st.plotly_chart(timeline_figure(prediction, min_confidence, analysis.form), key="timeline",
                    on_select=jump_from_timeline, selection_mode="points")
    st.caption(analysis.repetitions_text())
    show_form(analysis)
    st.subheader("Every exercise's probability")
    st.plotly_chart(probabilities_figure(prediction), key="probabilities")
    stem = Path(analysis.video_name).stem
    d1, d2, d3 = st.columns(3)
    # The CSV and JSON are small: made on every run, they stay served as long as the page shows
    # them. The video is only read when its button is clicked (a callable); Streamlit then
    # serves it for a moment only, and a click on a busy server may need repeating.
    d1.download_button("Per-frame CSV", analysis.frames_table().to_csv(index=False), f"{stem}-frames.csv",
                       "text/csv", on_click="ignore")
    d2.download_button("JSON summary", analysis.summary_json(), f"{stem}-summary.json", "application/json",
                       on_click="ignore")
    d3.download_button("Annotated video (MP4)", analysis.annotated_video.read_bytes, f"{stem}-annotated.mp4",
                       "video/mp4", on_click="ignore")


def show_form(analysis: VideoAnalysis) -> None:
    """Each repetition's form against the exercise's good repetitions, and "my good form"."""
    st.subheader("Form")
    if any(analysis.form):
        sources = sorted({analysis.references[s.label].source for s, f in zip(analysis.prediction.segments,
                                                                               analysis.form) if f})
        st.caption(f"Each repetition against good repetitions ({' and '.join(sources)}): 0 is typical of them, "
                   "higher is further off; the worst are marked, the top cue says where and how.")
        st.dataframe(analysis.repetitions_table(), hide_index=True, key="form_table",
                     column_config={"rep": st.column_config.NumberColumn(width=40),
                                    "form": st.column_config.NumberColumn(format="%.1f", width=60),
                                    "top cue": st.column_config.TextColumn(width="large"),
                                    "worst": st.column_config.CheckboxColumn(width=50)})
        st.markdown(analysis.form_text())
    else:
        st.caption("No form feedback for this clip: its exercise has no reference of good repetitions yet.")
    if st.button("This was my good form", icon=":material/verified:", key="mark_good_form",
                 help="From now on, this exercise is compared with the repetitions of this clip."):
        saved = save_good_form(analysis.prediction, analysis.pose)
        if saved:
            st.success(f"Kept as your good form of {', '.join(readable(label) for label in saved)}: "
                       "clips uploaded from now on are compared with it.")
        else:
            st.warning("Too few repetitions to learn from: mark a set of at least 3.")


def forget_shown() -> None:
    """The result shown is no longer shown: its video's lease ends, so the cache may evict it."""
    for name in ("analysis", "analysis_key", "jump_segment"):
        st.session_state.pop(name, None)
    if (shown := st.session_state.pop("video_lease", None)) is not None:
        shown.release()


st.title("What exercise is this?")
guard_page(serving_settings(), "Upload")  # open unless the server's settings put every page behind the sign-in
entry = choose_model(key="upload_model")
with st.sidebar.expander("Settings"):
    min_confidence = unsure_below(entry)
    smoothing = st.slider("Smoothing (seconds)", 0.0, 2.0, InferenceConfig().smoothing_s, 0.1, help=SMOOTHING_HELP)
inference = InferenceConfig(smoothing_s=smoothing, min_confidence=min_confidence)

upload = st.file_uploader(
    f"Drop a workout clip: {', '.join(e.lstrip('.') for e in VIDEO_EXTENSIONS)} — up to {MAX_UPLOAD_MB} MB",
    type=[extension.lstrip(".") for extension in VIDEO_EXTENSIONS], key="upload")
if upload is None:
    forget_shown()
    st.caption("Film the whole body, one person in the frame. The clip is analysed here, on this server; "
               "the same clip uploaded again is shown at once.")
    st.stop()
if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
    st.error(f"This file is {upload.size / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. Trim or compress the clip.")
    st.stop()

key = (upload.file_id, str(entry.path), inference)
if st.session_state.get("analysis_key") != key:
    forget_shown()
    st.session_state.jump_s = 0.0
    try:
        st.session_state.analysis = analyse(upload, entry, inference)
    except WpaError as error:
        st.error(str(error))
        st.stop()
    st.session_state.analysis_key = key
show(st.session_state.analysis, inference.min_confidence)
