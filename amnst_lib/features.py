"""Classifier training features, computed once into an on-disk cache.

Second stage of classifier training (``dataset`` -> features -> ``training``). Every
track becomes what the classifier was trained on: the magnitude mel spectrogram of the
shared :class:`~amnst_lib.config.AnalysisConfig`, padded or cut to 2587 frames and cut
into 6 segments of 431 frames (the last frame is dropped, as in the original).

Full GTZAN is about 6,000 segments x 384 x 431 float32, 4 GB, so the features live in one
``features.npy`` file read a batch at a time with positioned reads (``os.pread``), which
keeps the process's memory at one batch instead of the dataset; page caching is left
to the operating system. An ``index.json`` beside it lists the tracks, their rows and a
CRC32 of each track's bytes. The cache folder's name is a hash of everything the numbers
depend on (analysis settings, segment layout, file names and sizes), so changed settings
or files make a new cache instead of silently reusing an old one; a cache that fails its
checks (truncated file, bad header, wrong checksum) is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import load_audio
from .config import AnalysisConfig
from .errors import AmnstError, DatasetError
from .segments import pad_frames, split_segments
from .spectrum import mel_spectrogram

#: Frames each track is padded or cut to, and segments it is cut into (the original's).
TRACK_FRAMES = 2587
SEGMENTS_PER_TRACK = 6

#: Bumped when the cache's file format or feature recipe changes.
CACHE_VERSION = 1

FEATURES_FILE = "features.npy"
INDEX_FILE = "index.json"


class CacheError(Exception):
    """A cache folder failed a check; the caller rebuilds it."""


def track_features(y: np.ndarray, cfg: AnalysisConfig = AnalysisConfig(), *,
                   track_frames: int = TRACK_FRAMES, segments_per_track: int = SEGMENTS_PER_TRACK) -> np.ndarray:
    """Classifier segments of one track.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono waveform at ``cfg.sr`` Hz.
    cfg : AnalysisConfig
    track_frames : int
        Frames the mel spectrogram is zero-padded or cut to (2587, about 30 s).
    segments_per_track : int
        Segments of ``cfg.segment_frames`` taken from the start of those frames.

    Returns
    -------
    segments : np.ndarray, shape (segments_per_track, n_mels, segment_frames), float32
        Magnitude mel (with ``cfg.power`` 1.0), no dB, no normalisation.
    """
    needed = segments_per_track * cfg.segment_frames
    if needed > track_frames:
        raise DatasetError(f"{segments_per_track} segments of {cfg.segment_frames} frames need {needed} frames, "
                           f"more than track_frames={track_frames}.")
    mel = pad_frames(mel_spectrogram(y, cfg), track_frames)[:, :needed]
    return split_segments(mel, cfg.segment_frames).astype(np.float32, copy=False)


def file_features(path, cfg: AnalysisConfig = AnalysisConfig(), **kwargs) -> np.ndarray:
    """:func:`track_features` of an audio file (loaded with :func:`amnst_lib.audio.load_audio`)."""
    return track_features(load_audio(path, sr=cfg.sr), cfg, **kwargs)


def data_fingerprint(tracks) -> str:
    """SHA-256 (hex, 16 characters) of the tracks' genres, ids and file sizes."""
    h = hashlib.sha256()
    for t in sorted(tracks, key=lambda t: (t.genre, t.track_id)):
        h.update(f"{t.genre}/{t.track_id}:{t.size}\n".encode())
    return h.hexdigest()[:16]


def cache_key(tracks, cfg: AnalysisConfig = AnalysisConfig(), *, track_frames: int = TRACK_FRAMES,
              segments_per_track: int = SEGMENTS_PER_TRACK) -> str:
    """Hash (hex, 16 characters) of everything the cached numbers depend on."""
    settings = {"version": CACHE_VERSION, "analysis": cfg.to_dict(), "track_frames": track_frames,
                "segments_per_track": segments_per_track,
                "files": [f"{t.genre}/{Path(t.path).name}:{t.size}" for t in tracks]}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def default_cache_dir(data_dir) -> Path:
    """``DATA_DIR/.amnst_cache`` if the dataset folder is writable, else ``~/.cache/amnst``."""
    data_dir = Path(data_dir)
    if os.access(data_dir, os.W_OK):
        return data_dir / ".amnst_cache"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "amnst"


