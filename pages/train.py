"""Train page: train a model on your own exercise clips, watch it learn, save it, make it active.

Training runs in a background job on the server's job board (`wpa.serving.jobs`, one per server:
`app.shared.job_board`); the page shows snapshots of it and keeps the job's id in the URL, so a
refreshed page finds the same job instead of starting another. Uploaded data is kept by
`wpa.serving.uploads`.
"""

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from wpa.errors import WpaError
from wpa.media.charts import confusion_figure, learning_curves_figure
from wpa.recognition.augment import AugmentConfig
from wpa.recognition.features import FEATURE_SETS
from wpa.recognition.folders import find_datasets, resolve_inside, scan_dataset
from wpa.recognition.inference import readable
from wpa.recognition.model import load_model
from wpa.recognition.preview import DatasetPreview, folder_listing, preview_clips, preview_folder
from wpa.serving import disk
from wpa.serving.jobs import DataSource, TrainingJob
from wpa.serving.uploads import TrainingUploads
from wpa.serving.store import (active_entry, active_model_name, delete_user_model, list_models, save_user_model,
                       set_active_model)
from wpa.poses.table import read_landmarks_csv
from wpa.recognition.train_config import TrainConfig

from app.serving import app_settings, sign_in_form, sign_out_button, signed_in
from app.shared import inside_the_app, job_board

inside_the_app(__file__)

SOURCES = ("Folder on the server", "Zip of class folders", "Landmarks CSV")


@st.cache_data(show_spinner="Opening every clip…", max_entries=16)
def folder_preview(folder: str, listing: tuple) -> DatasetPreview:
    """The preview of a folder, recomputed only when its files change (`listing`)."""
    return preview_folder(scan_dataset(folder))


@st.cache_data(show_spinner="Reading the landmarks…", max_entries=16)
def csv_preview(path: str) -> DatasetPreview:
    """The preview of an uploaded CSV, read once: its name holds the upload's id."""
    return preview_clips(*read_landmarks_csv(Path(path)))


def choose_source(data_roots: tuple[Path, ...]) -> tuple[DataSource | None, DatasetPreview | None]:
    """The data source widgets; returns the source and its preview, or (None, None) until chosen."""
    kind = st.radio("Your clips", SOURCES, horizontal=True, key="source_kind")
    try:
        if kind == SOURCES[0]:
            offered = find_datasets(data_roots)
            roots = ", ".join(str(root) for root in data_roots)
            picked = st.selectbox("Dataset", [str(p) for p in offered], index=None, key="source_folder",
                                  placeholder="Choose a folder" if offered else f"No datasets in {roots}",
                                  help=f"Folders of class folders under {roots} (set WPA_DATA_ROOTS).")
            typed = st.text_input("…or type a path inside those folders", key="source_path")
            chosen = typed.strip() or picked
            if not chosen:
                return None, None
            folder = resolve_inside(chosen, data_roots)
            return DataSource(folder, str(folder)), folder_preview(str(folder), folder_listing(folder))
        uploads = TrainingUploads()
        if kind == SOURCES[1]:
            upload = st.file_uploader("A zip holding one folder per exercise, each with its clips", type=["zip"],
                                      key="source_zip")
            if upload is None:
                return None, None
            if st.session_state.get("zip_id") != upload.file_id:
                unpacked = uploads.unpack_zip(upload.file_id, upload.getbuffer())
                st.session_state.zip_lease = uploads.hold(unpacked, st.session_state.get("zip_lease"))
                st.session_state.zip_folder = unpacked
                st.session_state.zip_id = upload.file_id
            folder = st.session_state.zip_folder
            return DataSource(folder, upload.name), folder_preview(str(folder), folder_listing(folder))
        upload = st.file_uploader("A landmarks CSV: the original layout (x0…z32, label) or wpa's table",
                                  type=["csv"], key="source_csv")
        if upload is None:
            return None, None
        lease = st.session_state.csv_lease = uploads.store_csv(upload.file_id, upload.getbuffer(),
                                                               held=st.session_state.get("csv_lease"))
        return DataSource(lease.path, upload.name), csv_preview(str(lease.path))
    except WpaError as error:
        st.error(str(error))
        return None, None


