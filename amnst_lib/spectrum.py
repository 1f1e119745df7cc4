"""Waveform <-> mel spectrogram: the analysis at the start and the reconstruction at the end.

The classifier was trained on mel spectrograms of the MAGNITUDE STFT (no dB, no
normalisation), so that is what :func:`mel_spectrogram` computes. Going back,
:func:`mel_to_audio` inverts the mel filterbank (its pseudo-inverse) and recovers a
phase with fast Griffin-Lim (``librosa.griffinlim`` with momentum; librosa's own
``mel_to_audio`` hides the momentum), or, for a style transfer, the same algorithm started
from the content's phase (:func:`stft_phase`), on a fixed-shape STFT pair that equals
librosa's and runs about 3x faster (:class:`FixedSTFT`). :func:`spectral_convergence`
measures how well a waveform matches the magnitude it was made from.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from .config import AnalysisConfig, ReconstructionConfig
from .device import available_cores
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
    or a zero phase, with the transforms of :class:`FixedSTFT` (librosa's own when the hop
    does not divide ``n_fft``). A style transfer keeps the content's harmonics where they were, so
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
    if cfg.n_fft % cfg.hop_length:
        return _griffin_lim_librosa(S, angles, cfg, rcfg, length)
    # Frames x bins from here on (each frame contiguous for the FFTs); one plan for all steps.
    S, angles = np.ascontiguousarray(S.T), np.ascontiguousarray(angles.T)
    plan = FixedSTFT(cfg.n_fft, cfg.hop_length, n_frames, length)
    beta = rcfg.momentum / (1.0 + rcfg.momentum)
    previous = None
    for _ in range(rcfg.n_iter):
        rebuilt = plan.stft(plan.istft_padded(S * angles))
        if previous is None:
            angles = rebuilt.copy()
        else:  # angles = rebuilt - beta * previous, in place
            np.multiply(previous, beta, out=angles)
            np.subtract(rebuilt, angles, out=angles)
        _to_unit(angles)
        previous = rebuilt
    return plan.istft(S * angles)


def _griffin_lim_librosa(S: np.ndarray, angles: np.ndarray, cfg: AnalysisConfig, rcfg: ReconstructionConfig,
                         length: int) -> np.ndarray:
    """:func:`griffin_lim` from ``angles`` with librosa's STFT (for a hop that does not divide n_fft)."""
    n_frames = S.shape[1]
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


def _to_unit(z: np.ndarray) -> None:
    """``z /= |z| + 1e-16`` in place (the same values), as a product by the real reciprocal:
    numpy's complex division by a real array is several times slower."""
    scale = np.abs(z)
    scale += 1e-16
    np.reciprocal(scale, out=scale)
    z *= scale


# --------------------------------------------------------------------------- fixed-shape STFT

_FFT_WORKERS: int | None = None


def set_fft_workers(n: int | None) -> None:
    """Threads each FFT of Griffin-Lim may use; None: every core this process may use.

    A sweep's worker sets it to its TensorFlow threads, so that workers x threads stays the
    machine's cores while a run reconstructs (one thread on a cluster given without them).
    """
    global _FFT_WORKERS
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ParameterError(f"FFT workers must be an integer >= 1 or None, got {n!r}")
    _FFT_WORKERS = None if n is None else int(n)


def fft_workers() -> int:
    """The threads each FFT of Griffin-Lim uses (:func:`set_fft_workers`)."""
    return _FFT_WORKERS if _FFT_WORKERS is not None else available_cores()


