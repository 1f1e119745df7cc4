"""One style-transfer run from two files to a run folder: the flow joined end to end.

audio -> mel -> (segments, features: inside ``transfer``) -> optimised mel -> audio ->
files and metrics. :func:`run_transfer` is what the CLI, the notebooks and the benchmarks
call. A run folder holds ``output.wav`` (16-bit), ``spectrograms.png`` (content / style /
output), ``loss.png`` and ``run.json`` (every setting, versions, seed, timings, whether the
network's weights were trained, the loss history and the quality metrics). The folder is
built beside its destination and renamed into place, so a failed run leaves nothing half
written, and an existing folder is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .audio import audio_info, load_audio, peak_normalize, write_wav
from .config import RunConfig
from .errors import DivergenceError, OutputExistsError, ParameterError

log = logging.getLogger("amnst")

RANDOM_WEIGHTS_NOTE = (
    "no trained weights given: using the genre CNN with seeded RANDOM weights (seed {seed}). "
    "Random filters are a known, working basis for audio texture transfer; for the trained "
    "classifier pass --weights FILE (see `amnst train`)."
)


@dataclass
class RunResult:
    """Everything one run produced (also written to ``out_dir`` when one was given).

    Attributes
    ----------
    out_dir, wav_path : Path or None
        The run folder and its WAV; None when nothing was written.
    sr : int
        Sample rate of all waveforms, Hz.
    output, content, style : np.ndarray, shape (n_samples,)
        Output waveform (peak-normalised) and the inputs as used (content limited to the
        transferred segments).
    content_mel, style_mel, output_mel : np.ndarray, shape (n_mels, n_frames)
        Magnitude mel spectrograms.
    history, rollbacks : list of dict
        Loss per step and rollbacks (see :class:`amnst_lib.transfer.TransferResult`).
    metrics : dict
        Quality figures from :func:`amnst_lib.metrics.evaluate`.
    record : dict
        The contents of ``run.json``.
    weights_info : dict
        ``trained`` (bool) and where the weights came from.
    """

    out_dir: Path | None
    wav_path: Path | None
    sr: int
    output: np.ndarray
    content: np.ndarray
    style: np.ndarray
    content_mel: np.ndarray
    style_mel: np.ndarray
    output_mel: np.ndarray
    history: list = field(default_factory=list)
    rollbacks: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    weights_info: dict = field(default_factory=dict)


def library_versions() -> dict:
    """Versions of Python and the libraries a result depends on."""
    import keras
    import librosa
    import soundfile
    import tensorflow as tf

    return {"amnst": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "librosa": librosa.__version__, "numpy": np.__version__,
            "soundfile": soundfile.__version__, "platform": platform.platform()}


def _file_record(path: Path) -> dict:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    rec = {"path": str(path), "sha256": digest, "bytes": path.stat().st_size}
    try:
        rec.update(audio_info(path))
    except Exception:  # header unreadable by libsndfile (decoded by the fallback)
        pass
    return rec


def load_network(weights=None, seed: int = 0, input_shape=(384, 431, 1), config=None):
    """The feature network named by ``config.network``, with its weights.

    The genre CNN gets trained weights from ``weights``, or seeded random ones. The
    texture network (``config.network == "texture"``) is random by design: its filters
    come from ``seed`` alone, and ``weights`` (a genre-CNN file) is refused.

    Returns
    -------
    model : keras.Model
    info : dict
        ``trained`` (bool), ``network``, ``path``, ``format``, ``seed``, ``note``; and
        ``model_card`` when a ``model_card.json`` lies beside the weights file.
    """
    from .model import build_genre_cnn, load_weights

    network = getattr(config, "network", "genre_cnn")
    if network == "texture":
        from .config import AnalysisConfig
        from .texture import build_texture_network

        if weights is not None:
            raise ParameterError("trained weights apply to the genre CNN only; the texture network is "
                                 "random by design (drop --weights, or use --preset original)")
        analysis = AnalysisConfig(n_mels=input_shape[0], segment_frames=input_shape[1])
        model = build_texture_network(analysis, seed, n_filters=config.texture_filters, width=config.texture_width)
        return model, {"trained": False, "network": "texture", "path": None, "format": None, "seed": seed,
                       "note": (f"texture network: {config.texture_filters} seeded RANDOM filters (seed {seed}); "
                                f"random by design, trained weights apply to the genre CNN only")}
    model = build_genre_cnn(input_shape=input_shape, seed=seed)
    if weights is None:
        return model, {"trained": False, "network": "genre_cnn", "path": None, "format": None, "seed": seed,
                       "note": RANDOM_WEIGHTS_NOTE.format(seed=seed)}
    info = load_weights(model, weights)
    info.update(trained=True, network="genre_cnn", seed=seed, note=f"trained weights from {weights}")
    card = Path(weights).with_name("model_card.json")
    if card.is_file():
        try:
            info["model_card"] = json.loads(card.read_text())
        except ValueError:
            info["model_card"] = {"error": f"{card} is not valid JSON"}
    return model, info


def _weights_record(info: dict) -> dict:
    """Weights info for run.json: the model card's summary, not its per-epoch history."""
    rec = dict(info)
    card = rec.get("model_card")
    if isinstance(card, dict):
        rec["model_card"] = {k: v for k, v in card.items()
                             if not k.startswith("confusion") and k not in ("history", "epochs_log")}
    return rec


