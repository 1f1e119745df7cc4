"""Mel spectrogram <-> fixed-width segments, the classifier's input unit.

The classifier sees 431-frame (5 s) segments. The original dropped the remainder of a
clip and kept only its first five segments; here a clip is covered WHOLE: the last
segment is zero-padded and :func:`stitch_segments` trims the padding off again. A style
clip shorter than the content (or than one segment) is repeated by :func:`tile_frames`.
"""

from __future__ import annotations

import math

import numpy as np


def n_segments(n_frames: int, segment_frames: int = 431) -> int:
    """Number of segments that cover ``n_frames`` frames (the last one padded)."""
    return max(1, math.ceil(n_frames / segment_frames))


def pad_frames(mel: np.ndarray, n_frames: int) -> np.ndarray:
    """Zero-pad (or cut) a mel spectrogram along time to exactly ``n_frames`` frames."""
    have = mel.shape[-1]
    if have >= n_frames:
        return mel[..., :n_frames]
    pad = [(0, 0)] * (mel.ndim - 1) + [(0, n_frames - have)]
    return np.pad(mel, pad)


def split_segments(mel: np.ndarray, segment_frames: int = 431) -> np.ndarray:
    """Cut a mel spectrogram into consecutive segments covering all of it.

    Parameters
    ----------
    mel : np.ndarray, shape (n_mels, n_frames)
    segment_frames : int
        Frames per segment.

    Returns
    -------
    segments : np.ndarray, shape (n_segments, n_mels, segment_frames)
        ``n_segments = ceil(n_frames / segment_frames)``; the last one is zero-padded.
        Pass ``mel.shape[1]`` to :func:`stitch_segments` to undo exactly.
    """
    n_mels, n_frames = mel.shape
    n = n_segments(n_frames, segment_frames)
    padded = pad_frames(mel, n * segment_frames)
    return np.ascontiguousarray(padded.reshape(n_mels, n, segment_frames).transpose(1, 0, 2))


def stitch_segments(segments: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """Join segments back into one mel spectrogram and trim the padding.

    Parameters
    ----------
    segments : np.ndarray, shape (n_segments, n_mels, segment_frames)
    n_frames : int or None
        Length of the original spectrogram; ``None`` keeps all frames.

    Returns
    -------
    mel : np.ndarray, shape (n_mels, n_frames)
    """
    n, n_mels, seg = segments.shape
    mel = segments.transpose(1, 0, 2).reshape(n_mels, n * seg)
    return np.ascontiguousarray(mel if n_frames is None else mel[:, :n_frames])


def tile_frames(mel: np.ndarray, n_frames: int) -> np.ndarray:
    """Repeat a mel spectrogram along time until it is ``n_frames`` long (cut to fit).

    Parameters
    ----------
    mel : np.ndarray, shape (n_mels, m)
    n_frames : int

    Returns
    -------
    tiled : np.ndarray, shape (n_mels, n_frames)
    """
    reps = math.ceil(n_frames / mel.shape[1])
    return np.ascontiguousarray(np.tile(mel, (1, reps))[:, :n_frames])


def to_model_input(segments: np.ndarray) -> np.ndarray:
    """Add the channel axis: (n, n_mels, frames) -> (n, n_mels, frames, 1), float32."""
    return np.asarray(segments, dtype=np.float32)[..., None]
