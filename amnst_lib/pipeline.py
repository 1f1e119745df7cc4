"""One style-transfer run from two files to a run folder: the flow joined end to end.

audio -> mel -> (segments, features: inside ``transfer``) -> optimised mel -> audio ->
files and metrics. :func:`run_transfer` is what the CLI, the notebooks and the benchmarks
call. A run folder holds ``output.wav`` (16-bit), ``spectrograms.png`` (content / style /
output), ``loss.png`` and ``run.json`` (every setting, versions, seed, timings, whether the
network's weights were trained, the loss history and the quality metrics). The destination
is checked and claimed before any computing (:mod:`amnst_lib.destination`); the folder is
built beside it and renamed into place, so a failed run leaves nothing half written, an
existing folder is replaced only with ``overwrite=True`` and only if it is a run folder of
ours, and a result that cannot be written at the end is saved elsewhere and said where.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .audio import audio_info, load_audio, write_wav
from .config import RunConfig
from .destination import RUN_FORMAT, RUN_MARKER
from .errors import OutputWriteError, ParameterError
from . import fullband
from .fullband import is_plain_mono, prepare_output, render_output

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
        transferred segments); output and content are None with ``keep_arrays=False``.
    content_mel, style_mel, output_mel : np.ndarray, shape (n_mels, n_frames)
        Magnitude mel spectrograms (content and output None with ``keep_arrays=False``).
    history, rollbacks : list of dict
        Loss per step and rollbacks (see :class:`amnst_lib.transfer.TransferResult`).
    metrics : dict
        Quality figures from :func:`amnst_lib.metrics.evaluate`.
    record : dict
        The contents of ``run.json``.
    weights_info : dict
        ``trained`` (bool) and where the weights came from.
    written : np.ndarray, shape (n_channels, n_samples), or None
        The output as written when ``config.output`` makes it differ from the transfer's
        mono 22050 Hz waveform (the content's rate and channels); None otherwise, and
        with ``keep_arrays=False`` (it is rendered and written block by block).
    written_sr : int
        The written output's sample rate, Hz.
    full_mels : dict of str to np.ndarray, or None
        Full-band mels of the content, style and output mids at ``written_sr`` (made with
        ``full_mel_config``) for the picture, where the written output is full-band;
        averaged in time, ``full_mel_factors[name]`` frames per column.
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
    _pictures: dict | None = field(default=None, repr=False)
    _wav: tuple | None = field(default=None, repr=False)
    _rendered: object = field(default=None, repr=False)
    written: np.ndarray | None = None
    written_sr: int | None = None
    full_mels: dict | None = None
    full_mel_config: object = None
    full_mel_factors: dict | None = None


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
    h = hashlib.sha256()
    with open(path, "rb") as f:  # in blocks: a long track is not read into memory twice
        for block in iter(lambda: f.read(2 ** 20), b""):
            h.update(block)
    digest = h.hexdigest()
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


def run_transfer(content, style, out_dir=None, *, config: RunConfig = RunConfig(), weights=None,
                 overwrite: bool = False, progress: bool | type = True, max_seconds: float | None = None,
                 segments_to_reconstruct: int | None = None, compute_metrics: bool = True,
                 model=None, keep_arrays: bool = True, chunks=None, on_phase=None) -> RunResult:
    """Style-transfer ``style`` onto ``content`` and (optionally) write a run folder.

    Parameters
    ----------
    content, style : str or Path
        Audio files (WAV, FLAC, OGG, MP3; any rate and channel count).
    out_dir : str, Path or None
        Run folder to write; None writes nothing (results are returned only). It is
        checked and claimed before any computing (:func:`amnst_lib.destination.claim_destination`).
    config : RunConfig
        Analysis, transfer and reconstruction settings.
    weights : str, Path or None
        Trained weights (``.weights.h5`` or the original's ``.npy``); None uses seeded
        random weights and says so.
    overwrite : bool
        Replace an existing run folder (only one of ours: a folder with our run.json).
    progress : bool or type
        Show a progress bar: True a ``tqdm.auto`` one, or the tqdm class to draw it with
        (:func:`amnst_lib.transfer.progress_bar_class`).
    max_seconds : float or None
        Use only the first ``max_seconds`` of each input.
    segments_to_reconstruct : int or None
        Turn only the first N segments of the result back into audio (the original's
        ``target_segments_to_reconstruct``); None reconstructs everything.
    compute_metrics : bool
        Compute the quality figures (a few seconds per minute of audio).
    model : keras.Model or None
        A ready network to reuse across runs; ``weights`` is then ignored.
    keep_arrays : bool
        Return the waveforms and full mel spectrograms in the result. False (the command
        line) keeps memory flat with track length: they stay in files while the run
        folder is written, and the result's arrays are None.
    chunks : amnst_lib.chunked.ChunkConfig or None
        How a long track is cut into bounded pieces (default ``ChunkConfig()``).
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
        output, an unwritable destination). DivergenceError keeps the last good result:
        it is written to the run folder (``status: "diverged"`` in run.json) before the
        error is raised. OutputWriteError at the end says where the result was saved
        instead.
    """
    from .destination import claim_destination

    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and np.isfinite(max_seconds)
                                        and max_seconds > 0):
        raise ParameterError(f"max_seconds must be a finite number of seconds > 0, got {max_seconds!r}")
    claim = claim_destination(out_dir, overwrite) if out_dir is not None else None
    try:
        return _run_transfer(content, style, claim, config=config, weights=weights, progress=progress,
                             max_seconds=max_seconds, segments_to_reconstruct=segments_to_reconstruct,
                             compute_metrics=compute_metrics, model=model, keep_arrays=keep_arrays,
                             chunks=chunks, on_phase=on_phase)
    finally:
        if claim is not None:
            claim.release()


def _run_transfer(content, style, claim, *, config: RunConfig, weights, progress: bool | type,
                  max_seconds: float | None, segments_to_reconstruct: int | None, compute_metrics: bool,
                  model, keep_arrays: bool = True, chunks=None, on_phase=None) -> RunResult:
    """:func:`run_transfer` on a claimed destination (``claim``: None writes nothing)."""
    from . import chunked
    from .spectrum import mel_spectral_convergence, mel_spectrogram, mel_to_stft, spectral_convergence

    a, t_cfg, r_cfg = config.analysis, config.transfer, config.reconstruction
    chunks = chunks if chunks is not None else chunked.ChunkConfig()
    if segments_to_reconstruct is not None and segments_to_reconstruct < 1:
        raise ParameterError(f"segments_to_reconstruct must be >= 1 or None, got {segments_to_reconstruct!r}")
    from .transfer import resolve_config_layers

    resolve_config_layers(t_cfg)  # fail early, before loading
    phase_started = on_phase if on_phase is not None else (lambda _name: None)
    timings = {}
    # Every stage in bounded pieces (amnst_lib.chunked): the content at its own rate, the
    # optimised mel and the waveforms wait in files beside the run folder, not in memory.
    work = tempfile.TemporaryDirectory(prefix=f".amnst-tmp-{os.getpid()}-work-",
                                       dir=claim.tmp.parent if claim is not None else None)
    workdir = Path(work.name)
    mel_store = chunked.Store(workdir / "mel.f32", (a.n_mels,))
    out_store = chunked.Store(workdir / "output.f32")
    rendered = None
    try:
        phase_started("loading audio")
        t0 = time.perf_counter()
        content_path, style_path = Path(content), Path(style)
        y_content = load_audio(content_path, a.sr, max_seconds=max_seconds)
        y_style = load_audio(style_path, a.sr, max_seconds=max_seconds)
        natives = prepare_output(content_path, style_path, a, config.output, max_seconds=max_seconds, workdir=workdir)
        timings["load"] = time.perf_counter() - t0
        if claim is not None:  # before computing: will the result fit on that disk?
            n = len(y_content)
            need = 2 * n + 4 * n + 4 * a.n_mels * (n // a.hop_length + 1)  # WAV, work files
            if not is_plain_mono(natives, a):  # the full-band WAV and its work files (fullband.py)
                n_native, ch = int(n * natives[0].sr / a.sr) + 1, natives[0].channels
                need += n_native * (2 * ch + 4 * 3)
            claim.check_space(need)

        if model is None:
            phase_started("building the network")
            model, weights_info = load_network(weights, seed=t_cfg.seed, input_shape=a.input_shape, config=t_cfg)
        else:
            weights_info = {"trained": None, "note": "network supplied by the caller"}
        if weights_info.get("trained") is False:
            log.warning(weights_info["note"])
        if t_cfg.iterations == 0:
            log.warning(f"0 transfer steps: the output is the start (init '{t_cfg.init}') turned back into audio, "
                        f"with nothing optimised towards the style; give 1 or more steps (--iterations, the form's "
                        f"iterations_for_nst) for a transfer")

        phase_started("analysing the inputs (mel spectrograms)")
        t1 = time.perf_counter()
        style_mel = mel_spectrogram(y_style, a)
        n_frames = n_all = chunked.n_frames_of(len(y_content), a)
        if n_all < a.segment_frames:
            seconds = len(y_content) / a.sr
            log.warning(f"the music is {seconds:.2f} s long, shorter than one transfer window "
                        f"({a.segment_seconds:.1f} s): it is transferred as one window padded with silence, "
                        f"whose style statistics are matched over all {a.segment_seconds:.1f} s, so the "
                        f"{seconds:.2f} s written take on less of the ambience than a longer clip's; give "
                        f"{a.segment_seconds:.1f} s or more (a short clip can be looped) for a full transfer")
        if t_cfg.max_segments is not None:
            n_frames = min(n_frames, t_cfg.max_segments * a.segment_frames)
        n_out = n_frames if segments_to_reconstruct is None else min(n_frames, segments_to_reconstruct * a.segment_frames)
        if r_cfg.full_length and n_out == n_all:
            n_samples = len(y_content)  # every sample of the content (ReconstructionConfig.full_length)
        else:
            n_samples = max(min(len(y_content), (n_out - 1) * a.hop_length + 1), a.hop_length)
        factor = chunked.picture_factor(n_out, chunks.picture_columns)
        timings["analysis"] = time.perf_counter() - t1

        phase_started("style transfer")
        t2 = time.perf_counter()
        status = "ok"
        # Griffin-Lim (projections and the written WAV) starts from the content's phase.
        content_pictures, output_pictures = chunked.Pooler(factor), chunked.Pooler(factor)
        result, error, n_chunks = chunked.transfer(y_content, n_frames, style_mel, model, t_cfg, a, r_cfg, chunks,
                                                   mel_store, content_pictures, output_pictures, progress=progress)
        if error is not None:
            status = "diverged"
        timings["transfer"] = time.perf_counter() - t2

        phase_started(f"reconstructing audio (Griffin-Lim, {r_cfg.n_iter} iterations)")
        t3 = time.perf_counter()
        peak = chunked.reconstruct(mel_store, n_out, y_content, n_samples, a, r_cfg, chunks, out_store)
        scale = 10 ** (r_cfg.peak_dbfs / 20) / peak if peak > 0 and np.isfinite(peak) else 1.0
        timings["reconstruction"] = time.perf_counter() - t3

        # Quality figures on the whole output, or on a centred excerpt of a long one.
        m = min(n_samples, int(chunks.metrics_seconds * a.sr))
        s0 = (n_samples - m) // 2 // a.hop_length * a.hop_length
        y_raw = out_store.read(s0, s0 + m)
        y_out_excerpt = (y_raw * scale).astype(np.float32)
        mel_excerpt = mel_store.read(s0 // a.hop_length, min(n_out, s0 // a.hop_length + 1 + m // a.hop_length)).T
        scope = {"whole": m == n_samples, "start_seconds": s0 / a.sr, "seconds": m / a.sr}
        sc_linear = spectral_convergence(mel_to_stft(mel_excerpt, a), y_raw, a)
        sc_mel = mel_spectral_convergence(mel_excerpt, y_raw, a)
        del y_raw
        metrics = {}
        if compute_metrics:
            phase_started("measuring quality")
            t4 = time.perf_counter()
            from .metrics import evaluate

            metrics = evaluate(y_out_excerpt, y_content[s0:s0 + m], y_style[: max(m, int(chunks.metrics_seconds * a.sr))],
                               a.sr, optimised_mel=mel_excerpt, analysis=a)
            timings["metrics"] = time.perf_counter() - t4
        metrics["reconstruction_sc_linear"] = sc_linear
        metrics.setdefault("reconstruction_sc", sc_mel)

        # The written output: mono 22050 Hz as is, or the content's rate and channels (fullband.py).
        t5 = time.perf_counter()
        # Another rate or channel count is rendered block by block from the work file.
        y_mono = None if is_plain_mono(natives, a) else fullband.Samples(store=out_store, gain=scale)
        try:
            rendered = render_output(y_mono, natives, a, config.output, workdir=workdir, peak_dbfs=r_cfg.peak_dbfs,
                                     picture_columns=chunks.picture_columns)
        except OSError as e:  # its work files (a full disk): keep the computed result, in mono
            from .destination import describe_write_error

            note = (f"the full-band output could not be made ({describe_write_error(e)}); the transfer's "
                    f"mono {a.sr} Hz output is written instead")
            log.warning(note)
            rendered = fullband.mono_output(natives, a, config.output, [note])
        del natives, y_mono
        timings["output_format"] = time.perf_counter() - t5

        pictures = {"content": content_pictures.result()[:, : -(-n_out // factor)],
                    "style": chunked.pooled(style_mel, chunked.picture_factor(style_mel.shape[1], chunks.picture_columns)),
                    "output": output_pictures.result()[:, : -(-n_out // factor)]}
        if keep_arrays:
            y_out = (out_store.read(0, n_samples) * scale).astype(np.float32)
            output_mel = mel_store.read(0, n_out).T.copy()
            content_mel = chunked.mel_frames(y_content, 0, n_out, a)
        else:
            y_out = output_mel = content_mel = None
        timings["total"] = time.perf_counter() - t0
        record = {
            RUN_MARKER: RUN_FORMAT,
            "amnst_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "status": status,
            "error": str(error) if error else None,
            "inputs": {"content": _file_record(content_path), "style": _file_record(style_path),
                       "max_seconds": max_seconds, "segments_to_reconstruct": segments_to_reconstruct},
            "config": config.to_dict(),
            "output_format": rendered.record,
            "resolved": {"content_layers": list(result.content_layers), "style_layers": list(result.style_layers),
                         "learning_rate": t_cfg.resolved_learning_rate, "n_segments": result.n_segments,
                         "completed_steps": result.completed_steps},
            "seed": t_cfg.seed,
            "weights": _weights_record(weights_info),
            "versions": library_versions(),
            "timings_seconds": timings,
            "metrics": metrics,
            "metrics_scope": scope,
            "chunking": {**chunks.to_dict(), "transfer_chunks": n_chunks, "picture_frames_per_column": factor},
            "history": result.history,
            "rollbacks": result.rollbacks,
            "files": {},
        }

        run = RunResult(out_dir=None, wav_path=None, sr=a.sr, output=y_out,
                        content=y_content[:n_samples] if keep_arrays else None,
                        style=y_style, content_mel=content_mel, style_mel=style_mel,
                        output_mel=output_mel, history=result.history, rollbacks=result.rollbacks,
                        metrics=metrics, record=record, weights_info=weights_info,
                        written=rendered.output.array() if keep_arrays and rendered.output else None,
                        written_sr=rendered.sr, full_mels=rendered.mels, full_mel_config=rendered.mel_config,
                        full_mel_factors=rendered.mel_factors)
        run._pictures, run._wav, run._rendered = pictures, (out_store, scale, factor), rendered.output
        if claim is not None:
            phase_started("writing the run folder")
            _write_run_folder(run, claim, a)
    finally:
        mel_store.close()
        out_store.close()
        if rendered is not None and rendered.output is not None:
            rendered.output.close()
        work.cleanup()
    if error is not None:
        raise error
    return run


def projection_every(record: dict) -> int:
    """``TransferConfig.projection_every`` of a run's record (0 if it has none)."""
    return int(((record.get("config") or {}).get("transfer") or {}).get("projection_every") or 0)


def _write_files(run: RunResult, folder: Path, analysis) -> None:
    """The run's files into ``folder``: WAV, pictures, run.json (last)."""
    import matplotlib.pyplot as plt

    from . import plots

    from .chunked import write_wav_blocks

    store, scale, factor = run._wav
    if run._rendered is not None:  # the content's rate and channels (fullband.py), block by block
        run._rendered.write_wav(folder / "output.wav")
    else:
        write_wav_blocks(folder / "output.wav", store, scale, run.sr)
    if run.full_mels:  # the picture shows the written output's whole band
        fig = plots.plot_mels(run.full_mels, run.full_mel_config, title=f"mid, {run.written_sr} Hz",
                              frames_per_column=run.full_mel_factors or 1)
    else:
        # Pictures of a long track are averaged in time (at most ChunkConfig.picture_columns columns).
        fig = plots.plot_mels(run._pictures, analysis,
                              frames_per_column={"content": factor, "output": factor,
                                                 "style": -(-run.style_mel.shape[1] // run._pictures["style"].shape[1])})
    fig.savefig(folder / "spectrograms.png", dpi=100)
    plt.close(fig)
    fig = plots.plot_loss(run.history, projection_every=projection_every(run.record))
    fig.savefig(folder / "loss.png", dpi=100)
    plt.close(fig)
    run.record["files"] = {"wav": "output.wav", "spectrograms": "spectrograms.png",
                           "loss": "loss.png", "record": "run.json"}
    write_json(folder / "run.json", run.record)


def _write_run_folder(run: RunResult, claim, analysis) -> None:
    """Write the files into the claim's temporary folder and publish it.

    An I/O error (full disk, a folder made read-only meanwhile) does not lose the
    computation: the files go to a folder under the system's temporary folder instead, and
    the error says what to fix and where they are.
    """
    from .destination import describe_write_error, rescue_folder

    out_dir = claim.out_dir
    try:
        _write_files(run, claim.tmp, analysis)
        claim.publish()
    except OSError as e:
        problem = describe_write_error(e)
        try:
            rescue = rescue_folder(out_dir.name)
            _write_files(run, rescue, analysis)
        except OSError as e2:
            raise OutputWriteError(f"{out_dir}: could not write the result ({problem}), nor a copy under "
                                   f"{tempfile.gettempdir()} ({describe_write_error(e2)}).") from None
        run.out_dir, run.wav_path = rescue, rescue / "output.wav"
        raise OutputWriteError(f"{out_dir}: could not write the result ({problem}); it is saved in {rescue}/ "
                               f"instead: fix that, then move it.") from None
    run.out_dir = out_dir
    run.wav_path = out_dir / "output.wav"
