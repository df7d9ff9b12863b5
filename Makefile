# SàT: two commands for a newcomer on a fresh Debian machine.
#   make demo   set up, then run a scripted session end to end
#   make test   set up, then run the whole test suite (what CI runs)
#   make bench  (optional) run every bench of issue 14 and print its table of goals

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# test processes (pytest-xdist): each has its own bus, Prosody, ejabberd and PostgreSQL
# (free loopback ports), and takes whole files, so a file's tests keep their order and
# module fixtures; 2 halves the suite's time on a 2-core machine (13-20 min -> ~8)
TEST_WORKERS ?= 2

.PHONY: demo test bench check-generated typecheck system-deps venv clean

demo: system-deps venv
	$(PY) scripts/demo.py

test: system-deps venv check-generated typecheck
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: system-deps venv
	$(PY) bench/run_all.py

check-generated: venv
	$(PY) -m sat_bridge.generate --check

typecheck: venv
	$(PY) -m mypy

system-deps:
	scripts/install-system-deps.sh

venv: $(STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,postgresql]'
	# an editable install compiles nothing of the tree: with PYTHONDONTWRITEBYTECODE set
	# (or a tree the user cannot write), every start compiled ~120 modules again (~0.1 s)
	$(PY) -m compileall -q sat_backend sat_bridge sat_frontends
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache
