# Two entry points for a newcomer: `make demo` and `make test`. Everything else is what they depend on.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := build/.setup-stamp

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json $(wildcard contracts/*.sol)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	# the lock lists every platform's optional anvil package, so npm ci installs it as it is and leaves it unchanged
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/cascade-monitor devnet build
	mkdir -p build && touch $(STAMP)

demo: setup
	$(BIN)/cascade-monitor demo

lint: setup
	$(BIN)/ruff format --check monitor tests benchmarks
	$(BIN)/ruff check monitor tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf build .cache $(VENV) node_modules
