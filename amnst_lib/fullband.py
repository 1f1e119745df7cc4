"""Full-band, multi-channel output: the content's sample rate and channels.

The transfer itself works at the analysis settings (mono, 22050 Hz, 384 mels); this
module turns its mono result into an output at the content's own rate (up to 48 kHz) and
channel count (mono or stereo). It sits after reconstruction in the flow: waveforms in,
waveforms out (in memory for short signals, in work files for a run).

The design (measured by ``benchmarks/bench_fullband.py``; see ``benchmarks/README.md``):

* **Mid, up to 11025 Hz** (the analysis' Nyquist): the transferred 22050 Hz output,
  resampled to the output rate by FFT (band-limited and exact below 10925 Hz, the top
  100 Hz fading out: taken back to 22050 Hz, the mid is the mono output, so the quality
  figures do not move).
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

Every stage works block by block (:func:`render_fullband`): the content at its own rate
and the output's mid, side and high band wait in work files, the FFT resampling and
high-pass run on blocks with context (their band edges are :data:`EDGE_HZ` wide, which
keeps them local: the result is the whole signal's to about 1e-6), the WAV is written a
block at a time, and the pictures' mels are averaged in time as they are made. Memory
stays flat with track length (``benchmarks/bench_memory.py --stereo``).

Loading at the native rate is :func:`load_native`; the analysis path is
:func:`amnst_lib.audio.load_audio` (mono, 22050 Hz). Both read a file block by block.
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
#: Width of the band edges of the FFT resampling and high-pass, Hz: the top of the band
#: fades over this much (a raised cosine), which makes both local enough to run block by
#: block on a long track with the whole signal's result.
EDGE_HZ = 100.0
#: Zeros added after a signal before those FFTs (samples), so that its end does not wrap
#: round onto its start: the signal is treated as silent beyond its ends.
EDGE_PAD = 4096
#: A stereo input whose mid lies this far (dB) below its side has channels in opposite phase.
ANTIPHASE_DB = -40.0


class Samples:
    """A waveform of shape (n_channels, n_samples) read by ranges, held in memory or in a file.

    A long track's samples at its own rate and channels stay in a work file
    (:class:`amnst_lib.chunked.Store`, one row per sample) and are read a block at a time.

    Parameters
    ----------
    data : np.ndarray, shape (n_channels, n_samples), or None
        The samples in memory.
    store : amnst_lib.chunked.Store or None
        Or in a file: rows of shape (n_channels,) (or () for one channel).
    gain : float
        Every sample read is multiplied by it.
    """

    def __init__(self, data: np.ndarray | None = None, store=None, gain: float = 1.0):
        self.data, self.store, self.gain = data, store, float(gain)
        if data is not None:
            self.data = np.atleast_2d(np.asarray(data, dtype=np.float32))
            self.channels, self.n = self.data.shape
        else:
            self.channels = int(np.prod(store.row_shape)) if store.row_shape else 1
            self.n = store.n_rows

    def __len__(self) -> int:
        return self.n

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``a:b`` (clipped to the signal), shape (n_channels, k), float32."""
        a, b = max(0, a), min(self.n, b)
        if self.data is not None:
            y = self.data[:, a:b]
        else:
            y = self.store.read(a, b).reshape(max(0, b - a), self.channels).T
        return y * np.float32(self.gain) if self.gain != 1.0 else np.ascontiguousarray(y)

    def mid(self, a: int, b: int) -> np.ndarray:
        """The channel average of samples ``a:b``, shape (k,)."""
        y = self.read(a, b)
        return y[0] if self.channels == 1 else y.mean(axis=0)

    def array(self) -> np.ndarray:
        """All samples, shape (n_channels, n_samples) (a long track's whole array: for short ones)."""
        return self.read(0, self.n)

    def energies(self, n: int | None = None, block: int = 2 ** 20) -> tuple[np.ndarray, float, float]:
        """Each channel's mean power over the first ``n`` samples (all: None), and the mid's and
        side's (0 for one channel)."""
        n = self.n if n is None else min(n, self.n)
        e, m, sd = np.zeros(self.channels), 0.0, 0.0
        for a in range(0, n, block):
            y = self.read(a, min(a + block, n)).astype(np.float64)
            e += np.sum(y ** 2, axis=1)
            if self.channels == 2:
                m += float(np.sum(((y[0] + y[1]) / 2) ** 2))
                sd += float(np.sum(((y[0] - y[1]) / 2) ** 2))
        n = max(n, 1)
        return e / n, m / n, sd / n


