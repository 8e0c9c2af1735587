# Two commands for people: `make run` and `make test`. The rest are for engineers.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
# Rasa 3.6 runs on Python 3.10 only; find one (pyenv's shim may exist without being active).
PYTHON310 := $(shell for c in python3.10 $(HOME)/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	$$c -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo $$c; break; }; done)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test test-faults lint fmt install train eval-nlu bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed (Rasa 3.6 supports nothing newer)."; exit 1; }
	@echo "==> Installing into $(VENV) with $(PYTHON310) (a few minutes the first time)"
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip<24.1" wheel
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python scripts/run.py

# Train first (minutes on a fresh clone, nothing when the model is current), so no test's time
# limit includes training.
test: lint train
	$(BIN)/python -m pytest -ra --durations=25

# Lint (pyflakes, pycodestyle, import order, bugbear, pyupgrade; pyproject's [tool.ruff]) and the
# formatter's check (`make fmt` fixes both) before any test runs.
# The production fault tests alone (tests/production/test_production_faults.py, also part of
# `make test`): kill -9 under load, a node killed behind nginx; figures to var/faults.json.
test-faults: train
	WUYE_FAULT_FIGURES=var/faults.json $(BIN)/python -m pytest -ra -s tests/production/test_production_faults.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: install
	$(BIN)/python -c "from scripts import stack; print(stack.train())"

eval-nlu: train
	$(BIN)/python -m nlu.evaluate

bench: train
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_store.py
	$(BIN)/python scripts/bench_outage.py
	$(BIN)/python scripts/bench_import.py

clean:
	rm -rf $(VENV) models var .pytest_cache
