"""What more than one page uses: arriving through the app's navigation, choosing a model, and the
services the server makes once and every session shares (loaded models, the training jobs)."""

from pathlib import Path

import streamlit as st

from wpa.recognition.inference import readable
from wpa.recognition.model import ExerciseModel, load_model
from wpa.serving.analysis_queue import AnalysisQueue
from wpa.serving.jobs import JobBoard
from wpa.serving.store import ModelEntry, active_entry, list_models
from wpa.settings import current
from wpa.workers.pool import WorkerPool


APP_DIR = Path(__file__).resolve().parents[1]  # where streamlit_app.py and pages/ are
_ROUTED = "wpa_routed"  # session_state: streamlit_app.py's navigation has run in this session
_RETURN_TO = "wpa_return_to"  # session_state: (page, query parameters) to go back to once it has


def inside_the_app(page_file: str) -> None:
    """Make sure the page in `page_file` runs inside streamlit_app.py's navigation.

    Streamlit keeps its older multipage mode for a folder named `pages/`: until the app's
    `st.navigation` has run once in the server process, a session whose first request is a page's
    address (a bookmark to /live on a freshly started server) gets that script run on its own,
    without the app's page settings and logging, and with a menu of every file in `pages/`. Such a
    run goes to the app first, which comes back here with the same query parameters.
    """
    if not st.session_state.get(_ROUTED):
        page = Path(page_file).resolve().relative_to(APP_DIR).as_posix()
        st.session_state[_RETURN_TO] = (page, st.query_params.to_dict())
        st.switch_page(APP_DIR / "streamlit_app.py")


def mark_routed() -> None:
    """Called by streamlit_app.py before its navigation: this session's pages are routed by it."""
    st.session_state[_ROUTED] = True


def return_to_the_page_asked_for() -> None:
    """Called by streamlit_app.py after its navigation: back to a page that came here first."""
    if _RETURN_TO in st.session_state:
        page, query = st.session_state.pop(_RETURN_TO)
        st.switch_page(page, query_params=query)



@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load(path: str, saved_at: float) -> ExerciseModel:
    return load_model(path)


def shared_model(entry: ModelEntry) -> ExerciseModel:
    """One loaded model per folder and save time, shared read-only by all sessions."""
    return _load(str(entry.path), (entry.path / "model.json").stat().st_mtime)


@st.cache_resource
def worker_pool() -> WorkerPool:
    """The server's worker processes, one pool for every session's uploads and training jobs: they
    share one CPU budget (a slot a core), so together they never ask for more than the machine."""
    return WorkerPool()


@st.cache_resource
def upload_queue() -> AnalysisQueue:
    """The server's upload queue, one for every session: their clips wait in one line for the same
    workers (at most WPA_ANALYSIS_WORKERS)."""
    return AnalysisQueue(workers=current().workers.analysis_workers, pool=worker_pool())


@st.cache_resource
def job_board() -> JobBoard:
    """The server's training jobs, one board for every session (a refreshed page finds its job)."""
    return JobBoard(ray_address=current().workers.ray_address, pool=worker_pool())


def unsure_below(entry: ModelEntry) -> float:
    """A slider for the confidence below which the answer is "unsure", starting at the model's own."""
    return st.slider("Unsure below this confidence", 0.0, 0.95, round(entry.unknown_threshold, 2), 0.01,
                     help="The default is the model's own, set so that few clips of exercises it knows are called unsure.")


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
    headline = entry.headline
    if headline is not None:
        share, of_what = ((headline.time_accuracy, "of the time") if headline.time_accuracy is not None
                          else (headline.frame_accuracy or 0, "of frames"))
        st.sidebar.caption(f"On clips it never saw ({headline.measured_by}): {headline.clip_accuracy or 0:.0%} of "
                           f"clips and {share:.0%} {of_what} right.")
    for broken in (e for e in entries if not e.usable):
        st.sidebar.warning(f"{broken.name}: {broken.problem}")
    return entry
