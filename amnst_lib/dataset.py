"""GTZAN as users have it: finding the tracks, splitting them fairly, and a miniature.

This is the first stage of classifier training (dataset -> ``features`` -> ``training``).
:func:`find_tracks` accepts the Kaggle layout (``Data/genres_original/<genre>/<genre>.000NN.wav``)
and the original Marsyas one (``genres/<genre>/<genre>.000NN.au``), and probes every file's
header so that unreadable ones (GTZAN ships one, ``jazz.00054.wav``) are skipped and listed
instead of crashing a long feature extraction. :func:`split_tracks` splits by TRACK with a
seed (the original split by segment, so the six segments of one track landed on both sides
and its validation accuracy was inflated); the original's segment split stays available,
labelled leaky, to reproduce its figures. :func:`make_miniature` synthesises a small
GTZAN-shaped dataset whose classes differ in timbre, rhythm and register, so the whole
pipeline can be tested and demonstrated without the real data.

Run ``python -m amnst_lib.dataset make-miniature OUT_DIR`` to write one.
"""

from __future__ import annotations

import csv
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import SUPPORTED_EXTENSIONS
from .errors import DatasetError, OutputExistsError

#: GTZAN genres in the original's label order. Defined here, where no TensorFlow is needed
#: (dataset handling and the miniature generator run without it); model.py imports it.
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")

#: Where to get GTZAN, quoted in every "no dataset here" message.
GTZAN_HELP = (
    "Get GTZAN from Kaggle (andradaolteanu/gtzan-dataset-music-genre-classification) and "
    "unzip it so that the folder holds Data/genres_original/<genre>/<genre>.000NN.wav, or use "
    "the Marsyas archive (genres/<genre>/<genre>.000NN.au). For a quick try without GTZAN, "
    "generate a miniature: python -m amnst_lib.dataset make-miniature OUT_DIR. See data/README.md.")

#: Sub-folders searched, in order, for the genre folders.
_LAYOUTS = (("kaggle", ("Data", "genres_original")), ("kaggle", ("genres_original",)),
            ("marsyas", ("genres",)), ("flat", ()))

SUBSETS = ("train", "val", "test")


@dataclass(frozen=True)
class Track:
    """One audio file of the dataset.

    Attributes
    ----------
    track_id : str
        File name without extension, e.g. ``"blues.00000"``; unique within a dataset.
    genre : str
        Its genre folder's name.
    label : int
        Index of ``genre`` in :data:`GENRES`.
    path : Path
        The audio file.
    size : int
        File size in bytes (part of the feature cache's key).
    """

    track_id: str
    genre: str
    label: int
    path: Path
    size: int


@dataclass
class Dataset:
    """The readable tracks of a dataset folder and what was skipped.

    Attributes
    ----------
    root : Path
        The folder holding the genre folders.
    layout : str
        ``"kaggle"``, ``"marsyas"`` or ``"flat"`` (genre folders directly in DATA_DIR).
    tracks : list of Track
        Readable tracks, sorted by genre order then id.
    skipped : list of (Path, str)
        Unreadable files and why.
    metadata_csv : Path or None
        Kaggle's ``features_30_sec.csv`` if present (not needed: features are recomputed).
    data_dir : Path or None
        The folder the user gave (``root`` or a parent of it).
    """

    root: Path
    layout: str
    tracks: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    metadata_csv: Path | None = None
    data_dir: Path | None = None

    @property
    def labels(self) -> np.ndarray:
        """Genre index of each track, shape (n_tracks,), int64."""
        return np.array([t.label for t in self.tracks], dtype=np.int64)

    def counts(self) -> dict:
        """Tracks per genre."""
        return {g: sum(t.genre == g for t in self.tracks) for g in GENRES}


def _genre_root(data_dir: Path) -> tuple[Path, str]:
    for layout, parts in _LAYOUTS:
        candidate = data_dir.joinpath(*parts)
        if candidate.is_dir() and any((candidate / g).is_dir() for g in GENRES):
            return candidate, layout
    raise DatasetError(
        f"{data_dir}: no GTZAN genre folders found (looked for {', '.join(GENRES)} in "
        f"{data_dir}, Data/genres_original, genres_original and genres). {GTZAN_HELP}")


