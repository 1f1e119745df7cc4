"""Transfer quality as numbers: the original author's three criteria, measured on waveforms.

The last stage of the flow. The original judged its outputs by ear; its author wanted a
good transfer to (1) keep the melody and harmony of the content, (2) carry the timbre and
acoustics of the style, not as a mere superposition of the two, and (3) add little noise.
:func:`evaluate` turns each criterion into figures computed from the three waveforms
(output, content, style) with librosa, numpy and scipy only, so they need no downloaded
model and cannot be gamed by the transfer's own loss:

- content kept: chroma similarity (harmony) and onset-envelope correlation (rhythm);
- style taken on: how much of the content-to-style distance the output closed, in MFCC
  statistics (timbre) and in the Gram matrices of a fixed random network that is not the
  transfer's network (texture);
- not a mere superposition: the share of the output's magnitude spectrogram that the best
  non-negative mix ``a |content| + b |style|`` explains, beside the shares that each input
  alone explains (is a high share the music kept as it was, or the ambience?);
- little noise: spectral flatness relative to the noisier input, and, when the optimised
  mel is at hand, how far the written waveform is from it (spectral convergence).

Lengths: frame-by-frame comparisons (chroma, onsets, superposition) use the first
``n = min(len(output), len(content))`` samples, with the style tiled (as the transfer
tiles it) or cut to ``n``; statistics (MFCC, Gram, flatness) use each clip whole.
``METRIC_INFO`` says for each figure its range, which direction is better and the target
from issue 6 (a development target for our benchmarks, not a verdict on anyone's audio);
:func:`quality_rows` gives each figure with what it measures and which way is better,
:func:`format_table` prints those rows.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import NamedTuple

import librosa
import numpy as np

from .audio import load_audio
from .config import AnalysisConfig
from .errors import ParameterError
from .spectrum import mel_spectral_convergence, mel_spectrogram

# Our own analysis settings, deliberately unlike the transfer's (1024/256, 384 mels), so
# that a metric does not simply read back what the transfer optimised.
N_FFT = 2048
HOP_LENGTH = 512
N_MFCC = 20
GRAM_N_MELS = 128
GRAM_N_FILTERS = 256
GRAM_WIDTH = 7
GRAM_SEED = 20240606
#: Waveforms are scaled to this RMS before the random network: log(1 + mel) is not
#: gain-invariant, and a written output's level (peak-normalised) says nothing about style.
GRAM_RMS = 0.1
#: Frames quieter than this (dB below the clip's loudest frame) are left out of averages:
#: digital silence has an undefined chroma and a flatness of 1.
SILENT_FRAME_DB = 60.0

#: Shortest waveform measured: enough frames for one window of the random network.
MIN_SAMPLES = max(N_FFT, (GRAM_WIDTH - 1) * HOP_LENGTH + 1)

_EPS = 1e-12


class MetricInfo(NamedTuple):
    """How to read one figure of :func:`evaluate`."""

    label: str
    better: str  # "higher" or "lower"
    description: str
    target: float | None


METRIC_INFO: dict[str, MetricInfo] = {
    "chroma_similarity": MetricInfo(
        "chroma similarity", "higher",
        "harmony kept: mean frame-wise cosine of CQT chroma, output vs content (0..1)", 0.90),
    "chroma_floor": MetricInfo(
        "chroma floor", "lower",
        "reference: the same cosine for style vs content, what 'no harmony kept' scores (0..1)", None),
    "onset_correlation": MetricInfo(
        "onset correlation", "higher",
        "rhythm kept: Pearson r of onset-strength envelopes, output vs content (-1..1)", None),
    "mfcc_gap_closed": MetricInfo(
        "MFCC gap closed", "higher",
        "timbre taken on: share of the content->style distance in MFCC mean/std closed (<=1)", 0.80),
    "random_gram_gap_closed": MetricInfo(
        "random-Gram gap closed", "higher",
        "texture taken on: same, for Gram matrices of a fixed random conv net on log-mel (<=1)", 0.75),
    "superposition": MetricInfo(
        "superposition", "lower",
        "share of output |STFT| explained by a|content| + b|style| (0..1; plain mix ~1)", 0.60),
    "superposition_music": MetricInfo(
        "superposition: music alone", "lower",
        "reference: the same with a|content| only, how much of the output is the music as it was (0..1)", None),
    "superposition_ambience": MetricInfo(
        "superposition: ambience alone", "lower",
        "reference: the same with b|style| only (0..1; another stretch of a steady noise scores ~0.6)", None),
    "flatness_ratio": MetricInfo(
        "flatness ratio", "lower",
        "noise: spectral flatness of output / that of the noisier input (>=0; 1 = as noisy)", 1.5),
    "reconstruction_sc": MetricInfo(
        "reconstruction SC", "lower",
        "mel of the waveform vs the optimised mel, gain-matched spectral convergence (>=0)", 0.10),
}

METRIC_KEYS = tuple(METRIC_INFO)

#: Figures a run adds to :func:`evaluate`'s (``pipeline.run_transfer``: the error of the
#: reconstruction on the linear-frequency STFT).
EXTRA_INFO: dict[str, MetricInfo] = {
    "reconstruction_sc_linear": MetricInfo(
        "reconstruction SC (linear)", "lower",
        "STFT magnitude the optimised mel maps to vs that of the written audio, spectral convergence (>=0)", None),
}

#: Figures shown as a reference, with no "better": what the inputs score (``chroma_floor``),
#: or the parts that explain another figure (the superposition's). Their ``better`` in
#: ``METRIC_INFO`` is nominal; no table or benchmark ranks by them.
REFERENCE_KEYS = frozenset({"chroma_floor", "superposition_music", "superposition_ambience"})


# --------------------------------------------------------------------------- helpers

def _as_wave(y, name: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"{name} must be a 1-D mono waveform, got shape {y.shape}")
    if y.size < MIN_SAMPLES:
        raise ParameterError(f"{name} has {y.size} samples; at least {MIN_SAMPLES} "
                             f"(0.15 s at 22050 Hz) are needed to measure it")
    if not np.all(np.isfinite(y)):
        raise ParameterError(f"{name} contains NaN or infinite samples")
    return y


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Cut ``y`` to ``n`` samples, or repeat it whole until it is ``n`` long."""
    if len(y) >= n:
        return y[:n]
    return np.tile(y, int(np.ceil(n / len(y))))[:n]


