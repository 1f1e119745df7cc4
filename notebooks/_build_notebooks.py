"""Write the tutorial notebooks from the cell sources below (``python notebooks/_build_notebooks.py``).

The notebooks are generated so that they stay reviewable as plain Python and carry no
outputs: edit the cells here, run this script, commit both. Each notebook opens with the
Colab setup cell, then its ``parameters`` cell (tagged for papermill); its small CI
parameters are kept in ``metadata["amnst"]["ci_parameters"]``, which
``python -m amnst_lib.notebooks`` (``make notebooks``, the tests) injects.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

COLAB_SETUP = '''\
# Colab setup: in Google Colab, install AM-NST from its repository (a minute or two).
# In JupyterLab or headless (papermill) this cell does nothing.
import sys

IN_COLAB = "google.colab" in sys.modules
REPO_URL = "https://github.com/amnst-project/amnst"  # a fork? put its URL here
MOUNT_DRIVE = False  # True: mount Google Drive, then use /content/drive/MyDrive/... as the audio folder

if IN_COLAB:
    !git clone --quiet --depth 1 {REPO_URL} /content/amnst || git -C /content/amnst pull --quiet
    !pip install --quiet /content/amnst
    if MOUNT_DRIVE:
        from google.colab import drive
        drive.mount("/content/drive")'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, tags: list[str] | None = None):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def notebook(cells, ci_parameters: dict, colab_title: str):
    nb = new_notebook(cells=[code(COLAB_SETUP)] + cells)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives the same file
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["colab"] = {"name": colab_title, "provenance": []}
    nb.metadata["amnst"] = {"ci_parameters": ci_parameters}
    return nb


# --------------------------------------------------------------------------------------
# 01 Audio preprocessing
# --------------------------------------------------------------------------------------

NB01 = [
    code('''
# Parameters (papermill injects CI-sized values after this cell).
audio_path = ""  # empty: the bundled Bach example; or a path to any WAV/FLAC/OGG/MP3
seconds = 10.0  # how much of the clip to load
mel_band_counts = [128, 256, 384]  # mel band counts to try (384: as the classifier)
griffin_lim_iterations = [8, 32, 100]  # Griffin-Lim iteration counts to try
ci = False  # True in CI runs
out_dir = ""  # where to write the reconstruction table (empty: write nothing)
''', tags=["parameters"]),
    md('''
# 01 · Audio preprocessing

AM-NST never sees a waveform. Audio becomes a **mel spectrogram**, the spectrogram is cut
into **431-frame segments** (the classifier's input, about 5 s each), the style transfer
edits those, and at the end the mel spectrogram goes back to audio with **Griffin-Lim**.
This notebook walks through each step on one clip and measures what the round trip costs.
'''),
    code('''
%matplotlib inline
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
from amnst_lib.spectrum import mel_spectrogram, mel_to_audio, spectral_convergence

cfg = AnalysisConfig()  # sr 22050, n_fft 1024, hop 256, 384 mels, 431-frame segments, magnitude
path = Path(audio_path) if audio_path else find_examples_dir() / "mus01_baroque_bach_brandenburg2.wav"
y = load_audio(path, cfg.sr, max_seconds=seconds)
print(f"{path.name}: {len(y) / cfg.sr:.2f} s at {cfg.sr} Hz, peak {np.abs(y).max():.2f}")
'''),
    md('''
## The waveform

`load_audio` gives mono float32 at 22050 Hz, the rate of the GTZAN tracks the classifier was
trained on; any other rate or channel count is converted on loading.
'''),
    code('''
display(plot_waveform(y, cfg.sr, title=path.name))
audio_player(y, cfg.sr)
'''),
    md('''
## STFT and mel: magnitude, power, decibels

The STFT (1024-sample windows, hop 256 = 11.6 ms) gives a complex spectrogram. Its
**magnitude** |X| is pooled into 384 mel bands by the mel filterbank. Three versions of the
same picture:

* **magnitude mel** (`power=1`): what the classifier was trained on, and so what the style
  transfer must optimise;
* **power mel** (`power=2`): the squared magnitude; the original style-transfer notebook
  used it by mistake;
* **decibels**: a log scale for the eye; nothing is computed on it.
'''),
    code('''
stft_mag = np.abs(librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length))
mel_mag = mel_spectrogram(y, cfg)
mel_pow = mel_spectrogram(y, cfg.replace(power=2.0))
print(f"STFT magnitude {stft_mag.shape} (frequency bins, frames); mel {mel_mag.shape} (mel bands, frames)")
display(plot_mels({"magnitude mel (linear)": mel_mag, "power mel (linear)": mel_pow}, cfg,
                  db=False, shared_scale=False, title="Linear scale: a few loud bins dominate"))
plot_mels({"magnitude mel (dB)": mel_mag}, cfg, title="Decibels (for viewing only)")
'''),
    code('''
def spread(m):
    nz = m[m > 0]
    return [float(nz.min()), float(np.median(nz)), float(m.max()), float(m.max() / np.median(nz))]

table([["magnitude mel", *spread(mel_mag)], ["power mel", *spread(mel_pow)]],
      ["representation", "smallest > 0", "median", "largest", "largest / median"], floatfmt=".3g",
      title="Value ranges")
'''),
    md('''
**Why the classifier uses magnitude.** The network was trained on magnitude mels, so its
filters and batch-norm statistics expect values of that size and spread. The power mel
squares every value: the largest/median ratio above is squared too, the loudest bins swamp
everything else, and the losses in the original's style transfer reached 1e10 at step 0 and
diverged. The dB version compresses the range nicely for plots, but it is negative,
unbounded below and not what the network saw. (The dark horizontal lines at the bottom of
the dB plot are mel bands too narrow to contain any FFT bin at n_fft = 1024: they are always
zero, as they were in training.)
'''),
    md('''
## Segments of 431 frames

The classifier's input is 384 × 431 (about 5 s). A clip is cut into consecutive segments;
unlike the original, which dropped the remainder, the last segment is zero-padded so the
whole clip is kept, and the padding is trimmed again after the transfer.
'''),
    code('''
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
'''),
    md('''
## Back to audio

The transfer's result is a mel spectrogram, so it has to be turned back into sound. Two
losses stack up: the mel filterbank is inverted only approximately (fewer bands, more
smearing), and the phase is lost and has to be estimated by Griffin-Lim (fewer iterations,
more "phasey" artefacts). The table measures both by **spectral convergence** (SC, lower is
better) against the original clip's STFT magnitude, for several band counts and iteration
counts (fast Griffin-Lim, momentum 0.99). The first row has no mel step at all: Griffin-Lim
from the exact STFT magnitude, the best any band count can do.
'''),
    code('''
rows = []
for n_iter in griffin_lim_iterations:
    rcfg = ReconstructionConfig(n_iter=int(n_iter))
    start = time.perf_counter()
    y_rec = librosa.griffinlim(stft_mag, n_iter=rcfg.n_iter, hop_length=cfg.hop_length, n_fft=cfg.n_fft,
                               momentum=rcfg.momentum, random_state=rcfg.seed, length=len(y))
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
'''),
    code('''
# Save the figures of the table (without the players) when an output folder is given.
if out_dir:
    import csv
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(out_dir) / "reconstruction.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["from", "griffin_lim_iterations", "spectral_convergence", "seconds"])
        writer.writerows(r[:4] for r in rows)
    print("wrote", Path(out_dir) / "reconstruction.csv")
'''),
    md('''
**Reading the table.** More mel bands keep more detail: the gap between a mel row and the
STFT row at the same iteration count is what the mel step costs, and it shrinks as bands are
added. More Griffin-Lim iterations lower SC with diminishing returns, sooner when the mel step
dominates (few bands). The library reconstructs from 384 bands with 128 fast Griffin-Lim
iterations by default (`ReconstructionConfig`); after a style transfer they start from the
content's phase rather than a random one, which keeps the pitch of its harmonics. Next: `03_style_transfer.ipynb` runs the transfer itself.
'''),
]

NB01_CI = {"seconds": 3.0, "mel_band_counts": [64, 384], "griffin_lim_iterations": [4, 16]}

# --------------------------------------------------------------------------------------
# 02 Genre classifier training
# --------------------------------------------------------------------------------------

NB02 = [
    code('''
# Parameters (papermill injects CI-sized values after this cell).
data_dir = ""  # GTZAN folder (Kaggle or Marsyas layout, see data/README.md); empty: a generated miniature
tracks_per_class = 5  # miniature only: synthesised tracks per genre
seconds = 30.0  # miniature only: length of each track (GTZAN's 30 s)
epochs = 30  # the original's 30
split = "track"  # "track" (fair), "segment" (the original's, LEAKY) or the path of a split CSV
batch_size = 32  # segments per optimiser step, the original's 32
val_fraction = 0.2  # share of each genre's tracks for validation
test_fraction = 0.0  # share of each genre's tracks held out for a final test
seed = 0  # seeds the split, shuffling, initialisation and dropout
out_dir = "outputs/notebooks/02_training"  # relative paths (here and in data_dir) start at the repository root
overwrite = True  # replace an earlier run in out_dir
''', tags=["parameters"]),
    md('''
# 02 · Training the genre classifier

The style transfer compares music and ambience through the layers of a **genre classifier**:
a CNN that reads 384 × 431 magnitude-mel segments (about 5 s) and names one of GTZAN's ten
genres. Its filters are only meaningful once it has been trained. This notebook trains it
with the original recipe (Adam 1e-3, batch 32, 30 epochs, learning rate halved when
validation accuracy stalls, best epoch kept) and saves the weights that notebook 03 and
`amnst transfer --weights` load.

With `data_dir` empty it trains on a **miniature** of GTZAN synthesised on the spot (same
layout, ten genres of simple generated tracks), so the notebook runs anywhere: about
eight minutes on two CPU cores with the defaults. The figures then say only that the
pipeline works. Point `data_dir` at GTZAN
(`data/README.md` says how to get it) for a classifier worth using.
'''),
    code('''
%matplotlib inline
from IPython.display import display

from amnst_lib.dataset import find_tracks, make_miniature
from amnst_lib.notebook_utils import accuracy_table, dataset_table, repo_path
from amnst_lib.training import CARD_FILE, plot_confusion, plot_learning_curves, train

out = repo_path(out_dir)
if data_dir:
    data = repo_path(data_dir)
else:  # deterministic, so regenerating gives the same tracks (and reuses their feature cache)
    data = make_miniature(out / f"miniature_{tracks_per_class}x{seconds:g}s", tracks_per_class=tracks_per_class,
                          seconds=seconds, overwrite=True)
print("dataset:", data)
'''),
    md('''
## The dataset

Tracks found per genre. Files that cannot be decoded are skipped and listed (the Kaggle
copy of GTZAN has one, `jazz.00054.wav`); every genre folder must hold some audio.
'''),
    code('''
dataset = find_tracks(data)
dataset_table(dataset)
'''),
    md('''
## A fair split, and the original's leaky one

Each 30 s track gives six 5 s segments, and the classifier learns from segments. The
original notebook shuffled all **segments** and split them 80/20, so five segments of a
track could be in training while the sixth was used for validation: the network is
validated on music it has already heard, and its 0.82 validation accuracy is inflated.

`split = "track"` (the default) splits by **track**, seeded and stratified by genre: all
six segments of a track are on the same side, so validation measures genres on unseen
music. `split = "segment"` reproduces the original's leaky split (the model card then
carries a warning); a CSV of `track_id,subset` rows gives any other split, such as an
artist-filtered one for GTZAN, which also repeats artists across tracks.
'''),
    md('''
## Training

Features are computed once into a cache next to the data (or `~/.cache/amnst` when that
folder is read-only) and streamed from disk a batch at a time. Keras prints a progress bar
per epoch; the best epoch by validation accuracy is kept.
'''),
    code('''
result = train(data, out / "genre_cnn", epochs=epochs, batch_size=batch_size, split=split,
               val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, overwrite=overwrite)
'''),
    md('''
## Learning curves

Loss and per-segment accuracy for training (solid) and validation (dashed), with the
learning rate (grey, right axis). Validation far below training means overfitting; on a
leaky segment split the two stay suspiciously close.
'''),
    code('''
plot_learning_curves(result.history)
'''),
    md('''
## Accuracy per segment and per track

A segment is one 5 s prediction. A track is classified by a vote of its segments (their
averaged probabilities), which is how a 30 s clip would be labelled. Chance is 0.10 for
both.
'''),
    code('''
accuracy_table(result.card)
'''),
    md('''
## Confusion matrix

Rows are the true genres, columns the predicted ones; the diagonal is what was right and
the cells off it show which genres the network mixes up. The track matrix is shown first,
then the segment one.
'''),
    code('''
subset = "test" if "test" in result.card["confusion"] else "val"
acc = result.card["accuracy"][subset]
display(plot_confusion(result.card["confusion"][subset]["track"],
                       title=f"{subset} tracks (vote of segments): accuracy {acc['track_accuracy']:.3f}"))
plot_confusion(result.card["confusion"][subset]["segment"],
               title=f"{subset} segments: accuracy {acc['segment_accuracy']:.3f}")
'''),
    md('''
## What was saved

The weights of the best epoch, a model card (settings, split, data fingerprint,
accuracies, versions), the per-epoch log, the split and the figures above.
'''),
    code('''
print("weights:   ", result.weights_path)
print("model card:", result.out_dir / CARD_FILE)
for path in sorted(result.out_dir.iterdir()):
    print(f"  {path.name:32s} {path.stat().st_size / 1024:8.1f} KiB")
'''),
    md('''
## Using the weights for the style transfer

From the command line, or in notebook 03 by setting its `preset` field to "original" (trained weights are the genre CNN's) and its `weights_file` field to this path.
Weights trained on the miniature load and run, but only GTZAN-trained ones give the
transfer meaningful layers.
'''),
    code('''
print(f"amnst transfer CONTENT.wav STYLE.wav --weights {result.weights_path}")
print(f'notebook 03:  preset = "original"; weights_file = "{result.weights_path}"')
'''),
]

NB02_CI = {"tracks_per_class": 2, "seconds": 8.0, "epochs": 1, "batch_size": 8}

# --------------------------------------------------------------------------------------
# 03 Style transfer
# --------------------------------------------------------------------------------------

NB03 = [
    code("""
