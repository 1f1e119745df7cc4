# ---
# jupyter:
#   amnst:
#     ci_parameters:
#       batch_size: 8
#       epochs: 1
#       seconds: 8
#       tracks_per_class: 2
#   colab:
#     name: AM-NST 02 genre classifier training
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
# # 02 · Training the genre classifier
#
# Trains the genre CNN whose layers the `original` preset compares music and ambience with,
# on GTZAN or on a generated miniature, and saves the weights notebook 03 loads.

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

# %% [markdown]
# ## What this notebook does
#
# The style transfer compares music and ambience through the layers of a **genre classifier**:
# a CNN that reads 384 × 431 magnitude-mel segments (about 5 s) and names one of GTZAN's ten
# genres. Its filters are only meaningful once it has been trained. This notebook trains it
# with the original recipe (Adam 1e-3, batch 32, 30 epochs, learning rate halved when
# validation accuracy stalls, best epoch kept) and saves the weights that notebook 03 and
# `amnst transfer --weights` load.
#
# With `data_dir` empty it trains on a **miniature** of GTZAN synthesised on the spot (same
# layout, ten genres of simple generated tracks), so the notebook runs anywhere: about
# eight minutes on two CPU cores with the defaults. The figures then say only that the
# pipeline works. Point `data_dir` at GTZAN
# (`data/README.md` says how to get it) for a classifier worth using.

# %%
# %matplotlib inline
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

# %% [markdown]
# ## The dataset
#
# Tracks found per genre. Files that cannot be decoded are skipped and listed (the Kaggle
# copy of GTZAN has one, `jazz.00054.wav`); every genre folder must hold some audio.

# %%
dataset = find_tracks(data)
dataset_table(dataset)

# %% [markdown]
# ## A fair split, and the original's leaky one
#
# Each 30 s track gives six 5 s segments, and the classifier learns from segments. The
# original notebook shuffled all **segments** and split them 80/20, so five segments of a
# track could be in training while the sixth was used for validation: the network is
# validated on music it has already heard, and its 0.82 validation accuracy is inflated.
#
# `split = "track"` (the default) splits by **track**, seeded and stratified by genre: all
# six segments of a track are on the same side, so validation measures genres on unseen
# music. `split = "segment"` reproduces the original's leaky split (the model card then
# carries a warning); a CSV of `track_id,subset` rows gives any other split, such as an
# artist-filtered one for GTZAN, which also repeats artists across tracks.

# %% [markdown]
# ## Training
#
# Features are computed once into a cache next to the data (or `~/.cache/amnst` when that
# folder is read-only) and streamed from disk a batch at a time. Keras prints a progress bar
# per epoch; the best epoch by validation accuracy is kept.

# %%
result = train(data, out / "genre_cnn", epochs=epochs, batch_size=batch_size, split=split,
               val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, overwrite=overwrite)

# %% [markdown]
# ## Learning curves
#
# Loss and per-segment accuracy for training (solid) and validation (dashed), with the
# learning rate (grey, right axis). Validation far below training means overfitting; on a
# leaky segment split the two stay suspiciously close.

# %%
plot_learning_curves(result.history)

# %% [markdown]
# ## Accuracy per segment and per track
#
# A segment is one 5 s prediction. A track is classified by a vote of its segments (their
# averaged probabilities), which is how a 30 s clip would be labelled. Chance is 0.10 for
# both.

# %%
accuracy_table(result.card)

# %% [markdown]
# ## Confusion matrix
#
# Rows are the true genres, columns the predicted ones; the diagonal is what was right and
# the cells off it show which genres the network mixes up. The track matrix is shown first,
# then the segment one.

# %%
subset = "test" if "test" in result.card["confusion"] else "val"
acc = result.card["accuracy"][subset]
display(plot_confusion(result.card["confusion"][subset]["track"],
                       title=f"{subset} tracks (vote of segments): accuracy {acc['track_accuracy']:.3f}"))
plot_confusion(result.card["confusion"][subset]["segment"],
               title=f"{subset} segments: accuracy {acc['segment_accuracy']:.3f}")

# %% [markdown]
# ## What was saved
#
# The weights of the best epoch, a model card (settings, split, data fingerprint,
# accuracies, versions), the per-epoch log, the split and the figures above.

# %%
print("weights:   ", result.weights_path)
print("model card:", result.out_dir / CARD_FILE)
for path in sorted(result.out_dir.iterdir()):
    print(f"  {path.name:32s} {path.stat().st_size / 1024:8.1f} KiB")

# %% [markdown]
# ## Using the weights for the style transfer
#
# From the command line, or in notebook 03 by setting its `preset` field to "original" (trained weights are the genre CNN's) and its `weights_file` field to this path.
# Weights trained on the miniature load and run, but only GTZAN-trained ones give the
# transfer meaningful layers.

# %%
print(f"amnst transfer CONTENT.wav STYLE.wav --weights {result.weights_path}")
print(f'notebook 03:  preset = "original"; weights_file = "{result.weights_path}"')