def align_lengths(output, content, style) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bring three waveforms to one length for frame-by-frame comparison.

    Parameters
    ----------
    output, content, style : np.ndarray, shape (n_samples,)
        Waveforms at one sample rate, of any lengths.

    Returns
    -------
    output, content, style : np.ndarray, shape (n,)
        ``n = min(len(output), len(content))``: output and content are cut to ``n``; the
        style is cut to ``n`` or, if shorter, tiled to ``n`` (as the transfer tiles it).
    """
    output, content, style = (_as_wave(v, k) for v, k in
                              ((output, "output"), (content, "content"), (style, "style")))
    n = min(len(output), len(content))
    return output[:n], content[:n], _fit_length(style, n)


def _loud_frames(y: np.ndarray, n_frames: int, hop_length: int) -> np.ndarray:
    """Boolean mask, shape (n_frames,): frames within SILENT_FRAME_DB of the loudest."""
    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=hop_length)[0]
    rms = _fit_length(rms, n_frames) if len(rms) else np.zeros(n_frames)
    return rms > rms.max() * 10 ** (-SILENT_FRAME_DB / 20) if rms.max() > 0 else np.zeros(n_frames, bool)


def gap_closed(output_features, content_features, style_features) -> float:
    """Share of the content-to-style distance that the output has closed.

    ``1 - ||output - style|| / ||content - style||`` (Euclidean / Frobenius norm).

    Parameters
    ----------
    output_features, content_features, style_features : array_like, same shape
        Any features of the three clips (statistics vectors, Gram matrices).

    Returns
    -------
    float
        1 = the output's features equal the style's; 0 = no closer to the style than the
        content is; negative = further away than the content. Higher is better. NaN if the
        content's features already equal the style's (there is no gap to close).
    """
    o, c, s = (np.asarray(v, dtype=np.float64) for v in (output_features, content_features, style_features))
    gap = np.linalg.norm(c - s)
    if gap <= _EPS:
        return float("nan")
    return float(1.0 - np.linalg.norm(o - s) / gap)


# --------------------------------------------------------------------------- content kept

def chroma_features(y, sr: int = 22050) -> np.ndarray:
    """CQT chromagram.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
    sr : int
        Sample rate in Hz.

    Returns
    -------
    chroma : np.ndarray, shape (12, n_frames)
        Pitch classes C, C#, ..., B (row 9 is A), each frame scaled to a maximum of 1;
        hop ``HOP_LENGTH`` samples.
    """
    with warnings.catch_warnings():
        # The CQT's tuning estimate runs a 1024-point STFT on its most downsampled octave;
        # on short clips librosa warns that the window exceeds the signal. Harmless here.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large for input signal")
        return librosa.feature.chroma_cqt(y=_as_wave(y), sr=sr, hop_length=HOP_LENGTH)


def chroma_similarity(a, b, sr: int = 22050) -> float:
    """Harmony shared by two clips: mean frame-wise cosine similarity of their chroma.

    Parameters
    ----------
    a, b : np.ndarray, shape (n_samples,)
        Waveforms at ``sr`` Hz; compared over the shorter length.

    Returns
    -------
    float in [0, 1]
        1 = the same pitch classes in the same proportions in every frame. Higher means
        more of ``b``'s harmony is in ``a``. Frames silent in either clip are left out.
    """
    a, b = _as_wave(a, "a"), _as_wave(b, "b")
    n = min(len(a), len(b))
    return _chroma_cosine(_chroma_frames(a[:n], sr), _chroma_frames(b[:n], sr))


def _chroma_frames(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Chroma (12, frames) of ``y`` and which of its frames are loud enough to compare."""
    c = chroma_features(y, sr)
    return c, _loud_frames(y, c.shape[1], HOP_LENGTH)


