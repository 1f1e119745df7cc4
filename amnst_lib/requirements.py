"""The package's requirements against what is installed (standard library only).

The notebooks' Colab cell installs AM-NST with ``pip install --no-deps``, so that Colab's
own TensorFlow, Keras, librosa and numpy stay as they are (never downgraded, and its GPU
set-up untouched), then runs ``python -m amnst_lib.requirements --install-missing``: it
installs only the requirements that are absent, and names any installed version outside
the ranges this project tests (``pyproject.toml``) without changing it.

Usage: ``python -m amnst_lib.requirements [--install-missing]``; exit status 1 when a
requirement is missing and was not installed. ``python -m amnst_lib.requirements --lowest
pyproject.toml`` prints pip constraints pinning every dependency (dev ones included) to
the lowest release series its range allows (``make test-lowest``).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import subprocess
import sys


def requirements(dist: str = "amnst") -> list[str]:
    """The run-time requirements of the installed distribution (no extras), e.g. ``"numpy<2.6,>=1.26"``."""
    return [r for r in (metadata.requires(dist) or []) if "extra ==" not in r.split(";", 1)[-1]]


def _satisfies(version: str, spec: str) -> bool:
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # no way to compare here: say nothing rather than guess
        return True
    return SpecifierSet(spec).contains(version, prereleases=True)


def check(reqs: list[str]) -> tuple[list[str], list[str]]:
    """Split requirements into the missing ones and those installed outside their range.

    Returns
    -------
    missing : list of str
        Requirement strings whose distribution is not installed.
    outside : list of str
        ``"name version (tested: range)"`` for installed versions outside the range.
    """
    missing, outside = [], []
    for req in reqs:
        req = req.split(";", 1)[0].strip()
        name = re.match(r"[A-Za-z0-9_.\-]+", req).group(0)
        spec = req[len(name):].strip()
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(req)
            continue
        if spec and not _satisfies(version, spec):
            outside.append(f"{name} {version} (tested: {spec})")
    return missing, outside


def lowest_constraints(pyproject: str) -> list[str]:
    """``name==X.*`` for every ``name>=X`` among the project's and its dev dependencies."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    lines = []
    for req in project["dependencies"] + project.get("optional-dependencies", {}).get("dev", []):
        match = re.match(r"([A-Za-z0-9_.\-]+).*?>=\s*([0-9][0-9.]*)", req)
        if match:
            lines.append(f"{match.group(1)}=={match.group(2)}.*")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--lowest"]:
        print("\n".join(lowest_constraints(argv[1] if len(argv) > 1 else "pyproject.toml")))
        return 0
    missing, outside = check(requirements())
    for line in outside:
        print(f"note: installed {line}; kept as it is")
    if missing and "--install-missing" in argv:
        print("installing what is missing:", " ".join(missing))
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *missing])
    elif missing:
        print("missing:", " ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
