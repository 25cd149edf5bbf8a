# newsetl: `make run` builds the warehouse from seeds/, `make test` runs the tests.
# Both create .venv and install the locked dependencies (uv.lock) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Subprocesses (CLI tests, benchmark runs) reuse compiled bytecode instead of recompiling
# every module at each start.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-all test-slow bench ui serve docs clean-warehouse install

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv sync --frozen --quiet --python $(BIN)/python
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsetl run --source seeds --warehouse warehouse

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# `make ui` in one terminal, `make serve` in another; both stop with Ctrl-C.
UI_PORT ?= 4200

ui: $(STAMP)
	$(BIN)/newsetl ui --port $(UI_PORT)

serve: $(STAMP)
	PREFECT_API_URL="$${PREFECT_API_URL:-http://127.0.0.1:$(UI_PORT)/api}" $(BIN)/newsetl serve

docs: $(STAMP)
	$(BIN)/newsetl docs

clean-warehouse:
	find warehouse -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
