"""wpa's browser app: `streamlit run streamlit_app.py`. This file sets up the server process and
routes to the pages."""

import streamlit as st

from app.serving import app_settings
from app.shared import mark_routed, return_to_the_page_asked_for
import wpa
from wpa.serving.memory import hand_back_freed_memory

wpa.log_to_stderr()
# Sessions' pose models, streams and results come and go all day: give back what they freed.
hand_back_freed_memory(every_s=1.0)
st.set_page_config(page_title="wpa · workout recognition", page_icon=":material/fitness_center:", layout="wide")
app_settings()  # a wrong setting is a message saying what to fix, on every page, and nothing runs
mark_routed()
navigation = st.navigation([
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:", default=True),
    st.Page("pages/live.py", title="Live", icon=":material/videocam:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
])
return_to_the_page_asked_for()
navigation.run()
