"""Full-band, multi-channel output: the content's sample rate and channels.

The transfer itself works at the analysis settings (mono, 22050 Hz, 384 mels); this
module turns its mono result into an output at the content's own rate (up to 48 kHz) and
channel count (mono or stereo). It sits after reconstruction in the flow: arrays in,
arrays out.

The design (measured by ``benchmarks/bench_fullband.py``; see ``benchmarks/README.md``):

* **Mid, up to 11025 Hz** (the analysis' Nyquist): the transferred 22050 Hz output,
  resampled to the output rate by FFT (band-limited and exact: taken back to 22050 Hz, the
  mid is the mono output, so the quality figures do not move).
* **Mid, above it**: the style's own high band, faded in over 11025-11600 Hz (its STFT at the output rate, phases
  and fine spectral shape kept), scaled frame by frame so that its level follows the
  output's 5.5-10 kHz envelope times the style's own ratio of high to upper band. A style
  with nothing above 11 kHz (one sampled at 22050 Hz, or low-passed) adds nothing: no
  band is invented.
* **Side**: per STFT bin, ``side = rho * mid`` with ``rho = S_c / M_c`` the content's
  side-to-mid ratio (clipped to ``|rho| <= 1``). Left and right are ``mid + side`` and
  ``mid - side``: the mono sum ``(L + R) / 2`` is exactly the mid, so nothing cancels when
  the output is summed to mono, and an output whose transfer changed nothing gives back the
  content's own stereo image. (The style's ratio instead was measured and lost: it does not
  carry the style's coherence; ``benchmarks/README.md``.)

Everything past the resampling works frame by frame, block by block, so memory stays flat
with track length.

Loading at the native rate is :func:`load_native`; the analysis path
(:func:`amnst_lib.audio.load_audio`: mono, 22050 Hz) is unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import AudioFileError

log = logging.getLogger("amnst")

#: Highest output sample rate; content sampled higher is resampled to it.
MAX_SR = 48000
#: The style's high band fades in over this band above the analysis' Nyquist, Hz.
FADE_IN_HZ = 575.0
#: The band whose envelope the style's high band follows, Hz.
UPPER_BAND_HZ = (5500.0, 10000.0)
#: A style with less than this share of its energy above :data:`HIGH_BAND_HZ` (dB) has no
#: high band (one resampled from 22050 Hz has some up to 11025 Hz, nothing above).
HIGH_BAND_FLOOR_DB = -60.0
#: Where "the band above 11 kHz" is measured from, Hz.
HIGH_BAND_HZ = 11500.0
#: A stereo input whose mid lies this far (dB) below its side has channels in opposite phase.
ANTIPHASE_DB = -40.0


@dataclass
class NativeAudio:
    """A waveform at its own rate and channels (after the limits of :func:`load_native`).

    Attributes
    ----------
    y : np.ndarray, shape (n_channels, n_samples), float32
        One or two channels.
    sr : int
        Sample rate in Hz.
    file_sr, file_channels : int
        The file's own rate and channel count.
    notes : list of str
        One line per change made (resampled, mixed down, channels in opposite phase).
    """

    y: np.ndarray
    sr: int
    file_sr: int
    file_channels: int
    notes: list = field(default_factory=list)


def downmix_to_stereo(y: np.ndarray) -> np.ndarray:
    """Mix more than two channels down to stereo.

    Six channels are taken as 5.1 in WAV order (FL, FR, C, LFE, SL, SR) and mixed as ITU-R
    BS.775 does (centre and surrounds at -3 dB, LFE dropped); any other count sends even
    channels left and odd channels right. The result is scaled so that it cannot clip more
    than the input did.

    Parameters
    ----------
    y : np.ndarray, shape (n_channels, n_samples)

    Returns
    -------
    np.ndarray, shape (2, n_samples) (or ``y`` itself with one or two channels)
    """
    y = np.asarray(y, dtype=np.float32)
    if y.shape[0] <= 2:
        return y
    if y.shape[0] == 6:
        g = np.float32(np.sqrt(0.5))
        left = y[0] + g * y[2] + g * y[4]
        right = y[1] + g * y[2] + g * y[5]
        return (np.stack([left, right]) / (1 + 2 * g)).astype(np.float32)
    return np.stack([y[0::2].mean(axis=0), y[1::2].mean(axis=0)]).astype(np.float32)


def is_antiphase(y: np.ndarray) -> bool:
    """Whether a stereo waveform's channels cancel in the mid (opposite phase).

    Parameters
    ----------
    y : np.ndarray, shape (n_channels, n_samples)

    Returns
    -------
    bool
        True for two channels whose mid ``(L + R) / 2`` lies more than
        :data:`ANTIPHASE_DB` below their side ``(L - R) / 2``.
    """
    if y.shape[0] != 2:
        return False
    mid = float(np.mean(((y[0] + y[1]) / 2).astype(np.float64) ** 2))
    side = float(np.mean(((y[0] - y[1]) / 2).astype(np.float64) ** 2))
    return side > 0 and mid < side * 10 ** (ANTIPHASE_DB / 10)


def output_rate(file_sr: int, analysis_sr: int = 22050, max_sr: int = MAX_SR) -> int:
    """The output sample rate for content at ``file_sr``.

    The content's rate, at most ``max_sr`` and at least the analysis rate: content below
    it (an 8 kHz file) is written at ``analysis_sr``, since the transfer's output has the
    style's texture up to ``analysis_sr / 2`` and resampling down would throw it away.
    """
    return int(min(max(file_sr, analysis_sr), max_sr))


def load_native(path, *, analysis_sr: int = 22050, max_sr: int = MAX_SR,
                max_seconds: float | None = None) -> NativeAudio:
    """Load a file at its own rate and channels, within the output's limits.

    Parameters
    ----------
    path : str or Path
        Audio file (any format :func:`amnst_lib.audio.load_audio` reads).
    analysis_sr : int
        The analysis rate: the lowest output rate (see :func:`output_rate`).
    max_sr : int
        Highest rate kept; higher rates are resampled to it (soxr, high quality).
    max_seconds : float or None
        Keep only the first ``max_seconds``.

    Returns
    -------
    NativeAudio
        ``y`` has one or two channels: more than two are mixed down to stereo
        (:func:`downmix_to_stereo`). Each change is one line in ``notes``.
    """
    from .audio import _decode

    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file. Check the path and file name.")
    data, file_sr = _decode(path)
    if data.size == 0:
        raise AudioFileError(f"{path}: the file decodes to no samples.")
    notes = []
    if max_seconds is not None:
        data = data[:, : int(round(max_seconds * file_sr))]
    y = data
    if data.shape[0] > 2:
        y = downmix_to_stereo(data)
        layout = "5.1 (ITU downmix, LFE dropped)" if data.shape[0] == 6 else "even channels left, odd right"
        notes.append(f"{path.name}: {data.shape[0]} channels mixed to stereo, {layout}")
    sr = output_rate(file_sr, analysis_sr, max_sr)
    if sr != file_sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr, axis=-1)
        why = f"the highest output rate" if file_sr > sr else "the analysis rate (the transfer's band reaches it)"
        notes.append(f"{path.name}: {file_sr} Hz resampled to {sr} Hz, {why}")
    return NativeAudio(y=np.ascontiguousarray(y, dtype=np.float32), sr=int(sr), file_sr=int(file_sr),
                       file_channels=int(data.shape[0]), notes=notes)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Loop or trim ``y`` (shape (channels, m)) to ``n`` samples."""
    if y.shape[-1] >= n:
        return y[..., :n]
    reps = int(np.ceil(n / y.shape[-1]))
    return np.tile(y, (1, reps))[..., :n]