def _probe(path: Path) -> str | None:
    """None if the file's header can be read and it has samples, else the reason."""
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        info = sf.info(str(path))
    except Exception as e:  # libsndfile cannot parse it; GTZAN's jazz.00054 fails here
        text = str(e).strip().splitlines()
        return text[-1] if text else type(e).__name__
    if info.frames <= 0:
        return "no audio frames"
    return None


def find_tracks(data_dir, *, genres=GENRES, probe: bool = True, warn: bool = True) -> Dataset:
    """Find the tracks of a GTZAN-shaped dataset folder.

    Parameters
    ----------
    data_dir : str or Path
        The unzipped dataset: the Kaggle folder (with ``Data/genres_original``), the
        Marsyas folder (with ``genres``), or a folder holding the genre folders directly.
    genres : sequence of str
        Genre folders required, in label order.
    probe : bool
        Read every file's header and skip those that cannot be decoded.
    warn : bool
        Emit a ``UserWarning`` listing skipped files.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        If the folder is missing, holds no genre folders, misses some genre folders, has a
        genre folder without audio, or two files share a track id.
    """
    data_dir = Path(data_dir).expanduser()
    if not data_dir.exists():
        raise DatasetError(f"{data_dir}: no such folder. {GTZAN_HELP}")
    if not data_dir.is_dir():
        raise DatasetError(f"{data_dir}: is a file; pass the dataset FOLDER. {GTZAN_HELP}")
    root, layout = _genre_root(data_dir)
    missing = [g for g in genres if not (root / g).is_dir()]
    if missing:
        raise DatasetError(
            f"{root}: genre folder(s) missing: {', '.join(missing)}. All of {', '.join(genres)} are "
            f"needed (the classifier has one output per genre); is the download complete?")
    dataset = Dataset(root=root, layout=layout, data_dir=data_dir)
    csv_path = root.parent / "features_30_sec.csv"
    dataset.metadata_csv = csv_path if csv_path.is_file() else None
    seen: dict[str, Path] = {}
    for label, genre in enumerate(genres):
        files = sorted(p for p in (root / genre).iterdir()
                       if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS and not p.name.startswith("."))
        if not files:
            raise DatasetError(
                f"{root / genre}: no audio files (looked for {', '.join(SUPPORTED_EXTENSIONS)}). "
                f"Every genre needs its tracks. {GTZAN_HELP}")
        for path in files:
            track_id = path.stem
            if track_id in seen:
                raise DatasetError(f"{path} and {seen[track_id]} have the same track id {track_id!r}; "
                                   f"keep one of them.")
            seen[track_id] = path
            reason = _probe(path) if probe else None
            if reason:
                dataset.skipped.append((path, reason))
                continue
            dataset.tracks.append(Track(track_id, genre, label, path, path.stat().st_size))
    if not dataset.tracks:
        raise DatasetError(f"{root}: none of the audio files could be read. {GTZAN_HELP}")
    if dataset.skipped and warn:
        warn_skipped(dataset.skipped)
    return dataset


