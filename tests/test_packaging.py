"""Set-up files agree with each other: one set of pinned ranges."""

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    pinned = set(re.findall(r'^\s+- "([^"]+)"$', (ROOT / "environment.yml").read_text(), re.M))
    assert pinned - {"-e ."} == wanted


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_requirements_check_finds_missing_and_out_of_range_packages():
    from amnst_lib.requirements import check

    missing, outside = check(["numpy>=1.0", "amnst-no-such-package>=1", "numpy<1.0", 'pytest>=1; extra == "dev"'])
    assert missing == ["amnst-no-such-package>=1"]
    assert len(outside) == 1 and outside[0].startswith("numpy ") and "<1.0" in outside[0]


def test_lowest_constraints_pin_every_lower_bound():
    from amnst_lib.requirements import lowest_constraints

    lines = lowest_constraints(str(ROOT / "pyproject.toml"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert len(lines) == len(project["dependencies"]) + len(project["optional-dependencies"]["dev"])
    assert any(re.fullmatch(r"tensorflow==\d+\.\d+\.\*", line) for line in lines)


def test_colab_cell_keeps_colabs_own_packages():
    """The set-up cell never lets pip resolve our ranges against Colab's installed TF/numpy."""
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        setup = nbformat.read(str(path), as_version=4).cells[1].source
        installs = [line for line in setup.splitlines() if "pip install" in line]
        assert installs and all("--no-deps" in line for line in installs), path.name
        assert "amnst_lib.requirements --install-missing" in setup
