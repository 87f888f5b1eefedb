# Two entry points for a newcomer: `make demo` and `make test`. Everything else is what they depend on.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := build/.setup-stamp
COMPILED := monitor/compiled/contracts.json
UPLOT := monitor/web/static/vendor/uPlot.iife.min.js

.PHONY: setup preflight demo test lint bench clean

setup: $(STAMP) $(COMPILED) $(UPLOT)

# Every external tool the tests need, checked before anything slow (installed with apt when run as root).
preflight:
	@PY=$(PY) scripts/preflight

# Setup must leave the git tree as it found it: `git status` is compared before and after (outside git: no check).
$(STAMP): pyproject.toml package.json package-lock.json $(wildcard contracts/*.sol) | preflight
	@mkdir -p build && (git status --porcelain --untracked-files=all 2>/dev/null || true) > build/.tree-before
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	# the lock lists every platform's optional anvil package, so npm ci installs it as it is and leaves it unchanged
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/cascade-monitor devnet build
	@(git status --porcelain --untracked-files=all 2>/dev/null || true) | diff build/.tree-before - >&2 \
		|| { echo "make setup changed the git tree (lines above: < before, > after)" >&2; exit 1; }
	touch $(STAMP)

# package data the monitor needs at runtime (git-ignored): compiled again if it went missing
$(COMPILED): $(wildcard contracts/*.sol) | $(STAMP)
	$(BIN)/cascade-monitor devnet build

# the risk page serves uPlot (pinned in package.json) as package data (git-ignored): copied from node_modules
$(UPLOT): package-lock.json | $(STAMP)
	mkdir -p $(@D)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE $(@D)/

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
	rm -rf build dist .cache $(VENV) node_modules monitor/compiled
