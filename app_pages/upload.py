"""Upload page: classify a workout clip with the shipped model.

A first, plain version: the label, its confidence and the segments. The timeline, skeleton
video and downloads come with the full Upload page.
"""

import tempfile
from pathlib import Path

import streamlit as st

from wpa.errors import WpaError
from wpa.inference import classify_video
from wpa.model import DEFAULT_MODEL_DIR, load_model
from wpa.video import VIDEO_EXTENSIONS


@st.cache_resource
def shipped_model():
    """The default model, loaded once per server and only read afterwards."""
    return load_model(DEFAULT_MODEL_DIR)


st.title("What exercise is this?")
upload = st.file_uploader(
    f"A workout clip ({', '.join(VIDEO_EXTENSIONS)}; up to {st.get_option('server.maxUploadSize')} MB)",
    type=[extension.lstrip(".") for extension in VIDEO_EXTENSIONS],
)
if upload is None:
    st.caption("Film the whole body; one person in the frame works best.")
    st.stop()

try:
    model = shipped_model()
except WpaError as error:
    st.error(str(error))
    st.stop()

progress = st.progress(0.0, text="Finding the pose in every frame…")
with tempfile.TemporaryDirectory() as folder:
    # Only the extension of the user's file name is used: the name itself never becomes a path.
    video = Path(folder) / f"upload{Path(upload.name).suffix.lower()}"
    video.write_bytes(upload.getbuffer())
    try:
        _, prediction = classify_video(
            video, model,
            progress=lambda done, total: progress.progress(min(done / total, 1.0) if total else 0.0,
                                                           text=f"Frame {done} of {total or '?'}"))
    except WpaError as error:
        progress.empty()
        st.error(str(error))
        st.stop()
progress.empty()

if prediction.frames_with_pose == 0:
    st.warning("Nobody was found in this clip. Film the whole body, in good light, and try again.")
    st.stop()
label = prediction.label.replace("_", " ")
st.metric("Exercise", label, f"{prediction.confidence:.0%} confident", delta_color="off")
st.caption(f"A person was found on {prediction.frames_with_pose} of {len(prediction.timestamps_s)} frames.")
st.dataframe(
    [{"exercise": s.label.replace("_", " "), "start (s)": round(s.start_s, 2), "end (s)": round(s.end_s, 2),
      "confidence": f"{s.confidence:.0%}"} for s in prediction.segments],
    hide_index=True,
)
