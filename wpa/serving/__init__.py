"""Serving: analysing uploads (`analysis`, `processing`, `analysis_queue`, run on the worker pool of
`wpa.workers`), live streams (`live`), training jobs (`jobs`), the model store (`store`), what people
upload (`uploads`), bounded disk (`disk`), memory (`memory`), and serving beyond localhost: TURN
relay credentials and checks, and sign-in (`turn`, `access`; their settings are in wpa.settings)."""
