"""The ``amnst`` command line (also ``python -m amnst_lib``).

``amnst transfer CONTENT STYLE`` runs one style transfer into a run folder;
``amnst train DATA_DIR`` trains the genre classifier; ``amnst evaluate OUTPUT --content C
--style S`` measures any output's quality; ``amnst batch JOBS.csv -o DIR`` and ``amnst sweep
--contents ... --styles ... --grid k=v1,v2 -o DIR`` run many transfers on Dask
(:mod:`amnst_lib.sweep`). This module is the CLI layer: it parses arguments and calls the
domain modules, which never import it. Errors a user can fix print one line,
``amnst: error: ...``, and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import threading
from pathlib import Path

from .config import (INITS, NETWORK_PRESETS, OUTPUT_FORMATS, PHASE_INITS, NETWORKS, OPTIMIZERS, PARAMETERIZATIONS, PRESETS,
                     RunConfig, run_preset, switch_network)
from .errors import AmnstError, ParameterError



# Argument types: a bad value becomes one line naming the flag (argparse reports
# ``argument --flag: <message>``; _Parser.error prints it as ``amnst: error: ...``).

def _seed_type(text: str) -> int:
    """A random seed: an integer in 0..2**32-1 (NumPy's and TensorFlow's range)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be a whole number in 0..{2 ** 32 - 1}, got {text!r}")
    return value


def _seconds_type(text: str) -> float:
    """A duration in seconds: a finite number > 0 (``nan``, ``inf`` and negatives refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


#: Lowest analysis rate ``amnst evaluate`` accepts. Its chroma analysis reaches B7 (3951 Hz),
#: and that filter's band, moved by the tuning the CQT estimates from the audio, ends near
#: 4.15 kHz: librosa refused rates up to 8400 Hz for some tunings (9000 Hz passed every one
#: tried), so the lowest standard rate above both, 11025 Hz.
MIN_SAMPLE_RATE = 11025


def _sample_rate_type(text: str) -> int:
    """A sample rate in Hz: a whole number >= :data:`MIN_SAMPLE_RATE`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of Hz, got {text!r}") from None
    if value < MIN_SAMPLE_RATE:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_SAMPLE_RATE} Hz (the chroma analysis's filters reach about 4.15 kHz), "
            f"got {text!r}")
    return value


def _layers(text: str):
    """'0,2' or 'conv1 conv2' -> list of specs (validated later, with the full message)."""
    return [s for s in text.replace(" ", ",").split(",") if s]


def _names(layers) -> str:
    return ", ".join(map(str, layers))


def add_transfer_arguments(p: argparse.ArgumentParser) -> None:
    d, m, o = PRESETS["default"], PRESETS["melody"], PRESETS["original"]
    p.add_argument("content", help="music file (WAV, FLAC, OGG or MP3): the melody, harmony and rhythm to keep")
    p.add_argument("style", help="ambience file: the timbre, texture and acoustics to take on")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="run folder to write (default: outputs/<content>__<style>); never replaced without --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--preset", metavar="{" + ",".join(sorted(PRESETS)) + "}",
                   help="named settings to start from (default: 'default'). 'default' is this project's "
                        f"settings, chosen on pairs nobody tuned on: the random-filter texture network (layers "
                        f"{_names(d.content_layers)} / {_names(d.style_layers)}; an equalised start; "
                        f"{d.iterations} iterations; benchmarks/README.md, 'C5'). 'melody' keeps more of the "
                        f"melody and takes on less of the ambience (the default until 30 Nov 2026: content "
                        f"{_names(m.content_layers)}; {m.iterations} iterations). 'original' is the original "
                        "notebook's form values on its genre CNN (layers identity, conv1 / conv2, conv4, conv6, "
                        f"conv8; {o.iterations} iterations). "
                        "Flags given here override the preset's values")
    p.add_argument("--network", choices=NETWORKS,
                   help="feature network: 'texture' (random by design; no trained weights) or 'genre_cnn' (the "
                        "original's classifier; trained with --weights, else seeded random). Without --preset or "
                        "--config it starts from that network's preset (texture: 'default', genre_cnn: "
                        "'original'); layer flags are names of this network")
    p.add_argument("--config", metavar="RUN_JSON",
                   help="start from the settings of an earlier run (its run.json, or its run folder), and its "
                        "--max-seconds and --segments-to-reconstruct; flags given here override them")
    g = p.add_argument_group("transfer (defaults: the preset's values; 'default' / 'original' shown)")
    g.add_argument("--content-layers", type=_layers, metavar="L,L",
                   help="feature layers for content, by name or index in the chosen network (a wrong name "
                        "lists them). Texture network: 0 mel, 1 logmel, 2 bands, 3 wide, 4 detail, 5 harmony, 6 dbbands, 7 linbands, 8 pitch, 9 flux "
                        f"(default {_names(d.content_layers)}). Genre CNN: 0 identity, 1 batchnorm1, "
                        f"2 conv1, 3 pool1, 4 conv2, ... 16 conv8, 17 pool8 (original {_names(o.content_layers)})")
    g.add_argument("--style-layers", type=_layers, metavar="L,L",
                   help=f"feature layers for style (default {_names(d.style_layers)}; "
                        f"original {_names(o.style_layers)})")
    g.add_argument("--stats-layers", type=_layers, metavar="L,L",
                   help="layers whose per-channel mean and spread are matched to the style's, beside the Gram "
                        f"matrices (default {_names(d.stats_layers) or 'none'}; original none)")
    g.add_argument("--projection-every", type=int,
                   help="every N steps, replace the target by the mel of a real signal near it (Griffin-Lim, "
                        f"re-analysed) so the WAV matches what was optimised; 0 = never (default "
                        f"{d.projection_every}; original {o.projection_every})")
    g.add_argument("--content-weight", type=float,
                   help=f"weight of the content loss (default {d.content_weight:g}; original {o.content_weight:g})")
    g.add_argument("--style-weight", type=float,
                   help=f"weight of the style loss (default {d.style_weight:g}; original {o.style_weight:g})")
    g.add_argument("--iterations", type=int, help=f"gradient steps (default {d.iterations}; original {o.iterations})")
    g.add_argument("--init", choices=INITS, help=f"starting target (default {d.init}; original {o.init})")
    g.add_argument("--style-below-hz", type=float, metavar="HZ",
                   help="below this frequency the target starts from noise at the ambience's level instead of "
                        "the music, which the style losses make the ambience's texture (for content layer "
                        "pitch, which holds nothing below 130.8 Hz); 0 = off (default 0)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="adam (default) or the original's sgd")
    g.add_argument("--lr", type=float, dest="learning_rate",
                   help=f"initial learning rate (default {d.resolved_learning_rate:g}; original: 0.02 for adam "
                        "on log-mel, else 0.001)")
    g.add_argument("--decay-steps", type=int, help="exponential decay: steps per decay (default 10)")
    g.add_argument("--decay-rate", type=float, help="exponential decay: factor per decay_steps (default 1.0: constant)")
    g.add_argument("--parameterization", choices=PARAMETERIZATIONS,
                   help="optimise log(mel) (default; stays non-negative) or the mel itself, clipped at zero")
    g.add_argument("--raw-losses", action="store_true",
                   help="do not normalise the losses (the original's raw sums; they diverge with sgd)")
    g.add_argument("--max-segments", type=int,
                   help="transfer only the first N 5-second segments (the original's segments_to_include, 5); default: all")
    g.add_argument("--batch-segments", type=int, help="segments per forward pass; lower it to save memory (default 8)")
    g.add_argument("--max-retries", type=int, help="rollbacks allowed on non-finite values (default 20)")
    g.add_argument("--seed", type=_seed_type, help="seed of random init and random weights or filters (default 0)")
    g.add_argument("--weights", metavar="FILE",
                   help="trained genre-CNN weights (.weights.h5 from `amnst train`, or the original's .npy). "
                        "They apply to the genre CNN only: given without --preset, --network or --config, the "
                        "run starts from preset 'original' (its genre-CNN layers); with the texture network "
                        "they are refused. Default: no trained weights")
    r = p.add_argument_group("audio")
    r.add_argument("--max-seconds", type=_seconds_type, help="use only the first N seconds of each input")
    r.add_argument("--griffin-lim-iters", type=int, dest="n_iter", help="Griffin-Lim iterations (default 128)")
    r.add_argument("--phase", choices=PHASE_INITS, dest="init_phase",
                   help="where Griffin-Lim starts: the content's STFT phase (default; keeps its pitch) "
                        "or a random phase (the original's)")
    r.add_argument("--output-format", choices=OUTPUT_FORMATS,
                   help="'follow': the content's sample rate (22050-48000 Hz) and channels (mono or stereo), the "
                        "band above 11 kHz from the style's own (default); 'mono22050': the transfer's mono "
                        "22050 Hz output as the original wrote it (preset original)")
    r.add_argument("--segments-to-reconstruct", type=int,
                   help="turn only the first N segments back into audio (default: all)")
    p.add_argument("--no-metrics", action="store_true", help="skip the quality figures")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


_TRANSFER_FLAGS = ("content_layers", "style_layers", "content_weight", "style_weight", "iterations", "init",
                   "optimizer", "learning_rate", "decay_steps", "decay_rate", "parameterization", "max_segments",
                   "batch_segments", "max_retries", "seed", "stats_layers", "projection_every", "style_below_hz")


def run_config_from_args(args) -> RunConfig:
    """Build the RunConfig: a preset (or ``--config``), then the flags given.

    Without ``--preset``/``--config`` the start is ``--network``'s preset, or ``original``
    when only ``--weights`` is given (trained weights are the genre CNN's), else
    ``default``. Trained weights with the texture network are refused.
    """
    weights = getattr(args, "weights", None)
    network = getattr(args, "network", None)
    if args.preset and args.config:
        raise ParameterError("give --preset or --config, not both")
    if args.config:
        path = config_path(args.config)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ParameterError(f"{path}: no such run record") from None
        except IsADirectoryError:
            raise ParameterError(f"{path}: is a folder without a run.json; pass a run folder or its run.json") from None
        except OSError as e:
            raise ParameterError(f"{path}: cannot read it ({e.strerror or e})") from None
        except ValueError as e:
            raise ParameterError(f"{path}: not valid JSON ({e})") from None
        base = RunConfig.from_dict(_config_record(path, data))
    elif args.preset:
        base = run_preset(args.preset)
    elif network:
        base = run_preset(NETWORK_PRESETS[network])
    elif weights:
        base = run_preset("original")
    else:
        base = run_preset("default")
    changes = {k: getattr(args, k) for k in _TRANSFER_FLAGS if getattr(args, k) is not None}
    if args.raw_losses:
        changes["normalize_losses"] = False
    start = switch_network(base.transfer, network) if network else base.transfer
    with _named_as_flags(changes):
        transfer = start.replace(**changes)
    if weights and transfer.network != "genre_cnn":
        raise ParameterError(
            f"--weights applies to the genre CNN only; the {transfer.network} network is random by design "
            f"(drop --weights, or use --network genre_cnn or --preset original)")
    from .transfer import resolve_config_layers

    resolve_config_layers(transfer)  # a bad layer name lists the valid names of the chosen network
    reconstruction = base.reconstruction
    if args.n_iter is not None:
        with _named_as_flags({"n_iter": args.n_iter}):
            reconstruction = reconstruction.replace(n_iter=args.n_iter)
    if getattr(args, "init_phase", None) is not None:
        reconstruction = reconstruction.replace(init_phase=args.init_phase)
    output = base.output
    if getattr(args, "output_format", None) is not None:
        output = output.replace(format=args.output_format)
    return RunConfig(analysis=base.analysis, transfer=transfer, reconstruction=reconstruction, output=output)


_SECTIONS = ("analysis", "transfer", "reconstruction", "output")

#: Flags whose names are not their settings' (``--lr`` sets ``learning_rate``).
_FLAG_OF = {"learning_rate": "--lr", "n_iter": "--griffin-lim-iters"}


@contextlib.contextmanager
def _named_as_flags(given):
    """Re-raise a setting's ParameterError under the flag the user typed.

    The settings' checks name the setting (``n_iter must be an integer >= 1, got 0``); a
    user who typed ``--griffin-lim-iters 0`` reads ``--griffin-lim-iters (n_iter) must be ...``.
    """
    try:
        yield
    except ParameterError as e:
        text = str(e)
        for name in given:
            if text.startswith(f"{name} "):
                flag = _FLAG_OF.get(name, "--" + name.replace("_", "-"))
                raise ParameterError(f"{flag} ({name}){text[len(name):]}") from None
        raise


def config_path(arg) -> Path:
    """``--config``'s file: the path given, or the run.json inside a run folder given instead."""
    path = Path(arg)
    if path.is_dir() and (path / "run.json").is_file():
        return path / "run.json"
    return path


def recorded_inputs(arg) -> dict:
    """``--max-seconds`` and ``--segments-to-reconstruct`` of an earlier run, those it set.

    They are recorded in its run.json's ``inputs``, beside the settings, not among them, so
    :func:`run_config_from_args` does not see them; called after that function has read
    the record. Returns ``{"max_seconds": float, "segments_to_reconstruct": int}``, each
    key only where the run used it.
    """
    try:
        inputs = json.loads(config_path(arg).read_text()).get("inputs", {})
        inputs = inputs if isinstance(inputs, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}
    out = {}
    value = inputs.get("max_seconds")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        out["max_seconds"] = float(value)
    value = inputs.get("segments_to_reconstruct")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        out["segments_to_reconstruct"] = value
    return out


def _config_record(path: Path, data) -> dict:
    """The settings of a run record (its ``config``), or one line saying why it is not one.

    A flat JSON of single settings (``{"content_weight": 123}``) is refused, not ignored:
    settings are given as flags, and a run record's are grouped in sections.
    """
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: holds a JSON {type(data).__name__}, not a run record; pass the run.json "
                             f"of an earlier run")
    config = data.get("config", data)
    if not isinstance(config, dict):
        raise ParameterError(f"{path}: its 'config' is a JSON {type(config).__name__}, not a run record's settings")
    loose = sorted(k for k in config if k not in _SECTIONS)
    if loose or not config:
        flags = ", ".join("--" + k.replace("_", "-") for k in loose[:3])
        raise ParameterError(
            f"{path}: not a run record ({'no settings' if not loose else 'settings ' + ', '.join(loose[:3])} outside "
            f"the sections {', '.join(_SECTIONS)}); pass the run.json of an earlier run"
            + (f", or give single settings as flags ({flags} ...)" if loose else ""))
    for name in _SECTIONS:
        if not isinstance(config.get(name, {}), dict):
            raise ParameterError(f"{path}: its '{name}' settings are not a JSON object")
    return config


def default_out_dir(content, style) -> Path:
    return Path("outputs") / f"{Path(content).stem}__{Path(style).stem}"


def run_transfer_command(args) -> int:
    from .metrics import format_table
    from .pipeline import run_transfer

    config = run_config_from_args(args)
    max_seconds, segments = args.max_seconds, args.segments_to_reconstruct
    if args.config:
        # What of the input the earlier run used is part of what it did, though kept beside its settings.
        recorded = recorded_inputs(args.config)
        if max_seconds is None and "max_seconds" in recorded:
            max_seconds = recorded["max_seconds"]
            print(f"--max-seconds {max_seconds:g}: as in {config_path(args.config)} (give --max-seconds to change it)")
        if segments is None and "segments_to_reconstruct" in recorded:
            segments = recorded["segments_to_reconstruct"]
            print(f"--segments-to-reconstruct {segments}: as in {config_path(args.config)} (give "
                  f"--segments-to-reconstruct to change it)")
    out = Path(args.out) if args.out else default_out_dir(args.content, args.style)
    result = run_transfer(args.content, args.style, out, config=config, weights=args.weights,
                          overwrite=args.overwrite, progress=not args.quiet, max_seconds=max_seconds,
                          segments_to_reconstruct=segments,
                          compute_metrics=not args.no_metrics, keep_arrays=False)
    rec = result.record
    h = result.history
    print(f"wrote {result.out_dir}/ (output.wav, spectrograms.png, loss.png, run.json)")
    fmt = rec.get("output_format", {})
    if fmt:
        print(f"output: {fmt['sample_rate']} Hz, {fmt['channels']} channel(s) ({fmt['format']}"
              + (f"; image: {fmt['image']}, band above 11 kHz: {'the style' if fmt['high_band'] else 'empty'}"
                 if fmt["format"] == "follow" and fmt["sample_rate"] > 22050 else "") + ")")
    if config.transfer.network == "texture":
        print(f"network: texture ({config.transfer.texture_filters} seeded random filters, random by design; "
              f"seed {config.transfer.seed})")
    elif result.weights_info.get("trained"):
        print(f"network: genre CNN, weights: trained ({args.weights})")
    else:
        print("network: genre CNN, weights: RANDOM (seeded; pass --weights for trained ones)")
    if h:
        print(f"loss: {h[0]['total']:.4g} -> {h[-1]['total']:.4g} in {len(h)} steps"
              f" ({rec['resolved']['n_segments']} segment{'' if rec['resolved']['n_segments'] == 1 else 's'},"
              f" {rec['timings_seconds']['transfer']:.1f} s of computing),"
              f" {len(result.rollbacks)} rollback(s)")
    if result.metrics:
        print(format_table(result.metrics))
    return 0


# --------------------------------------------------------------------------- amnst train

def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``amnst train`` arguments to a parser."""
    parser.add_argument("data_dir", metavar="DATA_DIR",
                        help="GTZAN folder (Kaggle: Data/genres_original/...; Marsyas: genres/...) or a generated "
                             "miniature (python -m amnst_lib.dataset make-miniature)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30, the original's)")
    parser.add_argument("--split", default="track", metavar="track|segment|FILE",
                        help="'track' (default): seeded split by track, fair; 'segment': the original's split by "
                             "segment, LEAKY (tracks on both sides), to reproduce its figures; or a CSV of "
                             "track_id,subset rows (e.g. the artist-filtered split)")
    parser.add_argument("-o", "--out", metavar="DIR", default="runs/genre_cnn",
                        help="output folder (default runs/genre_cnn); never replaced without --overwrite")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--batch-size", type=int, default=32, help="segments per optimiser step (default 32)")
    parser.add_argument("--micro-batch", type=int, dest="micro_batch_size", metavar="N",
                        help="segments per forward/backward pass; the gradient of the whole batch is accumulated "
                             "over them (default 8: ~1.5 GiB peak; --micro-batch 32 runs the original's whole "
                             "batches, ~3.9 GiB on a CPU)")
    parser.add_argument("--lr", type=float, default=1e-3, dest="learning_rate", help="Adam learning rate (default 1e-3)")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="share of each genre's tracks for validation")
    parser.add_argument("--test-fraction", type=float, default=0.0,
                        help="share of each genre's tracks held out for a final test (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of split, shuffling and initialisation")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="where the feature cache goes (default DATA_DIR/.amnst_cache, or ~/.cache/amnst)")
    parser.add_argument("--verify-cache", choices=("sample", "full", "none"), default="sample",
                        help="checksums to re-check when reusing a cache (default: a sample of tracks)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run_train_command(args) -> int:
    """Run ``amnst train`` from parsed arguments; returns the exit status."""
    from .training import summary, train

    result = train(args.data_dir, args.out, epochs=args.epochs, batch_size=args.batch_size,
                   micro_batch_size=args.micro_batch_size,
                   learning_rate=args.learning_rate, split=args.split, val_fraction=args.val_fraction,
                   test_fraction=args.test_fraction, seed=args.seed, cache_dir=args.cache_dir,
                   verify_cache=args.verify_cache, overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    if args.quiet:
        print(summary(result.card))
    print(f"wrote {result.out_dir}")
    return 0


# --------------------------------------------------------------------------- amnst evaluate

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``amnst evaluate OUTPUT --content C --style S [--json FILE] [--overwrite]``."""
    parser.add_argument("output", help="the style-transfer output to measure (audio file)")
    parser.add_argument("--content", required=True, help="the content (music) file it was made from")
    parser.add_argument("--style", required=True, help="the style (ambience) file it was made from")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the figures to this JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing JSON file")
    parser.add_argument("--sr", type=_sample_rate_type, default=22050,
                        help="sample rate to analyse at, Hz (default 22050)")
    parser.add_argument("--max-seconds", type=_seconds_type, default=None,
                        help="use only the first this many seconds of each file")


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    return value


