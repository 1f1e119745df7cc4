"""AM-NST: ambience-to-music neural style transfer.

The flow, one module per stage: ``audio`` (files in and out) -> ``spectrum`` (waveform <->
mel) -> ``segments`` (mel <-> 431-frame segments) -> ``model`` (the genre CNN and its
feature layers) -> ``transfer`` (the optimisation) -> ``outputs`` (WAV, pictures,
run.json). ``pipeline`` joins them for one run; ``cli`` is the command line.
"""

__version__ = "0.1.0"
