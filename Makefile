# Set-up commands: `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench soak install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/channelport demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# `make bench`: N = 10,000 and 100,000 orders on SQLite and PostgreSQL (7 to 30 minutes);
# `make bench QUICK=1`: N = 2,000 (the CI smoke run); `make bench PROFILE=1`: profile one sync.
# Writes bench/results/latest.json and latest.png; see bench/README.md.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS := $(if $(filter 1 yes true,$(QUICK)),--quick) $(if $(filter 1 yes true,$(PROFILE)),--profile)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# `make scale-test`: worker processes (each its own process group) against one PostgreSQL
# (127.0.0.1:5432 or CHANNELPORT_TEST_PG) and 20 simulated accounts; SIGKILLs KILLS of them
# mid-sync (default 3; a replacement starts when fewer than two are left) over ROUNDS trading
# rounds (default 12), then proves: no overlapping runs per account, export == truth. Prints the figures.
.PHONY: scale-test
scale-test: $(STAMP)
	CI=true CHANNELPORT_SCALE_KILLS=$(or $(KILLS),3) CHANNELPORT_SCALE_ROUNDS=$(or $(ROUNDS),12) \
		$(BIN)/python -m pytest tests/ops/test_scale.py -q -s -p no:cacheprovider

# `make soak`: random faults (429s, 500s, cut-off and truncated answers, outages, duplicates, ...) and
# kill -9s of `channelport sync --all` against several simulated accounts for DURATION seconds (default
# 600), then one clean sync; prints events, faults, kills, orders lost/duplicated; exit 1 if any. Not in `make test`.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --duration $(or $(DURATION),600) $(if $(SEED),--seed $(SEED))

# `make screenshots`: the browser tests write the README's pictures to docs/screenshots/.
.PHONY: screenshots
screenshots: $(STAMP)
	CHANNELPORT_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/web/test_browser.py -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# `make audit`: the locked dependencies (requirements.lock) against PyPI's known vulnerabilities, as CI
# checks them (.ci/run audit): a known vulnerability fails, an unreachable service only warns.
.PHONY: audit
audit:
	bash .ci/run audit
