# graddoctor: every target sets itself up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSPY ?= python3
# Tests run in parallel on the two cores CI has.
PYTEST_WORKERS ?= 2

.PHONY: venv demo test test-integrations test-slow test-faults test-browser lint bench bench-repair bench-peers lab-quick lab-full clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(SYSPY) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU wheel of torch 2.13.0 lies on this machine's disk; install it first so no other torch is pulled.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,lab]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/graddoctor demo

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser" tests

# Framework adapters and sinks against the real libraries (offline; torch stays pinned), with the regression
# tests of integration bugs (they skip in `make test`, whose venv has no optional library).
test-integrations: $(STAMP)
	$(PY) -m pip install -q torch==2.13.0 -e '.[dev,lightning,transformers,tensorboard,mlflow,wandb]'
	HF_HUB_OFFLINE=1 WANDB_MODE=offline WANDB_SILENT=true $(PY) -m pytest -n $(PYTEST_WORKERS) tests/integrations \
		$(wildcard tests/regressions/test_*_int_*.py)

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow" tests

# kill -9 at random points of a watched run, GD_FAULT_KILLS times (default 50); GD_FAULT_SEED reproduces one.
test-faults: $(STAMP)
	$(PY) -m pytest -m slow -s tests/hardening/test_faults.py

test-browser: $(STAMP)
	$(PY) -m pytest -m "browser" tests

lint: $(STAMP)
	$(PY) -m ruff check src tests
	$(PY) -m mypy src/graddoctor

bench: $(STAMP)
	$(PY) benchmarks/overhead.py

# Repair benchmark: 30 broken + 5 healthy tiny setups; a few minutes on 2 cores.
bench-repair: $(STAMP)
	$(PY) benchmarks/repair/run.py

# Overhead and detection against peer tools. The peers (wandb, tensorboard, lightning, cockpit) go into a
# separate venv, .venv-peers, never into the project's dependencies.
PEERS_VENV ?= .venv-peers
$(PEERS_VENV)/.installed: pyproject.toml benchmarks/peers/setup_venv.sh
	PEERS_VENV=$(PEERS_VENV) SYSPY=$(SYSPY) bash benchmarks/peers/setup_venv.sh

bench-peers: $(PEERS_VENV)/.installed
	$(PEERS_VENV)/bin/python benchmarks/peers.py

# The lab: every experiment next to its published numbers (docs/lab.md). Non-zero exit when a check fails.
lab-quick: $(STAMP)
	$(VENV)/bin/graddoctor lab run all --quick --out lab-results/quick

lab-full: $(STAMP)
	$(VENV)/bin/graddoctor lab run all --out lab-results/full

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
