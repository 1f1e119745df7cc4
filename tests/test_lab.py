"""Jupyter set-up of a clone: its own kernel, and notebooks that open unmodified."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import nbformat

from amnst_lib import lab
from amnst_lib import notebooks as runner


def test_install_writes_the_kernel_and_the_server_setting_under_the_prefix_only(tmp_path):
    lines = lab.install(str(tmp_path))
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / "amnst" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable  # this clone's interpreter, by absolute path
    assert spec["display_name"] == "AM-NST (.venv)"
    config = json.loads((tmp_path / "etc" / "jupyter" / "jupyter_server_config.json").read_text())
    assert config == {"ServerApp": {"contents_manager_class": "amnst_lib.lab.ContentsManager"}}
    assert any(str(tmp_path) in line for line in lines)


def test_installed_kernel_is_found_by_jupyter_under_that_prefix(tmp_path, monkeypatch):
    lab.install(str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("amnst")
    assert Path(spec.resource_dir).is_relative_to(tmp_path)
    assert runner._spec_runs_this_python(spec.argv)


def test_language_info_is_filled_in_as_the_kernel_reports_it():
    from ipykernel.ipkernel import IPythonKernel

    path = runner.find_notebooks(["03"])[0]
    nb = json.loads(path.read_text())
    assert lab.fill_language_info(nb)
    assert nb["metadata"]["language_info"] == IPythonKernel.language_info
    assert not lab.fill_language_info(nb)  # already as the kernel says: unchanged
    other = {"metadata": {"kernelspec": {"name": "ir", "language": "R"}, "language_info": {"name": "R"}}}
    assert not lab.fill_language_info(other) and other["metadata"]["language_info"] == {"name": "R"}


def test_contents_manager_serves_notebooks_with_the_kernels_language_info(tmp_path):
    from ipykernel.ipkernel import IPythonKernel

    path = runner.find_notebooks(["03"])[0]
    shutil.copy(path, tmp_path / path.name)
    manager = lab.ContentsManager(root_dir=str(tmp_path))
    model = asyncio.run(manager.get(path.name))
    assert model["content"]["metadata"]["language_info"] == IPythonKernel.language_info
    assert "language_info" not in nbformat.read(str(tmp_path / path.name), as_version=4).metadata  # file untouched
    listing = asyncio.run(manager.get(""))
    assert path.name in [m["name"] for m in listing["content"]]