@dataclass
class FeatureCache:
    """An opened feature cache: track table in memory, features on disk.

    Attributes
    ----------
    folder : Path
    key : str
    shape : tuple of int
        (n_rows, n_mels, segment_frames) of ``features.npy``.
    track_ids, genres : list of str
        Cached tracks, in row order.
    labels : np.ndarray, shape (n_tracks,), int64
    rows : np.ndarray, shape (n_tracks,), int64
        First row of each track; its segments are ``rows[i] .. rows[i] + segments_per_track - 1``.
    segments_per_track : int
    skipped : list of (str, str)
        Files that could not be decoded while building, and why.
    settings : dict
        The analysis settings and segment layout the features were made with.
    """

    folder: Path
    key: str
    shape: tuple
    track_ids: list
    genres: list
    labels: np.ndarray
    rows: np.ndarray
    segments_per_track: int
    offset: int
    checksums: list
    skipped: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.folder / FEATURES_FILE

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    @property
    def n_segments(self) -> int:
        return self.n_tracks * self.segments_per_track

    def segment_rows(self, track_indices=None) -> np.ndarray:
        """File rows of the segments of the given tracks (all tracks if None), shape (n * spt,)."""
        idx = np.arange(self.n_tracks) if track_indices is None else np.asarray(track_indices, dtype=np.int64)
        return (self.rows[idx][:, None] + np.arange(self.segments_per_track)[None, :]).reshape(-1)

    def segment_track_index(self, track_indices=None) -> np.ndarray:
        """Track index of each segment given by :meth:`segment_rows`, same order."""
        idx = np.arange(self.n_tracks) if track_indices is None else np.asarray(track_indices, dtype=np.int64)
        return np.repeat(idx, self.segments_per_track)

    def track_index(self, track_ids) -> np.ndarray:
        """Indices of tracks by id (ids not in the cache raise DatasetError)."""
        lookup = {t: i for i, t in enumerate(self.track_ids)}
        missing = [t for t in track_ids if t not in lookup]
        if missing:
            raise DatasetError(f"track(s) not in the feature cache: {', '.join(missing[:10])}")
        return np.array([lookup[t] for t in track_ids], dtype=np.int64)

    def read(self, rows) -> np.ndarray:
        """Read segments by file row.

        Parameters
        ----------
        rows : array_like of int, shape (n,)

        Returns
        -------
        x : np.ndarray, shape (n, n_mels, segment_frames), float32
            In the order given. Runs of consecutive rows are read in one call.
        """
        rows = np.asarray(rows, dtype=np.int64)
        row_bytes = int(np.prod(self.shape[1:])) * 4
        out = np.empty((len(rows),) + tuple(self.shape[1:]), dtype=np.float32)
        if len(rows) == 0:
            return out
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        fd = os.open(self.path, os.O_RDONLY)
        try:
            start = 0
            while start < len(sorted_rows):
                end = start + 1
                while end < len(sorted_rows) and sorted_rows[end] == sorted_rows[end - 1] + 1:
                    end += 1
                nbytes = (end - start) * row_bytes
                buf = os.pread(fd, nbytes, self.offset + int(sorted_rows[start]) * row_bytes)
                if len(buf) != nbytes:
                    raise CacheError(f"{self.path}: short read; the cache file is truncated.")
                out[order[start:end]] = np.frombuffer(buf, dtype=np.float32).reshape((end - start,) + tuple(self.shape[1:]))
                start = end
        finally:
            os.close(fd)
        return out

    def track_segments(self, track_index: int) -> np.ndarray:
        """All segments of one track, shape (segments_per_track, n_mels, segment_frames)."""
        return self.read(self.segment_rows([track_index]))

    def memmap(self) -> np.ndarray:
        """Read-only memory map of the whole features file, shape ``self.shape``."""
        return np.load(self.path, mmap_mode="r")


def _crc(segments: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(segments, dtype=np.float32).tobytes())


def open_cache(folder, *, key: str | None = None, verify: str = "sample") -> FeatureCache:
    """Open a cache folder and check it.

    Parameters
    ----------
    folder : str or Path
    key : str or None
        Expected key; a different one fails.
    verify : {"sample", "full", "none"}
        Re-compute the checksums of a few tracks (first, last and six spread between),
        of all tracks (reads the whole file), or of none. Structure (index, header, file
        size) is always checked.

    Raises
    ------
    CacheError
        With the reason, if anything does not match.
    """
    folder = Path(folder)
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
    except FileNotFoundError:
        raise CacheError("no index.json (the cache was never completed)") from None
    except (OSError, ValueError) as e:
        raise CacheError(f"index.json unreadable ({e})") from None
    if not isinstance(index, dict) or index.get("version") != CACHE_VERSION or not index.get("complete"):
        raise CacheError("index.json is from another version or the build did not finish")
    if key is not None and index.get("key") != key:
        raise CacheError(f"key {index.get('key')} != expected {key}")
    path = folder / FEATURES_FILE
    try:
        with open(path, "rb") as f:
            major, minor = np.lib.format.read_magic(f)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if major == 1
                                     else np.lib.format.read_array_header_2_0(f))
            offset = f.tell()
    except (OSError, ValueError) as e:
        raise CacheError(f"features.npy unreadable ({e})") from None
    if dtype != np.float32 or fortran or len(shape) != 3 or list(shape) != index.get("shape"):
        raise CacheError(f"features.npy header {shape} {dtype} does not match the index {index.get('shape')}")
    if path.stat().st_size != offset + int(np.prod(shape)) * 4:
        raise CacheError(f"features.npy is {path.stat().st_size} bytes, expected {offset + int(np.prod(shape)) * 4}")
    tracks = index["tracks"]
    cache = FeatureCache(
        folder=folder, key=index["key"], shape=tuple(shape),
        track_ids=[t["id"] for t in tracks], genres=[t["genre"] for t in tracks],
        labels=np.array([t["label"] for t in tracks], dtype=np.int64),
        rows=np.array([t["row"] for t in tracks], dtype=np.int64),
        segments_per_track=int(index["segments_per_track"]), offset=offset,
        checksums=[int(t["crc32"]) for t in tracks], skipped=[tuple(s) for s in index.get("skipped", [])],
        settings=index.get("settings", {}))
    if cache.n_tracks and cache.rows.max() + cache.segments_per_track > shape[0]:
        raise CacheError("index rows point past the end of features.npy")
    if verify not in ("sample", "full", "none"):
        raise ValueError(f"verify must be 'sample', 'full' or 'none', got {verify!r}")
    if verify != "none" and cache.n_tracks:
        check = (range(cache.n_tracks) if verify == "full"
                 else sorted(set(np.linspace(0, cache.n_tracks - 1, 8).round().astype(int).tolist())))
        for i in check:
            seg = cache.track_segments(i)
            if _crc(seg) != cache.checksums[i]:
                raise CacheError(f"checksum mismatch for track {cache.track_ids[i]} (the file was modified or damaged)")
    return cache


