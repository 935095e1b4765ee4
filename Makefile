# Two commands matter: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench locales-extract locales-update clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/ruff format --check bot tests bench
	$(VENV)/bin/mypy

# Not part of `make test`: minutes of load on the real bot process (docs/benchmarks.md).
# PostgreSQL at 100,000 users, 10 more minutes: `$(PY) -m bench.bench_state --postgres-users 100000`.
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(PY) -m bench.bench_core
	$(PY) -m bench.bench_state --users 10000 --postgres-users
	$(PY) -m bench.bench_speed

format: $(STAMP)
	$(VENV)/bin/ruff check --fix bot tests bench
	$(VENV)/bin/ruff format bot tests bench

# Catalogues are read straight from the .po files at start-up (no compiled .mo to build or commit).
locales-extract: $(STAMP)
	$(VENV)/bin/pybabel extract --no-location --omit-header --sort-output \
		-k _ -k ngettext:1,2 -k N_ -o locales/bot.pot bot

locales-update: locales-extract
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap \
		-i locales/bot.pot -d locales -D bot

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
