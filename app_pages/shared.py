"""Widgets more than one page uses: choosing a model, and the loaded model shared by all sessions."""

import streamlit as st

from wpa.inference import readable
from wpa.model import ExerciseModel, load_model
from wpa.store import ModelEntry, active_entry, list_models


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load(path: str, saved_at: float) -> ExerciseModel:
    return load_model(path)


def shared_model(entry: ModelEntry) -> ExerciseModel:
    """One loaded model per folder and save time, shared read-only by all sessions."""
    return _load(str(entry.path), (entry.path / "model.json").stat().st_mtime)


def choose_model(key: str) -> ModelEntry:
    """A sidebar choice among the usable models (the active one first chosen), with the chosen
    model's exercises and measured accuracy, and a warning for each model that cannot be used."""
    entries = list_models()
    usable = {entry.name: entry for entry in entries if entry.usable}
    names = list(usable)
    active = active_entry(entries=entries).name
    entry = usable[st.sidebar.selectbox("Model", names, index=names.index(active) if active in names else 0,
                                        key=key, help="The active model is chosen on the Train page.")]
    st.sidebar.caption(f"Knows {len(entry.labels)} exercises: {', '.join(readable(label) for label in entry.labels)}.")
    metrics = entry.headline_metrics
    if metrics:
        st.sidebar.caption(f"On clips it never saw ({entry.measured_by}): {metrics.get('clip_accuracy', 0):.0%} of clips "
                           f"and {metrics.get('frame_accuracy', 0):.0%} of frames right.")
    for broken in (e for e in entries if not e.usable):
        st.sidebar.warning(f"{broken.name}: {broken.problem}")
    return entry