@dataclass
class NativeAudio:
    """A waveform at its own rate and channels (after the limits of :func:`load_native`).

    Attributes
    ----------
    y : Samples
        One or two channels, in memory or in a work file; None where the output needs no
        samples of it (:func:`prepare_output`).
    sr : int
        Sample rate in Hz.
    file_sr, file_channels : int
        The file's own rate and channel count.
    notes : list of str
        One line per change made (resampled, mixed down, channels in opposite phase).
    channels : int
        Channels of ``y`` (1 or 2).
    """

    y: Samples | None
    sr: int
    file_sr: int
    file_channels: int
    notes: list = field(default_factory=list)
    channels: int = 1


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
        :data:`ANTIPHASE_DB` below their side ``(L - R) / 2`` (the test the full-band
        render makes, on :meth:`Samples.energies`).
    """
    if y.shape[0] != 2:
        return False
    _, mid_power, side_power = Samples(y).energies()
    return _antiphase(mid_power, side_power)


def _antiphase(mid_power: float, side_power: float) -> bool:
    return side_power > 0 and mid_power < side_power * 10 ** (ANTIPHASE_DB / 10)


def output_rate(file_sr: int, analysis_sr: int = 22050, max_sr: int = MAX_SR) -> int:
    """The output sample rate for content at ``file_sr``.

    The content's rate, at most ``max_sr`` and at least the analysis rate: content below
    it (an 8 kHz file) is written at ``analysis_sr``, since the transfer's output has the
    style's texture up to ``analysis_sr / 2`` and resampling down would throw it away.
    """
    return int(min(max(file_sr, analysis_sr), max_sr))


def load_native(path, *, analysis_sr: int = 22050, max_sr: int = MAX_SR,
                max_seconds: float | None = None, store_path: Path | None = None,
                read: bool = True) -> NativeAudio:
    """Load a file at its own rate and channels, within the output's limits.

    The file is decoded, mixed down and resampled block by block, so a long track is never
    held whole: with ``store_path`` its samples go to that work file.

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
    store_path : Path or None
        Keep the samples in this file (created) instead of memory.
    read : bool
        False: read only the header (rate and channels; ``y`` None).

    Returns
    -------
    NativeAudio
        ``y`` has one or two channels: more than two are mixed down to stereo
        (:func:`downmix_to_stereo`). Each change is one line in ``notes``.
    """
    from .audio import AudioStream, fix_resampled_length, resample_stream

    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file. Check the path and file name.")
    stream = AudioStream(path)
    file_sr, file_ch = stream.sr, stream.channels
    channels = min(file_ch, 2)
    notes = []
    if file_ch > 2:
        layout = "5.1 (ITU downmix, LFE dropped)" if file_ch == 6 else "even channels left, odd right"
        notes.append(f"{path.name}: {file_ch} channels mixed to stereo, {layout}")
    sr = output_rate(file_sr, analysis_sr, max_sr)
    if sr != file_sr:
        why = f"the highest output rate" if file_sr > sr else "the analysis rate (the transfer's band reaches it)"
        notes.append(f"{path.name}: {file_sr} Hz resampled to {sr} Hz, {why}")
    if not read:
        return NativeAudio(y=None, sr=int(sr), file_sr=int(file_sr), file_channels=int(file_ch), notes=notes,
                           channels=channels)
    from .chunked import Store

    max_frames = None if max_seconds is None else int(round(max_seconds * file_sr))
    resample = resample_stream(file_sr, sr, channels) if sr != file_sr else None
    store = Store(store_path, (channels,)) if store_path is not None else None
    parts, frames = [], 0

    def put(rows):  # rows: shape (k, channels)
        if store is not None:
            store.append(rows)
        else:
            parts.append(rows)

    for block in stream.blocks(max_frames):
        frames += block.shape[1]
        rows = np.ascontiguousarray(downmix_to_stereo(block).T)
        put(resample(rows) if resample else rows)
    if frames == 0:
        raise AudioFileError(f"{path}: the file decodes to no samples.")
    if resample:
        put(resample(np.zeros((0, channels), np.float32), last=True))
        want = int(np.ceil(frames * sr / file_sr))  # as librosa.resample: trim or pad the end
        if store is not None:
            if store.n_rows > want:
                store.truncate(want)
            elif store.n_rows < want:
                store.append(np.zeros((want - store.n_rows, channels), np.float32))
    if store is not None:
        y = Samples(store=store)
    else:
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if resample:
            rows = fix_resampled_length(rows, frames, file_sr, sr)
        y = Samples(rows.T)
    return NativeAudio(y=y, sr=int(sr), file_sr=int(file_sr), file_channels=int(file_ch), notes=notes,
                       channels=channels)


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


def _edge(f: np.ndarray, f0: float, f1: float) -> np.ndarray:
    """0 at and below ``f0``, 1 at and above ``f1``, a raised cosine between (a band edge whose
    impulse response is short: what makes the FFT operations below local)."""
    w = np.clip((f - f0) / max(f1 - f0, 1e-9), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * w)


def _highpass(y: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    """``y`` with every frequency below ``cutoff`` Hz removed, fading in over the next
    :data:`EDGE_HZ` (one real FFT, zero-padded to a fast length: a length with a large prime
    factor costs several times the signal's memory)."""
    import scipy.fft

    n = len(y)
    L = scipy.fft.next_fast_len(n + EDGE_PAD, real=True)
    Y = scipy.fft.rfft(y, n=L)
    Y *= _edge(np.fft.rfftfreq(L, 1.0 / sr), cutoff, cutoff + EDGE_HZ)
    return scipy.fft.irfft(Y, n=L)[:n].astype(np.float32)


def fft_resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling by FFT, exact below both Nyquist frequencies less :data:`EDGE_HZ`.

    The band's top :data:`EDGE_HZ` fades out (a raised cosine): that keeps the
    interpolation local, so a long signal can be resampled block by block
    (:func:`resample_blocks`) with the same result. The signal is zero-padded by
    :data:`EDGE_PAD` and on to a fast FFT length (a multiple of the rate ratio's
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
    k = -(-(n + EDGE_PAD) // down)
    while not _smooth(k):
        k += 1
    L, L_out = down * k, up * k
    Y = scipy.fft.rfft(np.asarray(y, dtype=np.float32), n=L)
    m = min(len(Y), L_out // 2 + 1)
    Z = np.zeros(L_out // 2 + 1, dtype=Y.dtype)
    Z[:m] = Y[:m]
    nyquist = min(orig_sr, target_sr) / 2
    Z[:m] *= 1.0 - _edge(np.arange(m) * (orig_sr / L), nyquist - EDGE_HZ, nyquist)
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


#: Samples of context each side of a block for the FFT operations done block by block (the
#: resampling, the high band's high-pass): their impulse responses (band edges
#: :data:`EDGE_HZ` wide) have fallen far below 1e-5 at this distance.
FFT_CONTEXT = 2 ** 13


def resample_blocks(read, n: int, orig_sr: int, target_sr: int, *, block: int = 2 ** 18, pad: int = FFT_CONTEXT):
    """:func:`fft_resample` of a long signal, a block at a time.

    Each block is resampled with ``pad`` samples of context each side (rounded up to whole
    periods of the rate ratio, so every block starts on an output sample) and cut back to
    its own samples: the result is the whole-signal call's to within about 1e-5 of the
    signal's peak (``tests/test_fullband.py`` measures it).

    Parameters
    ----------
    read : callable
        ``read(a, b)`` -> samples ``a:b`` of the signal, shape (b - a,), float32.
    n : int
        Its length, samples.
    orig_sr, target_sr : int
        Sample rates in Hz.
    block, pad : int
        Input samples per block and of context each side (at least).

    Yields
    ------
    np.ndarray, shape (k,), float32
        The output in order: ``round(n * target_sr / orig_sr)`` samples in all.
    """
    import math

    g = math.gcd(int(orig_sr), int(target_sr))
    up, down = int(target_sr) // g, int(orig_sr) // g
    B = down * 2 ** math.ceil(math.log2(max(block / down, 1)))
    P = down * 2 ** math.ceil(math.log2(max(pad / down, 1)))
    for a in range(0, n, B):
        b = min(a + B, n)
        a0, b0 = max(a - P, 0), min(b + P, n)
        r = fft_resample(read(a0, b0), orig_sr, target_sr)
        yield r[(a - a0) * up // down: (b - a0) * up // down if b < n else len(r)]


class _Slicer:
    """``read(a, b)`` seen as a sliceable sequence of length ``n`` (for :func:`chunked.mel_frames`)."""

    def __init__(self, read, n: int):
        self.read, self.n = read, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, s: slice) -> np.ndarray:
        return self.read(s.start or 0, self.n if s.stop is None else s.stop)


def mel_by_blocks(read, n: int, cfg, factor: int = 1, block: int = 2 ** 20) -> np.ndarray:
    """:func:`amnst_lib.spectrum.mel_spectrogram` of a long signal, a block of frames at a time,
    averaged in time in groups of ``factor`` frames as it goes (for a picture).

    Parameters
    ----------
    read : callable
        ``read(a, b)`` -> samples ``a:b``, shape (b - a,).
    n : int
        The signal's length, samples.
    cfg : AnalysisConfig
    factor : int
        Frames per column of the result (:class:`amnst_lib.chunked.Pooler`).
    block : int
        About this many samples per block.

    Returns
    -------
    np.ndarray, shape (n_mels, ceil((1 + n // hop_length) / factor))
    """
    from .chunked import Pooler, mel_frames, n_frames_of

    y, frames = _Slicer(read, n), n_frames_of(n, cfg)
    step = max(1, block // cfg.hop_length)
    pool = Pooler(factor)
    for f0 in range(0, frames, step):
        pool.add(mel_frames(y, f0, min(f0 + step, frames), cfg))
    return pool.result()


class FullbandOutput:
    """The full-band output, kept in work files (one row per sample) and read by ranges.

    Attributes
    ----------
    sr : int
        Sample rate, Hz.
    channels : int
        1 or 2.
    n : int
        Samples per channel.
    scale : float
        The peak normalisation, applied as samples are read.
    info : dict
        ``high_band``, ``style_high_db``, ``image``, ``notes`` (see :func:`fullband_output`).
    """

    def __init__(self, mid_store, side_store, channels: int, sr: int, scale: float, info: dict, own_dir=None):
        self._mid, self._side, self._own_dir = mid_store, side_store, own_dir
        self.channels, self.sr, self.scale, self.info = channels, sr, scale, info
        self.n = mid_store.n_rows

    def mid(self, a: int, b: int) -> np.ndarray:
        """The output's mid ``(L + R) / 2``, samples ``a:b``, shape (k,), float32."""
        return (self._mid.read(a, b) * self.scale).astype(np.float32)

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``a:b``, shape (channels, k), float32, peak-normalised."""
        m = self._mid.read(a, b)
        if self.channels == 1:
            out = m[None, :]
        elif self._side is None:
            out = np.stack([m, m])
        else:
            s = self._side.read(a, b)
            out = np.stack([m + s, m - s])
        return (out * self.scale).astype(np.float32)

    def array(self) -> np.ndarray:
        """The whole output, shape (channels, n) (for short tracks and notebooks)."""
        return self.read(0, self.n)

    def write_wav(self, path, block: int = 2 ** 20) -> None:
        """Write it as a 16-bit PCM WAV, one block at a time."""
        import soundfile as sf

        with sf.SoundFile(str(path), "w", samplerate=self.sr, channels=self.channels, subtype="PCM_16",
                          format="WAV") as f:
            for a in range(0, self.n, block):
                f.write(np.clip(self.read(a, a + block).T, -1.0, 1.0))

    def close(self) -> None:
        """Delete its work files."""
        for store in (self._mid, self._side):
            if store is not None:
                store.close()
        if self._own_dir is not None:
            import shutil

            shutil.rmtree(self._own_dir, ignore_errors=True)


def render_fullband(mono: Samples, analysis_sr: int, content: Samples, style: np.ndarray, sr: int, workdir, *,
                    peak_dbfs: float = -1.0, block: int = 2 ** 18, fft_block: int = 2 ** 20,
                    fft_context: int = FFT_CONTEXT) -> FullbandOutput:
    """Make the full-band, multi-channel output from the transferred mono waveform, block by block.

    Every stage works on bounded blocks and keeps its result in work files in
    ``workdir``, so memory stays flat with track length (see :func:`fullband_output` for
    the design, and the same call on whole arrays).

    Parameters
    ----------
    mono : Samples
        The transferred output at ``analysis_sr``, one channel.
    analysis_sr : int
        Its sample rate, Hz.
    content : Samples
        The content at the output rate (:func:`load_native`), one or two channels; gives
        the output's rate, channels, length (at most the mono output's) and stereo image.
    style : np.ndarray, shape (n_style_channels, n_style_samples)
        The style at the output rate (looped as needed); gives the band above the
        analysis' Nyquist.
    sr : int
        The output rate, Hz (>= ``analysis_sr``).
    workdir : Path or None
        Folder for the work files (they are deleted by :meth:`FullbandOutput.close`);
        None: a temporary folder of its own, deleted with them.
    peak_dbfs : float
        Peak level of the result (both channels together), dB relative to full scale.
    block : int
        Samples per block of the STFT processing (exact: each block has a window's
        context).
    fft_block, fft_context : int
        Samples per block of the FFT resampling and high-pass, and of context each side
        (whole-signal operations: the context's ringing is about 1e-5 of the signal).

    Returns
    -------
    FullbandOutput

    Raises
    ------
    OSError
        A work file could not be written (a full disk); the work files made so far are
        deleted.
    """
    import shutil
    import tempfile

    own_dir = tempfile.mkdtemp(prefix="amnst-fullband-") if workdir is None else None
    stores = []
    try:
        return _render_fullband(mono, analysis_sr, content, style, sr, Path(own_dir or workdir), stores, own_dir,
                                peak_dbfs=peak_dbfs, block=block, fft_block=fft_block, fft_context=fft_context)
    except BaseException:
        for store in stores:
            store.close()
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
        raise


def _render_fullband(mono, analysis_sr, content, style, sr, workdir: Path, stores: list, own_dir, *, peak_dbfs,
                     block, fft_block, fft_context) -> FullbandOutput:
    """:func:`render_fullband`'s work; each work file it makes is added to ``stores``."""
    import librosa

    from .chunked import Store

    def new_store(name: str):
        stores.append(Store(workdir / name))
        return stores[-1]

    style = np.atleast_2d(np.asarray(style, dtype=np.float32))
    n_ch = content.channels
    n = min(int(round(len(mono) * sr / analysis_sr)), len(content))
    notes = []
    # FFT resampling: exactly band-limited, so the mid below analysis_sr / 2 is the mono output itself.
    mid_store = new_store("fullband_mid.f32")
    for part in resample_blocks(lambda a, b: mono.read(a, b)[0], len(mono), analysis_sr, sr,
                                block=fft_block // 2, pad=fft_context // 2):
        mid_store.append(part[: max(0, n - mid_store.n_rows)])
    if mid_store.n_rows < n:
        mid_store.append(np.zeros(n - mid_store.n_rows, np.float32))
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
    elif sr / 2 > HIGH_BAND_HZ:
        notes.append(f"the style has no energy above 11 kHz ({style_high_db:.0f} dB of its total): "
                     f"the output's band above 11 kHz stays empty")

    image = "mono" if n_ch == 1 else "content"
    if n_ch == 2:
        power, mid_power, side_power = content.energies(n)
        if _antiphase(mid_power, side_power):
            image = "centre"
            notes.append("the content's channels are in opposite phase (their mid is silent): "
                         "the output is centred (left = right)")
        elif min(power) < 1e-6 * max(power):
            quiet = "left" if power[0] < power[1] else "right"
            notes.append(f"the content's {quiet} channel is silent: so is the output's (the content's image)")
    high_store = new_store("fullband_high.f32") if use_high else None
    side_store = new_store("fullband_side.f32") if image == "content" else None

    # Block by block (each padded by a window's length, cut back to its own samples): every
    # step below works frame by frame, so the result is the whole signal's.
    if use_high or side_store is not None:
        block = max(hop, block - block % hop)
        pad = n_fft
        stft = lambda x: librosa.stft(x, n_fft=n_fft, hop_length=hop)  # noqa: E731
        for a in range(0, n, block):
            b = min(a + block, n)
            a0, b0 = max(a - pad, 0), min(b + pad, n)
            X = stft(mid_store.read(a0, b0))
            if use_high:
                Hs = stft(np.take(style_mid, np.arange(a0, b0), mode="wrap"))
                p_out_up = np.mean(np.abs(X[up]) ** 2, axis=0)
                p_sty_hi = np.mean(np.abs(Hs[freqs >= lo]) ** 2, axis=0)
                Hs *= w
                Hs *= np.sqrt(tilt * p_out_up / np.maximum(p_sty_hi, floor)).astype(np.float32)[None, :]
                high_store.append(librosa.istft(Hs, hop_length=hop, n_fft=n_fft, length=b0 - a0)[a - a0: b - a0])
                X += Hs
                del Hs
            if side_store is not None:
                rho = _image_ratio(content.read(a0, b0), n_fft, hop)
                rho *= X
                side_store.append(librosa.istft(rho, hop_length=hop, n_fft=n_fft, length=b0 - a0)[a - a0: b - a0])
                del rho
            del X
    # The high band is added to the mid with nothing below lo (its frames' leakage cut by an
    # FFT high-pass, block by block with context), so the mid below the analysis' Nyquist
    # stays exactly the transferred output; the peak is measured as the blocks go.
    peak = 0.0
    for a in range(0, n, fft_block):
        b = min(a + fft_block, n)
        m = mid_store.read(a, b)
        if use_high:
            a0, b0 = max(a - fft_context, 0), min(b + fft_context, n)
            m = m + _highpass(high_store.read(a0, b0), sr, lo)[a - a0: b - a0]
            mid_store.write(a, m)
        if side_store is not None:
            s = side_store.read(a, b)
            peak = max(peak, float(np.max(np.abs(m + s))), float(np.max(np.abs(m - s))))
        else:
            peak = max(peak, float(np.max(np.abs(m))) if m.size else 0.0)
    if high_store is not None:
        high_store.close()
    scale = 10 ** (peak_dbfs / 20) / peak if peak > 0 and np.isfinite(peak) else 1.0
    info = {"high_band": use_high, "style_high_db": float(style_high_db), "image": image, "notes": notes}
    return FullbandOutput(mid_store, side_store, n_ch, sr, scale, info, own_dir)


def fullband_output(y_mono: np.ndarray, analysis_sr: int, content: np.ndarray, style: np.ndarray, sr: int, *,
                    peak_dbfs: float = -1.0, block: int = 2 ** 18) -> tuple[np.ndarray, dict]:
    """Make the full-band, multi-channel output from the transferred mono waveform (whole arrays).

    :func:`render_fullband` on arrays in memory, for short signals; the pipeline renders
    long tracks with that directly, block by block.

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
    content = np.atleast_2d(np.asarray(content, dtype=np.float32))
    n_ch, n = content.shape
    if sr == analysis_sr and n_ch == 1:  # nothing to add: the mono output as it is
        y = np.asarray(y_mono, dtype=np.float32)[:n]
        return y[None, :], {"high_band": False, "style_high_db": None, "image": "mono", "notes": [], "mid": y}
    out = render_fullband(Samples(np.asarray(y_mono, dtype=np.float32)), analysis_sr, Samples(content), style, sr,
                          None, peak_dbfs=peak_dbfs, block=block)
    try:
        return out.array(), dict(out.info, mid=out.mid(0, out.n))
    finally:
        out.close()


def mid(y: np.ndarray) -> np.ndarray:
    """The mid (channel average) of a waveform of shape (n_channels, n_samples) or (n_samples,)."""
    y = np.asarray(y, dtype=np.float32)
    return y if y.ndim == 1 else y.mean(axis=0)


@dataclass
class RenderedOutput:
    """The written output and what was done to make it.

    Attributes
    ----------
    output : FullbandOutput or None
        The output to write, in work files; None when it is the transfer's mono waveform
        at the analysis rate, unchanged (the pipeline writes that as it always did).
    sr : int
        Its sample rate, Hz.
    record : dict
        For ``run.json``: format, sample_rate, channels, the inputs' formats, image,
        high_band, style_high_db, notes.
    mels : dict of str to np.ndarray, or None
        Full-band mel spectrograms (content, style, output mids) at ``sr`` for the
        picture, made with ``mel_config`` and averaged in time (``mel_factors`` frames
        per column); None with ``output``.
    mel_config : AnalysisConfig or None
    mel_factors : dict of str to int, or None
    """

    output: FullbandOutput | None
    sr: int
    record: dict
    mels: dict | None = None
    mel_config: object = None
    mel_factors: dict | None = None


def prepare_output(content_path, style_path, analysis, output, *, max_seconds: float | None = None,
                   workdir: Path | None = None) -> tuple[NativeAudio, NativeAudio] | None:
    """Read the inputs at their own rate and channels, before the transfer (so that a file
    the output cannot use fails before the long computation).

    Parameters
    ----------
    workdir : Path or None
        Keep the content's samples in a work file there (a long track's stay out of
        memory); None keeps them in memory.

    Returns
    -------
    (content, style) : tuple of NativeAudio, or None for ``output.format == "mono22050"``
        A mono content at the analysis rate has ``y`` None for both: the output is the
        transfer's mono waveform as it is, and needs neither.
    """
    if output.format == "mono22050":
        return None
    content = load_native(content_path, analysis_sr=analysis.sr, read=False)
    plain = content.sr == analysis.sr and content.channels == 1
    if not plain:
        content = load_native(content_path, analysis_sr=analysis.sr, max_seconds=max_seconds,
                              store_path=None if workdir is None else Path(workdir) / "content_native.f32")
    style = load_native(style_path, analysis_sr=analysis.sr, max_seconds=max_seconds, read=not plain)
    if not plain and style.sr != content.sr:
        import librosa

        style.y = Samples(librosa.resample(style.y.array(), orig_sr=style.sr, target_sr=content.sr, axis=-1))
        style.sr = content.sr
    for note in content.notes + style.notes:
        log.warning(note)
    return content, style


def is_plain_mono(prepared, analysis) -> bool:
    """Whether the written output is the transfer's mono waveform at the analysis rate, as it is.

    True for ``mono22050`` (``prepared`` None) and for a mono content at ``analysis.sr``:
    :func:`render_output` then needs no waveform (pass None) and returns ``output`` None.
    """
    if prepared is None:
        return True
    content = prepared[0]
    return content.sr == analysis.sr and content.channels == 1


def mono_output(prepared, analysis, output, notes=()) -> RenderedOutput:
    """The output is the transfer's mono waveform at the analysis rate, as it is.

    For ``mono22050``, a mono content at the analysis rate, and (with a note saying why) a
    full-band render that could not be done.
    """
    record = {"format": output.format, "sample_rate": analysis.sr, "channels": 1, "image": "mono",
              "high_band": False, "style_high_db": None, "notes": []}
    if prepared is None:
        return RenderedOutput(output=None, sr=analysis.sr, record=record)
    content, style = prepared
    record.update(notes=content.notes + style.notes + list(notes),
                  content={"sample_rate": content.file_sr, "channels": content.file_channels},
                  style={"sample_rate": style.file_sr, "channels": style.file_channels})
    return RenderedOutput(output=None, sr=analysis.sr, record=record)


def render_output(y_mono: Samples | None, prepared, analysis, output, *, workdir: Path | None = None,
                  peak_dbfs: float = -1.0, picture_columns: int = 1200) -> RenderedOutput:
    """The output in the format ``output`` asks for, from the transferred mono waveform.

    Parameters
    ----------
    y_mono : Samples or None
        The transferred, peak-normalised output at ``analysis.sr``, one channel; None
        where :func:`is_plain_mono` (nothing to render).
    prepared : tuple of NativeAudio, or None
        What :func:`prepare_output` returned.
    analysis : AnalysisConfig
    output : OutputConfig
    workdir : Path or None
        Folder for the output's work files (None: a temporary folder of its own).
    peak_dbfs : float
        Peak level of the written output.
    picture_columns : int
        The pictures' mels are averaged in time to at most this many columns.

    Returns
    -------
    RenderedOutput
        ``output`` None where the output is ``y_mono`` itself (``mono22050``, or mono
        content at the analysis rate). The caller closes ``output`` when done.
    """
    a_sr = analysis.sr
    if is_plain_mono(prepared, analysis):  # nothing to add: the mono output as it is
        return mono_output(prepared, analysis, output)
    content, style = prepared
    notes = content.notes + style.notes
    sr = content.sr
    inputs = {"content": {"sample_rate": content.file_sr, "channels": content.file_channels},
              "style": {"sample_rate": style.file_sr, "channels": style.file_channels}}
    record = {"format": output.format}
    if isinstance(y_mono, np.ndarray):
        y_mono = Samples(y_mono)
    out = render_fullband(y_mono, a_sr, content.y, style.y.array(), sr, workdir, peak_dbfs=peak_dbfs)
    info = out.info
    notes += info["notes"]
    record.update(sample_rate=sr, channels=out.channels, image=info["image"], high_band=info["high_band"],
                  style_high_db=info["style_high_db"], notes=notes, **inputs)
    for note in info["notes"]:
        log.warning(note)
    from .chunked import n_frames_of, picture_factor

    n = out.n
    n_fft, hop = _stft_size(sr)
    cfg = analysis.replace(sr=sr, n_fft=n_fft, hop_length=hop)
    style_mid = mid(style.y.array())
    factors = {"content": picture_factor(n_frames_of(n, cfg), picture_columns),
               "style": picture_factor(n_frames_of(len(style_mid), cfg), picture_columns)}
    factors["output"] = factors["content"]
    mels = {"content": mel_by_blocks(content.y.mid, n, cfg, factors["content"]),
            "style": mel_by_blocks(lambda a, b: style_mid[a:b], len(style_mid), cfg, factors["style"]),
            "output": mel_by_blocks(out.mid, n, cfg, factors["output"])}
    return RenderedOutput(output=out, sr=sr, record=record, mels=mels, mel_config=cfg, mel_factors=factors)