def show_preview(preview: DatasetPreview) -> None:
    table = pd.DataFrame(preview.classes)
    st.dataframe(table, hide_index=True)
    st.caption(f"{len(table)} exercises, {table['clips'].sum()} clips, {table['frames'].sum()} frames.")
    for problem in preview.problems:
        st.error(problem)
    if preview.warnings:
        with st.expander(f"{len(preview.warnings)} thing(s) to know", expanded=len(preview.warnings) <= 3):
            for warning in preview.warnings:
                st.warning(warning)


def choose_settings() -> TrainConfig:
    defaults = TrainConfig()
    with st.expander("Training settings"):
        c1, c2, c3 = st.columns(3)
        values = {
            "epochs": c1.number_input("Most epochs", 1, 500, defaults.epochs),
            "batch_size": c1.number_input("Batch size", 1, 4096, defaults.batch_size),
            "learning_rate": c1.number_input("Learning rate", 1e-6, 1.0, defaults.learning_rate, format="%.5f"),
            "lr_step_size": c2.number_input("Halve the rate every (epochs)", 1, 500, defaults.lr_step_size),
            "lr_gamma": c2.number_input("Rate factor at each step", 0.01, 1.0, defaults.lr_gamma),
            "dropout": c2.number_input("Dropout", 0.0, 0.9, defaults.dropout),
            "patience": c3.number_input("Stop after epochs without improvement", 1, 100, defaults.patience),
            "val_fraction": c3.number_input("Share of clips held out", 0.05, 0.5, defaults.val_fraction),
            "seed": c3.number_input("Seed", 0, 2**31 - 1, defaults.seed),
            "feature_set": st.selectbox("Features", list(FEATURE_SETS), index=list(FEATURE_SETS).index(defaults.feature_set),
                                        format_func=lambda name: f"{name}: {FEATURE_SETS[name].description}"),
            "mirror": st.checkbox("Also learn from mirror images (left and right alike)", defaults.mirror),
        }
        copies = st.number_input("Copies of each clip as other cameras and bodies would show it", 0, 8,
                                 defaults.augment_copies,
                                 help="More copies learn more views and proportions; training takes longer.")
    return TrainConfig(**values, augment=replace(defaults.augment or AugmentConfig(), copies=copies) if copies else None)


def start_training(source: DataSource, config: TrainConfig, name: str) -> TrainingJob:
    entry = active_entry()
    active = load_model(entry.path) if entry.usable else None
    return job_board().start(name, source, config, active_model=active, active_name=entry.name)


@st.fragment(run_every=1.0)
def watch(job: TrainingJob) -> None:
    """Progress of a running job, redrawn every second without rerunning the page."""
    snapshot = job.snapshot()
    if not snapshot.running:
        st.rerun(scope="app")
    elapsed = time.time() - snapshot.started_at
    st.info(f"**{snapshot.name}**: {snapshot.message} ({elapsed:.0f} s)")
    extraction = snapshot.extraction
    if extraction is not None:
        rate = f" · {extraction.frames_per_second:.0f} frames/s" if extraction.frames else ""
        left = ""
        if extraction.frames and extraction.done < extraction.total:
            left = f" · about {extraction.elapsed_s / extraction.done * (extraction.total - extraction.done):.0f} s left"
        st.progress(extraction.done / extraction.total,
                    text=f"Poses ({job.extraction_where}): clip {extraction.done} of {extraction.total}{rate}{left}")
    if snapshot.epochs:
        st.progress(len(snapshot.epochs) / snapshot.max_epochs,
                    text=f"Training: epoch {len(snapshot.epochs)} of at most {snapshot.max_epochs}")
        st.plotly_chart(learning_curves_figure(snapshot.epochs), key=f"curves-{len(snapshot.epochs)}")
    if st.button("Cancel training", icon=":material/stop:"):
        job.cancel()
        st.toast("Stopping at the next clip or batch…")


