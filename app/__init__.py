"""The Streamlit code the pages share: arriving through the app's navigation, choosing a model,
the serving settings and sign-in, and the Live page's connection. It sits beside `pages/`, not in
it, because Streamlit lists every file of `pages/` as a page; it is found, as `pages/` is, through
the folder of `streamlit_app.py` on the import path, and it is not installed with `wpa`
(pyproject.toml), which never imports Streamlit."""
