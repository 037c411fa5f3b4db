# Two commands on a fresh machine:  `make run` (the app)  and  `make test` (the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data/videos
MORE ?= ../shared/data/more
# The clip list (path, label, group) of the shared data, and the exercises the shipped model knows.
CLIPS ?= ../shared/data/clips.csv
# Countix-Fitness's poses (image landmarks stretched to the skeleton's box; models/README.md).
COUNTIX ?= ../shared/data/reps/countix-fitness
CLASSES ?= bench_press,biceps_curl,chest_fly_machine,deadlift,jumping_jack,lateral_raise,leg_raises,lunge,plank,pull_up,push_up,russian_twist,shoulder_press,squat,tricep_dips

.PHONY: run test setup setup-dev model pose-model compare openset recognition bench bench-extract load load-gate reps \
	form form-model clean turn check-turn cert run-https bench-live bench-fairness

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

# The shipped classifier, models/default: trained with Countix-Fitness's shipped exercises and, as
# examples of what not to name, the other exercises of CLIPS and Countix, after its grouped
# cross-validation (which calibrates its threshold), beside the original raw-feature setup (models/README.md).
model: $(VENV)/.installed
	$(BIN)/python -m wpa crossval $(CLIPS) --classes $(CLASSES) --feature-set raw --no-mirror --json > models/baseline-raw-crossval.json
	PYTHONPATH=. $(BIN)/python scripts/recognition.py $(CLIPS) --classes $(CLASSES) --countix $(COUNTIX) \
		--setups "+ Countix, all other exercises" --seeds 0 --save models/default
	$(MAKE) form-model

# models/pose_landmarker_full.task, rebuilt from the mediapipe==0.10.21 wheel in a separate environment,
# and models/pose_landmarker_lite.task (Live's), whose landmark model is in the npm package
# @mediapipe/pose of the same release (models/README.md).
POSE_NPM = https://registry.npmjs.org/@mediapipe/pose/-/pose-0.5.1675469404.tgz
POSE_NPM_8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84256 = 8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84
pose-model:
	$(PYTHON) -m venv .venv-pose-model
	.venv-pose-model/bin/python -m pip install --quiet mediapipe==0.10.21
	.venv-pose-model/bin/python scripts/build_pose_model.py --out models/pose_landmarker_full.task
	curl -sSfL -o .venv-pose-model/pose.tgz $(POSE_NPM)
	echo "$(POSE_NPM_8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84256)  .venv-pose-model/pose.tgz" | sha256sum -c -
	tar -xzf .venv-pose-model/pose.tgz -C .venv-pose-model package/pose_landmark_lite.tflite
	.venv-pose-model/bin/python scripts/build_pose_model.py --out models/pose_landmarker_lite.task \
		--landmarks .venv-pose-model/package/pose_landmark_lite.tflite

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

# The recognition table of models/README.md: our clips, Countix-Fitness's and the exercises not
# shipped, dealt into grouped folds together; each training setup, three seeds.
recognition: $(VENV)/.installed
	PYTHONPATH=. $(BIN)/python scripts/recognition.py $(CLIPS) --classes $(CLASSES) --countix $(COUNTIX)

# The speed figures of docs/BENCHMARKS.md (about 8 minutes on two cores).
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.pipeline

# The Live page in Chromium end to end: processed frames/s and frame-to-answer latency (docs/BENCHMARKS.md;
# about a minute; needs chromium and root or user namespaces).
bench-live: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.live_latency

# Live streams side by side with uploads: each stream's processed frames/s (docs/BENCHMARKS.md; about
# 3 minutes on two cores).
bench-fairness: $(VENV)/.installed
	$(BIN)/python -m benchmarks.live_fairness --uploads 2
	$(BIN)/python -m benchmarks.live_fairness --uploads 0 --busy 2 --python-threads 1

# Extraction on this machine with the local engine and on Ray clusters of 1 and 2 nodes (docs/BENCHMARKS.md,
# docs/SCALING.md; about 6 minutes on two cores; needs Ray, from requirements-dev.txt, and root or user namespaces).
bench-extract: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.extraction