# Parameters: the original Colab form's fields, plus `preset`. The form below starts from
# these values; headless (papermill) they alone drive the run. Fields set to None take the
# preset's value: "default" is this project's tuned settings (the random-filter texture
# network: content harmony, style bands + wide, level stats on bands + dbbands + linbands; 65 steps with a
# consistency projection every 15), "original" the original form's values on
# its genre CNN (layers identity, conv1 / conv2, conv4, conv6, conv8; 100 steps).
preset = "default"  # "default" or "original"
network = None  # None: the preset's; "texture" or "genre_cnn" (its layers then come from that network's preset)
audio_dir = ""  # folder of audio files; empty: the bundled examples (Drive: "/content/drive/MyDrive/...")
content = "mus01_baroque_bach_brandenburg2.wav"  # music: a file name or its number in audio_dir
style = "amb04_stream.wav"  # ambience: a file name or its number
weights_file = ""  # trained genre-CNN weights (.weights.h5 or the original's .npy; needs preset "original"); empty: none
segments_to_include = 5  # 5 s segments to use (0: the whole clip)
content_layers = None  # layer names or indices of the network: texture 0 mel, 1 logmel, 2 bands, 3 wide, 4 detail, 5 harmony, 6 dbbands, 7 linbands;
style_layers = None  #   genre CNN 0 identity, 2 conv1, 4 conv2, ... 16 conv8 (e.g. ["conv2", "conv4"])
content_weight = None  # None: the preset's (default 3.3, original 50.0)
style_weight = None  # (default 4.0, original 10.0)
target_type = None  # content, style, zero, random or mix (both presets: content)
iterations_for_nst = None  # (default 65, original 100)
initial_learning_rate = None  # 0: the optimiser's default, 0.02 (preset default 0.085, original 0)
decay_steps = None  # (10)
decay_rate = None  # (1.0)
print_frequency = None  # (10)
decay_on_excess = None  # (True)
rollback_on_excess = True
max_retries_on_excess = None  # (20)
history_buffer_size = None  # (10)
target_segments_to_reconstruct = 0  # 0: all
play_content_and_style = True
max_seconds = 0.0  # load only the first seconds of each file (0: all)
griffin_lim_iterations = 128
out_dir = ""  # where run folders go; empty: outputs/notebook_runs in the repository
run_on_open = True  # run once with these values when the notebook is run top to bottom
ci = False  # True in CI runs: a refused or failed run fails the notebook
""", tags=["parameters"]),
    md("""
