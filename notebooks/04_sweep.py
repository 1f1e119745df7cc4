# ---
# jupyter:
#   amnst:
#     ci_parameters:
#       griffin_lim_iterations: 4
#       iterations: 3
#       max_seconds: 2
#       workers: 1
#   colab:
#     name: AM-NST 04 sweep
#     provenance: []
#   jupytext:
#     notebook_metadata_filter: amnst,colab,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Sweep
#
# Many runs at once on Dask: every bundled music x ambience pair under a small grid of
# settings, then one results table and the trade-off between keeping the music and taking on the style.

# %%
# Set-up. In Google Colab: install AM-NST from its repository (under a minute). Colab's own
# TensorFlow, Keras, librosa and numpy are kept as they are; only what is missing is added.
# In JupyterLab or headless (papermill) this cell does nothing.
import sys

IN_COLAB = "google.colab" in sys.modules
REPO_URL = "https://github.com/amnst-project/amnst"  # a fork? put its URL here
MOUNT_DRIVE = False  # True: mount Google Drive, then use /content/drive/MyDrive/... as the audio folder

if IN_COLAB:
    # !git clone --quiet --depth 1 {REPO_URL} /content/amnst || git -C /content/amnst pull --quiet
    # !pip install --quiet --no-deps /content/amnst
    # !python -m amnst_lib.requirements --install-missing
    if MOUNT_DRIVE:
        from google.colab import drive
        drive.mount("/content/drive")

# %% tags=["parameters"]
# Parameters (papermill injects CI-sized values after this cell).
audio_dir = ""  # folder of mus*/amb* clips; empty: the bundled examples (1 music x 2 ambiences)
grid = {"content_weight": [2.0, 3.3, 5.0]}  # settings and their values; the sweep is their product
iterations = 0  # transfer steps per run (0: the preset's, 92)
griffin_lim_iterations = 0  # Griffin-Lim iterations for the written audio (0: the default, 128)
max_seconds = 10.0  # seconds of each clip (0: whole clips)
workers = 0  # local Dask worker processes (0: one per core); ignored with scheduler
scheduler = ""  # a running Dask cluster, e.g. "tcp://host:8786"; empty: a local one
out_dir = ""  # sweep folder; empty: outputs/notebook_runs/sweep in the repository
ci = False  # True in CI runs

# %% [markdown]
# ## The jobs
#
# One job per content x style x grid point. Each becomes an ordinary run folder, named from
# its inputs and a short hash of its settings; a sweep run again skips the folders that are
# complete, so re-running this cell after an interruption only runs what is missing.

# %%
# %matplotlib inline
from pathlib import Path

from IPython.display import display

from amnst_lib.notebook_utils import default_output_dir, resolve_audio_dir, table
from amnst_lib.sweep import grid_jobs, run_sweep

folder = resolve_audio_dir(audio_dir or None)
contents = sorted(p for p in folder.iterdir() if p.name.startswith("mus"))
styles = sorted(p for p in folder.iterdir() if p.name.startswith("amb"))
fixed = {k: v for k, v in (("iterations", iterations), ("rec.n_iter", griffin_lim_iterations),
                           ("max_seconds", max_seconds)) if v}
specs = [f"{key}={','.join(map(repr, values))}" for key, values in grid.items()]
jobs = grid_jobs(contents, styles, specs, fixed=fixed)
out = Path(out_dir) if out_dir else default_output_dir() / "sweep"
print(f"{len(contents)} music x {len(styles)} ambience x {len(jobs) // max(len(contents) * len(styles), 1)} "
      f"settings = {len(jobs)} jobs -> {out}")

# %% [markdown]
# ## Run them
#
# By default on a local cluster of worker processes (one job at a time each); give
# `scheduler` to use a cluster started with `dask scheduler` / `dask worker` or dask-jobqueue
# (see the README). A failed job is recorded with its error; the others go on.

# %%
result = run_sweep(jobs, out, scheduler=scheduler or None, workers=workers or None)
print(f"{result.ran} run now, {result.reused} complete from before, {result.failed} failed")
if ci and result.failed:
    raise RuntimeError(f"{result.failed} job(s) failed: " + "; ".join(r["error"] for r in result.rows if r["error"]))

# %% [markdown]
# ## Results
#
# One row per job (the whole table, with every figure, is in `results.csv`): chroma
# similarity says how much of the music's harmony is kept, MFCC gap closed how far its
# timbre moved towards the ambience's (random-Gram gap closed: the same on another
# measure); superposition near 1 would mean a mere mix; s: the run's seconds.

# %%
shown = {"chroma_similarity": "chroma", "mfcc_gap_closed": "MFCC gap", "random_gram_gap_closed": "rGram gap",
         "superposition": "superpos", "seconds": "s"}
display(table([[r["content"][:28], r["style"][:20], r["settings"], r["status"], *[r[k] for k in shown]]
               for r in result.rows], ["content", "style", "settings", "status", *shown.values()], floatfmt=".3f"))

# %% [markdown]
# ## The trade-off
#
# Each point is one job: up is more of the music kept, right is more of the style taken on;
# its colour is the settings, its shape the ambience. Settings that sit up and to the right
# of the others are the ones to keep.

# %%
from amnst_lib.plots import plot_frontier

display(plot_frontier(result.rows))
print("files:", ", ".join(str(p) for p in result.files.values()))
