# Two commands on a fresh machine:  `make run` (the app)  and  `make test` (the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data/videos
MORE ?= ../shared/data/more
# The clip list (path, label, group) of the shared data, and the exercises the shipped model knows.
CLIPS ?= ../shared/data/clips.csv
CLASSES ?= bench_press,biceps_curl,chest_fly_machine,deadlift,jumping_jack,lateral_raise,leg_raises,lunge,plank,pull_up,push_up,russian_twist,shoulder_press,squat,tricep_dips

.PHONY: run test setup setup-dev model pose-model compare openset bench bench-extract load load-gate reps clean

run: $(VENV)/.installed
	$(BIN)/streamlit run streamlit_app.py

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

# The shipped classifier, models/default, with its stratified group cross-validation (groups:
# CLIPS' group column), beside the same measurement for the original raw-feature setup (models/README.md).
model: $(VENV)/.installed
	$(BIN)/python -m wpa crossval $(CLIPS) --classes $(CLASSES) --feature-set raw --no-mirror --json > models/baseline-raw-crossval.json
	$(BIN)/python -m wpa train $(CLIPS) --classes $(CLASSES) --out models/default --crossval 5 --force

# models/pose_landmarker_full.task, rebuilt from the mediapipe==0.10.21 wheel in a separate environment.
pose-model:
	$(PYTHON) -m venv .venv-pose-model
	.venv-pose-model/bin/python -m pip install --quiet mediapipe==0.10.21
	.venv-pose-model/bin/python scripts/build_pose_model.py --out models/pose_landmarker_full.task

clean:
	rm -rf $(VENV) .venv-pose-model .pytest_cache

# The lever table of models/README.md: stratified group cross-validation of each training setup,
# three seeds each (about 90 minutes on two cores).
compare: $(VENV)/.installed
	PYTHONPATH=. $(BIN)/python scripts/generalisation.py $(DATA) --groups $(CLIPS)

# The open-set table of models/README.md: known clips called unknown, leave-one-class-out, and the
# exercises of ../shared/data/more the shipped model does not know (about 40 minutes on two cores).
openset: $(VENV)/.installed
	PYTHONPATH=. $(BIN)/python scripts/openset.py $(CLIPS) --classes $(CLASSES) --unknown $(MORE)

# The speed figures of BENCHMARKS.md (about 8 minutes on two cores).
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.pipeline

# Extraction on this machine with the local engine and on Ray clusters of 1 and 2 nodes (BENCHMARKS.md,
# SCALING.md; about 6 minutes on two cores; needs Ray, from requirements-dev.txt, and root or user namespaces).
bench-extract: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.extraction

# The load figures of RELIABILITY.md, and a gate (exits non-zero on a dropped live stream, a live
# stream under 5 frames/s while the uploads run, an upload showing a wrong or another's result, the
# server over 2048 MB, a traceback): 10 rounds of 2 live streams playing while 3 clips are uploaded
# at once, each in its own headless Chromium, then 30 uploads in a row. Needs chromium and root or
# user namespaces. Not timed end to end: on a quiet two-core machine a round took 81-96 s and the
# whole run 18.4 min. `make load-gate` runs one short round (tests/browser/test_load_gate.py, also
# part of `make test`).
load: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.load --rounds 10

# The short load gate alone (1 live stream while 2 clips are uploaded; about a minute).
load-gate: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m load_gate tests/browser/test_load_gate.py

# The repetition counting figures of BENCHMARKS.md, on the Countix-Fitness poses in
# ../shared/data/reps/countix-fitness and the real clips counted by eye in tests/rep_*.csv (their
# poses from the pose cache, extracted where missing): about 15 minutes on two busy cores.
reps: $(VENV)/.installed
	$(BIN)/python -m benchmarks.reps --write
