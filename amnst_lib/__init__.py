"""AM-NST: ambience-to-music neural style transfer.

The flow, one module per stage: ``audio`` (files in and out) -> ``spectrum`` (waveform <->
mel) -> ``segments`` (mel <-> 431-frame segments) -> ``model`` (the genre CNN and its
feature layers) -> ``transfer`` (the optimisation) -> ``outputs`` (WAV, pictures,
run.json). ``pipeline`` joins them for one run; ``cli`` is the command line.
"""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) hides our own messages in
# notebooks and the terminal; real errors still show. A user's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
