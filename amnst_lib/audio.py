"""Audio in and out: the first and last stage of the flow.

``load_audio`` turns any WAV, FLAC, OGG or MP3 file, at any sample rate and channel count,
into a mono float32 waveform at the configured rate, and refuses input that cannot be
styled (missing, empty, corrupt, silent or too short) with an :class:`AudioFileError` that
names the file. ``write_wav`` writes 16-bit PCM atomically and never replaces an existing
file unless asked.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioFileError, OutputExistsError

log = logging.getLogger("amnst")

#: Formats we promise to read (libsndfile decodes them without ffmpeg).
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff", ".aif")

#: Below this peak level (dBFS) a clip is treated as silent.
SILENCE_DBFS = -80.0

#: Shortest clip accepted, in seconds: the one minimum, checked at load. Every later stage
#: works at this length (the quality figures need 0.15 s of output, and an output may be
#: up to one hop shorter than its content: one re-run from a record written before
#: ``ReconstructionConfig.full_length``, or one cut by ``segments_to_reconstruct``).
MIN_SECONDS = 0.2


#: Frames decoded at a time: a long file is never held whole while it is read.
BLOCK_FRAMES = 2 ** 18


class AudioStream:
    """A decoded audio file, read block by block.

    libsndfile reads the file in blocks of ``block`` frames (memory stays flat with the
    file's length); a container it cannot open is decoded whole by librosa/audioread
    instead, and its blocks are slices of that.

    Parameters
    ----------
    path : Path
    block : int or None
        Frames per block (None: :data:`BLOCK_FRAMES`).

    Attributes
    ----------
    sr : int
        The file's sample rate, Hz.
    channels : int
        The file's channel count.

    Raises
    ------
    AudioFileError
        If neither decoder can open the file.
    """

    def __init__(self, path: Path, block: int | None = None):
        self.path, self.block = Path(path), int(BLOCK_FRAMES if block is None else block)
        self._data = None
        try:
            with sf.SoundFile(str(self.path)) as f:
                self.sr, self.channels = int(f.samplerate), int(f.channels)
        except Exception as sf_error:  # libsndfile says little; try the fallback, then report
            try:
                import librosa

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # its deprecation notes; the outcome is reported below
                    y, sr = librosa.load(str(self.path), sr=None, mono=False)
                self._data = np.atleast_2d(y).astype(np.float32)
                self.sr, self.channels = int(sr), int(self._data.shape[0])
            except Exception:
                reason = _decoder_reason(sf_error, self.path)
                raise AudioFileError(
                    f"{self.path}: cannot be decoded as audio ({reason}). "
                    f"Use a WAV, FLAC, OGG or MP3 file that plays in other software."
                ) from None

    def blocks(self, max_frames: int | None = None):
        """Yield the samples in order, each block shape (channels, k), float32.

        Parameters
        ----------
        max_frames : int or None
            Stop after this many frames.
        """
        left = np.inf if max_frames is None else int(max_frames)
        if self._data is not None:
            n = int(min(self._data.shape[1], left))
            for a in range(0, n, self.block):
                yield self._data[:, a: min(a + self.block, n)]
            return
        try:
            with sf.SoundFile(str(self.path)) as f:
                while left > 0:
                    data = f.read(int(min(self.block, left)), dtype="float32", always_2d=True)
                    if len(data) == 0:
                        return
                    left -= len(data)
                    yield np.ascontiguousarray(data.T)
        except sf.LibsndfileError as e:
            raise AudioFileError(f"{self.path}: cannot be decoded as audio ({_decoder_reason(e, self.path)}).") from None


def resample_stream(sr_in: int, sr_out: int, channels: int = 1):
    """A streaming resampler equal to ``librosa.resample`` (soxr, high quality) sample for sample.

    Returns
    -------
    callable
        ``f(block, last)``: feed blocks of shape (k,) (or (k, channels)) in order,
        ``last=True`` with the final one; returns the output samples ready so far.
        The concatenation has ``ceil(n * sr_out / sr_in)`` samples after
        :func:`fix_resampled_length`.
    """
    import soxr

    stream = soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality="HQ")
    return lambda block, last=False: stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)


def fix_resampled_length(y: np.ndarray, n_in: int, sr_in: int, sr_out: int) -> np.ndarray:
    """Trim or zero-pad a resampled signal to ``ceil(n_in * sr_out / sr_in)`` samples, as librosa does."""
    n = int(np.ceil(n_in * sr_out / sr_in))
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y), *y.shape[1:]), y.dtype)])


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(bytes announced, bytes present) of a RIFF/WAVE file's data chunk when it is cut short."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                chunk = f.read(8)
                cid, n = chunk[:4], int.from_bytes(chunk[4:8], "little")
                if cid == b"data":
                    have = size - (pos + 8)
                    if 0 < n < 0xFFFFFFFF and have < n:  # 0 / 0xFFFFFFFF: written as a stream
                        return n, have
                    return None
                pos += 8 + n + (n & 1)
    except OSError:
        return None
    return None


def load_audio(path, sr: int = 22050, *, min_seconds: float = MIN_SECONDS,
               max_seconds: float | None = None, purpose: str = "transfer") -> np.ndarray:
    """Load an audio file as mono float32 at ``sr`` Hz.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG or MP3 file, any sample rate, any number of channels.
    sr : int
        Target sample rate in Hz; the file is resampled (soxr, high quality) if it differs.
    min_seconds : float
        Shortest duration accepted.
    max_seconds : float or None
        If given, only the first ``max_seconds`` (> 0) are kept.
    purpose : str
        What the audio is for, in the message about a silent file ("nothing to ...").

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        The waveform, channels averaged, in [-1, 1].

    Raises
    ------
    AudioFileError
        If the file is missing, not a file, empty, undecodable, has no samples, contains
        non-finite values, is silent, or is shorter than ``min_seconds``.

    Notes
    -----
    A WAV file cut short in its data (an interrupted copy) is used as far as it goes,
    with a warning saying how much was read.
    """
    import stat

    path = Path(path)
    if max_seconds is not None and not (np.isfinite(max_seconds) and max_seconds > 0):
        raise AudioFileError(f"{path}: max_seconds must be a finite number of seconds > 0, got {max_seconds!r}")
    if not path.exists():
        raise AudioFileError(f"{path}: no such file. Check the path and file name.")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file.")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a pipe (as from <(...))" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise AudioFileError(f"{path}: is {kind}, not an audio file; save the audio to a file and pass that.")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty (0 bytes).")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:  # permission denied, an unreachable network file: not a decoding problem
        raise AudioFileError(f"{path}: cannot be read ({e.strerror or e}); check its permissions, or copy it "
                             f"somewhere readable.") from None
    stream = AudioStream(path)
    file_sr = stream.sr
    max_frames = None if max_seconds is None else int(round(max_seconds * file_sr))
    # Block by block, in two passes for several channels (the first decides how to mix
    # them): a long file is never held whole at its own rate and channel count.
    alone = None
    if stream.channels > 1:
        energy, mixed = np.zeros(stream.channels), 0.0
        for block in stream.blocks(max_frames):
            _check_finite(block, path)
            energy += np.sum(np.square(block, dtype=np.float64), axis=1)
            mixed += float(np.sum(np.square(block.mean(axis=0), dtype=np.float64)))
        alone = _channel_alone(energy, mixed, path, stream.channels)
    resample = resample_stream(file_sr, sr) if file_sr != sr else None
    parts, frames = [], 0
    for block in stream.blocks(max_frames):
        if stream.channels == 1:
            _check_finite(block, path)
        mono = block[0] if stream.channels == 1 else block[alone] if alone is not None else block.mean(axis=0)
        frames += len(mono)
        parts.append(resample(mono) if resample else mono)
    if resample:
        parts.append(resample(np.zeros(0, np.float32), last=True))
    short = _wav_shortfall(path)
    if short is not None:
        announced, present = short
        log.warning(f"{path}: the file is cut short: its header announces {announced / max(present, 1) * frames / file_sr:.1f} s, "
                    f"only {frames / file_sr:.1f} s ({100 * present / announced:.0f}% of the data) could be read; "
                    f"using what was read.")
    if frames == 0:
        raise AudioFileError(f"{path}: the file decodes to no samples.")
    y = np.concatenate(parts) if len(parts) > 1 else parts[0]
    del parts
    if resample:
        y = fix_resampled_length(y, frames, file_sr, sr)
    y = np.ascontiguousarray(y, dtype=np.float32)
    seconds = len(y) / sr
    if seconds < min_seconds:
        raise AudioFileError(
            f"{path}: only {seconds:.3f} s long; at least {min_seconds} s of audio is needed."
        )
    peak = float(np.max(np.abs(y)))
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_db < SILENCE_DBFS:
        raise AudioFileError(
            f"{path}: the audio is silent (peak {peak_db:.0f} dBFS, below {SILENCE_DBFS:.0f} dBFS); "
            f"there is nothing to {purpose}."
        )
    return y


def _check_finite(block: np.ndarray, path) -> None:
    if not np.all(np.isfinite(block)):
        raise AudioFileError(f"{path}: the file contains NaN or infinite samples.")


def _channel_alone(energy: np.ndarray, mixed: float, path, n_channels: int) -> int | None:
    """The channel to use alone when the channel average cancels (opposite phase), else None.

    ``energy``: each channel's summed square; ``mixed``: the average's.
    """
    if energy.max() > 0 and mixed < 1e-4 * energy.max():
        k = int(np.argmax(energy))
        log.warning(f"{path}: the channels cancel when averaged (opposite phase); "
                    f"using channel {k + 1} of {n_channels} alone")
        return k
    return None


def mix_to_mono(data: np.ndarray, path=None) -> np.ndarray:
    """Average the channels; if they cancel (opposite phase), keep the louder one and say so.

    Parameters
    ----------
    data : np.ndarray, shape (n_channels, n_samples)
    path : str or Path, optional
        Named in the note.

    Returns
    -------
    np.ndarray, shape (n_samples,)
        The channel average, or, where that lies more than 40 dB below the loudest channel
        (channels in opposite phase), the loudest channel (a one-line warning says so).
    """
    if data.shape[0] == 1:
        return data[0]
    y = data.mean(axis=0)
    energy = np.sum(np.square(data, dtype=np.float64), axis=1)
    k = _channel_alone(energy, float(np.sum(np.square(y, dtype=np.float64))), path, data.shape[0])
    return y if k is None else data[k]


def audio_info(path) -> dict:
    """Sample rate, channels and duration of a file, as read from its header."""
    info = sf.info(str(path))
    return {"sample_rate": int(info.samplerate), "channels": int(info.channels),
            "seconds": float(info.duration), "format": info.format}


def peak_normalize(y: np.ndarray, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale ``y`` so its peak is ``peak_dbfs`` dB below full scale (silence stays silent)."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return y.astype(np.float32)
    return (y * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def atomic_write(path, write_fn, *, overwrite: bool = False, suffix: str = "") -> Path:
    """Write a file through a temporary file in the same folder, then rename it in place.

    A crash mid-write leaves the old file (or nothing), never a half-written one.

    Parameters
    ----------
    path : str or Path
        Final file path.
    write_fn : callable
        Called with the temporary path; must write the whole file there.
    overwrite : bool
        Replace an existing file. Without it an existing file raises OutputExistsError.
    suffix : str
        Suffix for the temporary file (some writers pick the format from it).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; pass overwrite=True (--overwrite) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write_fn(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_wav(path, y: np.ndarray, sr: int, *, overwrite: bool = False) -> Path:
    """Write a waveform as a 16-bit PCM WAV, atomically.

    Parameters
    ----------
    path : str or Path
        Destination ``.wav`` path.
    y : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        Waveform in [-1, 1]; values outside are clipped.
    sr : int
        Sample rate in Hz.
    overwrite : bool
        Replace an existing file.
    """
    y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    if y.ndim == 2:
        y = y[0] if y.shape[0] == 1 else y.T  # soundfile takes (n_samples, n_channels)
    return atomic_write(path, lambda tmp: sf.write(tmp, y, sr, subtype="PCM_16", format="WAV"),
                        overwrite=overwrite, suffix=".wav")


def _decoder_reason(error: BaseException, path) -> str:
    """The decoder's reason in a few words: its first line, without libsndfile's
    "Error opening '<path>': " (the message names the file already)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    first = text.splitlines()[0]
    for quoted in (repr(str(path)), f"'{path}'", f'"{path}"'):
        first = first.replace(f"Error opening {quoted}: ", "")
    return first.rstrip(".") or type(error).__name__  # the message goes on after it
