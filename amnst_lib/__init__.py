"""AM-NST: ambience-to-music neural style transfer.

The flow, one module per stage: ``audio`` (files in and out) -> ``spectrum`` (waveform <->
mel) -> ``segments`` (mel <-> 431-frame segments) -> ``model`` (the genre CNN and its
feature layers) -> ``transfer`` (the optimisation) -> ``outputs`` (WAV, pictures,
run.json). ``pipeline`` joins them for one run; ``cli`` is the command line.
"""

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes; on a machine without a GPU
# driver the meaningless cuInit error) hides our own messages in notebooks and the
# terminal; with a driver, real errors still show. A user's own setting wins.
from .device import quiet_tensorflow_logs as _quiet_tensorflow_logs

_quiet_tensorflow_logs()

__version__ = "0.1.0"