def _check_json_destination(path: Path, overwrite: bool) -> None:
    """Refuse, before any work, a ``--json`` file that could not be written (one line).

    Raises
    ------
    OutputExistsError
        ``path`` is a folder, or a file that exists without ``overwrite``.
    OutputWriteError
        Its folder does not exist or cannot be written.
    """
    import tempfile

    from .errors import OutputExistsError, OutputWriteError

    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; give a file name for --json (e.g. {path / 'figures.json'}).")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; pass --overwrite to replace it.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputWriteError(f"{path}: its folder {folder} does not exist; create it or give another --json path.")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as e:
        raise OutputWriteError(f"{path}: cannot write in {folder} ({e.strerror or e}); give another --json path.") from None


def run_evaluate_command(args: argparse.Namespace) -> int:
    """Run ``amnst evaluate``: print the table, write the JSON if asked; returns 0.

    Raises
    ------
    AmnstError
        Unreadable input (AudioFileError), or a JSON file that exists without
        ``--overwrite`` (OutputExistsError, checked before any work). The caller prints
        the message and exits with ``exc.exit_code``.
    """
    from .audio import atomic_write
    from .metrics import evaluate_files, format_table, length_note

    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        _check_json_destination(json_path, args.overwrite)
    metrics = evaluate_files(args.output, args.content, args.style, sr=args.sr,
                             max_seconds=args.max_seconds)
    note = length_note(args.output, args.content, args.sr, max_seconds=args.max_seconds)
    if note:
        print(note)
    print(format_table(metrics))
    if json_path is not None:
        record = {"output": str(args.output), "content": str(args.content), "style": str(args.style),
                  "sr": args.sr, "max_seconds": args.max_seconds, "note": note,
                  "metrics": {k: _json_safe(v) for k, v in metrics.items()}}
        text = json.dumps(record, indent=2) + "\n"
        atomic_write(json_path, lambda tmp: Path(tmp).write_text(text), overwrite=args.overwrite)
        print(f"wrote {json_path}")
    return 0