class FixedSTFT:
    """librosa's STFT and inverse STFT (Hann window, centred, zero padding) for one shape.

    Griffin-Lim runs the same two transforms a hundred times on the same shapes, so the
    window, the inverse's window-sum normaliser and the frame layout are set up once, the
    FFTs are ``scipy.fft``'s over ``workers`` threads, and the spectra are laid out frames x
    bins (each frame contiguous). The results equal ``librosa.stft`` and ``librosa.istft``
    (``center=True``, ``pad_mode="constant"``) to float32 rounding (``tests/test_spectrum.py``).
    With the phase normalised by a real product (:func:`_to_unit`) this makes Griffin-Lim
    about 3x faster than on librosa's transforms (0.78 s against 2.70 s for 20 s on 2 cores;
    ``benchmarks/README.md``, "Speed and memory").

    Parameters
    ----------
    n_fft, hop : int
        Frame length and hop, samples; ``hop`` must divide ``n_fft``.
    n_frames : int
        Frames of the spectra given to :meth:`istft_padded` and returned by :meth:`stft`.
    length : int
        Samples of the signal between the transforms (``librosa.istft``'s ``length``).
    workers : int or None
        Threads per FFT (None: :func:`fft_workers`).
    """

    def __init__(self, n_fft: int, hop: int, n_frames: int, length: int, workers: int | None = None):
        if n_fft % hop:
            raise ParameterError(f"FixedSTFT needs a hop that divides n_fft, got n_fft {n_fft}, hop {hop}")
        self.n_fft, self.hop, self.n_frames, self.length = n_fft, hop, n_frames, length
        self.workers = workers or fft_workers()
        self.window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        self.pad = n_fft // 2
        # Frames that reach the first `length` samples (as librosa.istft with `length`).
        self.n_used = min(n_frames, int(np.ceil((length + 2 * self.pad) / hop)))
        wss = librosa.filters.window_sumsquare(window="hann", n_frames=self.n_used, hop_length=hop,
                                               n_fft=n_fft, dtype=np.float32)
        self.norm = np.zeros_like(wss)
        ok = wss > librosa.util.tiny(wss)
        self.norm[ok] = 1.0 / wss[ok]

    def istft_padded(self, X: np.ndarray) -> np.ndarray:
        """``librosa.istft`` of ``X.T`` (``length`` samples), zero-padded by ``n_fft // 2`` each side.

        Parameters
        ----------
        X : np.ndarray, shape (n_frames, 1 + n_fft // 2), complex64

        Returns
        -------
        y : np.ndarray, shape (length + 2 * (n_fft // 2),), float32
            What :meth:`stft` frames; ``y[n_fft // 2: n_fft // 2 + length]`` is the signal.
        """
        n, hop, r = self.n_used, self.hop, self.n_fft // self.hop
        frames = scipy.fft.irfft(X[:n], n=self.n_fft, axis=1, workers=self.workers).astype(np.float32, copy=False)
        frames *= self.window
        ola = np.zeros((n + r - 1, hop), dtype=np.float32)  # overlap-add, one hop-block at a time
        blocks = frames.reshape(n, r, hop)
        for j in range(r):
            ola[j:j + n] += blocks[:, j]
        ola = ola.reshape(-1)
        ola *= self.norm[:ola.size]
        y = np.zeros(self.length + 2 * self.pad, dtype=np.float32)
        kept = ola[self.pad:self.pad + self.length]
        y[self.pad:self.pad + kept.size] = kept
        return y

    def istft(self, X: np.ndarray) -> np.ndarray:
        """``librosa.istft(X.T, length=length)``: shape (length,), float32."""
        return self.istft_padded(X)[self.pad:self.pad + self.length].copy()

    def stft(self, y_padded: np.ndarray) -> np.ndarray:
        """``librosa.stft`` of the signal inside ``y_padded``, cut or zero-padded to ``n_frames``.

        Parameters
        ----------
        y_padded : np.ndarray, shape (length + 2 * (n_fft // 2),), float32
            A signal of ``length`` samples with ``n_fft // 2`` zeros each side, as
            :meth:`istft_padded` returns it.

        Returns
        -------
        X : np.ndarray, shape (n_frames, 1 + n_fft // 2), complex64
        """
        frames = np.lib.stride_tricks.sliding_window_view(y_padded, self.n_fft)[::self.hop][:self.n_frames]
        X = scipy.fft.rfft(frames * self.window, axis=1, workers=self.workers)
        if X.shape[0] < self.n_frames:
            X = np.concatenate([X, np.zeros((self.n_frames - X.shape[0], X.shape[1]), X.dtype)])
        return X


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