def _stft_size(sr: int) -> tuple[int, int]:
    """n_fft and hop at ``sr`` with about the analysis' 46 ms window and 12 ms hop."""
    n_fft = int(2 ** round(np.log2(1024 * sr / 22050)))
    return n_fft, n_fft // 4


def band_energy(y: np.ndarray, sr: int, lo: float, hi: float | None = None) -> float:
    """Share of a waveform's energy between ``lo`` and ``hi`` Hz (all channels together).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
    sr : int
        Sample rate in Hz.
    lo, hi : float
        Band edges in Hz (``hi`` None: up to Nyquist).

    Returns
    -------
    float
        Energy in the band over the total energy (0 for silence).
    """
    Y = np.fft.rfft(np.atleast_2d(np.asarray(y, dtype=np.float64)), axis=-1)
    f = np.fft.rfftfreq(np.atleast_2d(y).shape[-1], 1.0 / sr)
    p = np.abs(Y) ** 2
    total = float(p.sum())
    sel = (f >= lo) & (f <= (hi if hi is not None else sr / 2))
    return float(p[:, sel].sum()) / total if total > 0 else 0.0


def _smooth(k: int) -> bool:
    """Whether ``k`` has no prime factor above 7 (a fast FFT length: no Bluestein)."""
    for p in (2, 3, 5, 7):
        while k % p == 0:
            k //= p
    return k == 1