def warn_skipped(skipped) -> None:
    """Warn once, listing every skipped file and why."""
    lines = "\n".join(f"  {p}: {why}" for p, why in skipped)
    warnings.warn(f"skipped {len(skipped)} unreadable file(s) (GTZAN's jazz.00054.wav is known to be "
                  f"corrupt):\n{lines}", UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------
# Splits


def normalize_track_id(text: str) -> str:
    """``"blues/blues.00029.wav"`` or ``"blues.00029.au"`` -> ``"blues.00029"``."""
    name = re.split(r"[\\/]", text.strip())[-1]
    stem, dot, ext = name.rpartition(".")
    return stem if dot and ("." + ext.lower()) in SUPPORTED_EXTENSIONS else name


def split_tracks(tracks, *, val_fraction: float = 0.2, test_fraction: float = 0.0, seed: int = 0) -> dict:
    """Seeded, genre-stratified split by TRACK: no track is in two subsets.

    Parameters
    ----------
    tracks : sequence of Track
    val_fraction, test_fraction : float
        Share of each genre's tracks for validation and test (rounded, at least one each
        when the fraction is > 0 and the genre has enough tracks).
    seed : int

    Returns
    -------
    split : dict
        ``{"train": [track_id, ...], "val": [...], "test": [...]}``, each sorted.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DatasetError(f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be "
                           f"in [0, 1) and leave some tracks for training.")
    rng = np.random.default_rng(seed)
    split = {s: [] for s in SUBSETS}
    by_genre: dict[str, list] = {}
    for t in tracks:
        by_genre.setdefault(t.genre, []).append(t.track_id)
    for genre in sorted(by_genre):
        ids = sorted(by_genre[genre])
        ids = [ids[i] for i in rng.permutation(len(ids))]
        n = len(ids)
        n_val = max(1, round(n * val_fraction)) if val_fraction > 0 and n >= 2 else 0
        n_test = max(1, round(n * test_fraction)) if test_fraction > 0 and n - n_val >= 2 else 0
        split["val"] += ids[:n_val]
        split["test"] += ids[n_val:n_val + n_test]
        split["train"] += ids[n_val + n_test:]
    return {s: sorted(v) for s, v in split.items()}


def read_split_file(path, tracks, unreadable=()) -> dict:
    """Read a split from a CSV file of track ids per subset.

    Two shapes are accepted: long, one ``track_id,subset`` row per track (a header row is
    optional); or wide, a header naming the subsets (``train,val,test``) with the ids in
    columns. Ids may carry a genre folder and extension (``blues/blues.00029.wav``), as
    in the artist-filtered split's lists. Subset names ``valid``/``validation`` mean
    ``val``. Tracks of the dataset that the file does not name are left out.
    ``unreadable`` ids (files found but skipped as undecodable, e.g. GTZAN's jazz.00054)
    count as known: a published split lists them, and the caller leaves them out.

    Raises
    ------
    DatasetError
        If the file is missing or empty, names a subset other than train/val/test, names
        a track twice, or names tracks that are not in the dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such split file. Give 'track', 'segment' or a CSV file of "
                           f"track ids per subset (rows 'track_id,subset').")
    with open(path, newline="") as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f) if any(c.strip() for c in r)]
    if not rows:
        raise DatasetError(f"{path}: the split file is empty.")
    alias = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
             "test": "test", "testing": "test"}
    assignment: dict[str, str] = {}

    def assign(raw_id: str, subset: str, where: str) -> None:
        if subset.lower() not in alias:
            raise DatasetError(f"{path}: {where}: unknown subset {subset!r}; use train, val or test.")
        tid = normalize_track_id(raw_id)
        if tid in assignment:
            raise DatasetError(f"{path}: {where}: track {tid!r} is listed twice "
                               f"({assignment[tid]} and {alias[subset.lower()]}); a track must be in one subset.")
        assignment[tid] = alias[subset.lower()]

    header = [c.lower() for c in rows[0]]
    if any(header) and all(h in alias for h in header if h):  # wide: a header of subset names
        for r, row in enumerate(rows[1:], start=2):
            for c, cell in enumerate(row):
                if cell and c < len(header) and header[c]:
                    assign(cell, header[c], f"row {r}")
    else:
        start = 1 if header[:2] in (["track_id", "subset"], ["track", "subset"], ["id", "subset"]) else 0
        for r, row in enumerate(rows[start:], start=start + 1):
            if len(row) < 2:
                raise DatasetError(f"{path}: row {r} {row!r}: expected 'track_id,subset'.")
            assign(row[0], row[1], f"row {r}")
    known = {t.track_id for t in tracks} | {normalize_track_id(str(u)) for u in unreadable}
    unknown = sorted(set(assignment) - known)
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DatasetError(f"{path}: names {len(unknown)} track(s) not in the dataset: "
                           f"{', '.join(unknown[:10])}{more}. Check the ids (e.g. 'blues.00029') "
                           f"and that the split belongs to this dataset.")
    split = {s: sorted(t for t, sub in assignment.items() if sub == s) for s in SUBSETS}
    if not split["train"] or not split["val"]:
        raise DatasetError(f"{path}: the split needs tracks in both 'train' and 'val' "
                           f"(found {len(split['train'])} and {len(split['val'])}).")
    return split


