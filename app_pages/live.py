"""Live page (placeholder): webcam classification arrives with streamlit-webrtc."""

import streamlit as st

st.title("Live")
st.info("Live webcam recognition is not built yet. Meanwhile, record a clip and use the Upload page, "
        "or classify files with `python -m wpa classify VIDEO`.")
