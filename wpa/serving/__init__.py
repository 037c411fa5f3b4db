"""Serving: analysing uploads (`analysis`, `processing`, `analysis_queue`, run on the worker pool of
`wpa.workers`), live streams (`live`), training jobs (`jobs`), the model store (`store`), bounded
disk (`disk`), memory (`memory`), and serving beyond localhost: settings, TURN relay
credentials and checks, and sign-in (`settings`, `turn`, `access`)."""
