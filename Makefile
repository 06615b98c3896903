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

## test: the whole suite on SQLite and, when ORFI_TEST_DATABASE_URL is set, again on
## PostgreSQL (browser tests aside) at the same time, one process per core: the SQLite
## report shows as it runs, PostgreSQL's follows it (also kept in $(PG_LOG)); fails if
## either fails. TEST_SERIAL=1 runs the two one after the other, as before.
PG_LOG := test-artifacts/postgresql.log
test: $(STAMP)
	@if [ -z "$$ORFI_TEST_DATABASE_URL" ]; then \
		$(BIN)/pytest -q; \
	elif [ -n "$(TEST_SERIAL)" ]; then \
		echo "== SQLite"; env -u ORFI_TEST_DATABASE_URL $(BIN)/pytest -q; sqlite=$$?; \
		echo "== PostgreSQL: $$ORFI_TEST_DATABASE_URL"; \
		$(BIN)/pytest -q -m "not browser"; postgresql=$$?; \
		[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]; \
	else \
		mkdir -p $(dir $(PG_LOG)); \
		$(BIN)/pytest -q -m "not browser" -o cache_dir=.pytest_cache/postgresql \
			>$(PG_LOG) 2>&1 & postgresql_pid=$$!; \
		trap 'kill $$postgresql_pid 2>/dev/null' INT TERM; \
		echo "== SQLite (PostgreSQL runs alongside; its report follows)"; \
		env -u ORFI_TEST_DATABASE_URL $(BIN)/pytest -q; sqlite=$$?; \
		wait $$postgresql_pid; postgresql=$$?; \
		echo "== PostgreSQL: $$ORFI_TEST_DATABASE_URL (-m 'not browser')"; \
		cat $(PG_LOG); \
		echo "== exit status: SQLite $$sqlite, PostgreSQL $$postgresql"; \
		[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]; \
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
