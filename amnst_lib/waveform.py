"""The waveform as the optimised target: a differentiable STFT -> magnitude -> mel in TensorFlow.

In the ``design="waveform"`` transfer (:class:`amnst_lib.config.TransferConfig`) the
optimiser moves the output SIGNAL itself, initialised from the content's waveform, and
the feature network sees its mel spectrogram computed here, inside the gradient tape
(Caracalla & Roebel, DAFx 2019, synthesised sound textures this way). Every mel the loss
sees is then the mel of a real signal: no Griffin-Lim at the end, no projections, and the
content's phase and fine pitch survive wherever the loss does not ask to change them.

:func:`tf_mel` reproduces :func:`amnst_lib.spectrum.mel_spectrogram` (librosa: periodic
Hann window, zero ("constant") centre padding of ``n_fft // 2``, Slaney mel filterbank)
frame for frame; :func:`padded_signal` lays a waveform out so that frame ``t`` of the mel
starts at sample ``t * hop_length`` of the padded signal.
"""

from __future__ import annotations

import functools

import numpy as np

from .config import AnalysisConfig

# Added under the square root of |STFT|^2: keeps the gradient finite in digital silence
# (|z| has no derivative at 0); 1e-10 moves a magnitude by at most 1e-5, far below audibility.
_MAG_EPS = 1e-10


@functools.lru_cache(maxsize=8)
def mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(1 + n_fft // 2, n_mels) float32: librosa's Slaney mel filterbank, transposed."""
    from .spectrum import _mel_kwargs, _quiet_empty_filters
    import librosa

    with _quiet_empty_filters():
        basis = librosa.filters.mel(**_mel_kwargs(AnalysisConfig(sr=sr, n_fft=n_fft, n_mels=n_mels)))
    return np.ascontiguousarray(basis.T, dtype=np.float32)


def padded_signal(y: np.ndarray, n_frames: int, analysis: AnalysisConfig = AnalysisConfig()) -> np.ndarray:
    """``y`` with ``n_fft // 2`` zeros in front and zeros behind, to cover ``n_frames`` frames.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
    n_frames : int
        Frames the padded signal must give (at least those of ``y``).

    Returns
    -------
    np.ndarray, shape ((n_frames - 1) * hop_length + n_fft,), float32
        Frame ``t`` of :func:`tf_mel` reads samples ``[t * hop, t * hop + n_fft)``; the
        first ``n_frames_of(y)`` frames equal librosa's (centred, zero-padded) frames.
    """
    half = analysis.n_fft // 2
    length = (n_frames - 1) * analysis.hop_length + analysis.n_fft
    out = np.zeros(max(length, half + len(y)), np.float32)
    out[half:half + len(y)] = y
    return out[:length]


def tf_mel(signal, analysis: AnalysisConfig = AnalysisConfig()):
    """Mel spectrogram of an already padded signal, differentiable (TensorFlow).

    Parameters
    ----------
    signal : tf.Tensor, shape (n_samples,), float32
        Padded as by :func:`padded_signal` (no centring is done here).

    Returns
    -------
    tf.Tensor, shape (n_mels, n_frames)
        ``n_frames = 1 + (n_samples - n_fft) // hop_length``; magnitude (``power`` 1) or
        power mel, as :func:`amnst_lib.spectrum.mel_spectrogram`.
    """
    import tensorflow as tf

    a = analysis
    X = tf.signal.stft(signal, frame_length=a.n_fft, frame_step=a.hop_length, fft_length=a.n_fft,
                       window_fn=tf.signal.hann_window, pad_end=False)
    power = tf.square(tf.math.real(X)) + tf.square(tf.math.imag(X))
    mag = tf.sqrt(power + _MAG_EPS) if a.power == 1.0 else power
    basis = tf.constant(mel_basis(a.sr, a.n_fft, a.n_mels))
    return tf.transpose(tf.linalg.matmul(mag, basis))
