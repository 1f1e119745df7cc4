"""The tutorial notebooks: committed without outputs, parameterised, and they run headless.

Every ``notebooks/NN_*.ipynb`` is picked up (a new notebook is tested as soon as it is
added); each is executed with papermill and its CI-sized parameters, exactly as
``make notebooks`` does, and any cell error fails the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from amnst_lib import notebooks as runner

NOTEBOOKS = runner.find_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def _cells(path):
    return nbformat.read(str(path), as_version=4).cells


def test_the_expected_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_audio_preprocessing.ipynb", "02_genre_classifier_training.ipynb",
            "03_style_transfer.ipynb", "04_sweep.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_has_no_outputs(path):
    for i, cell in enumerate(_cells(path)):
        if cell.cell_type == "code":
            assert cell.get("outputs", []) == [], f"{path.name} cell {i} has outputs; clear them before committing"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
    # JupyterLab fills it in from the kernel (amnst_lib.lab); committed, it only goes stale
    assert "language_info" not in nbformat.read(str(path), as_version=4).metadata, "run: make strip"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_has_a_parameters_cell_and_a_kernelspec(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    assert tagged[0].cell_type == "code"
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_opens_with_title_then_setup_then_parameters(path):
    title, setup, params = _cells(path)[:3]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {path.name[:2]} ")
    intro = [line for line in title.source.splitlines()[1:] if line.strip()]
    assert 1 <= len(intro) <= 3, f"{path.name}: the title cell holds a short introduction only"
    assert setup.cell_type == "code"
    assert "google.colab" in setup.source and "IN_COLAB" in setup.source and "pip install" in setup.source
    assert "parameters" in params.metadata.get("tags", [])


def test_every_notebook_has_its_jupytext_source_and_no_other_files():
    here = runner.notebooks_dir()
    assert {p.stem for p in here.glob("[0-9][0-9]_*.py")} == {p.stem for p in NOTEBOOKS}
    assert not list(here.glob("_*.py")), "the notebooks have no generator: their .py files are the source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_in_sync_with_its_jupytext_source(path):
    """notebooks/NN_name.py (jupytext percent format) is the source; the .ipynb is its pair."""
    import jupytext

    source = jupytext.read(path.with_suffix(".py"))
    committed = nbformat.read(str(path), as_version=4)
    fix = f"edit {path.stem}.py, then run: jupytext --sync notebooks/{path.stem}.py"
    assert len(committed.cells) == len(source.cells), f"{path.name}: cell count differs; {fix}"
    for i, (a, b) in enumerate(zip(committed.cells, source.cells)):
        assert (a.cell_type, a.source) == (b.cell_type, b.source), f"{path.name} cell {i} differs; {fix}"
        assert a.metadata.get("tags", []) == b.metadata.get("tags", []), f"{path.name} cell {i} tags; {fix}"
    for key in ("amnst", "colab", "kernelspec"):
        assert committed.metadata.get(key) == source.metadata.get(key), f"{path.name} metadata {key}; {fix}"


def test_ci_parameters_are_declared_by_the_notebooks():
    for path in NOTEBOOKS:
        declared = runner.notebook_parameters(path)
        params = runner.ci_parameters(path, Path("/tmp/x"))
        unknown = set(params) - set(declared)
        assert not unknown, f"{path.name}: CI parameters {unknown} are not in its parameters cell"


def test_kernel_choice_runs_this_python():
    name, env = runner.choose_kernel()
    assert name
    if not env:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec(name).argv
        assert runner._spec_runs_this_python(argv)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    return out, runner.run_notebooks(out, timeout=600)


def test_all_notebooks_execute_with_ci_parameters(executed):
    out, paths = executed
    assert [p.name for p in paths] == [p.name for p in NOTEBOOKS]
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert nb.metadata["papermill"]["parameters"].get("ci") in (True, None)


def test_notebook_01_writes_its_table(executed):
    out, _ = executed
    csv = out / "01_audio_preprocessing_files" / "reconstruction.csv"
    assert csv.is_file()
    lines = csv.read_text().strip().splitlines()
    assert lines[0].startswith("from,") and len(lines) > 2


def test_notebook_02_saves_weights_and_a_model_card(executed):
    out, _ = executed
    run = out / "02_genre_classifier_training_files" / "genre_cnn"
    for name in ("genre_cnn.weights.h5", "model_card.json", "learning_curves.png", "confusion_matrix.png"):
        assert (run / name).is_file(), name
    card = json.loads((run / "model_card.json").read_text())
    assert card["split"]["mode"] == "track" and card["training"]["epochs_run"] == 1
    nb = nbformat.read(str(out / "02_genre_classifier_training.ipynb"), as_version=4)
    text = json.dumps(nb)
    assert "image/png" in text and "per track (vote)" in text  # curves, confusion and accuracy shown
    assert "--weights" in text and str(run / "genre_cnn.weights.h5") in text


def test_notebook_03_writes_an_output_wav(executed):
    out, _ = executed
    wavs = list((out / "03_style_transfer_files").rglob("output.wav"))
    assert wavs and wavs[0].stat().st_size > 1000
    record = json.loads((wavs[0].parent / "run.json").read_text())
    assert record["config"]["transfer"]["iterations"] == 3
    nb = nbformat.read(str(out / "03_style_transfer.ipynb"), as_version=4)
    text = json.dumps(nb)
    assert "image/png" in text and "<audio" in text  # players and figures were shown


def test_runner_command_line_rejects_unknown_notebook(tmp_path, capsys):
    assert runner.main([str(tmp_path), "--only", "99"]) != 0
    assert "no notebook" in capsys.readouterr().err


def test_per_notebook_parameters_do_not_leak_into_other_notebooks():
    from amnst_lib.notebooks import find_notebooks, parameters_for

    nb01, nb03 = (p for p in find_notebooks(["01", "03"]))
    keyed = {"03": {"iterations_for_nst": 5}}
    assert parameters_for(nb03, keyed) == {"iterations_for_nst": 5}
    assert parameters_for(nb01, keyed) == {}  # was: the whole dict, a SyntaxError in the notebook
    assert parameters_for(nb01, {nb03.stem: {"x": 1}}) == {}
    flat = {"seconds": 2.0}
    assert parameters_for(nb01, flat) == flat and parameters_for(nb03, flat) == flat
    assert parameters_for(nb01, None) == {}


def test_notebook_04_runs_a_sweep_with_its_table_and_frontier(executed):
    import csv

    out, _ = executed
    sweep_dir = out / "04_sweep_files"
    with open(sweep_dir / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(r["status"] == "ok" and float(r["mfcc_gap_closed"]) == float(r["mfcc_gap_closed"])
                                  for r in rows)  # 1 music x 2 ambiences x 3 content weights, with figures
    assert len({r["settings"] for r in rows}) == 3 and (sweep_dir / "frontier.png").is_file()
    text = json.dumps(nbformat.read(str(out / "04_sweep.ipynb"), as_version=4))
    assert "image/png" in text and "chroma_similarity" in text  # the frontier and the results table shown