# 03 · Style transfer

Pick a piece of music (the **content**) and an ambience recording (the **style**), choose
which layers of a feature network compare them, and optimise a mel spectrogram that keeps
the content's notes while taking on the style's texture. Then listen.

The **preset** chooses the network and fills the layers, weights and optimisation fields:
`default` is this project's tuned settings, a wide layer of random filters (the texture
network, random by design) that moves the timbre far more than the genre classifier's
layers do (see `benchmarks/README.md`); `original` is the original Colab form's values on
its genre CNN, the one to use with trained weights (`weights_file`, from notebook 02).

The form below mirrors the original Colab form. Change any field and press **Run**: the
progress bar, then players, spectrograms, the loss curve and the quality figures appear
under it. Run top to bottom (or headless), the notebook makes one run with the
`parameters` cell's values and shows it in the cells further down.
"""),
    code("""
%matplotlib inline
from IPython.display import display

from amnst_lib.form import DEFAULTS, build_transfer_form
from amnst_lib.notebook_utils import audio_player, default_output_dir, metrics_table, table, _analysis_config
from amnst_lib.plots import plot_loss, plot_mels

values = {name: globals()[name] for name in DEFAULTS}
values["out_dir"] = out_dir or str(default_output_dir())
form = build_transfer_form(values=values)
form.widget
"""),
    md("""