def build_cache(dataset, cache_dir=None, cfg: AnalysisConfig = AnalysisConfig(), *,
                track_frames: int = TRACK_FRAMES, segments_per_track: int = SEGMENTS_PER_TRACK,
                verify: str = "sample", progress: bool = True) -> FeatureCache:
    """Open the feature cache of a dataset, computing it first if needed.

    Parameters
    ----------
    dataset : amnst_lib.dataset.Dataset
        From :func:`amnst_lib.dataset.find_tracks`.
    cache_dir : str, Path or None
        Parent folder of cache folders; None uses :func:`default_cache_dir` of the dataset.
    cfg : AnalysisConfig
    track_frames, segments_per_track : int
        Segment layout (the original's 2587 and 6).
    verify : {"sample", "full", "none"}
        Checks when an existing cache is opened (see :func:`open_cache`).
    progress : bool
        Show a progress bar while extracting.

    Returns
    -------
    FeatureCache
        Tracks that fail to decode are left out, listed in ``skipped`` and warned about.
    """
    tracks = list(dataset.tracks)
    if not tracks:
        raise DatasetError("no tracks to extract features from.")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(dataset.data_dir or dataset.root)
    key = cache_key(tracks, cfg, track_frames=track_frames, segments_per_track=segments_per_track)
    folder = cache_dir / f"features-{key}"
    if folder.exists():
        try:
            cache = open_cache(folder, key=key, verify=verify)
            if cache.skipped:
                from .dataset import warn_skipped
                warn_skipped(cache.skipped)
            return cache
        except CacheError as e:
            warnings.warn(f"{folder}: feature cache failed a check ({e}); rebuilding it.", UserWarning, stacklevel=2)
            shutil.rmtree(folder)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    shape = (len(tracks) * segments_per_track, cfg.n_mels, cfg.segment_frames)
    entries, skipped = [], []
    try:
        # Written with ordinary file writes, not through a memory map, so that extraction
        # does not hold the growing file in the process's resident memory.
        with open(tmp / FEATURES_FILE, "wb") as f:
            np.lib.format.write_array_header_2_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
            offset = f.tell()
            f.truncate(offset + int(np.prod(shape)) * 4)
            bar = _progress(tracks, progress, "features")
            for i, t in enumerate(bar):
                try:
                    seg = file_features(t.path, cfg, track_frames=track_frames, segments_per_track=segments_per_track)
                except AmnstError as e:
                    skipped.append((str(t.path), str(e)))
                    continue
                row = i * segments_per_track
                f.seek(offset + row * cfg.n_mels * cfg.segment_frames * 4)
                f.write(seg.tobytes())
                entries.append({"id": t.track_id, "genre": t.genre, "label": int(t.label), "row": row,
                                "file": str(t.path), "size": int(t.size), "crc32": _crc(seg)})
        if not entries:
            raise DatasetError(f"{dataset.root}: none of the {len(tracks)} tracks could be decoded; "
                               f"first error: {skipped[0][1]}")
        index = {"version": CACHE_VERSION, "key": key, "shape": list(shape), "segments_per_track": segments_per_track,
                 "settings": {"analysis": cfg.to_dict(), "track_frames": track_frames,
                              "segments_per_track": segments_per_track},
                 "data_fingerprint": data_fingerprint(tracks), "root": str(dataset.root),
                 "tracks": entries, "skipped": skipped, "complete": True}
        # index.json is written last: a cache without it is an unfinished build.
        (tmp / INDEX_FILE).write_text(json.dumps(index, indent=1))
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    if skipped:
        from .dataset import warn_skipped
        warn_skipped(skipped)
    return open_cache(folder, key=key, verify="none")


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but a bar is not worth failing for
        return items
    return tqdm(items, desc=desc, unit="track")