def show_results(job: TrainingJob) -> None:
    result = job.result
    evaluation = result.evaluation
    st.success(job.snapshot().message)
    if evaluation is None:
        st.warning("No clip could be held out (every exercise has a single clip), so the model is not measured.")
    else:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Clips right", f"{evaluation.clip_accuracy:.0%}", help=f"of {len(evaluation.clips)} held-out clips")
        c2.metric("Time right", f"{evaluation.time_accuracy:.0%}",
                  help=f"of the time a person is in view, over {len(evaluation.frame_truth)} frames")
        c3.metric("Clip macro-F1", f"{evaluation.macro_f1('clip'):.2f}")
        c4.metric("Unsure below", f"{job.result.model.unknown_threshold:.0%}",
                  help="A clip whose best exercise is less likely than this is called unsure: set so that about "
                       f"{job.config.known_called_unknown:.0%} of held-out clips of known exercises would be.")
        st.caption(f"Measured on {len(evaluation.clips)} clips held out from training, whole groups at a time (a "
                   "person, camera or gym, where the data names them; else each clip): nothing of them was "
                   "learnt from.")
        show_comparison(job)
        left, right = st.columns(2)
        with left:
            st.markdown("**Per exercise (frames)**")
            st.dataframe(pd.DataFrame(evaluation.per_class("frame")).assign(label=lambda t: t.label.map(readable)),
                         hide_index=True, column_config={
                             "precision": st.column_config.NumberColumn(format="%.2f"),
                             "recall": st.column_config.NumberColumn(format="%.2f"),
                             "f1": st.column_config.NumberColumn(format="%.2f")})
        with right:
            level = st.segmented_control("Confusion matrix of", ["clip", "frame"], default="clip", key="confusion_level")
            st.plotly_chart(confusion_figure(evaluation, level or "clip"), key="confusion")
        if evaluation.wrong_clips:
            st.markdown("**Clips it got wrong**")
            st.dataframe(pd.DataFrame([{"clip": c.clip_id, "exercise": readable(c.label),
                                        "predicted": readable(c.predicted), "confidence": round(c.confidence, 3)}
                                       for c in evaluation.wrong_clips]), hide_index=True)
    st.markdown("**Learning curves**")
    st.plotly_chart(learning_curves_figure(result.history), key="final-curves")
    save_form(job)


def show_comparison(job: TrainingJob) -> None:
    comparison = job.comparison
    if comparison is None or comparison.evaluation is None:
        return
    other = comparison.evaluation
    text = (f"The active model (**{comparison.model_name}**), on the {comparison.clips_compared} of these "
            f"{comparison.clips_held_out} clips whose exercise it knows: {other.clip_accuracy:.0%} of clips, "
            f"{other.frame_accuracy:.0%} of frames right.")
    if comparison.seen_by_it:
        text += (f" It was trained on {comparison.seen_by_it} of them, so its score there is not a fair "
                 "comparison.")
    st.info(text)


def save_form(job: TrainingJob) -> None:
    st.subheader("Save this model")
    with st.form("save"):
        name = st.text_input("Name", value=job.name, max_chars=64)
        replace = st.checkbox("Replace a saved model of this name")
        make_active = st.checkbox("Make it the active model for Upload and Live", value=True)
        if st.form_submit_button("Save model", type="primary"):
            try:
                save_user_model(job.result.model, name, replace=replace, form_references=job.form_references)
            except WpaError as error:
                st.error(str(error))
            else:
                if make_active:
                    set_active_model(name.strip())
                st.success(f"Saved as '{name.strip()}'" + (" and made active." if make_active else "."))