## One run with the parameters

Invalid values are reported as a message beside the form (and printed here), not as an error.
"""),
    code("""
result = form.run(show_results=False) if run_on_open else None
if form.message:
    print(form.message)
if ci and result is None:
    raise RuntimeError(f"the run did not complete: {form.message or 'run_on_open is False'}")
if result is not None:
    print(f"{len(result.output) / result.sr:.1f} s of output, {len(result.history)} steps, "
          f"weights: {'trained' if result.weights_info.get('trained') else 'random (untrained)'}")
    print("written to", result.wav_path)
"""),
    md("""
## Listen

Content (the music), style (the ambience) and the output. A good transfer (the original
author's criteria): the content's melody and harmony remain, the style's timbre and
acoustics are present without being merely mixed in, and there is little noise.
"""),
    code("""
if result is not None:
    rows = [("content", audio_player(result.content, result.sr)), ("style", audio_player(result.style, result.sr))]
    rows = (rows if play_content_and_style else []) + [("output", audio_player(result.output, result.sr))]
    display(table(rows, ["", "player"]))
"""),
    md("""
## Spectrograms and loss
"""),
    code("""
if result is not None:
    display(plot_mels({"content": result.content_mel, "style": result.style_mel, "output": result.output_mel},
                      _analysis_config(result)))
"""),
    code("""
if result is not None:
    display(plot_loss(result.history, title="Loss per step (log scale)"))
"""),
    md("""
## Quality figures

Measured on the written audio (see `amnst_lib.metrics`): how much of the content's harmony
and rhythm survive, how far the timbre moved towards the style, whether the output is just
a mix of the two, and how faithfully the mel spectrogram was turned back into sound.
"""),
    code("""
if result is not None:
    display(metrics_table(result.metrics))
"""),
]

NB03_CI = {"iterations_for_nst": 3, "max_seconds": 3.0, "segments_to_include": 1, "griffin_lim_iterations": 8,
           "print_frequency": 1}


def build(names=None) -> list[Path]:
    books = {
        "01_audio_preprocessing.ipynb": notebook(NB01, NB01_CI, "AM-NST 01 audio preprocessing"),
        "02_genre_classifier_training.ipynb": notebook(NB02, NB02_CI, "AM-NST 02 genre classifier training"),
        "03_style_transfer.ipynb": notebook(NB03, NB03_CI, "AM-NST 03 style transfer"),
    }
    written = []
    for name, nb in books.items():
        if names and name not in names:
            continue
        nbformat.validate(nb)
        path = HERE / name
        nbformat.write(nb, str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    for p in build(sys.argv[1:] or None):
        print("wrote", p)