def write_split_file(split: dict, path) -> Path:
    """Write a split as a long CSV (``track_id,subset`` rows), readable by :func:`read_split_file`."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track_id", "subset"])
        for subset in SUBSETS:
            for tid in split.get(subset, []):
                w.writerow([tid, subset])
    return path


def split_segments_leaky(n_segments_total: int, *, val_fraction: float = 0.2, seed: int = 0) -> dict:
    """The original's split: shuffled SEGMENTS, cut once. LEAKY.

    Segments of one track end up in both train and validation, so validation accuracy
    measures memory of tracks as much as generalisation. Only for reproducing the original's
    figures; seeded here (the original was not).

    Returns
    -------
    split : dict
        ``{"train": segment indices, "val": segment indices, "test": empty}``, int64 arrays.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_segments_total)
    n_val = int(round(n_segments_total * val_fraction))
    return {"train": np.sort(order[n_val:]), "val": np.sort(order[:n_val]), "test": np.array([], dtype=np.int64)}


# --------------------------------------------------------------------------------------
# The generated miniature
#
# Each genre is a recipe of a few instruments. The classes differ in register (where the
# energy sits on the mel axis), timbre (harmonic content, noise, distortion, envelopes)
# and rhythm (tempo, pulse pattern); every track is normalised to the same RMS (+-2 dB at
# random) so that loudness alone gives nothing away. Per-track randomness (key, tempo,
# notes) comes from one seed.

_TWO_PI = 2 * np.pi


def _harmonic(f0, n, sr, amps, decay=None, vibrato=0.0, rng=None):
    t = np.arange(n) / sr
    phase = _TWO_PI * f0 * t
    if vibrato:
        phase = phase + vibrato * np.sin(_TWO_PI * 5.0 * t)
    y = np.zeros(n, dtype=np.float64)
    for k, a in enumerate(amps, start=1):
        if a and f0 * k < sr / 2:
            y += a * np.sin(k * phase)
    env = np.exp(-t / decay) if decay else np.ones(n)
    attack = min(n, int(0.005 * sr))
    env[:attack] *= np.linspace(0, 1, attack)
    release = min(n, int(0.01 * sr))
    env[n - release:] *= np.linspace(1, 0, release)
    return y * env


def _noise_burst(n, sr, rng, decay, lowcut=None, highcut=None):
    x = rng.standard_normal(n)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / sr)
    if lowcut:
        spec[f < lowcut] = 0
    if highcut:
        spec[f > highcut] = 0
    x = np.fft.irfft(spec, n)
    x /= np.max(np.abs(x)) + 1e-9
    return x * np.exp(-np.arange(n) / sr / decay)


def _kick(sr, rng, f_start=120.0, f_end=45.0, dur=0.25):
    n = int(dur * sr)
    t = np.arange(n) / sr
    freq = f_end + (f_start - f_end) * np.exp(-t / 0.03)
    return np.sin(_TWO_PI * np.cumsum(freq) / sr) * np.exp(-t / 0.08)


def _add(buf, event, start):
    start = int(start)
    if start >= len(buf):
        return
    end = min(len(buf), start + len(event))
    buf[start:end] += event[:end - start]


def _midi(m):
    return 440.0 * 2 ** ((np.asarray(m, dtype=float) - 69) / 12)


_SAW = [1 / k for k in range(1, 16)]
_SQUARE = [1 / k if k % 2 else 0 for k in range(1, 16)]
_SINE_ISH = [1.0, 0.2, 0.05]


