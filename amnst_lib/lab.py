"""Jupyter set-up of this clone: its kernel, and notebooks that open unmodified.

``python -m amnst_lib.lab install`` (run by ``make install``) writes into the venv only:

* the kernel "AM-NST (.venv)" (``amnst``), in ``.venv/share/jupyter/kernels/amnst``: it
  runs this clone's ``.venv/bin/python``, and only this venv's Jupyter lists it
  (``.venv/bin/jupyter kernelspec list``), so a second clone, or a deleted one, can never
  take it over (a kernel installed with ``--user`` is shared by every clone of a user);
* the server setting below, in ``.venv/etc/jupyter/jupyter_server_config.json`` (the
  ``.d`` folder next to it only enables extensions).

Why the setting:
JupyterLab replaces a notebook's ``language_info`` metadata with its kernel's as soon as
the kernel starts, and marks the notebook modified (unsaved) when the two differ. The
committed notebooks cannot carry every user's Python version (``language_info.version``),
so opening one showed it modified at once. :class:`ContentsManager` fills the field in,
as this interpreter's kernel will report it, when JupyterLab loads a notebook whose
kernel is a Python one; nothing is written to the file until the user saves. The
committed notebooks carry no ``language_info`` at all: the git filter ``make install``
sets up strips it with the outputs.

jupytext's server extension (which keeps each ``.ipynb`` and its ``.py`` source paired)
builds on it, as on any contents manager.
"""

from __future__ import annotations

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

#: Kernels that run this interpreter when the server is started from the project's venv.
PYTHON_KERNELS = ("python3", "amnst")

#: The server configuration ``make install`` writes into the venv.
SERVER_CONFIG = {"ServerApp": {"contents_manager_class": "amnst_lib.lab.ContentsManager"}}


def kernel_language_info() -> dict:
    """The ``language_info`` an IPython kernel of this interpreter reports."""
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


def fill_language_info(nb: dict) -> bool:
    """Set ``nb["metadata"]["language_info"]`` as the kernel will; True if it changed.

    Only for notebooks whose kernelspec names one of :data:`PYTHON_KERNELS`.
    """
    metadata = nb.setdefault("metadata", {})
    kernel = metadata.get("kernelspec", {})
    if kernel.get("name") not in PYTHON_KERNELS or kernel.get("language", "python") != "python":
        return False
    info = kernel_language_info()
    if metadata.get("language_info") == info:
        return False
    metadata["language_info"] = info
    return True


class ContentsManager(AsyncLargeFileManager):
    """The server's default contents manager, filling in ``language_info`` on loading."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model.get("type") == "notebook" and isinstance(model.get("content"), dict):
            fill_language_info(model["content"])
        return model


KERNEL_NAME = "amnst"
KERNEL_DISPLAY_NAME = "AM-NST (.venv)"


def install(prefix: str | None = None) -> list[str]:
    """Install the kernel and the server setting under ``prefix`` (default: this venv).

    Returns
    -------
    list of str
        One line per thing written or noticed, for the user.
    """
    import json
    import os
    import sys
    from pathlib import Path

    from ipykernel.kernelspec import install as install_kernel

    prefix = prefix or sys.prefix
    kernel_dir = install_kernel(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME, prefix=prefix)
    lines = [f"Jupyter kernel {KERNEL_DISPLAY_NAME!r} -> {kernel_dir} (runs {sys.executable})"]
    config = Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(config.read_text()) if config.is_file() else {}
    settings.setdefault("ServerApp", {}).update(SERVER_CONFIG["ServerApp"])
    config.write_text(json.dumps(settings, indent=2) + "\n")
    lines.append(f"Jupyter server setting (notebooks open unmodified) -> {config}")
    from jupyter_core.paths import jupyter_data_dir

    old = Path(jupyter_data_dir()) / "kernels" / KERNEL_NAME / "kernel.json"
    if old.is_file():  # left by an earlier `make install` (--user); this venv's Jupyter prefers its own
        argv = json.loads(old.read_text()).get("argv", [""])
        state = "missing" if not os.path.exists(argv[0]) else "another Python" if argv[0] != sys.executable else "this one"
        lines.append(f"note: {old.parent} (a user-wide kernel from an earlier install) runs {argv[0]} ({state}); "
                     f"this venv's Jupyter uses its own; remove that folder if nothing else needs it")
    return lines


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m amnst_lib.lab install")
    print("\n".join(install()))