def _highpass(y: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    """``y`` with every frequency below ``cutoff`` Hz removed (one real FFT of the whole signal,
    zero-padded to a fast length: a length with a large prime factor costs several times
    the signal's memory)."""
    import scipy.fft

    n = len(y)
    L = scipy.fft.next_fast_len(n, real=True)
    Y = scipy.fft.rfft(y, n=L)
    Y[: int(np.ceil(cutoff * L / sr))] = 0
    return scipy.fft.irfft(Y, n=L)[:n].astype(np.float32)


def fft_resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling by FFT, exact below both Nyquist frequencies.

    The signal is zero-padded to a fast FFT length (a multiple of the rate ratio's
    denominator with no prime factor above 7), so memory stays a few times the signal's.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    np.ndarray, shape (round(n_samples * target_sr / orig_sr),), float32
    """
    import math

    import scipy.fft

    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    g = math.gcd(int(orig_sr), int(target_sr))
    up, down = int(target_sr) // g, int(orig_sr) // g
    n = len(y)
    k = -(-n // down)
    while not _smooth(k):
        k += 1
    L, L_out = down * k, up * k
    Y = scipy.fft.rfft(np.asarray(y, dtype=np.float32), n=L)
    m = min(len(Y), L_out // 2 + 1)
    Z = np.zeros(L_out // 2 + 1, dtype=Y.dtype)
    Z[:m] = Y[:m]
    if L_out > L and L % 2 == 0:
        Z[L // 2] *= 0.5  # the old Nyquist bin becomes two bins, +-f
    del Y
    out = scipy.fft.irfft(Z, n=L_out)
    out *= L_out / L
    return out[: int(round(n * up / down))].astype(np.float32)


def _image_ratio(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Per-bin side-to-mid ratio ``S / M`` of a stereo waveform, clipped to ``|rho| <= 1``.

    Bins where the mid is near silent (30 dB below its mean power at that frequency, or 90
    dB below its overall mean, in this stretch of ``y``) lean towards the stretch's overall
    ratio (its average image) instead of a noisy one.
    """
    import librosa

    # In place where it can be: five STFT-sized arrays at once become two and a half.
    M = librosa.stft((y[0] + y[1]) / 2, n_fft=n_fft, hop_length=hop)
    rho = librosa.stft((y[0] - y[1]) / 2, n_fft=n_fft, hop_length=hop)
    power = np.abs(M)
    power **= 2
    np.conjugate(M, out=M)
    rho *= M  # S * conj(M)
    del M
    overall = complex(rho.sum() / max(float(power.sum()), 1e-30))
    overall /= max(abs(overall), 1.0)
    eps = (1e-3 * power.mean(axis=1, keepdims=True) + 1e-9 * max(float(power.mean()), 1e-20)).astype(np.float32)
    rho += (eps * overall).astype(np.complex64)
    power += eps
    rho /= power
    del power
    mag = np.abs(rho)
    np.maximum(mag, 1.0, out=mag)
    rho /= mag
    return rho


def _band_power(y: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Mean power per frequency bin of ``y`` (shape (n_samples,)) between ``lo`` and ``hi`` Hz."""
    p = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1.0 / sr)
    sel = (f >= lo) & (f < hi)
    return float(p[sel].mean()) if sel.any() else 0.0


def fullband_output(y_mono: np.ndarray, analysis_sr: int, content: np.ndarray, style: np.ndarray, sr: int, *,
                    peak_dbfs: float = -1.0, block: int = 2 ** 18) -> tuple[np.ndarray, dict]:
    """Make the full-band, multi-channel output from the transferred mono waveform.

    Parameters
    ----------
    y_mono : np.ndarray, shape (n_samples_analysis,)
        The transferred output at ``analysis_sr`` (what the mono format writes).
    analysis_sr : int
        Its sample rate, Hz.
    content : np.ndarray, shape (n_channels, n_samples)
        The content at the output rate (:func:`load_native`), one or two channels; gives
        the output's rate, channels, length and stereo image.
    style : np.ndarray, shape (n_style_channels, n_style_samples)
        The style at the output rate (looped or cut to the content's length); gives the
        band above the analysis' Nyquist.
    sr : int
        The output rate, Hz (>= ``analysis_sr``).
    peak_dbfs : float
        Peak level of the result (both channels together), dB relative to full scale.
    block : int
        Samples per block of the STFT processing (memory stays flat with track length).

    Returns
    -------
    y : np.ndarray, shape (n_channels, n_samples), float32
        The output: the content's channel count, rate ``sr``.
    info : dict
        ``high_band`` (bool: the style's band above 11 kHz was used), ``style_high_db``
        (the style's share of energy above 11.5 kHz, dB), ``image`` (``content``, ``centre``
        or ``mono``), ``notes`` (list of str), ``mid`` (np.ndarray, shape (n_samples,): the
        output's mid ``(L + R) / 2`` before it was split into channels, free of their
        rounding).
    """
    import librosa

    from .audio import peak_normalize

    content = np.atleast_2d(np.asarray(content, dtype=np.float32))
    style = np.atleast_2d(np.asarray(style, dtype=np.float32))
    n_ch, n = content.shape
    notes = []
    if sr == analysis_sr and n_ch == 1:  # nothing to add: the mono output as it is
        y = np.asarray(y_mono, dtype=np.float32)[:n]
        return y[None, :], {"high_band": False, "style_high_db": None, "image": "mono", "notes": notes, "mid": y}
    # FFT resampling: exactly band-limited, so the mid below analysis_sr / 2 is y_mono itself.
    mid = fft_resample(y_mono, analysis_sr, sr)
    mid = _fit_length(mid[None, :], n)[0]
    n_fft, hop = _stft_size(sr)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    lo, hi = analysis_sr / 2, analysis_sr / 2 + FADE_IN_HZ

    # The band above the analysis' Nyquist: the style's, following the output's upper band.
    style_mid = style.mean(axis=0)
    share = band_energy(style_mid, sr, HIGH_BAND_HZ) if sr / 2 > HIGH_BAND_HZ else 0.0
    style_high_db = 10 * np.log10(share) if share > 0 else -np.inf
    use_high = bool(style_high_db > HIGH_BAND_FLOOR_DB)
    if use_high:  # the style's own tilt: power per bin above lo over that in the upper band
        tilt = _band_power(style_mid, sr, lo, sr / 2) / max(_band_power(style_mid, sr, *UPPER_BAND_HZ), 1e-30)
        up = (freqs >= UPPER_BAND_HZ[0]) & (freqs < UPPER_BAND_HZ[1])
        w = np.clip((freqs - lo) / (hi - lo), 0.0, 1.0)
        w = (0.5 - 0.5 * np.cos(np.pi * w)).astype(np.float32)[:, None]  # 0 below lo, 1 above hi
        floor = 1e-8 * max(_band_power(style_mid, sr, lo, sr / 2), 1e-30)
        high_band = np.zeros(n, np.float32)
    elif sr / 2 > HIGH_BAND_HZ:
        notes.append(f"the style has no energy above 11 kHz ({style_high_db:.0f} dB of its total): "
                     f"the output's band above 11 kHz stays empty")

    image = "mono" if n_ch == 1 else "content"
    if n_ch == 2 and is_antiphase(content):
        image = "centre"
        notes.append("the content's channels are in opposite phase (their mid is silent): "
                     "the output is centred (left = right)")
    elif n_ch == 2 and min(np.mean(content ** 2, axis=1)) < 1e-6 * max(np.mean(content ** 2, axis=1)):
        quiet = "left" if np.mean(content[0] ** 2) < np.mean(content[1] ** 2) else "right"
        notes.append(f"the content's {quiet} channel is silent: so is the output's (the content's image)")
    side = np.zeros(n, np.float32) if image == "content" else None

    # Block by block (each padded by a window's length, cut back to its own samples): every
    # step below works frame by frame, so the result is the whole signal's.
    if use_high or side is not None:
        block = max(hop, block - block % hop)
        pad = n_fft
        stft = lambda x: librosa.stft(x, n_fft=n_fft, hop_length=hop)  # noqa: E731
        for a in range(0, n, block):
            b = min(a + block, n)
            a0, b0 = max(a - pad, 0), min(b + pad, n)
            X = stft(mid[a0:b0])
            if use_high:
                Hs = stft(np.take(style_mid, np.arange(a0, b0), mode="wrap"))
                p_out_up = np.mean(np.abs(X[up]) ** 2, axis=0)
                p_sty_hi = np.mean(np.abs(Hs[freqs >= lo]) ** 2, axis=0)
                Hs *= w
                Hs *= np.sqrt(tilt * p_out_up / np.maximum(p_sty_hi, floor)).astype(np.float32)[None, :]
                high_band[a:b] = librosa.istft(Hs, hop_length=hop, n_fft=n_fft, length=b0 - a0)[a - a0: b - a0]
                X += Hs
                del Hs
            if side is not None:
                rho = _image_ratio(content[:, a0:b0], n_fft, hop)
                rho *= X
                side[a:b] = librosa.istft(rho, hop_length=hop, n_fft=n_fft, length=b0 - a0)[a - a0: b - a0]
                del rho
            del X
    # Added to the mid with nothing below lo (its frames' leakage cut by one FFT), so the mid
    # below the analysis' Nyquist stays exactly the transferred output.
    m = mid + _highpass(high_band, sr, lo) if use_high else mid
    if n_ch == 1:
        out = m[None, :]
    elif side is None:
        out = np.stack([m, m])
    else:
        out = np.stack([m + side, m - side])
    peak = float(np.max(np.abs(out)))
    y = peak_normalize(out, peak_dbfs)
    scale = float(np.max(np.abs(y))) / peak if peak > 0 else 1.0
    return y, {"high_band": use_high, "style_high_db": float(style_high_db), "image": image, "notes": notes,
               "mid": (m * scale).astype(np.float32)}


def mid(y: np.ndarray) -> np.ndarray:
    """The mid (channel average) of a waveform of shape (n_channels, n_samples) or (n_samples,)."""
    y = np.asarray(y, dtype=np.float32)
    return y if y.ndim == 1 else y.mean(axis=0)


@dataclass
class RenderedOutput:
    """The written output and what was done to make it.

    Attributes
    ----------
    y : np.ndarray, shape (n_channels, n_samples), float32, or None
        The output to write; None when it is the transfer's mono waveform at the analysis
        rate, unchanged (the pipeline writes that as it always did).
    sr : int
        Its sample rate, Hz.
    record : dict
        For ``run.json``: format, sample_rate, channels, the inputs' formats, image,
        high_band, style_high_db, notes.
    mels : dict of str to np.ndarray, or None
        Full-band mel spectrograms (content, style, output mids) at ``sr`` for the
        picture, made with ``mel_config``; None with ``y``.
    mel_config : AnalysisConfig or None
    """

    y: np.ndarray | None
    sr: int
    record: dict
    mels: dict | None = None
    mel_config: object = None


def prepare_output(content_path, style_path, analysis, output, *,
                   max_seconds: float | None = None) -> tuple[NativeAudio, NativeAudio] | None:
    """Read the inputs at their own rate and channels, before the transfer (so that a file
    the output cannot use fails before the long computation).

    Returns
    -------
    (content, style) : tuple of NativeAudio, or None for ``output.format == "mono22050"``
    """
    if output.format == "mono22050":
        return None
    content = load_native(content_path, analysis_sr=analysis.sr, max_seconds=max_seconds)
    style = load_native(style_path, analysis_sr=analysis.sr, max_seconds=max_seconds)
    if style.sr != content.sr:
        import librosa

        style.y = librosa.resample(style.y, orig_sr=style.sr, target_sr=content.sr, axis=-1)
        style.sr = content.sr
    for note in content.notes + style.notes:
        log.warning(note)
    if is_plain_mono((content, style), analysis):
        # The output is the transfer's mono waveform as it is: keep no copy of the inputs
        # (on a long track, the content alone is 0.15 GiB per 30 minutes at 22050 Hz).
        content.y, style.y = content.y[:, :0], style.y[:, :0]
    return content, style


def is_plain_mono(prepared, analysis) -> bool:
    """Whether the written output is the transfer's mono waveform at the analysis rate, as it is.

    True for ``mono22050`` (``prepared`` None) and for a mono content at ``analysis.sr``:
    :func:`render_output` then needs no waveform (pass None) and returns ``y`` None.
    """
    if prepared is None:
        return True
    content = prepared[0]
    return content.sr == analysis.sr and content.y.shape[0] == 1


def render_output(y_mono: np.ndarray | None, prepared, analysis, output, *, peak_dbfs: float = -1.0) -> RenderedOutput:
    """The output in the format ``output`` asks for, from the transferred mono waveform.

    Parameters
    ----------
    y_mono : np.ndarray, shape (n_samples_analysis,), or None
        The transferred, peak-normalised output at ``analysis.sr``; None where
        :func:`is_plain_mono` (nothing to render).
    prepared : tuple of NativeAudio, or None
        What :func:`prepare_output` returned.
    analysis : AnalysisConfig
    output : OutputConfig
    peak_dbfs : float
        Peak level of the written output.

    Returns
    -------
    RenderedOutput
        ``y`` None where the output is ``y_mono`` itself (``mono22050``, or mono content
        at the analysis rate).
    """
    a_sr = analysis.sr
    record = {"format": output.format, "sample_rate": a_sr, "channels": 1, "image": "mono",
              "high_band": False, "style_high_db": None, "notes": []}
    if prepared is None:
        return RenderedOutput(y=None, sr=a_sr, record=record)
    content, style = prepared
    notes = content.notes + style.notes
    sr = content.sr
    inputs = {"content": {"sample_rate": content.file_sr, "channels": content.file_channels},
              "style": {"sample_rate": style.file_sr, "channels": style.file_channels}}
    if is_plain_mono(prepared, analysis):  # nothing to add: the mono output as it is
        record.update(notes=notes, **inputs)
        return RenderedOutput(y=None, sr=sr, record=record)
    y_mono = np.asarray(y_mono, dtype=np.float32)
    n = int(round(len(y_mono) * sr / a_sr))
    y, info = fullband_output(y_mono, a_sr, content.y[:, :n], style.y, sr, peak_dbfs=peak_dbfs)
    notes += info["notes"]
    record.update(sample_rate=sr, channels=int(y.shape[0]), image=info["image"], high_band=info["high_band"],
                  style_high_db=info["style_high_db"], notes=notes, **inputs)
    for note in info["notes"]:
        log.warning(note)
    from .spectrum import mel_spectrogram

    n_fft, hop = _stft_size(sr)
    hop *= max(1, int(np.ceil(n / hop / 4000)))  # a picture needs no more than ~4000 frames
    cfg = analysis.replace(sr=sr, n_fft=n_fft, hop_length=min(hop, n_fft))
    mels = {"content": mel_spectrogram(mid(content.y[:, :n]), cfg),
            "style": mel_spectrogram(mid(style.y), cfg),
            "output": mel_spectrogram(info["mid"], cfg)}
    return RenderedOutput(y=y, sr=sr, record=record, mels=mels, mel_config=cfg)
