"""Execute the tutorial notebooks headless with papermill (``make notebooks``, the tests).

Every ``notebooks/NN_*.ipynb`` is run top to bottom in a fresh kernel of THIS Python (the
one running this module, so the package and its pinned libraries are the ones tested),
and its executed copy, outputs included, is written to ``OUT_DIR/NN_*.ipynb``. With
``ci=True`` (the default) each notebook gets small parameters so the whole set runs in
minutes on a CPU: the notebook's own ``metadata["amnst"]["ci_parameters"]`` (so a new
notebook brings its CI settings with it), plus ``ci=True`` and ``out_dir`` where its
``parameters`` cell declares them. Any cell error fails the run.

Usage: ``python -m amnst_lib.notebooks OUT_DIR [--full] [--only 01 03]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import AmnstError

#: Kernel names tried in order; each is used only if it starts this same Python.
PREFERRED_KERNELS = ("amnst", "python3")

#: Names jupyter_client replaces by the running interpreter (``sys.executable``).
_PYTHON_ALIASES = {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (the package must be installed editable)."""
    path = Path(__file__).resolve().parent.parent / "notebooks"
    if not path.is_dir():
        raise AmnstError(f"{path}: no notebooks folder; run from a checkout of the repository "
                         f"(pip install -e .).")
    return path


def find_notebooks(names: Iterable[str] | None = None, directory: Path | None = None) -> list[Path]:
    """Notebooks ``NN_*.ipynb`` in order; ``names`` picks some by number, stem or file name."""
    directory = directory or notebooks_dir()
    found = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if names is None:
        return found
    picked = []
    for name in names:
        name = str(name)
        match = [p for p in found if name in (p.name, p.stem, p.name[:2])]
        if not match:
            raise AmnstError(f"no notebook {name!r}; have: {', '.join(p.name for p in found)}")
        picked += [p for p in match if p not in picked]
    return picked


def _spec_runs_this_python(argv: list[str]) -> bool:
    if not argv:
        return False
    exe = argv[0]
    if exe in _PYTHON_ALIASES:
        return True  # jupyter_client substitutes sys.executable
    return os.path.abspath(exe) == os.path.abspath(sys.executable)


def choose_kernel() -> tuple[str, dict[str, str]]:
    """A kernel name that runs this interpreter, and environment changes needed for it.

    Prefers an installed ``amnst`` kernel, then ``python3``, but only if the spec starts
    ``sys.executable``: a ``python3`` spec of another Python (a user-wide Jupyter, say)
    would run the notebooks without this package. If none fits, a kernel spec for this
    interpreter is written to a temporary folder put first on ``JUPYTER_PATH``.

    Returns
    -------
    name : str
    env : dict
        Environment variables to set while executing (empty when none are needed).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    for name in PREFERRED_KERNELS:
        try:
            spec = ksm.get_kernel_spec(name)
        except NoSuchKernel:
            continue
        if _spec_runs_this_python(spec.argv):
            return name, {}
    from ipykernel.kernelspec import write_kernel_spec

    root = Path(tempfile.mkdtemp(prefix="amnst-kernels-"))
    write_kernel_spec(str(root / "kernels" / "amnst-runner"),
                      overrides={"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                 "display_name": "AM-NST (runner)"})
    path = os.pathsep.join([str(root)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p])
    return "amnst-runner", {"JUPYTER_PATH": path}


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and default values declared in a notebook's ``parameters`` cell."""
    import papermill

    info = papermill.inspect_notebook(str(path))
    return {name: p.get("default") for name, p in info.items()}


def ci_parameters(path: Path, out_dir: Path, ci: bool = True) -> dict[str, Any]:
    """Parameters to inject: the notebook's CI set (if ``ci``), ``ci`` and ``out_dir``."""
    import nbformat

    declared = notebook_parameters(path)
    params: dict[str, Any] = {}
    if ci:
        nb = nbformat.read(str(path), as_version=4)
        params.update(nb.metadata.get("amnst", {}).get("ci_parameters", {}))
    if "ci" in declared:
        params["ci"] = bool(ci)
    if "out_dir" in declared:
        params["out_dir"] = str(out_dir / f"{path.stem}_files")
    return params


def _keys(path: Path) -> tuple[str, str, str]:
    return path.stem, path.name, path.name[:2]


def parameters_for(path: Path, parameters: dict | None) -> dict:
    """The parameters for one notebook out of ``parameters``.

    ``parameters`` is either one dict for every notebook, or keyed by notebook (its stem,
    file name or number, e.g. ``{"03": {"iterations_for_nst": 5}}``). Which one is decided
    once, against every notebook in the folder, so a notebook without an entry gets none
    (never the other notebooks' dicts).
    """
    if not parameters:
        return {}
    ids = {k for nb in find_notebooks(None, path.parent) for k in _keys(nb)}
    if not any(k in ids for k in parameters):
        return dict(parameters)
    for k in _keys(path):
        if k in parameters:
            return dict(parameters[k])
    return {}


def run_notebooks(out_dir, names: Iterable[str] | None = None, parameters: dict[str, Any] | None = None,
                  ci: bool = True, *, timeout: float | None = None, log_output: bool = False) -> list[Path]:
    """Execute notebooks with papermill and write the executed copies to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the executed notebooks (``NN_name.ipynb``) and their files
        (``NN_name_files/`` when the notebook takes an ``out_dir`` parameter).
    names : iterable of str or None
        Notebooks to run by number (``"01"``), stem or file name; None runs all.
    parameters : dict or None
        Extra parameters for every notebook (or ``{stem: {...}}`` per notebook); they
        override the CI ones.
    ci : bool
        Use each notebook's small CI parameters; False runs with the notebooks' defaults.
    timeout : float or None
        Per-cell time limit in seconds.

    Returns
    -------
    list of Path
        The executed notebooks, in order.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell raises; the executed copy up to the error is still written.
    """
    import papermill

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    kernel, env = choose_kernel()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    written = []
    try:
        for path in find_notebooks(names):
            params = ci_parameters(path, out_dir, ci)
            params.update(parameters_for(path, parameters))
            target = out_dir / path.name
            start = time.perf_counter()
            papermill.execute_notebook(str(path), str(target), parameters=params, kernel_name=kernel,
                                       cwd=str(path.parent), progress_bar=False, log_output=log_output,
                                       execution_timeout=timeout)
            print(f"{path.name}: {time.perf_counter() - start:.1f} s -> {target}", file=sys.stderr)
            written.append(target)
    finally:
        if kernel == "amnst-runner":  # remove the temporary kernel spec written for this run
            import shutil

            shutil.rmtree(env["JUPYTER_PATH"].split(os.pathsep)[0], ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amnst_lib.notebooks",
                                     description="Execute the AM-NST notebooks with papermill.")
    parser.add_argument("out_dir", help="folder for the executed notebooks")
    parser.add_argument("--full", action="store_true", help="the notebooks' own (long) parameters, not CI-sized ones")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (e.g. 01 03)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "JSON"), default=[],
                        help="set a parameter in every notebook (value parsed as JSON, else a string)")
    args = parser.parse_args(argv)
    extra = {}
    for name, raw in args.parameter:
        try:
            extra[name] = json.loads(raw)
        except json.JSONDecodeError:
            extra[name] = raw
    try:
        run_notebooks(args.out_dir, names=args.only, parameters=extra or None, ci=not args.full)
    except AmnstError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # papermill's execution error names the failing cell
        if type(e).__name__ == "PapermillExecutionError":
            print(f"error: a notebook cell failed:\n{e}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
