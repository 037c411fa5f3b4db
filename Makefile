# Two commands on a fresh machine:  `make run` (the app)  and  `make test` (the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data/videos

.PHONY: run test setup setup-dev model pose-model compare bench bench-extract load reps clean

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

# The shipped classifier, models/default, with its grouped cross-validation, beside the same
# measurement for the original raw-feature setup (see models/README.md).
model: $(VENV)/.installed
	$(BIN)/python -m wpa crossval $(DATA) --feature-set raw --no-mirror --json > models/baseline-raw-crossval.json
	$(BIN)/python -m wpa train $(DATA) --out models/default --crossval 5 --force

# models/pose_landmarker_full.task, rebuilt from the mediapipe==0.10.21 wheel in a separate environment.
pose-model:
	$(PYTHON) -m venv .venv-pose-model
	.venv-pose-model/bin/python -m pip install --quiet mediapipe==0.10.21
	.venv-pose-model/bin/python scripts/build_pose_model.py --out models/pose_landmarker_full.task

clean:
	rm -rf $(VENV) .venv-pose-model .pytest_cache

# The comparison table of models/README.md (about 20 minutes on two cores).
compare: $(VENV)/.installed
	PYTHONPATH=. $(BIN)/python scripts/compare_feature_sets.py $(DATA)

# The speed figures of BENCHMARKS.md (about 8 minutes on two cores).
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.pipeline

# Extraction on this machine with the local engine and on Ray clusters of 1 and 2 nodes (BENCHMARKS.md,
# SCALING.md; about 6 minutes on two cores; needs Ray, from requirements-dev.txt, and root or user namespaces).
bench-extract: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.extraction

# The load figures of RELIABILITY.md: 3 uploads and 2 live streams at once in headless Chromium,
# then 30 uploads in a row (about 20 minutes on two cores; needs chromium and root or user namespaces).
load: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.load

# The repetition counting figures of BENCHMARKS.md, on the Countix-Fitness poses in
# ../shared/data/reps/countix-fitness (about 2 minutes on two cores).
reps: $(VENV)/.installed
	$(BIN)/python -m benchmarks.reps --write
