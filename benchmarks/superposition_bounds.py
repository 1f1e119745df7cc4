"""Where the superposition share can go for outputs that keep the music's structure.

Issue 10 asks, all at once on the validation half, for chroma >= 0.93, MFCC gap >= 0.85,
random-Gram gap >= 0.80 and superposition share <= 0.50. This script builds, without any
transfer, best-case outputs of the kind the transfer makes (the content's timing and
harmonic fine structure, the ambience's spectrum and texture) and scores them with
``amnst_lib.metrics.evaluate``, to see which of those targets such an output can meet
together. Every construction works on the content's STFT at the metrics' resolution
(n_fft 2048, hop 512) and keeps the content's phase; ``G(f)`` is the ideal equaliser, the
square root of the style's long-term power over the content's, per STFT bin.

- ``equalised, exact``: ``G(f) C``, the content with exactly the style's long-term spectrum.
- ``equalised``: the same with ``G`` smoothed over 9 bins (in dB), a filter that keeps the
  harmonics' relative levels locally, as ``init="equalized"`` does.
- ``+ ambience 20% / 35%``: ``equalised`` plus ANOTHER stretch of the ambience (its last
  ``--seconds``, as ``superposition_floor.py``: real texture that is not the style clip
  the metric fits) carrying that share of the energy.
- ``x ambience envelopes (depth 1 / 1.5)``: ``equalised`` multiplied, per bin, by the
  other stretch's envelopes on 32 mel bands (each over its mean, raised to the depth):
  the ambience's gusts, patter and crackle imposed on the music.
- ``x ambience grain``: ``equalised`` multiplied by the other stretch's fine structure
  (its magnitude over a 5-frame x 9-bin local mean, unit RMS per bin): partials made as
  grainy as the ambience's own bins. What is written is re-analysed, so the score is of
  a real signal.
- ``exact x envelopes 1.5 (+ ambience 15% / 20%)``: the parts stacked: the exact filter,
  times the envelopes at depth 1.5, plus another stretch of the ambience at that energy
  share (found by a review of the first version of this script, which measured the parts
  one at a time).
- ``over-equalised (power 1.5 / 2)``: ``G(f)**p C``, the spectrum pushed PAST the style's.
- ``octave up, equalised``: the content pitch-shifted up 12 semitones
  (``librosa.effects.pitch_shift``), then equalised. Not a transfer anyone wants: it is
  here because chroma cannot tell octaves apart, so it shows what the two measures
  together let through.

    python benchmarks/superposition_bounds.py --split benchmarks/dev_split.json --part validation
    python benchmarks/superposition_bounds.py --audio-dir ../shared/audio

No transfer runs; it takes about a minute per 16 pairs. The results and what they say are
in ``benchmarks/README.md`` ("How low can the superposition share go?").
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import librosa  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import uniform_filter, uniform_filter1d  # noqa: E402

from amnst_lib.audio import load_audio  # noqa: E402
from amnst_lib.metrics import HOP_LENGTH, N_FFT, evaluate  # noqa: E402
from bench_quality import SHORT  # noqa: E402
from superposition_floor import other_stretch, parse_pairs  # noqa: E402

SR = 22050
COLUMNS = ("chroma_similarity", "mfcc_gap_closed", "random_gram_gap_closed", "superposition",
           "flatness_ratio")
CONSTRUCTIONS = ("equalised, exact", "equalised", "+ ambience 20%", "+ ambience 35%",
                 "x ambience envelopes (depth 1)", "x ambience envelopes (depth 1.5)",
                 "x ambience grain", "exact x envelopes 1.5", "exact x envelopes 1.5 + ambience 15%",
                 "exact x envelopes 1.5 + ambience 20%", "over-equalised (power 1.5)", "over-equalised (power 2)",
                 "octave up, equalised")


def _stft(y: np.ndarray) -> np.ndarray:
    return librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)


def _istft(spec: np.ndarray, n: int) -> np.ndarray:
    return librosa.istft(spec, hop_length=HOP_LENGTH, length=n).astype(np.float32)


def _unit_rms(y: np.ndarray) -> np.ndarray:
    return y / max(float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))), 1e-12)


def ideal_gain(content: np.ndarray, style: np.ndarray, smooth_bins: int = 1) -> np.ndarray:
    """``G(f)``: sqrt(style's long-term power / content's), per STFT bin.

    Parameters
    ----------
    content, style : np.ndarray, shape (n_samples,)
        Waveforms at 22050 Hz.
    smooth_bins : int
        Width of a moving average of ``log G`` across bins (1 = none).

    Returns
    -------
    np.ndarray, shape (1 + N_FFT // 2,)
    """
    pc = np.mean(np.abs(_stft(content)) ** 2, axis=1)
    ps = np.mean(np.abs(_stft(style)) ** 2, axis=1)
    log_g = 0.5 * (np.log(ps + 1e-12) - np.log(pc + 1e-12))
    if smooth_bins > 1:
        log_g = uniform_filter1d(log_g, smooth_bins)
    return np.exp(log_g)


def envelope_gain(ambience: np.ndarray, depth: float, n_bands: int = 32) -> np.ndarray:
    """The ambience's band envelopes over their means, ``** depth``, spread back to STFT bins.

    Returns
    -------
    np.ndarray, shape (1 + N_FFT // 2, n_frames)
    """
    fb = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=n_bands)
    power = uniform_filter1d(fb @ (np.abs(_stft(ambience)) ** 2), 3, axis=1) + 1e-10
    log_env = 0.5 * np.log(power / power.mean(axis=1, keepdims=True))
    share = fb / np.maximum(fb.sum(axis=0, keepdims=True), 1e-12)  # each bin's bands
    return np.exp(depth * (share.T @ log_env))


def grain_gain(ambience: np.ndarray) -> np.ndarray:
    """The ambience's fine structure: ``|A|`` over its 5-frame x 9-bin mean, unit RMS per bin."""
    mag = np.abs(_stft(ambience))
    grain = mag / (uniform_filter(mag, (9, 5)) + 1e-9)
    return grain / np.sqrt(np.mean(grain ** 2, axis=1, keepdims=True) + 1e-12)


def constructions(content: np.ndarray, style: np.ndarray, ambience: np.ndarray) -> dict:
    """Every construction of the module docstring for one pair: name -> waveform (n_samples,)."""
    n = len(content)
    spec = _stft(content)
    exact, smooth = ideal_gain(content, style), ideal_gain(content, style, smooth_bins=9)
    eq = _unit_rms(_istft(smooth[:, None] * spec, n))
    other = _unit_rms(np.resize(ambience, n))  # n samples: the content's frames exactly
    out = {"equalised, exact": _istft(exact[:, None] * spec, n), "equalised": eq}
    for share in (0.20, 0.35):
        out[f"+ ambience {share:.0%}"] = np.sqrt(1 - share) * eq + np.sqrt(share) * other
    envelopes = {depth: envelope_gain(other, depth) for depth in (1.0, 1.5)}
    for depth, env in envelopes.items():
        out[f"x ambience envelopes (depth {depth:g})"] = _istft(smooth[:, None] * spec * env, n)
    out["x ambience grain"] = _istft(smooth[:, None] * spec * grain_gain(other), n)
    stacked = _unit_rms(_istft(exact[:, None] * spec * envelopes[1.5], n))
    out["exact x envelopes 1.5"] = stacked
    for share in (0.15, 0.20):
        out[f"exact x envelopes 1.5 + ambience {share:.0%}"] = np.sqrt(1 - share) * stacked + np.sqrt(share) * other
    for p in (1.5, 2.0):
        out[f"over-equalised (power {p:g})"] = _istft(exact[:, None] ** p * spec, n)
    up = librosa.effects.pitch_shift(content, sr=SR, n_steps=12)
    out["octave up, equalised"] = _istft(ideal_gain(up, style, smooth_bins=9)[:, None] * _stft(up), n)
    return out


def main(argv=None) -> int:
    pairs, seconds = parse_pairs(argv, __doc__.split("\n\n")[0])
    scores = {name: [] for name in CONSTRUCTIONS}
    for content_path, style_path in pairs:
        content = load_audio(content_path, sr=SR, max_seconds=seconds)
        style = load_audio(style_path, sr=SR, max_seconds=seconds)
        built = constructions(content, style, other_stretch(style_path, seconds))
        for name in CONSTRUCTIONS:
            m = evaluate(built[name], content, style, SR)
            scores[name].append([m[k] for k in COLUMNS])
        print(f"{content_path.stem[:29]} x {style_path.stem[:28]}: "
              f"superposition {scores['equalised'][-1][3]:.3f} equalised, "
              f"{scores['x ambience grain'][-1][3]:.3f} grain", flush=True)
    print(f"\npairs: {len(pairs)}  seconds: {seconds}  (medians; last column: worst pair's chroma)")
    print(f"{'construction':34s} " + " ".join(f"{SHORT[k]:>9s}" for k in COLUMNS) + "  worst chroma")
    for name in CONSTRUCTIONS:
        a = np.asarray(scores[name])
        print(f"{name:34s} " + " ".join(f"{v:9.3f}" for v in np.median(a, axis=0))
              + f"  {a[:, 0].min():12.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
