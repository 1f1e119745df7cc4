"""JupyterLab in a real browser for the tests: a private server, Chromium, helpers.

:func:`jupyter_lab` starts JupyterLab from THIS Python (the project's venv) on 127.0.0.1,
on a free port, with a random token, no browser, and every Jupyter/IPython/Matplotlib
config, data, runtime and settings folder in a temporary folder, so nothing outside the
repository is read or written (in particular no user-wide kernel spec is seen).
:func:`chromium` launches Debian's ``/usr/bin/chromium`` (or ``$AMNST_CHROMIUM``) through
Playwright, with no browser download. The rest drives a notebook as a user does: open it,
Run > Run All Cells, wait, look at the page.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "outputs" / "browser"
CHROMIUM = os.environ.get("AMNST_CHROMIUM", "/usr/bin/chromium")
HOW_TO_GET_CHROMIUM = ("install Debian's chromium (sudo apt-get install chromium) or point AMNST_CHROMIUM at a "
                       "Chromium/Chrome binary")

#: JupyterLab user settings for the test: no news/update pop-up, every cell in the DOM
#: (Lab 4 leaves cells out of view unrendered by default), no autosave of the copies.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


#: The notebook of the visible tab (others stay in the DOM, hidden).
CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}lab/tree/{name}?reset&token={self.token}"  # reset: no tabs from before

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_env(tmp: Path) -> dict[str, str]:
    """This process's environment with every Jupyter/IPython/Matplotlib folder under ``tmp``."""
    dirs = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings", "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib"}
    env = dict(os.environ)
    for var, sub in dirs.items():
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    env.pop("JUPYTER_PATH", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # set by tests/conftest.py; a user's Lab starts without it
    env.pop("JUPYTER_CONFIG_PATH", None)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    for name, values in LAB_SETTINGS.items():
        path = tmp / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


@contextmanager
def jupyter_lab(root: Path, tmp: Path, timeout: float = 180.0):
    """Run JupyterLab (this Python's) serving ``root``; yields a :class:`Lab`."""
    port, token = free_port(), secrets.token_hex(16)
    log = tmp / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI runs as root
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, env=private_env(tmp), cwd=root, stdout=log_file, stderr=subprocess.STDOUT)
    lab = Lab(url=f"http://127.0.0.1:{port}/", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{lab.log_tail()}")
            try:
                with urllib.request.urlopen(f"{lab.url}api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")
            time.sleep(0.5)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(width: int = 1500, height: int = 1100):
    """A Playwright page in Debian's Chromium (no Playwright browser download)."""
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        raise FileNotFoundError(f"{CHROMIUM}: no such browser; {HOW_TO_GET_CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


# ----------------------------------------------------------------------------- the page

def open_notebook(page, lab: Lab, name: str, timeout_ms: int = 120_000) -> None:
    """Open ``name`` and wait until its kernel is idle (fails on a kernel-choice dialog)."""
    page.goto(lab.notebook_url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            raise AssertionError(f"{name}: a dialog opened instead of the kernel: {dialog.first.inner_text()!r}")
        if kernel_status(page) == "idle":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: the kernel did not become idle (status {kernel_status(page)!r})")
        page.wait_for_timeout(500)


def kernel_status(page) -> str | None:
    return page.evaluate("""() => {
        const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k ? k.status : null; }""")


def is_dirty(page) -> bool:
    """Whether the current notebook has unsaved changes (its tab shows the dot)."""
    return bool(page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty"))


def kernel_name(page) -> str | None:
    return page.evaluate("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        return w.sessionContext.session ? w.sessionContext.session.kernel.name : null; }""")


def kernel_run(page, code: str) -> str:
    """Run ``code`` in the notebook's kernel outside the notebook's cells; its printed text."""
    return page.evaluate("""async (code) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        let out = '';
        const f = k.requestExecute({code, silent: false, store_history: false});
        f.onIOPub = (m) => {
            if (m.header.msg_type === 'stream') out += m.content.text;
            if (m.header.msg_type === 'error') out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue;
        };
        await f.done;
        return out; }""", code)


def menu(page, *path: str) -> None:
    """Click through the menu bar, e.g. ``menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(path[0])}$")).click()
    for label in path[1:]:
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(label)}$")).first.click()


def prompts(page) -> list[str]:
    return [t.strip() for t in page.locator(f"{CURRENT} .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()]


def run_all(page, timeout_s: float = 600.0) -> float:
    """Run > Run All Cells and wait until every code cell has run; returns the seconds taken."""
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")
    page.wait_for_timeout(1000)
    while True:
        shown = prompts(page)
        if shown and all(re.fullmatch(r"\[\d+\]:", p) for p in shown) and kernel_status(page) == "idle":
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"Run All did not finish within {timeout_s:.0f} s; prompts {shown}")
        page.wait_for_timeout(500)


def stderr_texts(page) -> list[str]:
    """The text of every stderr (pink) and error output area in the notebook."""
    sel = (f"{CURRENT} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
           f"{CURRENT} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    return page.locator(sel).all_inner_texts()


def widget_failures(page) -> list[str]:
    """Signs that widgets did not render: Lab's error box, or a widget's text repr."""
    text = page.locator(CURRENT).inner_text()
    found = []
    if "Error displaying widget" in text:
        found.append("Error displaying widget")
    found += re.findall(r"\b(?:VBox|HBox|GridBox|Output|Button)\(children=", text)
    found += re.findall(r"\b(?:VBox|HBox|GridBox|Button|Dropdown)\([a-z_]+=[^)]{0,40}", text)
    return found


def shot(page, name: str, locator=None) -> Path:
    """A screenshot into outputs/browser/NAME.png: the whole notebook, or ``locator`` only.

    Lab scrolls the notebook inside its panel, so the window is made tall enough for the
    whole notebook (or element) first, and restored afterwards.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = page.viewport_size
    if locator is not None:
        needed = locator.bounding_box()["height"] + 400
    else:
        needed = page.evaluate("""() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
            return o ? o.scrollHeight + 250 : 0; }""")
    height = int(min(max(size["height"], needed), 16000))
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(500)
    try:
        (locator or page).screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path
