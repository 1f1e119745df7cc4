"""The package's layering: the CLI layer parses arguments; domain modules never import it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amnst_lib"
#: The command-line layer: ``amnst`` (cli) and ``python -m amnst_lib`` (__main__).
CLI_LAYER = {"cli.py", "__main__.py"}
#: ``python -m amnst_lib.notebooks`` is the notebook runner of ``make notebooks`` and the tests,
#: a developer tool rather than a stage of the transfer; it keeps its own small parser.
OWN_PARSER = {"notebooks.py"}


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (a script entry: never run when the module is imported)."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _imports(tree: ast.Module):
    """Every imported module name outside ``if __name__ == "__main__":`` blocks, resolved to amnst_lib.*."""
    stack = [n for n in tree.body if not _is_main_guard(n)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ("amnst_lib." if node.level else "") + (node.module or "")
            yield base.rstrip(".")
            yield from (f"{base.rstrip('.')}.{a.name}" for a in node.names)
        stack.extend(ast.iter_child_nodes(node))


def test_domain_modules_never_import_the_cli_nor_parse_arguments():
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in CLI_LAYER:
            continue
        names = set(_imports(ast.parse(path.read_text(), str(path))))
        if "amnst_lib.cli" in names:
            offenders.append(f"{path.name} imports amnst_lib.cli")
        if "argparse" in names and path.name not in OWN_PARSER:
            offenders.append(f"{path.name} parses arguments (imports argparse); parsing belongs in cli.py")
    assert not offenders, offenders


def test_importing_every_domain_module_leaves_the_cli_unloaded():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name not in CLI_LAYER | {"__init__.py"})
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    importlib.import_module('amnst_lib.' + m)\n"
            "print('amnst_lib.cli' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
