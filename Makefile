# Two commands on a fresh machine (Debian, Python 3.11):
#   make demo   - create .venv, install, style-transfer the bundled examples into outputs/demo
#   make test   - create/reuse .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test test-browser install notebooks bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --user --name amnst --display-name "AM-NST (.venv)" >/dev/null
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

notebooks: $(STAMP)
	$(PY) -m amnst_lib.notebooks outputs/notebooks

bench: $(STAMP)
	$(PY) benchmarks/bench_transfer.py

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