# --------------------------------------------------------------------------- amnst batch / amnst sweep

def _add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--out", metavar="DIR", required=True,
                   help="sweep folder: runs/<content>__<style>__<settings hash>/ per job, results.csv, "
                        "results.parquet (with pandas + pyarrow), frontier.png. Re-running the same command "
                        "skips the jobs whose run folder is complete")
    g = p.add_argument_group("where the jobs run (Dask distributed)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler, e.g. tcp://HOST:8786 (default: $DASK_SCHEDULER_ADDRESS, else "
                        "an embedded local cluster). Inputs and DIR must be at the same paths on every worker")
    g.add_argument("--workers", type=int, metavar="N",
                   help="local cluster: worker processes (default: one per core, at most one per job)")
    g.add_argument("--threads", type=int, metavar="N", dest="tf_threads",
                   help="TensorFlow intra-op threads per worker (default for a local cluster: cores / workers)")
    g.add_argument("--memory-limit", default="auto", metavar="SIZE",
                   help="local cluster: memory per worker, e.g. 4GiB (default auto: the machine's memory / "
                        "workers); a worker past 95%% of it is restarted and its job retried")
    p.add_argument("--max-seconds", type=float,
                   help="use only the first N seconds of each input (a max_seconds setting overrides it)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _run_jobs(jobs, args) -> int:
    from .sweep import run_sweep

    result = run_sweep(jobs, args.out, scheduler=args.scheduler, workers=args.workers, tf_threads=args.tf_threads,
                       memory_limit=args.memory_limit, progress=not args.quiet)
    ok = sum(r["status"] == "ok" for r in result.rows)
    print(f"{len(result.rows)} jobs: {ok} ok, {result.failed} failed or diverged "
          f"({result.ran} run now, {result.reused} complete from before)")
    print("wrote " + ", ".join(str(p) for p in result.files.values()))
    return 0 if result.failed == 0 else 1


def _fixed_settings(args) -> dict:
    return {} if args.max_seconds is None else {"max_seconds": args.max_seconds}


def run_batch_command(args) -> int:
    from .sweep import read_jobs_csv

    jobs = read_jobs_csv(args.jobs)
    if args.max_seconds is not None:
        from .sweep import make_job

        jobs = [make_job(j.content, j.style, {**_fixed_settings(args), **j.settings}) for j in jobs]
    return _run_jobs(jobs, args)


def run_sweep_command(args) -> int:
    from .sweep import grid_jobs, parse_overrides

    fixed = _fixed_settings(args)
    for text in args.set or ():
        fixed.update(parse_overrides(text))
    jobs = grid_jobs(args.contents, args.styles, args.grid or (), fixed=fixed)
    return _run_jobs(jobs, args)


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("jobs", metavar="JOBS.csv",
                   help="one row per run: columns content, style (paths relative to the CSV's folder) and any "
                        "settings, e.g. preset, content_weight, style_weight, iterations, seed, max_seconds, "
                        "rec.n_iter; an empty cell keeps the preset's value")
    _add_cluster_arguments(p)


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--contents", nargs="+", required=True, metavar="DIR_OR_FILE",
                   help="music files, or folders of them")
    p.add_argument("--styles", nargs="+", required=True, metavar="DIR_OR_FILE",
                   help="ambience files, or folders of them")
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="a setting and its values (repeatable; the sweep is the product), e.g. "
                        "--grid content_weight=2,3,4 --grid style_weight=2,4 --grid preset=default,original")
    p.add_argument("--set", action="append", metavar="KEY=V,KEY=V",
                   help="settings for every job, e.g. --set iterations=30,seed=1")
    _add_cluster_arguments(p)


