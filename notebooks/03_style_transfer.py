# ---
# jupyter:
#   amnst:
#     ci_parameters:
#       griffin_lim_iterations: 8
#       iterations_for_nst: 3
#       max_seconds: 3
#       print_frequency: 1
#       segments_to_include: 1
#   colab:
#     name: AM-NST 03 style transfer
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
# # 03 · Style transfer
#
# Pick a piece of music (the **content**) and an ambience recording (the **style**) and make
# audio that keeps the music's notes with the ambience's timbre; then listen and measure.

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
# Parameters: the original Colab form's fields, plus `preset`. The form below starts from
# these values; headless (papermill) they alone drive the run. Fields set to None take the
# preset's value: "default" is this project's settings, chosen on pairs nobody tuned on
# (the random-filter texture network: an equalised start, content pitch + flux, style
# Grams on logmel + wide, level stats on bands + dbbands; 92 steps with a consistency
# projection every 15), "melody" more of the melody and less of the ambience's timbre
# (the default until 30 Nov 2026: content harmony, style bands + wide, 65 steps),
# "original" the original form's values on its genre CNN (layers identity, conv1 /
# conv2, conv4, conv6, conv8; 100 steps).
preset = "default"  # "default", "melody" or "original"
network = None  # None: the preset's; "texture" or "genre_cnn" (its layers then come from that network's preset)
audio_dir = ""  # folder of audio files; empty: the bundled examples (Drive: "/content/drive/MyDrive/...")
content = "mus01_baroque_bach_brandenburg2.wav"  # music: a file name or its number in audio_dir
style = "amb04_stream.wav"  # ambience: a file name or its number
weights_file = ""  # trained genre-CNN weights (.weights.h5 or the original's .npy; needs preset "original"); empty: none
segments_to_include = 5  # 5 s segments to use (0: the whole clip)
content_layers = None  # layer names or indices of the network: texture 0 mel, 1 logmel, 2 bands, 3 wide, 4 detail, 5 harmony, 6 dbbands, 7 linbands, 8 pitch, 9 flux;
style_layers = None  #   genre CNN 0 identity, 2 conv1, 4 conv2, ... 16 conv8 (e.g. ["conv2", "conv4"])
content_weight = None  # None: the preset's (default 3.3, melody 3.3, original 50.0)
style_weight = None  # (default 48.0, melody 4.0, original 10.0)
target_type = None  # content, style, zero, random, mix or equalized (default: equalized; melody, original: content)
iterations_for_nst = None  # (default 92, melody 65, original 100)
initial_learning_rate = None  # 0: the optimiser's default, 0.02 (preset default 0.11, melody 0.085, original 0)
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
output_format = None  # follow: the content's rate and channels; mono22050 (None: the preset's)
out_dir = ""  # where run folders go; empty: outputs/notebook_runs in the repository
run_on_open = True  # run once with these values when the notebook is run top to bottom
ci = False  # True in CI runs: a refused or failed run fails the notebook

# %% [markdown]
# ## How it works
#
# Layers of a feature network compare the two, and a mel spectrogram is optimised to keep
# the content's notes while taking on the style's texture.
#
# The **preset** chooses the network and fills the layers, weights and optimisation fields:
# `default` is this project's tuned settings, a wide layer of random filters (the texture
# network, random by design) that moves the timbre far more than the genre classifier's
# layers do (see `benchmarks/README.md`); `original` is the original Colab form's values on
# its genre CNN, the one to use with trained weights (`weights_file`, from notebook 02).
#
# The form below mirrors the original Colab form (hover over a name for its meaning). Change
# any field and press **Run**: beside the button each phase is named while it runs, then
# players, spectrograms, the loss curve and the quality figures appear under the form,
# replacing the previous result. Run top to bottom (or headless), the notebook makes one
# run with the `parameters` cell's values and shows it in the same place.

# %%
# %matplotlib inline
from amnst_lib.form import DEFAULTS, build_transfer_form
from amnst_lib.notebook_utils import default_output_dir

values = {name: globals()[name] for name in DEFAULTS}
values["out_dir"] = out_dir or str(default_output_dir())
form = build_transfer_form(values=values)
form.widget

# %% [markdown]
# ## One run with the parameters
#
# Its results appear under the form above, where every **Run** replaces them: one place,
# always the current result. Invalid values are reported as a message beside the form (and
# printed here), not as an error.

# %%
result = form.run() if run_on_open else None
if form.message:
    print(form.message)
if ci and result is None:
    raise RuntimeError(f"the run did not complete: {form.message or 'run_on_open is False'}")

# %% [markdown]
# ## Reading the results
#
# **Listen** to the content (the music), the style (the ambience) and the output. A good
# transfer (the original author's criteria): the content's melody and harmony remain, the
# style's timbre and acoustics are present without being merely mixed in, and there is
# little noise.
#
# **Spectrograms and loss**: the output's mel spectrogram should keep the content's
# harmonic lines while its texture (noise floor, bands) moves towards the style's; the
# loss curve shows the optimisation settling. It jumps at the dash-dot lines by design:
# there the target is replaced by the mel of a real signal (a projection; the `default`
# and `melody` presets project every 15 steps, `original` never). It also alternates a
# little from step to step (odd steps measure windows shifted by half a segment).
#
# **Quality figures** are measured on the written audio (see `amnst_lib.metrics`): how much
# of the content's harmony and rhythm survive, how far the timbre moved towards the style,
# whether the output is just a mix of the two (and, beside it, how much of it the music
# alone or the ambience alone explains), and how faithfully the mel spectrogram was turned
# back into sound. Each row says what it measures and which way is better; there is
# no pass or fail: what sounds right depends on the music and the ambience.
