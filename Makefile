# orfi — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install lint clean mutation

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: create the virtualenv, migrate, load the demo on first start, serve on :5000
## with the alerts' delivery worker beside the server (stopped with it)
run: $(STAMP)
	$(BIN)/orfi init
	$(BIN)/orfi demo --if-missing
	@$(BIN)/orfi demo-logins
	@$(BIN)/orfi worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/orfi run --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then again on PostgreSQL when ORFI_TEST_DATABASE_URL is set
test: $(STAMP)
	env -u ORFI_TEST_DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$ORFI_TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL: $$ORFI_TEST_DATABASE_URL"; \
		$(BIN)/pytest -q -m "not browser"; \
	fi

## lint: ruff (style, imports, complexity gate: pyproject [tool.ruff.lint]) and format
lint: $(STAMP)
	$(BIN)/ruff check orfi tests benchmarks
	$(BIN)/ruff format --check orfi tests benchmarks
	$(BIN)/lint-imports

## mutation: mutation testing of the critical modules (slow, not in CI; see
## docs/mutation-testing.md). One module: make mutation MODULE=orfi/geo/hotspots.py
mutation: $(STAMP)
	$(BIN)/python tests/mutation.py $(MODULE)

clean:
	rm -rf $(VENV) .pytest_cache