# --------------------------------------------------------------------------- the parser

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="amnst", description="Ambience-to-music neural style transfer (AM-NST).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('amnst_lib').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("transfer", help="style-transfer an ambience onto a piece of music",
                       description="Style-transfer STYLE (an ambience) onto CONTENT (music); writes output.wav, "
                                   "spectrograms.png, loss.png and run.json into a run folder.")
    add_transfer_arguments(p)
    p.set_defaults(func=run_transfer_command)

    p = sub.add_parser("train", help="train the genre classifier (GTZAN or the generated miniature)",
                       description="Train the genre-classification CNN whose layers the transfer uses.")
    add_train_arguments(p)
    p.set_defaults(func=run_train_command)

    p = sub.add_parser("evaluate", help="measure a result: content kept, style taken on, noise",
                       description="Quality figures for any output WAV against its content and style.")
    add_evaluate_arguments(p)
    p.set_defaults(func=run_evaluate_command)

    p = sub.add_parser("batch", help="run many transfers listed in a CSV, on Dask (local or a cluster)",
                       description="Run one style transfer per row of JOBS.csv on Dask; one run folder per job, "
                                   "results.csv and frontier.png for the whole batch.")
    add_batch_arguments(p)
    p.set_defaults(func=run_batch_command)

    p = sub.add_parser("sweep", help="run every content x style x settings grid point, on Dask",
                       description="Run the product of contents, styles and --grid values on Dask; one run folder "
                                   "per job, results.csv and frontier.png for the whole sweep.")
    add_sweep_arguments(p)
    p.set_defaults(func=run_sweep_command)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``amnst: error: ...`` and exit 2, like every other bad input."""

    #: The arguments being parsed (set by :func:`main`), to explain a file name read as an option.
    argv: list = []

    def error(self, message):
        hint = ""
        dashed = [a for a in self.argv if a.startswith("-") and a not in ("-", "--") and not a.startswith("--")
                  and (Path(a).suffix.lower() in _FILE_SUFFIXES or Path(a).is_file())]
        if dashed:
            hint = (f"; {dashed[0]!r} starts with '-' and is read as an option: put -- before the file names "
                    f"(amnst transfer [options] -- {dashed[0]} ...) or write ./{dashed[0]}")
        self.exit(2, f"amnst: error: {message}{hint} (see `{self.prog} --help`)\n")


_FILE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff", ".aif", ".h5", ".npy", ".json")


def _terminated(signum, frame):
    raise KeyboardInterrupt  # SIGTERM is handled as Ctrl-C: temporary files are removed


def _close_progress_bars() -> None:
    """Close the tqdm progress bars still open; closing a bar ends its line."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="amnst: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    _Parser.argv = argv
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args) or 0)
    except AmnstError as e:
        print(f"amnst: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        _close_progress_bars()  # a bar leaves its line open: end it, so the message has its own line
        print("amnst: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)



# --------------------------------------------------------------------------- python -m amnst_lib.dataset

def build_dataset_parser() -> argparse.ArgumentParser:
    """``python -m amnst_lib.dataset make-miniature OUT_DIR [...]`` / ``list DATA_DIR``."""
    parser = argparse.ArgumentParser(prog="python -m amnst_lib.dataset",
                                     description="GTZAN helpers: generate a miniature, or list a dataset.")
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make-miniature", help="write a synthesised miniature GTZAN")
    mk.add_argument("out_dir")
    mk.add_argument("--tracks-per-class", type=int, default=5)
    mk.add_argument("--seconds", type=float, default=30.0)
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--layout", choices=("kaggle", "marsyas"), default="kaggle")
    mk.add_argument("--overwrite", action="store_true")
    ls = sub.add_parser("list", help="check a dataset folder: tracks per genre and skipped files")
    ls.add_argument("data_dir")
    return parser


def dataset_main(argv=None) -> int:
    """Run ``python -m amnst_lib.dataset``; returns the exit status."""
    from .dataset import find_tracks, make_miniature

    args = build_dataset_parser().parse_args(argv)
    try:
        if args.command == "make-miniature":
            root = make_miniature(args.out_dir, tracks_per_class=args.tracks_per_class, seconds=args.seconds,
                                  seed=args.seed, layout=args.layout, overwrite=args.overwrite)
            print(f"wrote {10 * args.tracks_per_class} tracks to {root}")
        else:
            ds = find_tracks(args.data_dir, warn=False)
            print(f"{ds.root} ({ds.layout} layout): {len(ds.tracks)} readable tracks")
            for genre, count in ds.counts().items():
                print(f"  {genre:10s} {count}")
            for path, why in ds.skipped:
                print(f"  skipped {path}: {why}")
    except AmnstError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