# The load figures of docs/RELIABILITY.md, and a gate (exits non-zero on a dropped live stream, a live
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

# The repetition counting figures of docs/BENCHMARKS.md, on the Countix-Fitness poses in
# ../shared/data/reps/countix-fitness and the real clips counted by eye in tests/rep_*.csv (their
# poses from the pose cache, extracted where missing): about 15 minutes on two busy cores.
reps: $(VENV)/.installed
	$(BIN)/python -m benchmarks.reps --write

# --- Use it from your phone (README): a TURN relay, a certificate, the app over HTTPS ----------------
# The relay's secret is the app's WPA_TURN_SECRET (e.g. `export WPA_TURN_SECRET=$$(openssl rand -hex 24)`).
TLS := .streamlit/tls
HOST ?= $(shell hostname -I 2>/dev/null | cut -d' ' -f1)

# coturn (Debian: apt install coturn) with deploy/turnserver.conf, in the foreground. The secret goes
# into a copy readable by this user only (.streamlit/turnserver.local.conf), never on a command line.
turn:
	@test -n "$$WPA_TURN_SECRET" || { echo "Set WPA_TURN_SECRET first (the app needs the same), e.g. export WPA_TURN_SECRET=\$$(openssl rand -hex 24)"; exit 2; }
	@mkdir -p .streamlit && umask 077 && { cat deploy/turnserver.conf; echo "static-auth-secret=$$WPA_TURN_SECRET"; } > .streamlit/turnserver.local.conf
	turnserver -c .streamlit/turnserver.local.conf $(TURN_ARGS)

# Ask the relay for an allocation with credentials made as the app makes them (WPA_TURN_URLS, WPA_TURN_SECRET).
check-turn: $(VENV)/.installed
	$(BIN)/python -m wpa.serving.turn

# A self-signed certificate for this machine's LAN address ($(HOST)) and localhost, valid 90 days.
cert:
	mkdir -p $(TLS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj "/CN=wpa" \
		-addext "subjectAltName=IP:$(HOST),DNS:localhost,IP:127.0.0.1" \
		-keyout $(TLS)/key.pem -out $(TLS)/cert.pem
	chmod 600 $(TLS)/key.pem

# The app over HTTPS on every address of this machine, with the certificate of `make cert`.
run-https: $(VENV)/.installed
	@test -f $(TLS)/cert.pem || { echo "No certificate: run make cert first"; exit 2; }
	$(BIN)/streamlit run streamlit_app.py --server.address 0.0.0.0 \
		--server.sslCertFile $(TLS)/cert.pem --server.sslKeyFile $(TLS)/key.pem

# The form feedback figures of docs/BENCHMARKS.md ("Form feedback"): AUROC good vs bad form on
# ../shared/data/form, the plain baseline, the top cue's body part, the cue rate on the real clips
# of CLIPS, and the form model's cost per Live frame (about 3 minutes on two cores, poses cached).
# FORM_EXTRACTED: a folder `wpa extract` wrote from CLIPS, whose poses are then read, not extracted.
FORM_DATA ?= ../shared/data/form
form: $(VENV)/.installed
	$(BIN)/python -m benchmarks.form --data $(FORM_DATA) --videos $(CLIPS) $(if $(FORM_EXTRACTED),--poses $(FORM_EXTRACTED))

# models/default/form.json: one reference of good form per class of the shipped model, learnt from
# the repetitions of its training clips. Rerun whenever models/default changes (`make model`):
# form.json records the weights it belongs to and is ignored beside other weights. It keeps medians
# and spreads only (the shared clips' rights are not ours). FORM_POSES: the clips, or a folder
# `wpa extract` wrote from them.
FORM_POSES ?= $(CLIPS)
form-model: $(VENV)/.installed
	$(BIN)/python -m wpa form model models/default --data $(FORM_POSES) --aggregates-only