def _chroma_cosine(fa, fb) -> float:
    """Mean cosine similarity over frames loud and non-empty in both (see chroma_similarity)."""
    (ca, la), (cb, lb) = fa, fb
    t = min(ca.shape[1], cb.shape[1])
    ca, cb = ca[:, :t], cb[:, :t]
    na, nb = np.linalg.norm(ca, axis=0), np.linalg.norm(cb, axis=0)
    keep = (na > _EPS) & (nb > _EPS) & la[:t] & lb[:t]
    if not keep.any():
        return 0.0
    cos = np.sum(ca[:, keep] * cb[:, keep], axis=0) / (na[keep] * nb[keep])
    return float(np.mean(cos))


def onset_correlation(a, b, sr: int = 22050) -> float:
    """Rhythm shared by two clips: Pearson correlation of their onset-strength envelopes.

    Parameters
    ----------
    a, b : np.ndarray, shape (n_samples,)
        Waveforms at ``sr`` Hz; compared over the shorter length.

    Returns
    -------
    float in [-1, 1]
        1 = onsets at the same times with proportional strengths; ~0 = unrelated. Higher
        is better. 0 if either envelope is constant.
    """
    a, b = _as_wave(a, "a"), _as_wave(b, "b")
    n = min(len(a), len(b))
    ea = librosa.onset.onset_strength(y=a[:n], sr=sr, hop_length=HOP_LENGTH)
    eb = librosa.onset.onset_strength(y=b[:n], sr=sr, hop_length=HOP_LENGTH)
    t = min(len(ea), len(eb))
    ea, eb = ea[:t] - ea[:t].mean(), eb[:t] - eb[:t].mean()
    denom = np.linalg.norm(ea) * np.linalg.norm(eb)
    return float(np.dot(ea, eb) / denom) if denom > _EPS else 0.0


# --------------------------------------------------------------------------- style taken on

def mfcc_stats(y, sr: int = 22050, n_mfcc: int = N_MFCC) -> np.ndarray:
    """Timbre summary: mean and standard deviation over frames of MFCCs 1..n_mfcc-1.

    The 0th coefficient (overall loudness) is left out so the figure does not depend on
    level.

    Returns
    -------
    stats : np.ndarray, shape (2 * (n_mfcc - 1),), float64
        Means of coefficients 1..n_mfcc-1, then their standard deviations (dB-like units).
    """
    y = _as_wave(y)
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, n_fft=N_FFT, hop_length=HOP_LENGTH)[1:]
    keep = _loud_frames(y, m.shape[1], HOP_LENGTH)
    if keep.sum() >= 2:
        m = m[:, keep]
    return np.concatenate([m.mean(axis=1), m.std(axis=1)]).astype(np.float64)


