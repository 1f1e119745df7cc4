# Two commands on a fresh machine (Debian, Python 3.11):
#   make demo   - create .venv, install, style-transfer the bundled examples into outputs/demo
#   make test   - create/reuse .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test install notebooks strip bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m amnst_lib.lab install
	@# git strips notebook outputs (embedded audio) when staging them (.gitattributes): this clone's .git/config
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		git config filter.nbstripout.clean "'$(abspath $(PY))' -m nbstripout --keep-id" && \
		git config filter.nbstripout.smudge cat && \
		git config diff.ipynb.textconv "'$(abspath $(PY))' -m nbstripout -t --keep-id" && \
		echo "git: notebook outputs are left out when staging (filter nbstripout in .git/config)"; fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/amnst transfer data/examples/mus01_baroque_bach_brandenburg2.wav \
		data/examples/amb04_stream.wav -o outputs/demo --overwrite

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

notebooks: $(STAMP)
	$(PY) -m amnst_lib.notebooks outputs/notebooks

strip: $(STAMP)
	$(PY) -m nbstripout --keep-id notebooks/*.ipynb

bench: $(STAMP)
	$(PY) benchmarks/bench_transfer.py

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