def _render_genre(genre: str, seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(seconds * sr)
    y = np.zeros(n)
    key = int(rng.integers(0, 12))
    jitter = rng.uniform(0.95, 1.05)

    def beats(bpm, per_beat=1, swing=0.0):
        step = 60.0 / bpm / per_beat
        times = np.arange(0, seconds, step)
        if swing:
            times[1::2] += swing * step
        return times

    if genre == "blues":  # slow shuffle, mid-register saw lead with vibrato, 12-bar-ish roots
        bpm = 75 * jitter
        scale = np.array([0, 3, 5, 6, 7, 10]) + 45 + key
        for i, t in enumerate(beats(bpm, 2, swing=0.33)):
            if rng.random() < 0.8:
                f = _midi(rng.choice(scale) + 12)
                _add(y, _harmonic(f, int(0.35 * sr), sr, _SAW[:8], decay=0.4, vibrato=0.6), t * sr)
        for t in beats(bpm, 1):
            _add(y, 0.6 * _harmonic(_midi(33 + key), int(0.5 * sr), sr, _SAW[:4], decay=0.3), t * sr)
    elif genre == "classical":  # sustained, nearly sinusoidal strings, high register, no drums
        bpm = 60 * jitter
        for t in beats(bpm, 0.5):
            chord = _midi(np.array([60, 64, 67]) + key + int(rng.choice([0, 5, 7, 12])))
            for f in chord:
                _add(y, 0.5 * _harmonic(f, int(2.2 * sr), sr, _SINE_ISH, decay=3.0, vibrato=0.3), t * sr)
    elif genre == "country":  # plucked mid-high melody over boom-chick alternating bass
        bpm = 110 * jitter
        scale = np.array([0, 2, 4, 7, 9]) + 55 + key
        for t in beats(bpm, 2):
            f = _midi(rng.choice(scale) + 12)
            _add(y, _harmonic(f, int(0.3 * sr), sr, [1, 0.7, 0.5, 0.4, 0.3, 0.2], decay=0.08), t * sr)
        for i, t in enumerate(beats(bpm, 1)):
            f = _midi(40 + key + (7 if i % 2 else 0))
            _add(y, 0.8 * _harmonic(f, int(0.25 * sr), sr, _SAW[:5], decay=0.1), t * sr)
    elif genre == "disco":  # four-on-the-floor kick, open hats on offbeats, octave bass
        bpm = 120 * jitter
        for i, t in enumerate(beats(bpm, 2)):
            if i % 2 == 0:
                _add(y, 1.2 * _kick(sr, rng), t * sr)
                _add(y, 0.6 * _harmonic(_midi(36 + key), int(0.2 * sr), sr, _SQUARE[:7], decay=0.1), t * sr)
            else:
                _add(y, 0.5 * _noise_burst(int(0.15 * sr), sr, rng, 0.05, lowcut=7000), t * sr)
                _add(y, 0.6 * _harmonic(_midi(48 + key), int(0.2 * sr), sr, _SQUARE[:7], decay=0.1), t * sr)
    elif genre == "hiphop":  # slow, long sub-bass 808 notes, snare on 2 and 4, sparse
        bpm = 88 * jitter
        for i, t in enumerate(beats(bpm, 1)):
            if i % 2 == 0:
                _add(y, 1.5 * _harmonic(_midi(rng.choice([28, 31, 33]) + key % 5), int(0.6 * sr), sr,
                                        [1, 0.1], decay=0.5), t * sr)
                _add(y, _kick(sr, rng, 90, 40, 0.3), t * sr)
            else:
                _add(y, 0.7 * _noise_burst(int(0.2 * sr), sr, rng, 0.06, lowcut=1500, highcut=6000), t * sr)
    elif genre == "jazz":  # swung ride cymbal, walking pizzicato bass, soft chords
        bpm = 140 * jitter
        for i, t in enumerate(beats(bpm, 2, swing=0.33)):
            if i % 4 != 1:
                _add(y, 0.25 * _noise_burst(int(0.3 * sr), sr, rng, 0.12, lowcut=5000), t * sr)
        walk = 38 + key + np.cumsum(rng.choice([-2, -1, 1, 2, 3], size=400))
        walk = 38 + key + np.mod(walk - 38 - key, 12)
        for i, t in enumerate(beats(bpm, 1)):
            _add(y, _harmonic(_midi(walk[i]), int(0.4 * sr), sr, [1, 0.5, 0.2], decay=0.15), t * sr)
        for t in beats(bpm / 4, 1):
            for m in np.array([50, 53, 57, 60]) + key + int(rng.choice([0, 2, 5])):
                _add(y, 0.15 * _harmonic(_midi(m), int(1.2 * sr), sr, [1, 0.3], decay=0.5), t * sr)
    elif genre == "metal":  # fast heavily distorted low power chords, double kick, crash noise
        bpm = 170 * jitter
        for i, t in enumerate(beats(bpm, 4)):
            root = 28 + key % 5 + int(rng.choice([0, 0, 1, 3, 5]))
            tone = sum(_harmonic(f, int(0.09 * sr), sr, _SAW, decay=0.2) for f in _midi([root + 12, root + 19]))
            _add(y, 0.6 * np.tanh(6 * tone), t * sr)
            if i % 2 == 0:
                _add(y, 0.8 * _kick(sr, rng, 150, 60, 0.1), t * sr)
        for t in beats(bpm / 8, 1):
            _add(y, 0.5 * _noise_burst(int(1.0 * sr), sr, rng, 0.4, lowcut=3000), t * sr)
    elif genre == "pop":  # bright square-wave lead, high register, eighths, clap on 2 and 4
        bpm = 110 * jitter
        scale = np.array([0, 2, 4, 7, 9, 11]) + 72 + key
        for t in beats(bpm, 2):
            _add(y, 0.6 * _harmonic(_midi(rng.choice(scale)), int(0.2 * sr), sr, _SQUARE[:9], decay=0.3), t * sr)
        for i, t in enumerate(beats(bpm, 1)):
            if i % 2:
                _add(y, 0.6 * _noise_burst(int(0.1 * sr), sr, rng, 0.03, lowcut=1000, highcut=4000), t * sr)
            else:
                _add(y, 0.8 * _kick(sr, rng), t * sr)
    elif genre == "reggae":  # one-drop: offbeat skank chords, round bass, rimshot on 3
        bpm = 75 * jitter
        for i, t in enumerate(beats(bpm, 2)):
            if i % 2:
                for m in np.array([60, 64, 67]) + key:
                    _add(y, 0.3 * _harmonic(_midi(m), int(0.12 * sr), sr, _SAW[:6], decay=0.04), t * sr)
        for i, t in enumerate(beats(bpm, 1)):
            _add(y, 1.0 * _harmonic(_midi(36 + key + int(rng.choice([0, 5, 7]))), int(0.45 * sr), sr,
                                    [1, 0.4, 0.1], decay=0.3), t * sr)
            if i % 4 == 2:
                _add(y, 0.8 * _kick(sr, rng), t * sr)
                _add(y, 0.4 * _noise_burst(int(0.05 * sr), sr, rng, 0.01, lowcut=2000), t * sr)
    elif genre == "rock":  # mid-register overdriven eighths, kick on 1/3, snare on 2/4
        bpm = 130 * jitter
        for t in beats(bpm, 2):
            root = 40 + key + int(rng.choice([0, 0, 5, 7]))
            tone = sum(_harmonic(f, int(0.2 * sr), sr, _SAW[:10], decay=0.5) for f in _midi([root + 12, root + 19]))
            _add(y, 0.5 * np.tanh(2.5 * tone), t * sr)
        for i, t in enumerate(beats(bpm, 1)):
            if i % 2 == 0:
                _add(y, _kick(sr, rng), t * sr)
            else:
                _add(y, 0.8 * _noise_burst(int(0.18 * sr), sr, rng, 0.07, lowcut=200, highcut=8000), t * sr)
    else:
        raise DatasetError(f"no miniature recipe for genre {genre!r}; known: {', '.join(GENRES)}")
    y += 1e-3 * rng.standard_normal(n)  # a little room noise, as recordings have
    return y


def synthesize_track(genre: str, *, seconds: float = 30.0, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Synthesise one miniature track of ``genre``.

    Parameters
    ----------
    genre : str
        One of :data:`GENRES`.
    seconds : float
        Duration (GTZAN's tracks are 30 s).
    sr : int
        Sample rate in Hz (GTZAN's is 22050).
    seed : int
        Seed of the track's key, tempo and notes.

    Returns
    -------
    y : np.ndarray, shape (round(seconds * sr),), float32
        Waveform at -20 dBFS RMS (+-2 dB at random), peak below full scale.
    """
    rng = np.random.default_rng(seed)
    y = _render_genre(genre, seconds, sr, rng)
    rms = np.sqrt(np.mean(y ** 2)) + 1e-12
    y *= 10 ** ((-20 + rng.uniform(-2, 2)) / 20) / rms
    peak = np.max(np.abs(y))
    if peak > 0.99:  # soft-limit rare peaks rather than change the level of the whole track
        y = 0.99 * np.tanh(y / 0.99)
    return y.astype(np.float32)


def make_miniature(out_dir, *, tracks_per_class: int = 5, seconds: float = 30.0, seed: int = 0,
                   layout: str = "kaggle", sr: int = 22050, overwrite: bool = False) -> Path:
    """Write a miniature GTZAN: 10 genres of synthesised tracks, in GTZAN's layout.

    Parameters
    ----------
    out_dir : str or Path
        Folder to create; the tracks go to ``Data/genres_original/<genre>/<genre>.000NN.wav``
        (``layout="kaggle"``) or ``genres/<genre>/<genre>.000NN.au`` (``"marsyas"``).
    tracks_per_class : int
    seconds : float
        Track duration; 30 s as GTZAN. Shorter tracks are zero-padded by the features.
    seed : int
        The whole dataset is a deterministic function of this seed.
    layout : {"kaggle", "marsyas"}
    sr : int
    overwrite : bool
        Write into an existing non-empty folder.

    Returns
    -------
    root : Path
        ``out_dir``, ready to pass to :func:`find_tracks`.
    """
    out_dir = Path(out_dir)
    if layout not in ("kaggle", "marsyas"):
        raise DatasetError(f"layout must be 'kaggle' or 'marsyas', got {layout!r}")
    if tracks_per_class < 1:
        raise DatasetError(f"tracks_per_class must be >= 1, got {tracks_per_class}")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out_dir}: exists and is not empty; pass overwrite=True (--overwrite) "
                                f"or choose another folder.")
    base = out_dir / "Data" / "genres_original" if layout == "kaggle" else out_dir / "genres"
    ext, fmt, subtype = (".wav", "WAV", "PCM_16") if layout == "kaggle" else (".au", "AU", "PCM_16")
    rows = []
    for g, genre in enumerate(GENRES):
        (base / genre).mkdir(parents=True, exist_ok=True)
        for i in range(tracks_per_class):
            y = synthesize_track(genre, seconds=seconds, sr=sr, seed=seed * 100_003 + g * 1009 + i)
            name = f"{genre}.{i:05d}{ext}"
            sf.write(str(base / genre / name), y, sr, format=fmt, subtype=subtype)
            rows.append((name, len(y), genre))
    if layout == "kaggle":  # a stand-in for Kaggle's optional metadata table
        with open(out_dir / "Data" / "features_30_sec.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["filename", "length", "label"])
            w.writerows(rows)
    return out_dir


if __name__ == "__main__":  # ``python -m amnst_lib.dataset ...``; parsing lives in cli
    from amnst_lib.cli import dataset_main

    sys.exit(dataset_main())