@functools.lru_cache(maxsize=4)
def _random_filters(seed: int, n_mels: int, width: int, n_filters: int) -> np.ndarray:
    """Fixed random conv filters as a matrix, shape (width * n_mels, n_filters), float32."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((width * n_mels, n_filters)) / np.sqrt(width * n_mels)
    w = w.astype(np.float32)
    w.flags.writeable = False
    return w


def random_gram(y, sr: int = 22050, seed: int = GRAM_SEED, *, n_filters: int = GRAM_N_FILTERS,
                width: int = GRAM_WIDTH, n_mels: int = GRAM_N_MELS,
                chunk_frames: int = 4096) -> np.ndarray:
    """Normalised Gram matrix of a fixed random 1-D conv layer over log-mel frames.

    Texture statistics in the manner of Ulyanov & Lebedev (random, untrained filters),
    from a network that has nothing to do with the transfer's, so the transfer's loss
    cannot have optimised it. The waveform is scaled to RMS ``GRAM_RMS``, analysed as
    ``log(1 + mel)`` (``n_mels`` bands, n_fft 2048, hop 512), convolved over time with
    ``n_filters`` filters of ``width`` frames spanning all bands (valid padding), passed
    through a ReLU, and ``G = F^T F / n_frames`` is divided by its Frobenius norm.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
    sr : int
        Sample rate in Hz.
    seed : int
        Seed of the filter bank; keep the default to compare figures across runs.
    chunk_frames : int
        Frames per matrix product; bounds memory on long clips.

    Returns
    -------
    gram : np.ndarray, shape (n_filters, n_filters), float64
        Symmetric, non-negative, Frobenius norm 1.
    """
    y = _as_wave(y)
    y = y * (GRAM_RMS / max(float(np.sqrt(np.mean(y.astype(np.float64) ** 2))), _EPS))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH,
                                         n_mels=n_mels, power=1.0)
    x = np.log1p(mel).T.astype(np.float32)  # (n_frames, n_mels)
    if x.shape[0] < width:
        raise ParameterError(f"clip too short for the random network: {x.shape[0]} frames < {width}")
    w = _random_filters(seed, n_mels, width, n_filters)
    # The convolution is one matrix product over all (frame, lag) windows; windows are
    # views, made contiguous one chunk at a time so a 3-minute clip stays small.
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=0)  # (T, n_mels, width)
    windows = windows.transpose(0, 2, 1)  # (T, width, n_mels), matches w's row order
    n = windows.shape[0]
    gram = np.zeros((n_filters, n_filters), dtype=np.float64)
    for start in range(0, n, chunk_frames):
        block = np.ascontiguousarray(windows[start:start + chunk_frames]).reshape(-1, width * n_mels)
        f = np.maximum(block @ w, 0.0)
        gram += (f.T @ f).astype(np.float64)
    gram /= n
    return gram / max(np.linalg.norm(gram), _EPS)


# --------------------------------------------------------------------------- superposition

def _magnitude(y: np.ndarray) -> np.ndarray:
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)).astype(np.float32)


def _nonnegative_lstsq_2(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """argmin_{x >= 0} ||A x - o||^2 from the normal equations ``gram = A^T A``, ``rhs = A^T o``."""
    candidates = [np.zeros(2)]
    for i in range(2):  # one column alone
        if gram[i, i] > _EPS:
            x = np.zeros(2)
            x[i] = max(rhs[i] / gram[i, i], 0.0)
            candidates.append(x)
    if abs(np.linalg.det(gram)) > _EPS * max(gram[0, 0] * gram[1, 1], _EPS):
        x = np.linalg.solve(gram, rhs)
        if np.all(x >= 0):
            candidates.append(x)
    # The residual ||o||^2 - 2 x.rhs + x^T gram x; ||o||^2 is common to all candidates.
    return min(candidates, key=lambda x: float(x @ gram @ x - 2 * x @ rhs))


def one_column_share(output_mag: np.ndarray, other_mag: np.ndarray) -> float:
    """How much of a magnitude spectrogram one scaled other explains.

    Parameters
    ----------
    output_mag, other_mag : np.ndarray, same shape
        Magnitudes (any shape; compared element by element).

    Returns
    -------
    float in [0, 1]
        ``1 - min_{a >= 0} ||o - a x||^2 / ||o||^2``: the squared cosine of the two when it
        is positive, else 0 (also for a silent ``o`` or ``x``). The one-column form of
        :func:`superposition_share`.
    """
    o = np.asarray(output_mag, dtype=np.float64).ravel()
    x = np.asarray(other_mag, dtype=np.float64).ravel()
    oo, xx, ox = float(o @ o), float(x @ x), float(o @ x)
    if oo <= _EPS or xx <= _EPS or ox <= 0.0:
        return 0.0
    return min(ox * ox / (oo * xx), 1.0)


def superposition_fits(output, content, style) -> tuple[float, float, float]:
    """:func:`superposition_share` and the same fit with each input alone.

    Parameters
    ----------
    output, content, style : np.ndarray, shape (n_samples,)
        Mono waveforms at one sample rate, any lengths (:func:`align_lengths`).

    Returns
    -------
    share, music, ambience : float in [0, 1]
        The share ``a |content| + b |style|`` explains; the share ``a |content|`` alone
        explains; the share ``b |style|`` alone explains (:func:`one_column_share`). The
        first is at least the larger of the other two. One set of magnitude STFTs serves all three.
    """
    output, content, style = align_lengths(output, content, style)
    return magnitude_fits(*(_magnitude(v) for v in (output, content, style)))


def magnitude_fits(output_mag: np.ndarray, content_mag: np.ndarray,
                   style_mag: np.ndarray) -> tuple[float, float, float]:
    """:func:`superposition_fits` on magnitudes already computed (any one shape for all three)."""
    o, c, s = (np.asarray(v, dtype=np.float64).ravel() for v in (output_mag, content_mag, style_mag))
    oo = float(o @ o)
    if oo <= _EPS:
        return 0.0, 0.0, 0.0
    gram = np.array([[c @ c, c @ s], [c @ s, s @ s]])
    rhs = np.array([c @ o, s @ o])
    x = _nonnegative_lstsq_2(gram, rhs)
    residual = oo - 2 * float(x @ rhs) + float(x @ gram @ x)
    return float(np.clip(1.0 - residual / oo, 0.0, 1.0)), one_column_share(o, c), one_column_share(o, s)


def superposition_share(output, content, style, sr: int = 22050) -> float:
    """How much of the output is just a mix of the inputs.

    The best non-negative ``a``, ``b`` (one pair for the whole clip) fitting
    ``|output| ~ a |content| + b |style|`` on magnitude STFTs (n_fft 2048, hop 512), solved
    exactly from the 2x2 normal equations (the same answer as ``scipy.optimize.nnls`` on
    the flattened magnitudes, without building the two-column matrix). Lengths are aligned
    with :func:`align_lengths`.

    Returns
    -------
    float in [0, 1]
        ``1 - ||residual||^2 / ||output||^2``. A plain mix scores near 1 (and so does an
        unchanged content); lower means the output is something other than a mix of the
        two. Lower is better.
    """
    del sr  # the STFT does not depend on it; kept for a uniform signature
    return superposition_fits(output, content, style)[0]


# --------------------------------------------------------------------------- noise

def spectral_flatness(y, sr: int = 22050) -> float:
    """Mean spectral flatness (Wiener entropy) over the clip's non-silent frames.

    Returns
    -------
    float in [0, 1]
        Geometric over arithmetic mean of each frame's power spectrum, averaged over
        frames: ~0 for a pure tone; 0.56 for white noise (not 1: one frame's noise power
        per bin is exponentially distributed, and its geometric mean is e^-0.577 of its
        arithmetic mean); 1 only for a perfectly flat spectrum. Silent frames (which would
        read as 1) are left out. Lower = more tonal.
    """
    del sr
    y = _as_wave(y)
    flat = librosa.feature.spectral_flatness(y=y, n_fft=N_FFT, hop_length=HOP_LENGTH)[0]
    keep = _loud_frames(y, len(flat), HOP_LENGTH)
    return float(np.mean(flat[keep])) if keep.any() else 1.0


def flatness_ratio(output, content, style, sr: int = 22050) -> float:
    """Noise added: output's spectral flatness over the larger of the inputs' (whole clips).

    Returns
    -------
    float >= 0
        ~1 = no noisier than the noisier input; above 1 = the output is noisier than
        either input. Lower is better.
    """
    reference = max(spectral_flatness(content, sr), spectral_flatness(style, sr))
    return float(spectral_flatness(output, sr) / max(reference, _EPS))


def reconstruction_convergence(optimised_mel, y, analysis: AnalysisConfig = AnalysisConfig()) -> float:
    """How far the written waveform is from the mel spectrogram it was made from.

    :func:`amnst_lib.spectrum.mel_spectral_convergence` after matching the waveform's gain
    to the mel (a written WAV is peak-normalised, which says nothing about its quality).

    Parameters
    ----------
    optimised_mel : np.ndarray, shape (n_mels, n_frames)
        The transfer's result, in ``analysis``'s mel scale and power.
    y : np.ndarray, shape (n_samples,)
        The reconstructed waveform at ``analysis.sr``.

    Returns
    -------
    float >= 0
        ``||M - mel(g y)|| / ||M||`` with the best gain g; 0 = exact. Lower is better.
    """
    mel = np.asarray(optimised_mel, dtype=np.float64)
    y = _as_wave(y, "output")
    m = mel_spectrogram(y, analysis).astype(np.float64)
    n = min(m.shape[1], mel.shape[1])
    mm = float(np.sum(m[:, :n] ** 2))
    gain = float(np.sum(mel[:, :n] * m[:, :n]) / mm) if mm > _EPS else 1.0
    # mel(g y) = g**power mel(y)
    y_scaled = y * max(gain, _EPS) ** (1.0 / analysis.power)
    return mel_spectral_convergence(mel.astype(np.float32), y_scaled, analysis)


# --------------------------------------------------------------------------- all together

def evaluate(output, content, style, sr: int = 22050, *, optimised_mel=None,
             analysis: AnalysisConfig | None = None) -> dict:
    """All transfer-quality figures for one output.

    Parameters
    ----------
    output, content, style : np.ndarray, shape (n_samples,)
        Mono waveforms at ``sr`` Hz, any lengths (see :func:`align_lengths`).
    sr : int
        Sample rate in Hz.
    optimised_mel : np.ndarray, shape (n_mels, n_frames), optional
        The mel spectrogram the output was reconstructed from; enables
        ``reconstruction_sc``.
    analysis : AnalysisConfig, optional
        The analysis ``optimised_mel`` was made with (default: ``AnalysisConfig(sr=sr)``).

    Returns
    -------
    dict
        Keys ``METRIC_KEYS``: chroma_similarity, chroma_floor, onset_correlation,
        mfcc_gap_closed, random_gram_gap_closed, superposition, superposition_music,
        superposition_ambience, flatness_ratio (floats)
        and reconstruction_sc (float, or None without ``optimised_mel``). See
        ``METRIC_INFO`` for ranges, directions and targets.
    """
    if analysis is None:
        analysis = AnalysisConfig(sr=sr)
    elif analysis.sr != sr:
        raise ParameterError(f"analysis.sr ({analysis.sr}) differs from sr ({sr})")
    output, content, style = (_as_wave(v, k) for v, k in
                              ((output, "output"), (content, "content"), (style, "style")))
    o_al, c_al, s_al = align_lengths(output, content, style)
    mfcc = [mfcc_stats(v, sr) for v in (output, content, style)]
    gram = [random_gram(v, sr) for v in (output, content, style)]
    # The aligned clips have one length: the content's chroma serves both comparisons.
    chroma = {k: _chroma_frames(v, sr) for k, v in (("o", o_al), ("c", c_al), ("s", s_al))}
    share, share_music, share_ambience = superposition_fits(o_al, c_al, s_al)
    return {
        "chroma_similarity": _chroma_cosine(chroma["o"], chroma["c"]),
        "chroma_floor": _chroma_cosine(chroma["s"], chroma["c"]),
        "onset_correlation": onset_correlation(o_al, c_al, sr),
        "mfcc_gap_closed": gap_closed(*mfcc),
        "random_gram_gap_closed": gap_closed(*gram),
        "superposition": share,
        "superposition_music": share_music,
        "superposition_ambience": share_ambience,
        "flatness_ratio": flatness_ratio(output, content, style, sr),
        "reconstruction_sc": (None if optimised_mel is None
                              else reconstruction_convergence(optimised_mel, output, analysis)),
    }


def evaluate_files(output_path, content_path, style_path, sr: int = 22050, *,
                   max_seconds: float | None = None) -> dict:
    """:func:`evaluate` on audio files (any format :func:`amnst_lib.audio.load_audio` reads).

    Parameters
    ----------
    output_path, content_path, style_path : str or Path
    sr : int
        Every file is resampled to this rate.
    max_seconds : float or None
        Use only the first ``max_seconds`` of each file.

    Raises
    ------
    AudioFileError
        A file is missing, unreadable, silent or too short.
    """
    waves = [load_audio(p, sr, max_seconds=max_seconds, purpose=purpose)
             for p, purpose in ((output_path, "evaluate in this output"), (content_path, "compare the output with"),
                                (style_path, "compare the output with"))]
    return evaluate(*waves, sr=sr)


def length_note(output_path, content_path, sr: int = 22050, *, max_seconds: float | None = None,
                tolerance: float = 0.1) -> str | None:
    """A note when output and content differ in length by more than ``tolerance`` seconds.

    The figures compare the two over the shorter one's length; the note says so.
    """
    from .audio import audio_info

    try:
        lengths = [audio_info(p)["seconds"] for p in (output_path, content_path)]
    except Exception:  # a header libsndfile cannot read: no note
        return None
    if max_seconds is not None:
        lengths = [min(v, max_seconds) for v in lengths]
    out_s, content_s = lengths
    if abs(out_s - content_s) <= tolerance:
        return None
    return (f"note: the output ({out_s:.2f} s) and the content ({content_s:.2f} s) differ in length; they are "
            f"compared over the first {min(out_s, content_s):.2f} s")


# --------------------------------------------------------------------------- printing

#: Headings of :func:`quality_rows`' columns.
QUALITY_COLUMNS = ("figure", "value", "better", "what it measures")

#: Title of the quality table, in the CLI and the notebooks alike.
QUALITY_TITLE = "Quality figures of this output"


def quality_rows(metrics: dict) -> list[tuple[str, str, str, str]]:
    """The figures of a run in words: one row per figure, in :data:`QUALITY_COLUMNS`.

    No pass/fail verdict: the targets in :data:`METRIC_INFO` are our development goals
    on our test pairs, not a judgement of the user's audio.

    Parameters
    ----------
    metrics : dict
        Figures from :func:`evaluate` (and ``pipeline.run_transfer``); None = not measured.

    Returns
    -------
    list of (label, value, better, description)
        ``value`` formatted to 3 decimals ("n/a" if missing); ``better`` is "higher",
        "lower" or "reference"; keys not in :data:`METRIC_INFO` / :data:`EXTRA_INFO` keep
        their key as the label.
    """
    rows = []
    for key, value in metrics.items():
        info = METRIC_INFO.get(key) or EXTRA_INFO.get(key) or MetricInfo(key, "", "", None)
        finite = value is not None and np.isfinite(value)
        shown = f"{value:.3f}" if finite else "n/a"
        better = "reference" if key in REFERENCE_KEYS else info.better
        rows.append((info.label, shown, better, info.description))
    return rows


def format_table(metrics: dict) -> str:
    """:func:`quality_rows` as an aligned text table under :data:`QUALITY_TITLE` (the CLI's)."""
    rows = [QUALITY_COLUMNS] + quality_rows(metrics)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join([r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]), r[3]]).rstrip()
             for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join([QUALITY_TITLE + " (see amnst_lib.metrics):"] + lines)


if __name__ == "__main__":  # ``python -m amnst_lib.metrics ...`` is ``amnst evaluate ...``; parsing lives in cli
    from amnst_lib.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
