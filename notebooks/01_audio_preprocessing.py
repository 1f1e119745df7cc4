# ---
# jupyter:
#   amnst:
#     ci_parameters:
#       griffin_lim_iterations:
#       - 4
#       - 16
#       mel_band_counts:
#       - 64
#       - 384
#       seconds: 3
#   colab:
#     name: AM-NST 01 audio preprocessing
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
# # 01 · Audio preprocessing
#
# How AM-NST turns audio into the mel spectrograms it works on, cuts them into 5 s segments,
# and turns a mel spectrogram back into sound, with what each step costs.

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
audio_path = ""  # empty: the bundled Bach example; or a path to any WAV/FLAC/OGG/MP3
seconds = 10.0  # how much of the clip to load
mel_band_counts = [128, 256, 384]  # mel band counts to try (384: as the classifier)
griffin_lim_iterations = [8, 32, 100]  # Griffin-Lim iteration counts to try
ci = False  # True in CI runs
out_dir = ""  # where to write the reconstruction table (empty: write nothing)

# %% [markdown]
# ## From waveform to spectrogram and back
#
# AM-NST never sees a waveform. Audio becomes a **mel spectrogram**, the spectrogram is cut
# into **431-frame segments** (the classifier's input, about 5 s each), the style transfer
# edits those, and at the end the mel spectrogram goes back to audio with **Griffin-Lim**.
# This notebook walks through each step on one clip and measures what the round trip costs.

# %%
# %matplotlib inline
from pathlib import Path
import time

import numpy as np
import librosa
from IPython.display import display

from amnst_lib.audio import load_audio
from amnst_lib.config import AnalysisConfig, ReconstructionConfig
from amnst_lib.notebook_utils import audio_player, find_examples_dir, table
from amnst_lib.plots import plot_mels, plot_waveform
from amnst_lib.segments import split_segments
from amnst_lib.spectrum import griffin_lim, mel_spectrogram, mel_to_audio, spectral_convergence

cfg = AnalysisConfig()  # sr 22050, n_fft 1024, hop 256, 384 mels, 431-frame segments, magnitude
path = Path(audio_path) if audio_path else find_examples_dir() / "mus01_baroque_bach_brandenburg2.wav"
y = load_audio(path, cfg.sr, max_seconds=seconds)
print(f"{path.name}: {len(y) / cfg.sr:.2f} s at {cfg.sr} Hz, peak {np.abs(y).max():.2f}")

# %% [markdown]
# ## The waveform
#
# `load_audio` gives mono float32 at 22050 Hz, the rate of the GTZAN tracks the classifier was
# trained on; any other rate or channel count is converted on loading.

# %%
display(plot_waveform(y, cfg.sr, title=path.name))
audio_player(y, cfg.sr)

# %% [markdown]
# ## STFT and mel: magnitude, power, decibels
#
# The STFT (1024-sample windows, hop 256 = 11.6 ms) gives a complex spectrogram. Its
# **magnitude** |X| is pooled into 384 mel bands by the mel filterbank. Three versions of the
# same picture:
#
# * **magnitude mel** (`power=1`): what the classifier was trained on, and so what the style
#   transfer must optimise;
# * **power mel** (`power=2`): the squared magnitude; the original style-transfer notebook
#   used it by mistake;
# * **decibels**: a log scale for the eye; nothing is computed on it.

# %%
stft_mag = np.abs(librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length))
mel_mag = mel_spectrogram(y, cfg)
mel_pow = mel_spectrogram(y, cfg.replace(power=2.0))
print(f"STFT magnitude {stft_mag.shape} (frequency bins, frames); mel {mel_mag.shape} (mel bands, frames)")
display(plot_mels({"magnitude mel (linear)": mel_mag, "power mel (linear)": mel_pow}, cfg,
                  db=False, shared_scale=False, title="Linear scale: a few loud bins dominate"))
plot_mels({"magnitude mel (dB)": mel_mag}, cfg, title="Decibels (for viewing only)")


# %%
def spread(m):
    nz = m[m > 0]
    return [float(nz.min()), float(np.median(nz)), float(m.max()), float(m.max() / np.median(nz))]

table([["magnitude mel", *spread(mel_mag)], ["power mel", *spread(mel_pow)]],
      ["representation", "smallest > 0", "median", "largest", "largest / median"], floatfmt=".3g",
      title="Value ranges")

