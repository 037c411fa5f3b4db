"""wpa's browser app: `streamlit run streamlit_app.py`. This file only routes to the pages."""

import streamlit as st

import wpa

wpa.log_to_stderr()
st.set_page_config(page_title="wpa · workout recognition", page_icon=":material/fitness_center:", layout="wide")
navigation = st.navigation([
    st.Page("app_pages/upload.py", title="Upload", icon=":material/upload_file:", default=True),
    st.Page("app_pages/live.py", title="Live", icon=":material/videocam:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
])
navigation.run()
