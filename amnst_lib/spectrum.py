"""Waveform <-> mel spectrogram: the analysis at the start and the reconstruction at the end.

The classifier was trained on mel spectrograms of the MAGNITUDE STFT (no dB, no
normalisation), so that is what :func:`mel_spectrogram` computes. Going back,
:func:`mel_to_audio` inverts the mel filterbank (its pseudo-inverse) and recovers a
phase with fast Griffin-Lim (``librosa.griffinlim`` with momentum; librosa's own
``mel_to_audio`` hides the momentum), or, for a style transfer, the same algorithm started
from the content's phase (:func:`stft_phase`). :func:`spectral_convergence` measures how well a
waveform matches the magnitude it was made from.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import librosa
import numpy as np

from .config import AnalysisConfig, ReconstructionConfig
from .errors import ParameterError
from .segments import pad_frames


def _mel_kwargs(cfg: AnalysisConfig) -> dict:
    return dict(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels)


@contextlib.contextmanager
def _quiet_empty_filters():
    # 384 Slaney mel bands over a 1024-point FFT (21.5 Hz bins) are narrower than a bin
    # below ~1.1 kHz: 25 of them (every 5th band there) catch no bin and are always zero
    # (the dark lines in the pictures). librosa warns; it is the original's design (the
    # classifier was trained so), not an error in the user's input.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Empty filters detected")
        yield


def mel_band_frequencies(cfg: AnalysisConfig = AnalysisConfig()) -> np.ndarray:
    """Frequency (Hz) by which each mel band is placed: ``librosa.mel_frequencies(n_mels)``.

    Shape (n_mels,), from 0 to ``sr / 2``. These lie below the centres of the mel filters
    of :func:`mel_spectrogram` (``librosa.mel_frequencies(n_mels + 2)[1:-1]``) by up to one
    band where the scale is linear: about a semitone at 131 Hz (C3), half a semitone at
    262 Hz, under 0.1 semitone above 1 kHz. The ``pitch`` and ``harmony`` layers and
    ``style_below_hz`` were measured this way, so it stays (``benchmarks/README.md``,
    session 11).
    """
    return librosa.mel_frequencies(n_mels=cfg.n_mels, fmax=cfg.sr / 2)


def mel_spectrogram(y: np.ndarray, cfg: AnalysisConfig = AnalysisConfig()) -> np.ndarray:
    """Mel spectrogram of a waveform, as the classifier expects it.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono waveform at ``cfg.sr`` Hz.
    cfg : AnalysisConfig
        Analysis settings (``cfg.power`` 1.0 gives the magnitude mel).

    Returns
    -------
    mel : np.ndarray, shape (n_mels, n_frames), float32
        Non-negative mel spectrogram, ``n_frames = 1 + n_samples // hop_length``.
    """
    with _quiet_empty_filters():
        mel = librosa.feature.melspectrogram(
            y=np.asarray(y, dtype=np.float32), hop_length=cfg.hop_length, power=cfg.power,
            **_mel_kwargs(cfg))
    return mel.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _mel_pinv(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    with _quiet_empty_filters():
        basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    # Singular values under 1e-3 of the largest are cut: some analyses (n_fft 2048 with 384
    # bands: 4e-5) have near-degenerate bands whose inverse would blow a slightly
    # inconsistent mel (any optimised one) up by 10^4; n_fft 512-4096 otherwise have none
    # under 0.05, so their inverse is unchanged.
    return np.linalg.pinv(basis, rcond=1e-3).astype(np.float32)


def mel_to_stft(mel: np.ndarray, cfg: AnalysisConfig = AnalysisConfig()) -> np.ndarray:
    """Invert the mel filterbank: linear-frequency magnitude from a mel spectrogram.

    The filterbank's pseudo-inverse, clipped at zero. With 384 bands over 513 bins this is
    as accurate as librosa's non-negative least squares (relative error 0.0951 for both
    on the bundled Bach clip) and about 30 times faster, which matters on long tracks.

    Parameters
    ----------
    mel : np.ndarray, shape (n_mels, n_frames)
        Non-negative mel spectrogram made with ``cfg``.

    Returns
    -------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), float32
        Non-negative linear magnitude.
    """
    pinv = _mel_pinv(cfg.sr, cfg.n_fft, mel.shape[0])
    mel = np.maximum(np.asarray(mel, dtype=np.float32), 0.0)
    S = np.maximum(pinv @ mel, 0.0)
    # A power mel (cfg.power 2) inverts to a power spectrum: take the root for magnitude.
    return S if cfg.power == 1.0 else S ** (1.0 / cfg.power)


def stft_phase(y: np.ndarray, cfg: AnalysisConfig = AnalysisConfig(), seed: int = 0) -> np.ndarray:
    """Unit-modulus phase of a waveform's STFT, to start Griffin-Lim from.

    Bins where the waveform has no energy (digital silence) have no phase; they get a
    seeded random one, so Griffin-Lim can grow a signal there.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
    seed : int
        Seed of the random phase of empty bins.

    Returns
    -------
    phase : np.ndarray, shape (1 + n_fft // 2, n_frames), complex64
        ``exp(1j * angle)``, with the frames of :func:`mel_spectrogram`.
    """
    X = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=cfg.n_fft, hop_length=cfg.hop_length)
    return unit_phase(X, seed)


def unit_phase(X: np.ndarray, seed: int = 0) -> np.ndarray:
    """``X / |X|`` of a complex STFT, with a seeded random phase where ``X`` is empty (complex64)."""
    mag = np.abs(X)
    empty = mag <= 1e-10 * max(float(mag.max()), 1e-30)
    phase = X / np.maximum(mag, 1e-30)
    if empty.any():
        rng = np.random.default_rng(seed)
        phase[empty] = np.exp(2j * np.pi * rng.random(int(empty.sum())))
    return phase.astype(np.complex64)


def griffinlim_seed(seed: int) -> dict:
    """``librosa.griffinlim``'s seed keyword for the installed librosa.

    librosa 1.0 renamed ``random_state`` to ``rng`` (the old name warns, and goes in 1.2);
    0.10 and 0.11 know only ``random_state``. Both take an integer seed.
    """
    name = "rng" if "rng" in inspect.signature(librosa.griffinlim).parameters else "random_state"
    return {name: seed}


def griffin_lim(S: np.ndarray, cfg: AnalysisConfig = AnalysisConfig(),
                rcfg: ReconstructionConfig = ReconstructionConfig(),
                length: int | None = None, init_phase: np.ndarray | None = None) -> np.ndarray:
    """Waveform whose STFT magnitude approximates ``S`` (fast Griffin-Lim).

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Linear magnitude spectrogram.
    length : int or None
        Length of the returned waveform in samples.
    init_phase : np.ndarray, shape (1 + n_fft // 2, n_frames'), complex, optional
        Starting phase (unit modulus, e.g. :func:`stft_phase` of the content); frames past
        its end get a seeded random phase. None starts from a random phase, as
        ``librosa.griffinlim`` does.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32

    Notes
    -----
    With ``init_phase`` this runs the same fast Griffin-Lim as ``librosa.griffinlim``
    (Perraudin et al. 2013, momentum ``rcfg.momentum``), which only starts from a random
    or a zero phase. A style transfer keeps the content's harmonics where they were, so
    starting from the content's phase keeps their exact pitch: the 1024-point STFT's
    21.5 Hz bins cannot resolve low notes, but the phase's advance from frame to frame
    does (chroma kept rose from 0.87 to 0.92 at equal style; ``benchmarks/README.md``).
    """
    if init_phase is None:
        y = librosa.griffinlim(S, n_iter=rcfg.n_iter, hop_length=cfg.hop_length, n_fft=cfg.n_fft,
                               momentum=rcfg.momentum, init="random", **griffinlim_seed(rcfg.seed),
                               length=length)
        return y.astype(np.float32)
    S = np.asarray(S, dtype=np.float32)
    n_frames = S.shape[1]
    if init_phase.shape[0] != S.shape[0]:
        raise ParameterError(f"init_phase has {init_phase.shape[0]} frequency bins, S has {S.shape[0]}: "
                             f"make both with the same n_fft")
    angles = np.empty(S.shape, dtype=np.complex64)
    k = min(n_frames, init_phase.shape[1])
    angles[:, :k] = init_phase[:, :k]
    if k < n_frames:
        rng = np.random.default_rng(rcfg.seed)
        angles[:, k:] = np.exp(2j * np.pi * rng.random((S.shape[0], n_frames - k)))
    if length is None:
        length = (n_frames - 1) * cfg.hop_length
    stft = functools.partial(librosa.stft, n_fft=cfg.n_fft, hop_length=cfg.hop_length)
    istft = functools.partial(librosa.istft, n_fft=cfg.n_fft, hop_length=cfg.hop_length, length=length)
    beta = rcfg.momentum / (1.0 + rcfg.momentum)
    previous = 0.0
    for _ in range(rcfg.n_iter):
        rebuilt = pad_frames(stft(istft(S * angles)), n_frames)
        angles = rebuilt - beta * previous
        angles /= np.abs(angles) + 1e-16
        previous = rebuilt
    return istft(S * angles).astype(np.float32)


def mel_to_audio(mel: np.ndarray, cfg: AnalysisConfig = AnalysisConfig(),
                 rcfg: ReconstructionConfig = ReconstructionConfig(),
                 length: int | None = None, init_phase: np.ndarray | None = None) -> np.ndarray:
    """Waveform from a mel spectrogram: filterbank pseudo-inverse, then fast Griffin-Lim.

    Parameters
    ----------
    mel : np.ndarray, shape (n_mels, n_frames)
    length : int or None
        Output length in samples (default ``(n_frames - 1) * hop_length``).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
    """
    return griffin_lim(mel_to_stft(mel, cfg), cfg, rcfg, length=length, init_phase=init_phase)


def spectral_convergence(S: np.ndarray, y: np.ndarray, cfg: AnalysisConfig = AnalysisConfig()) -> float:
    """Spectral convergence ``||S - |STFT(y)| ||_F / ||S||_F`` (lower is better, 0 = exact).

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Target linear magnitude.
    y : np.ndarray, shape (n_samples,)
        Waveform to compare.
    """
    X = np.abs(librosa.stft(np.asarray(y, dtype=np.float32), n_fft=cfg.n_fft, hop_length=cfg.hop_length))
    n = min(X.shape[1], S.shape[1])
    return float(np.linalg.norm(S[:, :n] - X[:, :n]) / max(np.linalg.norm(S[:, :n]), 1e-12))


def mel_spectral_convergence(mel: np.ndarray, y: np.ndarray, cfg: AnalysisConfig = AnalysisConfig()) -> float:
    """Spectral convergence measured on mel spectrograms: ``||M - mel(y)|| / ||M||``.

    This is how far the written waveform is from the mel spectrogram it was made from,
    the end-to-end figure for a style-transfer output (lower is better).
    """
    M = mel_spectrogram(y, cfg)
    n = min(M.shape[1], mel.shape[1])
    return float(np.linalg.norm(mel[:, :n] - M[:, :n]) / max(np.linalg.norm(mel[:, :n]), 1e-12))
