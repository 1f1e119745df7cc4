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
#: works at this length (the quality figures need 0.15 s of output, and an output is up to
#: one hop shorter than its content).
MIN_SECONDS = 0.2


def _decode(path: Path) -> tuple[np.ndarray, int]:
    """Decode with libsndfile, falling back to librosa/audioread for other containers."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data.T, int(sr)
    except Exception as sf_error:  # libsndfile says little; try the fallback, then report
        try:
            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its deprecation notes; the outcome is reported below
                y, sr = librosa.load(str(path), sr=None, mono=False)
            return np.atleast_2d(y).astype(np.float32), int(sr)
        except Exception:
            reason = str(sf_error).strip().splitlines()[0] if str(sf_error).strip() else type(sf_error).__name__
            raise AudioFileError(
                f"{path}: cannot be decoded as audio ({reason}). "
                f"Use a WAV, FLAC, OGG or MP3 file that plays in other software."
            ) from None


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
    data, file_sr = _decode(path)
    short = _wav_shortfall(path)
    if short is not None:
        announced, present = short
        frames = data.shape[1]
        log.warning(f"{path}: the file is cut short: its header announces {announced / max(present, 1) * frames / file_sr:.1f} s, "
                    f"only {frames / file_sr:.1f} s ({100 * present / announced:.0f}% of the data) could be read; "
                    f"using what was read.")
    if data.size == 0:
        raise AudioFileError(f"{path}: the file decodes to no samples.")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(f"{path}: the file contains NaN or infinite samples.")
    y = data.mean(axis=0) if data.shape[0] > 1 else data[0]
    if max_seconds is not None:
        y = y[: int(round(max_seconds * file_sr))]
    if file_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
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
    """Write a mono waveform as a 16-bit PCM WAV, atomically.

    Parameters
    ----------
    path : str or Path
        Destination ``.wav`` path.
    y : np.ndarray, shape (n_samples,)
        Waveform in [-1, 1]; values outside are clipped.
    sr : int
        Sample rate in Hz.
    overwrite : bool
        Replace an existing file.
    """
    y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    return atomic_write(path, lambda tmp: sf.write(tmp, y, sr, subtype="PCM_16", format="WAV"),
                        overwrite=overwrite, suffix=".wav")
