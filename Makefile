# Two commands matter: `make run` and `make test`. Both create .venv and install on first use.
# CPython 3.12 where the machine has one (coverage is cheap there), else python3: tools/venv_python.py
PYTHON ?= $(shell python3 tools/venv_python.py)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Exact releases, each file checked against its hash (`make lock` writes the three files).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_LOCK := requirements-uv.lock
UV := $(VENV)/bin/uv

.PHONY: run test lint format bench screens mutants lock locales-extract locales-update clean

# The locked versions only, then the bot itself without resolving anything again. uv installs
# them (locked too): 3 s where pip takes 30. pip does when uv cannot be installed or cannot
# reach the index.
$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK) $(UV_LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(UV_LOCK) \
		|| echo "uv could not be installed: pip installs instead"
	$(UV) pip install --quiet --python $(PY) --require-hashes -r $(DEV_LOCK) \
		|| $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(DEV_LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e . \
		|| $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

# Prints the line coverage of bot/ at the end, and fails below its floor (pyproject.toml).
# One worker per core and two more (pytest-xdist): a third of the e2e time is spent waiting
# for shaped traffic, a bot process or a database, and the extra workers run tests meanwhile;
# an idle worker takes tests queued for a busy one. Coverage measures through sys.monitoring
# on Python 3.12+ (COVERAGE_CORE=sysmon); 3.11's tracer costs ~60 % more CPU, so the soak,
# flood, fuzz, money-property and catalogue tests, which run covered lines thousands of times,
# are not traced (`no_cover`). Figures in docs/benchmarks.md. `make test TEST_WORKERS=0` runs
# them in one process (a debugger, `-x`, a clean traceback).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 2 )))
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (this machine's default): the
# ~30 bot processes the tests start then load the bot compiled once (~10 s of CPU a run).
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= COVERAGE_CORE=$$($(PY) -c 'import sys; print("sysmon" if sys.version_info >= (3, 12) else "")') \
		$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal --cov=bot --cov-report=term

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench tools
	$(VENV)/bin/ruff format --check bot tests bench tools
	$(VENV)/bin/mypy

# Not part of `make test`: minutes of load on the real bot process (docs/benchmarks.md).
# PostgreSQL at 100,000 users, 10 more minutes: `$(PY) -m bench.bench_state --postgres-users 100000`.
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(PY) -m bench.bench_core
	$(PY) -m bench.bench_state --users 10000 --postgres-users
	$(PY) -m bench.bench_speed
	$(PY) -m bench.bench_taps
	$(PY) -m bench.bench_images
	$(PY) -m bench.bench_media

# The README's pictures, docs/screens/<lang>-<screen>.png: the real bot against the e2e fakes,
# in English and Arabic, photographed by headless Chromium (Debian: apt-get install chromium
# fonts-noto-ui-core fonts-noto-color-emoji fonts-roboto-unhinted). ~15 s.
screens: $(STAMP)
	$(PY) -m tools.screens

# Not part of `make test`: mutation testing (mutmut) of bot/domain and bot/lifecycle, in a copy
# of the tree under build/mutmut. Only the fast tests that cover them run (no e2e, no PostgreSQL),
# each mutant against the tests that reach its function; a mutant that hangs is stopped after
# 4 × (its tests' time + 2 s). ~20 min on 2 cores. Prints the count per package and every
# mutant no test killed (docs/benchmarks.md, "Mutation testing").
# `make mutants MUTANTS='bot.domain.*'` tries only the mutants whose names match.
MUTANTS ?=
MUTANT_TESTS := tests/test_transitions.py tests/test_ledger.py tests/test_lifecycle.py \
	tests/test_drafts.py tests/test_money_races.py tests/test_pricing.py \
	tests/test_poll_schedule.py tests/test_caption_flags.py tests/test_settings_and_keyboards.py \
	tests/test_storage_contract.py tests/test_tinydb_storage.py \
	tests/test_messenger.py tests/test_lifecycle_groups.py tests/test_lifecycle_clips.py \
	tests/test_clips.py \
	$(sort $(wildcard tests/test_domain_*.py tests/test_mutants_*.py))
MUTMUT_DIR := build/mutmut
MUTMUT := $(abspath $(VENV))/bin/mutmut

mutants: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[mutants]'
	rm -rf $(MUTMUT_DIR) && mkdir -p $(MUTMUT_DIR)
	tar -c --exclude=__pycache__ bot tests locales pyproject.toml | tar -x -C $(MUTMUT_DIR)
	printf '%s\n' '[mutmut]' 'source_paths = bot' 'only_mutate =' '  bot/domain/*' \
		'  bot/lifecycle/*' 'also_copy = locales' 'timeout_multiplier = 4' 'timeout_constant = 2' \
		'pytest_add_cli_args =' '  -p' '  no:cacheprovider' '  -o' '  addopts=' \
		'pytest_add_cli_args_test_selection =' $(foreach t,$(MUTANT_TESTS),'  $(t)') \
		'  -k' '  not postgres' > $(MUTMUT_DIR)/setup.cfg
	cd $(MUTMUT_DIR) && $(MUTMUT) run --max-children 2 $(MUTANTS) >run.log 2>&1 \
		|| { tail -n 40 run.log; exit 1; }
	cd $(MUTMUT_DIR) && $(MUTMUT) results --all true | awk -F': ' \
		'{ split($$1, name, "."); n[name[2] " " $$2]++ } \
		END { for (k in n) print "  " k ": " n[k] }' | sort
	cd $(MUTMUT_DIR) && $(MUTMUT) results

# After a change to the dependencies in pyproject.toml: pins it still allows stay as they are.
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release it allows (security
# updates). Python 3.11, every platform: each pin lists the hashes of all its files. The
# runtime lock is resolved within the dev lock, so both pin the same versions.
LOCK_FLAGS ?=
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(LOCK_FLAGS)

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(UV_LOCK)
	echo uv | $(UV_COMPILE) - -o $(UV_LOCK)
	$(UV_COMPILE) pyproject.toml --extra dev -o $(DEV_LOCK)
	$(UV_COMPILE) pyproject.toml --constraint $(DEV_LOCK) -o $(LOCK)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix bot tests bench tools
	$(VENV)/bin/ruff format bot tests bench tools

# Catalogues are read straight from the .po files at start-up (no compiled .mo to build or commit).
locales-extract: $(STAMP)
	$(VENV)/bin/pybabel extract --no-location --omit-header --sort-output \
		-k _ -k ngettext:1,2 -k N_ -o locales/bot.pot bot

locales-update: locales-extract
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap \
		-i locales/bot.pot -d locales -D bot

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
