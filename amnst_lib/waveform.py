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


class SignalTarget:
    """What a signal design optimises, and the padded output signal it stands for.

    ``design="waveform"``: the variable IS the padded signal (initialised from the content).
    ``design="gain"``: the variable holds a log-gain per STFT bin and frame, applied to the
    content's own STFT (its phase kept), and a residual signal added to the result::

        signal = keep * (istft(exp(gain) * STFT(content)) + residual_scale * residual)

    so the content's energy can be reshaped multiplicatively (as the mel design does in
    log-mel) and texture can be added where the content is silent; the loss still sees
    the mel of a real signal, so what is written is what was optimised.

    Parameters
    ----------
    content_wave : np.ndarray, shape (n_samples,)
    n_frames : int
        Frames the padded signal covers (the transfer's canvas).
    design : {"waveform", "gain"}
    residual_scale : float
        ``design="gain"``: the residual's step relative to the gain's (one learning rate
        for both; a log-gain step of 0.1 is a 10% change, a sample step of 0.1 is loud).
    """

    def __init__(self, content_wave: np.ndarray, n_frames: int, analysis: AnalysisConfig, design: str,
                 residual_scale: float = 0.1):
        import tensorflow as tf

        self.analysis, self.design, self.residual_scale = analysis, design, residual_scale
        self.n_samples = len(content_wave)
        padded = padded_signal(content_wave, n_frames, analysis)
        self.length = len(padded)
        self.keep = tf.constant(padded_signal(np.ones_like(content_wave), n_frames, analysis))
        if design == "waveform":
            self.initial = padded
        else:
            a = analysis
            self.content_stft = tf.signal.stft(tf.constant(padded), a.n_fft, a.hop_length, a.n_fft,
                                               window_fn=tf.signal.hann_window, pad_end=False)
            self.gain_shape = tuple(int(d) for d in self.content_stft.shape)  # (frames, bins)
            self.initial = np.zeros(self.length + int(np.prod(self.gain_shape)), np.float32)

    def signal(self, var):
        """The padded output signal (tf.Tensor, shape (length,)) that ``var`` stands for."""
        import tensorflow as tf

        if self.design == "waveform":
            return var
        a = self.analysis
        residual = var[:self.length]
        gain = tf.reshape(var[self.length:], self.gain_shape)
        shaped = self.content_stft * tf.complex(tf.exp(gain), tf.zeros_like(gain))
        y = tf.signal.inverse_stft(shaped, a.n_fft, a.hop_length, a.n_fft,
                                   window_fn=tf.signal.inverse_stft_window_fn(a.hop_length))
        y = tf.pad(y, [[0, self.length - tf.shape(y)[0]]])
        return self.keep * (y + self.residual_scale * residual)

    def update_mask(self):
        """0/1 mask of ``var`` entries kept at zero after each update (``waveform``), else None."""
        return self.keep if self.design == "waveform" else None

    def output(self, var) -> np.ndarray:
        """The output signal, shape (n_samples,), float32 (not normalised)."""
        half = self.analysis.n_fft // 2
        return np.asarray(self.signal(var))[half:half + self.n_samples].astype(np.float32)
