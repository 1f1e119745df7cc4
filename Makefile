# Two commands on a fresh machine (Debian, Python 3.11):
#   make demo   - create .venv, install, style-transfer the bundled examples into outputs/demo
#   make test   - create/reuse .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# `make test-newest` / `make test-lowest`: the suite against the newest releases our ranges
# allow, or the lowest ones, each in a venv of its own (removed and made afresh each time).
# The interpreter: NEWEST_PYTHON / LOWEST_PYTHON if given, else the newest (3.13, 3.12) or
# the oldest (3.10 ... 3.13) Python this machine can run: pythonX.Y on PATH, or one that uv
# or pyenv has installed (neither is asked to download anything).
find_python = $(shell for v in $(1); do \
	for p in "python$$v" "$$(uv python find "$$v" 2>/dev/null)" \
		"$$(ls -d "$$(pyenv root 2>/dev/null)"/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V | tail -n 1)"; do \
		[ -n "$$p" ] && "$$p" -c "import sys" >/dev/null 2>&1 && { command -v "$$p"; exit 0; }; \
	done; done)
NEWEST_PYTHON ?= $(call find_python,3.13 3.12)
NEWEST_VENV   ?= .venv-newest
LOWEST_PYTHON ?= $(call find_python,3.10 3.11 3.12 3.13)
LOWEST_VENV   ?= .venv-lowest
SHOW_VERSIONS := python -c "import importlib.metadata as m, platform; print('Python', platform.python_version(), *(f'{d} {m.version(d)}' for d in ('tensorflow', 'keras', 'librosa', 'numpy', 'scipy', 'numba', 'matplotlib', 'soundfile')))"

.PHONY: demo test test-browser test-newest test-lowest install notebooks strip bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m amnst_lib.lab install
	@# git strips notebook outputs (embedded audio) when staging them (.gitattributes): this clone's .git/config
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		git config filter.nbstripout.clean "'$(abspath $(PY))' -m nbstripout --keep-id --extra-keys metadata.language_info" && \
		git config filter.nbstripout.smudge cat && \
		git config diff.ipynb.textconv "'$(abspath $(PY))' -m nbstripout -t --keep-id --extra-keys metadata.language_info" && \
		echo "git: notebook outputs are left out when staging (filter nbstripout in .git/config)"; fi
	@echo "warming up: one tiny transfer, so that numba (librosa) and matplotlib build their caches now"
	@echo "  (in .venv and ~/.cache/matplotlib) and the first real run is as fast as the next"
	$(VENV)/bin/amnst transfer data/examples/mus01_baroque_bach_brandenburg2.wav data/examples/amb04_stream.wav \
		--max-seconds 6 --iterations 2 --griffin-lim-iters 2 -q -o $(VENV)/warmup-run --overwrite >/dev/null
	rm -rf $(VENV)/warmup-run
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/amnst transfer data/examples/mus01_baroque_bach_brandenburg2.wav \
		data/examples/amb04_stream.wav -o outputs/demo --overwrite

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The notebooks in JupyterLab + Debian's chromium (apt-get install chromium), driven by
# Playwright (no browser download); screenshots in outputs/browser/.
$(VENV)/.browser-stamp: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,browser]"
	touch $@

test-browser: $(VENV)/.browser-stamp
	$(PY) -m pytest -m browser tests/browser -v -s --durations=0 $(PYTEST_ARGS)

test-newest:
	@py="$(NEWEST_PYTHON)"; [ -n "$$py" ] || { echo "make: no Python 3.13 or 3.12 found (PATH, uv, pyenv);" \
		"name one: make test-newest NEWEST_PYTHON=/path/to/python3.13" >&2; exit 2; }; \
		echo "rm -rf $(NEWEST_VENV) && $$py -m venv $(NEWEST_VENV)"; rm -rf $(NEWEST_VENV) && "$$py" -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
	$(NEWEST_VENV)/bin/$(SHOW_VERSIONS)
	$(NEWEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-lowest:
	@py="$(LOWEST_PYTHON)"; [ -n "$$py" ] || { echo "make: no Python 3.10-3.13 found (PATH, uv, pyenv);" \
		"name one: make test-lowest LOWEST_PYTHON=/path/to/python3.10" >&2; exit 2; }; \
		echo "rm -rf $(LOWEST_VENV) && $$py -m venv $(LOWEST_VENV)"; rm -rf $(LOWEST_VENV) && "$$py" -m venv $(LOWEST_VENV)
	$(PYTHON) -m amnst_lib.requirements --lowest pyproject.toml > $(LOWEST_VENV)/constraints.txt
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install --quiet -c $(LOWEST_VENV)/constraints.txt -e ".[dev]"
	$(LOWEST_VENV)/bin/$(SHOW_VERSIONS)
	$(LOWEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

notebooks: $(STAMP)
	$(PY) -m amnst_lib.notebooks outputs/notebooks

strip: $(STAMP)
	$(PY) -m nbstripout --keep-id --extra-keys metadata.language_info notebooks/*.ipynb

bench: $(STAMP)
	$(PY) benchmarks/bench_transfer.py

clean:
	rm -rf $(VENV) $(NEWEST_VENV) $(LOWEST_VENV) outputs/* .pytest_cache
