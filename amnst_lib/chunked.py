"""Long tracks in bounded memory: the transfer and the reconstruction in overlapping chunks.

A run's memory would otherwise grow with the track (0.39 GiB per minute of audio: the
whole-track target, its optimiser state and rollback copies, whole-signal STFTs in
Griffin-Lim, full-length pictures). Here every stage works on a bounded piece:

* the content's mel and STFT phase are computed per chunk from the waveform
  (:func:`mel_frames`, :func:`phase_frames`: the same frames as the whole-signal analysis);
* the transfer runs on chunks of ``transfer_chunk_segments`` segments that overlap by
  ``overlap_segments``; overlaps are crossfaded, and the finished mel goes to a file
  (:class:`Store`), not memory; the chunks share one
  :class:`amnst_lib.transfer.TransferSession` (one compiled step, one optimiser, reset
  per chunk), so nothing is traced or kept per chunk;
* Griffin-Lim runs on ``griffin_lim_chunk_frames``-frame pieces with
  ``griffin_lim_context_frames`` of context each side, each from the content's phase,
  crossfaded in the middle of the context (:func:`reconstruct`): time linear in length;
* pictures are pooled in time as the chunks go (:class:`Pooler`), and the WAV is written
  in blocks from the stored waveform (:func:`write_wav_blocks`).

A track no longer than one chunk goes through each stage in one piece, exactly as the
whole-signal code did (same samples).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import AnalysisConfig, ReconstructionConfig


@dataclass(frozen=True)
class ChunkConfig:
    """How long tracks are cut (saved in run.json as ``chunking``).

    Parameters
    ----------
    transfer_chunk_segments : int
        Segments (431 frames, 5 s) per transfer chunk: 24 = 2 minutes.
    overlap_segments : int
        Segments shared by neighbouring transfer chunks, crossfaded.
    griffin_lim_chunk_frames : int
        Frames per Griffin-Lim piece (2584 = 30 s).
    griffin_lim_context_frames : int
        Frames of context each side of a Griffin-Lim piece; neighbours are crossfaded over
        the middle half of it.
    picture_columns : int
        Most time columns of a spectrogram picture (longer ones are averaged in time).
    metrics_seconds : float
        Longest excerpt the quality figures are computed on (centred in the track).
    """

    transfer_chunk_segments: int = 24
    overlap_segments: int = 1
    griffin_lim_chunk_frames: int = 2584
    griffin_lim_context_frames: int = 64
    picture_columns: int = 1200
    metrics_seconds: float = 120.0

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- storage

class Store:
    """Rows of float32 values kept in a file instead of memory (a mel by frames, a waveform).

    Parameters
    ----------
    path : Path
        File to create.
    row_shape : tuple of int
        Shape of one row: ``(n_mels,)`` for mel frames, ``()`` for samples.
    """

    def __init__(self, path: Path, row_shape: tuple = ()):
        self.path = Path(path)
        self.row_shape = tuple(row_shape)
        self.row_size = int(np.prod(self.row_shape)) if self.row_shape else 1
        self.n_rows = 0
        self._f = open(self.path, "w+b")

    def append(self, rows: np.ndarray) -> None:
        """Append rows, shape ``(k, *row_shape)``."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        self._f.seek(0, 2)
        self._f.write(rows.tobytes())
        self.n_rows += rows.shape[0]

    def read(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1``, shape ``(r1 - r0, *row_shape)``."""
        r0, r1 = max(0, r0), min(self.n_rows, r1)
        self._f.flush()
        self._f.seek(r0 * self.row_size * 4)
        data = np.fromfile(self._f, dtype=np.float32, count=max(0, r1 - r0) * self.row_size)
        return data.reshape((max(0, r1 - r0), *self.row_shape))

    def write(self, r0: int, rows: np.ndarray) -> None:
        """Overwrite rows from ``r0`` on (within the stored rows)."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if r0 < 0 or r0 + rows.shape[0] > self.n_rows:
            raise ValueError(f"rows {r0}:{r0 + rows.shape[0]} are outside the {self.n_rows} stored")
        self._f.seek(r0 * self.row_size * 4)
        self._f.write(rows.tobytes())

    def truncate(self, n_rows: int) -> None:
        """Keep only the first ``n_rows`` rows."""
        self._f.flush()
        self._f.truncate(min(n_rows, self.n_rows) * self.row_size * 4)
        self.n_rows = min(n_rows, self.n_rows)

    def close(self) -> None:
        self._f.close()
        self.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- analysis by frames

def _padded_slice(y: np.ndarray, f0: int, f1: int, cfg: AnalysisConfig) -> np.ndarray:
    """The samples that frames ``f0:f1`` of a centred STFT see (zeros past either end)."""
    half = cfg.n_fft // 2
    s0, s1 = f0 * cfg.hop_length - half, (f1 - 1) * cfg.hop_length + half
    out = np.zeros(s1 - s0, dtype=np.float32)
    a, b = max(s0, 0), min(s1, len(y))
    if b > a:
        out[a - s0: b - s0] = y[a:b]
    return out


def n_frames_of(n_samples: int, cfg: AnalysisConfig) -> int:
    """Frames of the centred analysis of ``n_samples`` samples."""
    return 1 + n_samples // cfg.hop_length


def mel_frames(y: np.ndarray, f0: int, f1: int, cfg: AnalysisConfig = AnalysisConfig()) -> np.ndarray:
    """Frames ``f0:f1`` of :func:`amnst_lib.spectrum.mel_spectrogram` of ``y``, shape (n_mels, f1 - f0).

    Only the samples those frames see are analysed. From frame 0 and at least half the
    signal, it is the whole-signal call, cut.
    """
    import librosa

    from .spectrum import _mel_kwargs, _quiet_empty_filters, mel_spectrogram

    if f0 == 0 and n_frames_of(len(y), cfg) <= 2 * f1:  # small enough: the whole-signal call
        return mel_spectrogram(np.asarray(y[0:len(y)]), cfg)[:, :f1]
    with _quiet_empty_filters():
        mel = librosa.feature.melspectrogram(y=_padded_slice(y, f0, f1, cfg), hop_length=cfg.hop_length,
                                             power=cfg.power, center=False, **_mel_kwargs(cfg))
    return mel.astype(np.float32)


def phase_frames(y: np.ndarray, f0: int, f1: int, cfg: AnalysisConfig = AnalysisConfig(),
                 seed: int = 0) -> np.ndarray:
    """Frames ``f0:f1`` of :func:`amnst_lib.spectrum.stft_phase` of ``y``, shape (1 + n_fft // 2, f1 - f0)."""
    import librosa

    from .spectrum import stft_phase, unit_phase

    if f0 == 0 and n_frames_of(len(y), cfg) <= 2 * f1:
        return stft_phase(y, cfg, seed)[:, :f1]
    X = librosa.stft(_padded_slice(y, f0, f1, cfg), n_fft=cfg.n_fft, hop_length=cfg.hop_length, center=False)
    return unit_phase(X, seed)


# --------------------------------------------------------------------------- pictures

class Pooler:
    """Averages consecutive frames in groups of ``factor`` as they arrive (for pictures)."""

    def __init__(self, factor: int):
        self.factor = max(1, int(factor))
        self.columns: list[np.ndarray] = []
        self._rest: np.ndarray | None = None

    def add(self, mel: np.ndarray) -> None:
        if self._rest is not None:
            mel = np.concatenate([self._rest, mel], axis=1)
        k = mel.shape[1] // self.factor * self.factor
        if k:
            n_mels = mel.shape[0]
            self.columns.append(mel[:, :k].reshape(n_mels, k // self.factor, self.factor).mean(axis=2))
        self._rest = mel[:, k:] if k < mel.shape[1] else None

    def result(self) -> np.ndarray:
        parts = list(self.columns)
        if self._rest is not None and self._rest.shape[1]:
            parts.append(self._rest.mean(axis=1, keepdims=True))
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def picture_factor(n_frames: int, columns: int) -> int:
    """Frames per picture column so that ``n_frames`` fit in ``columns``."""
    return max(1, math.ceil(n_frames / max(1, columns)))


def pooled(mel: np.ndarray, factor: int) -> np.ndarray:
    p = Pooler(factor)
    p.add(mel)
    return p.result()


# --------------------------------------------------------------------------- transfer

def transfer_chunks(n_frames: int, segment_frames: int, chunks: ChunkConfig) -> list[tuple[int, int]]:
    """Frame ranges of the transfer chunks: ``[(start, stop), ...]`` covering ``0:n_frames``.

    Neighbours share ``overlap_segments`` segments; one range when the track fits in one chunk.
    """
    length = chunks.transfer_chunk_segments * segment_frames
    overlap = chunks.overlap_segments * segment_frames
    if n_frames <= length:
        return [(0, n_frames)]
    ranges, start = [], 0
    while True:
        stop = min(start + length, n_frames)
        ranges.append((start, stop))
        if stop >= n_frames:
            return ranges
        start = stop - overlap


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine fade-in weights, shape (n,), from near 0 to near 1 (fade-out is 1 - it)."""
    return (np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2).astype(np.float32)


def _merge_history(histories: list, weights: list) -> list:
    """Per step: the frame-weighted mean of the chunks' losses."""
    merged = []
    for step in sorted({h["step"] for hist in histories for h in hist}):
        rows = [(h, w) for hist, w in zip(histories, weights) for h in hist if h["step"] == step]
        total_w = sum(w for _, w in rows)
        entry = {"step": step}
        for key in ("total", "content", "style"):
            entry[key] = sum(h[key] * w for h, w in rows) / total_w
        entry["lr"] = rows[0][0].get("lr")
        entry["seconds"] = max(h.get("seconds", 0.0) for h, _ in rows)
        merged.append(entry)
    return merged


def transfer(y_content: np.ndarray, n_frames: int, style_mel: np.ndarray, model, t_cfg, a: AnalysisConfig,
             r_cfg: ReconstructionConfig, chunks: ChunkConfig, mel_store: Store, content_pictures: Pooler,
             output_pictures: Pooler, *, progress: bool | type = True):
    """Style transfer of the first ``n_frames`` frames of ``y_content``, chunk by chunk.

    The optimised mel goes to ``mel_store`` (frames as rows), pooled copies of the content's
    and the output's mel to the poolers.

    Returns
    -------
    summary : amnst_lib.transfer.TransferResult
        ``mel`` is None (it is in the store); history merged over chunks (frame-weighted),
        rollbacks tagged with their ``chunk``.
    error : DivergenceError or None
        The first chunk that diverged (its last good target was used).
    """
    from .errors import DivergenceError
    from .transfer import TransferResult, TransferSession, progress_bar_class, style_transfer

    seg = a.segment_frames
    ranges = transfer_chunks(n_frames, seg, chunks)
    cfg = t_cfg.replace(max_segments=None)
    # Built once, reused by every chunk: the compiled step and update, the optimiser
    # (reset per chunk) and the style's statistics. One per chunk would trace and keep
    # a step per chunk: memory grew with the track.
    session = TransferSession(model, style_mel, cfg, a)
    overlap = chunks.overlap_segments * seg
    histories, weights, rollbacks, results = [], [], [], []
    error = None
    tail = None
    bar = None
    if progress and len(ranges) > 1:
        bar = progress_bar_class(progress)(total=len(ranges), desc=f"style transfer ({len(ranges)} chunks)", unit="chunk")
    try:
        for i, (f0, f1) in enumerate(ranges):
            content_mel = mel_frames(y_content, f0, f1, a)
            phase = phase_frames(y_content, f0, f1, a, r_cfg.seed) if r_cfg.init_phase == "content" else None
            try:
                res = style_transfer(content_mel, style_mel, model, cfg, a, progress=progress if bar is None else False,
                                     init_phase=phase, session=session)
            except DivergenceError as e:
                if e.result is None:
                    raise
                error = error or e
                res = e.result
            del phase
            mel = res.mel
            first = 0
            if tail is not None:  # crossfade the overlap with the previous chunk
                w = _ramp(tail.shape[1])
                mel = mel.copy()
                mel[:, :tail.shape[1]] = (1 - w) * tail + w * mel[:, :tail.shape[1]]
            last = f1 == n_frames
            keep = mel.shape[1] if last else mel.shape[1] - overlap
            tail = None if last else res.mel[:, keep:].copy()
            mel_store.append(mel[:, first:keep].T)
            content_pictures.add(content_mel[:, first:keep])
            output_pictures.add(mel[:, first:keep])
            histories.append(res.history)
            weights.append(f1 - f0)
            rollbacks.extend(dict(r, chunk=i) for r in res.rollbacks)
            results.append(dataclasses.replace(res, mel=None))  # the mel is stored: keep no chunk's copy
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    r0 = results[0]
    summary = TransferResult(
        mel=None, history=results[0].history if len(results) == 1 else _merge_history(histories, weights),
        rollbacks=rollbacks, content_layers=r0.content_layers, style_layers=r0.style_layers,
        n_segments=math.ceil(n_frames / seg), seconds=sum(r.seconds for r in results),
        completed_steps=min(r.completed_steps for r in results))
    return summary, error, len(ranges)


# --------------------------------------------------------------------------- reconstruction

def reconstruct(mel_store: Store, n_frames: int, y_content: np.ndarray, n_samples: int, a: AnalysisConfig,
                r_cfg: ReconstructionConfig, chunks: ChunkConfig, out_store: Store) -> float:
    """Griffin-Lim of the stored mel, piece by piece, into ``out_store`` (``n_samples`` samples).

    Each piece starts from the content's phase of its frames (or a random phase seeded
    ``r_cfg.seed + piece``), has context frames each side, and is crossfaded with its
    neighbour over the middle half of the context: the cost is linear in the length.

    Returns
    -------
    peak : float
        Largest absolute sample written.
    """
    from .spectrum import griffin_lim, mel_to_stft

    hop = a.hop_length
    core, ctx = chunks.griffin_lim_chunk_frames, chunks.griffin_lim_context_frames
    content_phase = r_cfg.init_phase == "content"

    def piece(f0: int, f1: int, index: int, length: int) -> np.ndarray:
        S = mel_to_stft(mel_store.read(f0, f1).T, a)
        phase = phase_frames(y_content, f0, f1, a, r_cfg.seed) if content_phase else None
        rcfg = r_cfg if content_phase or index == 0 else r_cfg.replace(seed=r_cfg.seed + index)
        return griffin_lim(S, a, rcfg, length=length, init_phase=phase)

    if n_frames <= core + ctx:  # one piece: the whole-signal reconstruction
        y = piece(0, n_frames, 0, n_samples)
        out_store.append(y)
        return float(np.max(np.abs(y))) if y.size else 0.0

    peak = 0.0
    written = 0  # samples final and stored
    pending = None  # (first global sample, waveform) of the previous piece not yet stored
    fade = (ctx // 2) * hop  # crossfade length, samples, centred on the boundary
    for index, c0 in enumerate(range(0, n_frames, core)):
        c1 = min(c0 + core, n_frames)
        f0, f1 = max(0, c0 - ctx), min(n_frames, c1 + ctx)
        length = (f1 - f0 - 1) * hop + 1
        if f1 == n_frames:  # the last piece: on to the last sample asked for (full_length)
            length = max(length, n_samples - f0 * hop)
        y = piece(f0, f1, index, length)
        start = f0 * hop
        if pending is not None:
            p_start, p = pending
            b = c0 * hop  # boundary
            x0, x1 = b - fade // 2, b - fade // 2 + fade
            block = p[written - p_start: x0 - p_start]
            w = _ramp(fade)
            mixed = (1 - w) * p[x0 - p_start: x1 - p_start] + w * y[x0 - start: x1 - start]
            for part in (block, mixed):
                part = part[: max(0, n_samples - written)]
                out_store.append(part)
                peak = max(peak, float(np.max(np.abs(part))) if part.size else 0.0)
                written += len(part)
        pending = (start, y)
    p_start, p = pending
    last = p[written - p_start: n_samples - p_start]
    if written + len(last) < n_samples:
        last = np.concatenate([last, np.zeros(n_samples - written - len(last), np.float32)])
    out_store.append(last)
    peak = max(peak, float(np.max(np.abs(last))) if last.size else 0.0)
    return peak


def write_wav_blocks(path, store: Store, scale: float, sr: int, block: int = 2 ** 20) -> None:
    """Write the stored waveform times ``scale`` as a 16-bit PCM WAV, one block at a time."""
    import soundfile as sf

    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16", format="WAV") as f:
        for s0 in range(0, store.n_rows, block):
            y = store.read(s0, s0 + block)
            f.write(np.clip((y * scale).astype(np.float32), -1.0, 1.0))
