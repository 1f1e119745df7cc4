"""Argument types for the command line: a bad value becomes one line naming the flag.

Each function takes the text of one argument and returns its value, or raises
``argparse.ArgumentTypeError`` (argparse then reports ``argument --flag: <message>``).
They live outside ``cli`` so that domain modules that define their own subcommand
arguments (``metrics``: ``amnst evaluate``) can use them without importing ``cli``.
"""

from __future__ import annotations

import argparse
import math


def seed(text: str) -> int:
    """A random seed: an integer in 0..2**32-1 (NumPy's and TensorFlow's range)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be a whole number in 0..{2 ** 32 - 1}, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds: a finite number > 0 (``nan``, ``inf`` and negatives refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


#: Lowest analysis rate ``amnst evaluate`` accepts: its chroma analysis reaches B7 (3951 Hz).
MIN_SAMPLE_RATE = 8000


def sample_rate(text: str) -> int:
    """A sample rate in Hz: a whole number >= :data:`MIN_SAMPLE_RATE`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of Hz, got {text!r}") from None
    if value < MIN_SAMPLE_RATE:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_SAMPLE_RATE} Hz (the chroma analysis reaches 3951 Hz), got {text!r}")
    return value
