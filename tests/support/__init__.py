"""What tests and benchmarks share, and nothing else: tests/ holds test modules and conftest.py
files (fixtures), and every helper they or benchmarks/ import is here.

- sandbox: the temporary caches and model store tests run in (set before wpa is imported)
- data: where the real clips are, and the clips the tests use
- media, poses, movement: synthetic clips, landmark tables, skeletons doing known movements
- models: a small untrained model
- cli: `python -m wpa` in a subprocess
- namespace: a private network namespace and its loopback
- servers: the app (`streamlit run`) and coturn, started and stopped
- ray_cluster: a Ray cluster of one or more nodes on this machine
- browsers: Chromium through Playwright, its fake camera, the Live page's START
- corpus: bad and odd inputs and what wpa must make of them
- drivers run in a subprocess by one test each: live_check, live_count_check, relay_check, ray_check,
  fault_driver
- rep_data: the repetition counter's counted videos (the by-eye counts, Countix-Fitness)
"""
