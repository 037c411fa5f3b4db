"""wpa's browser app: `streamlit run streamlit_app.py`. This file only routes to the pages."""

import streamlit as st

st.set_page_config(page_title="wpa · workout recognition", page_icon="🏋️", layout="wide")
navigation = st.navigation([
    st.Page("app_pages/upload.py", title="Upload", icon="📼", default=True),
    st.Page("app_pages/live.py", title="Live", icon="🎥"),
    st.Page("app_pages/train.py", title="Train", icon="🧠"),
])
navigation.run()
