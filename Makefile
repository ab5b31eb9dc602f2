# `make demo` and `make test` are all a fresh machine needs; both create the virtualenv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo bench docs clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	# lava-nc / lava-dl / norse pin deps that clash with the lock; their runtime deps are in requirements.lock.
	$(BIN)/pip install -q --no-deps --ignore-requires-python -r requirements-nodeps.lock
	$(BIN)/pip install -q --no-deps -e .
	# espeak-ng (Debian) speaks the offline spoken-digits set; flite and festival add voices (--voices extended).
	# Installed when missing and we are root; each is optional beyond espeak-ng.
	@command -v espeak-ng >/dev/null && command -v flite >/dev/null && command -v text2wave >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    for pkgs in espeak-ng flite "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"; do \
	      apt-get install -y -q $$pkgs >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && \
	        apt-get install -y -q $$pkgs >/dev/null 2>&1; } || echo "note: apt-get could not install $$pkgs"; \
	    done; \
	  else echo "note: run 'sudo apt-get install espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts' for 'eventprop data spoken-digits'"; fi; }
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/eventprop demo

docs: install   # the documentation site, warnings as errors, into site/
	$(BIN)/mkdocs build --strict --quiet

bench: install
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/loihi.py

clean:   # the virtualenv and the kernel cache ($EVENTPROP_CACHE, default ~/.cache/eventprop/kernels)
	rm -rf $(VENV) site "$${EVENTPROP_CACHE:-$$HOME/.cache/eventprop/kernels}"