def show_disk() -> None:
    """How full each folder wpa bounds is, and the setting that moves its limit."""
    with st.expander("Disk", icon=":material/hard_drive:"):
        try:
            usages = [folder.usage() for folder in disk.all_folders()]
        except WpaError as error:
            st.error(str(error))
            return
        for usage in usages:
            st.markdown(f"{usage.describe()} · limit set by `{usage.setting}` (in GB)")
        st.caption("When a folder is over its limit, what was used least recently is removed; never what a page "
                   "shows or a training job reads.")


def saved_models(read_only: bool = False) -> None:
    st.header("Saved models", anchor=False)
    entries = list_models()
    active = active_entry(entries=entries).name
    rows = [{"model": entry.name, "active": entry.name == active,
             "exercises": ", ".join(readable(label) for label in entry.labels) if entry.usable else entry.problem,
             "clips right": entry.headline.clip_accuracy if entry.headline else None,
             "frames right": entry.headline.frame_accuracy if entry.headline else None,
             "measured by": entry.headline.measured_by if entry.headline else "not measured",
             "trained on": f"{entry.card.data.clips} clips, {entry.card.data.frames} frames"
             if entry.card and entry.card.data.clips else "",
             "saved": entry.card.created if entry.card else ""} for entry in entries]
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        "clips right": st.column_config.NumberColumn(format="percent"),
        "frames right": st.column_config.NumberColumn(format="percent")})
    if read_only:
        return
    # Broken models can be chosen too: to be deleted, never made active.
    usable = {entry.name: entry.usable for entry in entries}
    names = list(usable)
    chosen = st.selectbox("Model", names, index=names.index(active) if active in names else 0, key="manage_model")
    c1, c2 = st.columns(2)
    if c1.button("Make active", disabled=chosen == active or not usable[chosen], key="make_active"):
        set_active_model(None if chosen == entries[0].name else chosen)
        st.rerun()
    if chosen != entries[0].name:
        confirm = c2.checkbox(f"Yes, delete '{chosen}'", key="confirm_delete")
        if c2.button("Delete", disabled=not confirm, key="delete"):
            delete_user_model(chosen)
            st.rerun()
    st.caption(f"The active model is **{active}**" + ("" if active_model_name() else " (the shipped one)") + ".")


def signed_out_view(serving) -> None:
    """Who has not signed in sees the saved models, and how to sign in; nothing that changes the server."""
    sign_in_form(serving, "Training, saving, activating or deleting a model and uploading data change this "
                          "server: they are for signed-in users.")
    saved_models(read_only=True)
    st.stop()


st.title("Train")
settings = app_settings()
serving = settings.serving
if not signed_in(serving):
    signed_out_view(serving)
sign_out_button(serving)
requested_job = st.query_params.get("job")
job = job_board().get(requested_job)
if job is None:
    if requested_job:
        st.warning("The training job in this page's address is no longer on the server (it was restarted, or "
                   "the job was cleared). Models saved before are kept; start a new training below.")
    st.caption("Bring clips of your own exercises — one folder per exercise — and train a model for them. "
               "Accuracy is measured on clips held out from training.")
    source, preview = choose_source(settings.paths.data_roots)
    if preview is not None:
        show_preview(preview)
    config = choose_settings()
    st.session_state.setdefault("model_name", f"model-{time.strftime('%Y%m%d-%H%M')}")
    name = st.text_input("Model name", max_chars=64, key="model_name")
    ready = source is not None and preview is not None and preview.ready
    if st.button("Start training", type="primary", disabled=not ready, icon=":material/play_arrow:"):
        job = start_training(source, config, name.strip() or "model")
        st.query_params["job"] = job.id
        st.rerun()
else:
    snapshot = job.snapshot()
    if snapshot.running:
        watch(job)
    elif snapshot.state == "finished":
        show_results(job)
    else:
        (st.warning if snapshot.state == "cancelled" else st.error)(snapshot.message)
    if not snapshot.running and st.button("Train another model", icon=":material/add:"):
        st.query_params.clear()
        st.rerun()
saved_models()
show_disk()