def _check_destination(out_dir: Path | None, overwrite: bool) -> None:
    if out_dir is None:
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is a file, not a run folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out_dir}: a run folder already exists there; pass --overwrite (overwrite=True) to "
            f"replace it, or choose another output folder with -o.")


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (NaN/inf become null)."""
    def clean(x):
        if isinstance(x, float) and not np.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    path.write_text(json.dumps(clean(data), indent=2, default=_json_default) + "\n")


def _publish(tmp_dir: Path, out_dir: Path) -> None:
    """Move a finished run folder into place, replacing an old one only at the last moment."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(tmp_dir, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_transfer(content, style, out_dir=None, *, config: RunConfig = RunConfig(), weights=None,
                 overwrite: bool = False, progress: bool = True, max_seconds: float | None = None,
                 segments_to_reconstruct: int | None = None, compute_metrics: bool = True,
                 model=None, on_phase=None) -> RunResult:
    """Style-transfer ``style`` onto ``content`` and (optionally) write a run folder.

    Parameters
    ----------
    content, style : str or Path
        Audio files (WAV, FLAC, OGG, MP3; any rate and channel count).
    out_dir : str, Path or None
        Run folder to write; None writes nothing (results are returned only).
    config : RunConfig
        Analysis, transfer and reconstruction settings.
    weights : str, Path or None
        Trained weights (``.weights.h5`` or the original's ``.npy``); None uses seeded
        random weights and says so.
    overwrite : bool
        Replace an existing run folder.
    progress : bool
        Show a progress bar.
    max_seconds : float or None
        Use only the first ``max_seconds`` of each input.
    segments_to_reconstruct : int or None
        Turn only the first N segments of the result back into audio (the original's
        ``target_segments_to_reconstruct``); None reconstructs everything.
    compute_metrics : bool
        Compute the quality figures (a few seconds per minute of audio).
    model : keras.Model or None
        A ready network to reuse across runs; ``weights`` is then ignored.
    on_phase : callable or None
        Called with a short name as each phase starts ("loading audio", "style transfer",
        "reconstructing audio (Griffin-Lim, 128 iterations)", ...), e.g. by the notebook
        form to say what is running.

    Returns
    -------
    RunResult

    Raises
    ------
    AmnstError
        Bad input (missing/corrupt/silent audio, bad layers, bad weights, an existing
        output). DivergenceError keeps the last good result: it is written to the run
        folder (``status: "diverged"`` in run.json) before the error is raised.
    """
    from .spectrum import (griffin_lim, mel_spectral_convergence, mel_spectrogram, mel_to_stft, spectral_convergence,
                           stft_phase)
    from .transfer import style_transfer

    a, t_cfg, r_cfg = config.analysis, config.transfer, config.reconstruction
    out_dir = Path(out_dir) if out_dir is not None else None
    _check_destination(out_dir, overwrite)
    if segments_to_reconstruct is not None and segments_to_reconstruct < 1:
        raise ParameterError(f"segments_to_reconstruct must be >= 1 or None, got {segments_to_reconstruct!r}")
    from .transfer import resolve_config_layers

    resolve_config_layers(t_cfg)  # fail early, before loading
    phase_started = on_phase if on_phase is not None else (lambda _name: None)
    timings = {}
    phase_started("loading audio")
    t0 = time.perf_counter()
    content_path, style_path = Path(content), Path(style)
    y_content = load_audio(content_path, a.sr, max_seconds=max_seconds)
    y_style = load_audio(style_path, a.sr, max_seconds=max_seconds)
    timings["load"] = time.perf_counter() - t0

    if model is None:
        phase_started("building the network")
        model, weights_info = load_network(weights, seed=t_cfg.seed, input_shape=a.input_shape, config=t_cfg)
    else:
        weights_info = {"trained": None, "note": "network supplied by the caller"}
    if weights_info.get("trained") is False:
        log.warning(weights_info["note"])

    phase_started("analysing the inputs (mel spectrograms)")
    t1 = time.perf_counter()
    content_mel = mel_spectrogram(y_content, a)
    style_mel = mel_spectrogram(y_style, a)
    # Griffin-Lim (projections and the written WAV) starts from the content's phase.
    phase = stft_phase(y_content, a, r_cfg.seed) if r_cfg.init_phase == "content" else None
    timings["analysis"] = time.perf_counter() - t1

    phase_started("style transfer")
    t2 = time.perf_counter()
    status, error = "ok", None
    try:
        result = style_transfer(content_mel, style_mel, model, t_cfg, a, progress=progress, init_phase=phase)
    except DivergenceError as e:
        if e.result is None:
            raise
        status, error, result = "diverged", e, e.result
    timings["transfer"] = time.perf_counter() - t2

    out_mel = result.mel
    if segments_to_reconstruct is not None:
        out_mel = out_mel[:, : segments_to_reconstruct * a.segment_frames]
    n_samples = min(len(y_content), (out_mel.shape[1] - 1) * a.hop_length + 1)
    n_samples = max(n_samples, a.hop_length)
    phase_started(f"reconstructing audio (Griffin-Lim, {r_cfg.n_iter} iterations)")
    t3 = time.perf_counter()
    S = mel_to_stft(out_mel, a)
    y_raw = griffin_lim(S, a, r_cfg, length=n_samples, init_phase=phase)
    sc_linear = spectral_convergence(S, y_raw, a)
    sc_mel = mel_spectral_convergence(out_mel, y_raw, a)
    y_out = peak_normalize(y_raw, r_cfg.peak_dbfs)
    timings["reconstruction"] = time.perf_counter() - t3
    y_content_used = y_content[:n_samples]

    metrics = {}
    if compute_metrics:
        phase_started("measuring quality")
        t4 = time.perf_counter()
        from .metrics import evaluate

        metrics = evaluate(y_out, y_content_used, y_style, a.sr, optimised_mel=out_mel, analysis=a)
        timings["metrics"] = time.perf_counter() - t4
    metrics["reconstruction_sc_linear"] = sc_linear
    metrics.setdefault("reconstruction_sc", sc_mel)
    timings["total"] = time.perf_counter() - t0

    record = {
        "amnst_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "status": status,
        "error": str(error) if error else None,
        "inputs": {"content": _file_record(content_path), "style": _file_record(style_path),
                   "max_seconds": max_seconds, "segments_to_reconstruct": segments_to_reconstruct},
        "config": config.to_dict(),
        "resolved": {"content_layers": list(result.content_layers), "style_layers": list(result.style_layers),
                     "learning_rate": t_cfg.resolved_learning_rate, "n_segments": result.n_segments,
                     "completed_steps": result.completed_steps},
        "seed": t_cfg.seed,
        "weights": _weights_record(weights_info),
        "versions": library_versions(),
        "timings_seconds": timings,
        "metrics": metrics,
        "history": result.history,
        "rollbacks": result.rollbacks,
        "files": {},
    }

    run = RunResult(out_dir=None, wav_path=None, sr=a.sr, output=y_out, content=y_content_used,
                    style=y_style, content_mel=content_mel[:, : out_mel.shape[1]], style_mel=style_mel,
                    output_mel=out_mel, history=result.history, rollbacks=result.rollbacks,
                    metrics=metrics, record=record, weights_info=weights_info)
    if out_dir is not None:
        phase_started("writing the run folder")
        _write_run_folder(run, out_dir, a)
    if error is not None:
        raise error
    return run


def _write_run_folder(run: RunResult, out_dir: Path, analysis) -> None:
    import matplotlib.pyplot as plt

    from . import plots

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is not
    try:
        write_wav(tmp / "output.wav", run.output, run.sr)
        fig = plots.plot_mels({"content": run.content_mel, "style": run.style_mel, "output": run.output_mel}, analysis)
        fig.savefig(tmp / "spectrograms.png", dpi=100)
        plt.close(fig)
        fig = plots.plot_loss(run.history)
        fig.savefig(tmp / "loss.png", dpi=100)
        plt.close(fig)
        run.record["files"] = {"wav": "output.wav", "spectrograms": "spectrograms.png",
                               "loss": "loss.png", "record": "run.json"}
        write_json(tmp / "run.json", run.record)
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    run.out_dir = out_dir
    run.wav_path = out_dir / "output.wav"
