"""Train page (placeholder): training from the browser comes later; the CLI does it today."""

import streamlit as st

st.title("Train")
st.info("Training from the browser is not built yet. Train on your own clips from a terminal:")
st.code("python -m wpa train DATA --out models/my-model   # DATA/<exercise>/<clip>.mp4\n"
        "python -m wpa crossval DATA                      # honest accuracy, grouped by clip", language="bash")
