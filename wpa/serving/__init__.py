"""Serving: analysing uploads (`analysis`, `processing`, `analysis_queue`, `analysis_worker`), live
streams (`live`), training jobs (`jobs`), the model store (`store`), bounded disk (`disk`), CPU
priority and memory (`priority`, `memory`), and serving beyond localhost: settings, TURN relay
credentials and checks, and sign-in (`settings`, `turn`, `access`)."""