# %% [markdown]
# **Why the classifier uses magnitude.** The network was trained on magnitude mels, so its
# filters and batch-norm statistics expect values of that size and spread. The power mel
# squares every value: the largest/median ratio above is squared too, the loudest bins swamp
# everything else, and the losses in the original's style transfer reached 1e10 at step 0 and
# diverged. The dB version compresses the range nicely for plots, but it is negative,
# unbounded below and not what the network saw. (The dark horizontal lines at the bottom of
# the dB plot are mel bands too narrow to contain any FFT bin at n_fft = 1024: they are always
# zero, as they were in training.)

# %% [markdown]
# ## Segments of 431 frames
#
# The classifier's input is 384 × 431 (about 5 s). A clip is cut into consecutive segments;
# unlike the original, which dropped the remainder, the last segment is zero-padded so the
# whole clip is kept, and the padding is trimmed again after the transfer.

# %%
segments = split_segments(mel_mag, cfg.segment_frames)
n_frames = mel_mag.shape[1]
print(f"{n_frames} frames -> segments {segments.shape} (segments, mel bands, frames); "
      f"the original kept {n_frames // cfg.segment_frames} (floor) and dropped {n_frames % cfg.segment_frames} frames")
rows = []
for k in range(len(segments)):
    start, stop = k * cfg.segment_frames, min((k + 1) * cfg.segment_frames, n_frames)
    rows.append([k, start * cfg.hop_length / cfg.sr, stop * cfg.hop_length / cfg.sr, cfg.segment_frames - (stop - start)])
display(table(rows, ["segment", "start (s)", "end (s)", "padded frames"], floatfmt=".2f"))
plot_mels({"magnitude mel with segment boundaries": mel_mag}, cfg, segment_lines=True)

# %% [markdown]
# ## Back to audio
#
# The transfer's result is a mel spectrogram, so it has to be turned back into sound. Two
# losses stack up: the mel filterbank is inverted only approximately (fewer bands, more
# smearing), and the phase is lost and has to be estimated by Griffin-Lim (fewer iterations,
# more "phasey" artefacts). The table measures both by **spectral convergence** (SC, lower is
# better) against the original clip's STFT magnitude, for several band counts and iteration
# counts (fast Griffin-Lim, momentum 0.99). The first row has no mel step at all: Griffin-Lim
# from the exact STFT magnitude, the best any band count can do.

# %%
rows = []
for n_iter in griffin_lim_iterations:
    rcfg = ReconstructionConfig(n_iter=int(n_iter))
    start = time.perf_counter()
    y_rec = griffin_lim(stft_mag, cfg, rcfg, length=len(y))  # librosa.griffinlim from a random phase
    rows.append(["STFT (no mel)", n_iter, spectral_convergence(stft_mag, y_rec, cfg),
                 time.perf_counter() - start, audio_player(y_rec, cfg.sr)])
for n_mels in mel_band_counts:
    a = cfg.replace(n_mels=int(n_mels))
    mel = mel_spectrogram(y, a)
    for n_iter in griffin_lim_iterations:
        start = time.perf_counter()
        y_rec = mel_to_audio(mel, a, ReconstructionConfig(n_iter=int(n_iter)), length=len(y))
        rows.append([f"{n_mels} mels", n_iter, spectral_convergence(stft_mag, y_rec, cfg),
                     time.perf_counter() - start, audio_player(y_rec, cfg.sr)])
reconstructions = table(rows, ["from", "Griffin-Lim iterations", "SC", "seconds", "listen"],
                        title="Reconstruction quality (spectral convergence, lower is better)")
reconstructions

# %%
# Save the figures of the table (without the players) when an output folder is given.
if out_dir:
    import csv
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(out_dir) / "reconstruction.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["from", "griffin_lim_iterations", "spectral_convergence", "seconds"])
        writer.writerows(r[:4] for r in rows)
    print("wrote", Path(out_dir) / "reconstruction.csv")

# %% [markdown]
# **Reading the table.** More mel bands keep more detail: the gap between a mel row and the
# STFT row at the same iteration count is what the mel step costs, and it shrinks as bands are
# added. More Griffin-Lim iterations lower SC with diminishing returns, sooner when the mel step
# dominates (few bands). The library reconstructs from 384 bands with 128 fast Griffin-Lim
# iterations by default (`ReconstructionConfig`); after a style transfer they start from the
# content's phase rather than a random one, which keeps the pitch of its harmonics. Next: `03_style_transfer.ipynb` runs the transfer itself.
