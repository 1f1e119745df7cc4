"""Many style-transfer runs at once, on Dask distributed: the engine of ``amnst batch`` / ``amnst sweep``.

A sweep is a list of :class:`Job` s (content, style, settings overrides). Each job becomes a
:class:`~amnst_lib.config.RunConfig` and one ordinary run folder (what ``amnst transfer``
writes), named ``<content>__<style>__<hash>`` where ``hash`` is a short hash of the full
resolved settings. The whole sweep gets one table, ``results.csv`` (and ``results.parquet``
when pandas and pyarrow are installed): inputs, settings, status, seconds, the worker's
resident memory after the job and every quality figure, plus ``frontier.png`` (chroma similarity against MFCC gap closed, one point per
job: its colour the settings, its shape the ambience).

Where the jobs run: an embedded :class:`distributed.LocalCluster` of process workers (one
job at a time each, TensorFlow's intra-op pool sized so that workers x threads = cores), or
any running Dask cluster given by its scheduler address (``dask scheduler`` /
``dask worker``, dask-jobqueue on Slurm/PBS, dask-kubernetes). The input files and the
output folder must then be visible to every worker at the same paths.

Reliability:

- resumable: a job whose run folder is complete (its ``run.json`` has the same settings
  hash) is not run again, so a sweep killed halfway loses only the jobs that were running;
- a job that fails (unreadable audio, divergence, a bad setting) is recorded with its
  one-line error and the others go on; a diverged run keeps its folder (``status:
  diverged``), like ``amnst transfer``;
- a worker that dies mid-job (killed, out of memory) is replaced by the cluster and the
  job is rescheduled by Dask (``distributed.scheduler.allowed-failures`` times, then it is
  recorded as failed); a job's key is its folder name, so it runs once at a time and is
  recorded once;
- memory: each local worker has a ``memory_limit``; its nanny restarts a worker that goes
  past 95 % of it (Dask's ``distributed.worker.memory.terminate``), which ends only that
  job's attempt.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Iterable, Sequence

from .audio import SUPPORTED_EXTENSIONS
from .config import OUTPUT_PRESETS, ReconstructionConfig, RunConfig, TransferConfig, preset, switch_network
from .device import available_cores
from .errors import AmnstError, OutputExistsError, ParameterError

#: Keys a job's settings may override, beside every TransferConfig field and ``rec.<field>``
#: of ReconstructionConfig: ``preset`` (the start), ``network`` (switches layer choices as
#: ``--network`` does) and ``max_seconds`` (use only the first N seconds of each input).
SPECIAL_KEYS = ("preset", "network", "max_seconds")
TRANSFER_KEYS = tuple(f.name for f in dataclasses.fields(TransferConfig))
RECONSTRUCTION_KEYS = tuple(f"rec.{f.name}" for f in dataclasses.fields(ReconstructionConfig))
SETTING_KEYS = SPECIAL_KEYS + TRANSFER_KEYS + RECONSTRUCTION_KEYS
#: Short aliases accepted for reconstruction settings (the CLI's names).
ALIASES = {"n_iter": "rec.n_iter", "griffin_lim_iters": "rec.n_iter", "init_phase": "rec.init_phase",
           "phase": "rec.init_phase", "lr": "learning_rate"}
#: Quality figures in the results table (``amnst_lib.metrics.METRIC_KEYS`` and the linear SC).
METRIC_COLUMNS = ("chroma_similarity", "chroma_floor", "onset_correlation", "mfcc_gap_closed",
                  "random_gram_gap_closed", "superposition", "superposition_music", "superposition_ambience",
                  "flatness_ratio", "reconstruction_sc", "reconstruction_sc_linear")
RUNS_DIR = "runs"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
FRONTIER_PNG = "frontier.png"
#: Dask event topic of job starts (``Client.get_events(EVENT_TOPIC)``: job, worker pid).
EVENT_TOPIC = "amnst-sweep"


# --------------------------------------------------------------------------- settings

def normalize_key(key: str) -> str:
    """``"content-weight"`` -> ``"content_weight"``; aliases to their full names; unknown keys refused."""
    k = key.strip().replace("-", "_")
    k = ALIASES.get(k, k)
    if k.startswith("rec_"):
        k = "rec." + k[4:]
    if k not in SETTING_KEYS:
        raise ParameterError(f"unknown setting {key!r}; known: {', '.join(SETTING_KEYS)}")
    return k


def _literal(node: ast.AST, text: str):
    """A literal, with bare names read as strings (``init=random``)."""
    if isinstance(node, ast.Name):
        return {"None": None, "True": True, "False": False}.get(node.id, node.id)
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, text) for e in node.elts)
    if isinstance(node, ast.List):
        return tuple(_literal(e, text) for e in node.elts)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ParameterError(f"cannot read the value {ast.get_source_segment(text, node)!r}") from None


def parse_value(text: str):
    """One cell or value: ``"2"`` -> 2, ``"0.5"`` -> 0.5, ``"random"`` -> ``"random"``,
    ``"('bands','wide')"`` -> tuple, ``"bands;wide"`` -> ``("bands", "wide")``."""
    text = text.strip()
    if ";" in text and not text.startswith(("(", "[", "'", '"')):
        return tuple(parse_value(t) for t in text.split(";") if t.strip())
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text  # e.g. a file-ish string: taken as it is, checked by the setting
    return _literal(node, text)


def parse_values(text: str) -> list:
    """A grid's value list, ``"2,3,4"`` or ``"('bands',),('bands','wide')"`` (Python's parser)."""
    try:
        node = ast.parse(f"[{text}]", mode="eval").body
    except SyntaxError:
        raise ParameterError(f"cannot read the values {text!r} (comma-separated numbers, names or tuples)") from None
    return [_literal(e, text) for e in node.elts]


def parse_overrides(text: str) -> dict:
    """``"content_weight=2.0,rec.init_phase='random'"`` -> ``{"content_weight": 2.0, "rec.init_phase": "random"}``.

    Python's own parser reads the overrides as keyword arguments, so values may be tuples
    and strings may be quoted or bare; an empty string is no override.
    """
    if not text.strip():
        return {}
    src = text.replace("rec.", "rec__")
    try:
        call = ast.parse(f"f({src})", mode="eval").body
    except SyntaxError:
        raise ParameterError(f"cannot read the settings {text!r}; write key=value,key=value") from None
    if call.args or any(kw.arg is None for kw in call.keywords):
        raise ParameterError(f"cannot read the settings {text!r}; write key=value,key=value")
    return {normalize_key(kw.arg.replace("rec__", "rec.")): _literal(kw.value, src) for kw in call.keywords}


def parse_grid(specs: Iterable[str]) -> list[dict]:
    """``["content_weight=2,3", "style_weight=2,4"]`` -> the 4 override dicts of their product.

    A key given twice is refused; no spec is one empty override set (the preset itself).
    """
    axes: dict[str, list] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not values.strip():
            raise ParameterError(f"--grid {spec!r}: write KEY=V1,V2,... (e.g. content_weight=2,3,4)")
        k = normalize_key(key)
        if k in axes:
            raise ParameterError(f"--grid: {k} is given twice")
        axes[k] = parse_values(values)
        if not axes[k]:
            raise ParameterError(f"--grid {spec!r}: no values")
    return [dict(zip(axes, combo)) for combo in product(*axes.values())]


def _coerce(key: str, value, field_type: Any):
    """Fit a parsed value to a field: a lone layer name becomes a 1-tuple, 2 a float where floats go."""
    if isinstance(field_type, str) and field_type.startswith("tuple") and isinstance(value, (str, int)):
        return (value,)
    if field_type in ("float", "float | None") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def build_config(overrides: dict) -> tuple[RunConfig, float | None]:
    """The RunConfig of a job: ``preset`` (default ``"default"``), then ``network``, then the fields.

    Returns
    -------
    config : RunConfig
    max_seconds : float or None

    Raises
    ------
    ParameterError
        An unknown key or a value out of range (the dataclasses' own message).
    """
    overrides = {normalize_key(k): v for k, v in overrides.items()}
    name = str(overrides.get("preset", "default"))
    start = preset(name)
    if "network" in overrides:
        start = switch_network(start, overrides["network"])
    types = {f.name: f.type for f in dataclasses.fields(TransferConfig)}
    rtypes = {f.name: f.type for f in dataclasses.fields(ReconstructionConfig)}
    transfer = {k: _coerce(k, v, types[k]) for k, v in overrides.items() if k in types and k != "network"}
    rec = {k[4:]: _coerce(k, v, rtypes[k[4:]]) for k, v in overrides.items() if k.startswith("rec.")}
    try:
        t = start.replace(**transfer)
        r = ReconstructionConfig().replace(**rec)
    except TypeError as e:  # a comparison of a wrong type inside a check
        raise ParameterError(f"bad setting value: {e}") from None
    max_seconds = overrides.get("max_seconds")
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise ParameterError(f"max_seconds must be a number > 0, got {max_seconds!r}")
    from .transfer import resolve_config_layers

    resolve_config_layers(t)  # a bad layer name lists the network's layers
    return (RunConfig(transfer=t, reconstruction=r, output=OUTPUT_PRESETS[name]),
            (None if max_seconds is None else float(max_seconds)))


def _canonical(x):
    """JSON-able and type-stable: 2 and 2.0 hash alike, tuples like lists."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, float):
        return int(x) if x.is_integer() else x
    if isinstance(x, dict):
        return {str(k): _canonical(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_canonical(v) for v in x]
    return x


def settings_hash(config_dict: dict, max_seconds) -> str:
    """8 hex digits of SHA-1 over the full resolved settings (``RunConfig.to_dict()``) and ``max_seconds``."""
    text = json.dumps(_canonical({"config": config_dict, "max_seconds": max_seconds}), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _show(value) -> str:
    if isinstance(value, tuple):
        return ";".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Job:
    """One run of a sweep: inputs and the settings it overrides (as given, in order).

    Attributes
    ----------
    content, style : str
        Absolute paths of the audio files (as every worker must see them).
    overrides : tuple of (str, object)
        Setting -> value, keys normalised (see :data:`SETTING_KEYS`).
    """

    content: str
    style: str
    overrides: tuple = ()

    @property
    def settings(self) -> dict:
        return dict(self.overrides)

    def resolve(self) -> tuple[RunConfig, float | None]:
        return build_config(self.settings)

    @functools.cached_property
    def hash(self) -> str:
        config, max_seconds = self.resolve()
        return settings_hash(config.to_dict(), max_seconds)

    @property
    def label(self) -> str:
        """``"content_weight=2 style_weight=4"``, or ``"preset default"`` with no overrides."""
        return " ".join(f"{k}={_show(v)}" for k, v in self.overrides) or "preset default"

    @property
    def name(self) -> str:
        """Run folder name: ``<content stem>__<style stem>__<settings hash>``."""
        return f"{Path(self.content).stem}__{Path(self.style).stem}__{self.hash}"


def make_job(content, style, overrides: dict | None = None) -> Job:
    """A validated :class:`Job` (settings checked now, before any work)."""
    clean = tuple((normalize_key(k), v) for k, v in (overrides or {}).items())
    job = Job(str(Path(content).expanduser().resolve()), str(Path(style).expanduser().resolve()), clean)
    job.resolve()
    return job


def expand_inputs(items: Sequence, what: str) -> list[Path]:
    """Files as given, folders as their audio files (sorted); a missing path is an error."""
    out = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS)
            if not found:
                raise ParameterError(f"{what} {p}: no audio files ({', '.join(SUPPORTED_EXTENSIONS)}) in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise ParameterError(f"{what} {p}: no such file or folder")
    if not out:
        raise ParameterError(f"no {what} given")
    return out


def grid_jobs(contents: Sequence, styles: Sequence, grid: Sequence[str] = (), fixed: dict | None = None) -> list[Job]:
    """Every content x style x grid point (``amnst sweep``); ``fixed`` overrides apply to all."""
    cs, ss = expand_inputs(contents, "content"), expand_inputs(styles, "style")
    points = parse_grid(grid)
    return dedupe([make_job(c, s, {**(fixed or {}), **pt}) for pt in points for c in cs for s in ss])


def read_jobs_csv(path) -> list[Job]:
    """Jobs from a CSV (``amnst batch``): columns ``content``, ``style`` and any settings.

    Relative paths are relative to the CSV's folder; an empty cell keeps the preset's value.

    Raises
    ------
    ParameterError
        No such file, missing columns, an unknown column, a bad value (with its row), a
        missing input file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such jobs file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ParameterError(f"{path}: cannot read it ({e})") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if "content" not in columns or "style" not in columns:
        raise ParameterError(f"{path}: needs a header with columns 'content' and 'style' (found {columns or 'none'})")
    settings_cols = [c for c in columns if c not in ("content", "style")]
    for c in settings_cols:
        try:
            normalize_key(c)
        except ParameterError as e:
            raise ParameterError(f"{path}: column {c!r}: {e}") from None
    base = path.resolve().parent
    jobs = []
    for i, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            raise ParameterError(f"{path} line {i}: more cells than columns")
        if not any(row.values()):
            continue
        try:
            files = []
            for col in ("content", "style"):
                if not row.get(col):
                    raise ParameterError(f"no {col}")
                p = Path(row[col]).expanduser()
                p = p if p.is_absolute() else base / p
                if not p.is_file():
                    raise ParameterError(f"{col} {row[col]}: no such file")
                files.append(p)
            overrides = {c: parse_value(row[c]) for c in settings_cols if row.get(c, "") != ""}
            jobs.append(make_job(files[0], files[1], overrides))
        except AmnstError as e:
            raise ParameterError(f"{path} line {i}: {e}") from None
    if not jobs:
        raise ParameterError(f"{path}: no jobs (only a header)")
    return dedupe(jobs)


def dedupe(jobs: Sequence[Job]) -> list[Job]:
    """Jobs with the same run folder (same inputs and resolved settings) kept once, in order."""
    seen, out = set(), []
    for j in jobs:
        if j.name not in seen:
            seen.add(j.name)
            out.append(j)
    return out


# --------------------------------------------------------------------------- one job (on a worker)

def completed_record(run_dir: Path, expected_hash: str) -> dict | None:
    """``run.json`` of a complete run folder made with these settings, else None."""
    try:
        record = json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("status") not in ("ok", "diverged") or not (Path(run_dir) / "output.wav").is_file():
        return None
    max_seconds = (record.get("inputs") or {}).get("max_seconds")
    if settings_hash(record.get("config") or {}, max_seconds) != expected_hash:
        return None
    return record


def _row_from_record(record: dict) -> dict:
    metrics = record.get("metrics") or {}
    return {"status": record.get("status", "ok"), "error": record.get("error") or "",
            "seconds": (record.get("timings_seconds") or {}).get("total"),
            **{k: metrics.get(k) for k in METRIC_COLUMNS}}


_THREADS_SET = False


def _limit_threads(tf_threads: int | None) -> None:
    """Once per worker process: TensorFlow's intra-op pool (before its first op) and Griffin-Lim's
    FFT threads, both ``tf_threads`` (without it: TensorFlow's default, one FFT thread); quieter logs."""
    global _THREADS_SET
    if _THREADS_SET:
        return
    _THREADS_SET = True
    import logging

    logging.getLogger("amnst").setLevel(logging.ERROR)  # the random-network note is in each run.json
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)  # each job traces its own functions: no retracing warnings
    from .spectrum import set_fft_workers

    # Griffin-Lim's FFTs: the worker's share of the cores; on a cluster given without
    # --threads, one thread, as numpy's FFT had (the workers share machines we cannot see).
    set_fft_workers(int(tf_threads) if tf_threads else 1)
    if not tf_threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(tf_threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran something in this process
        pass


def _log_event(job: Job, kind: str) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(EVENT_TOPIC, {"event": kind, "job": job.name, "pid": os.getpid()})
    except (ImportError, ValueError):  # not on a Dask worker
        pass


def one_line(e: BaseException) -> str:
    """An error as one line: its message's first line (with the type for unexpected errors)."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return text if isinstance(e, AmnstError) else f"{type(e).__name__}: {text}".rstrip(": ")


def run_job(job: Job, runs_dir, tf_threads: int | None = None) -> dict:
    """Run one job into ``runs_dir/<job.name>`` and return its results row (never raises).

    A complete folder with the same settings is reused (a retried job whose first attempt
    finished writing counts once). Errors become ``status="failed"`` with a one-line
    ``error``; a diverged run keeps its folder and reads ``status="diverged"``.
    """
    from .errors import DivergenceError
    from .pipeline import run_transfer

    t0 = time.perf_counter()
    out = Path(runs_dir) / job.name
    row = {"status": "failed", "error": "", "seconds": None}
    try:
        config, max_seconds = job.resolve()
        record = completed_record(out, job.hash)
        if record is not None:
            return {**_row_from_record(record), "reused": True}
        _limit_threads(tf_threads)
        _log_event(job, "start")
        # Only the files and run.json are used: no waveforms or full mels kept in memory.
        result = run_transfer(job.content, job.style, out, config=config, progress=False, max_seconds=max_seconds,
                              keep_arrays=False)
        row = _row_from_record(result.record)
    except DivergenceError as e:
        record = completed_record(out, job.hash)
        row = _row_from_record(record) if record else {"status": "failed", "error": one_line(e)}
        row["error"] = one_line(e)
    except Exception as e:  # noqa: BLE001 - a job's failure is data, the sweep goes on
        row = {"status": "failed", "error": one_line(e)}
    row["seconds"] = time.perf_counter() - t0
    row["reused"] = False
    _release_job_memory()
    row["worker_rss_gib"] = _rss_gib()
    return row


def _release_job_memory() -> None:
    """Drop what TensorFlow and Keras keep after a job (its network, traced functions): a
    worker runs many jobs, each with a network of its own, and would otherwise grow."""
    import gc

    try:
        import keras

        keras.utils.clear_session(free_memory=True)
    except Exception:  # noqa: BLE001 - older Keras has no free_memory; never fail a job over it
        try:
            import keras

            keras.backend.clear_session()
        except Exception:  # noqa: BLE001
            pass
    gc.collect()


def _rss_gib() -> float | None:
    """This process's resident memory, GiB (a worker's after each job: does it grow?)."""
    try:
        import psutil  # comes with dask.distributed

        return round(psutil.Process().memory_info().rss / 2 ** 30, 3)
    except Exception:  # noqa: BLE001 - a figure for the table, never a reason to fail
        return None


# --------------------------------------------------------------------------- the sweep

def plan_local(n_jobs: int, workers: int | None = None, cores: int | None = None) -> tuple[int, int]:
    """Workers and TensorFlow threads per worker for a local cluster: workers x threads = cores.

    By default one worker per core (a transfer keeps one core busy best), at most one per job.
    """
    cores = cores or available_cores()
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {workers}")
    n = workers or max(1, min(cores, n_jobs))
    return n, max(1, cores // n)


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    rows : list of dict
        One per job, in job order (the rows of ``results.csv``); jobs with the same run
        folder (inputs and resolved settings) count once.
    out_dir : Path
    ran, reused, failed : int
        Jobs run now, found complete from an earlier sweep, failed (of those run now or before).
    files : dict
        ``results_csv``, ``frontier_png`` and (with pandas/pyarrow) ``results_parquet``.
    """

    rows: list
    out_dir: Path
    ran: int = 0
    reused: int = 0
    failed: int = 0
    files: dict = dataclasses.field(default_factory=dict)


#: First columns of every ``results.csv`` this module writes (:func:`_row`).
_HEADER_START = ["content", "style", "settings"]
#: A job's run folder name (:attr:`Job.name`): ``<content>__<style>__<settings hash>``.
_JOB_FOLDER = re.compile(r".+__.+__[0-9a-f]{8}")


def _ours(results_csv: Path) -> bool:
    """Whether ``results_csv`` is a sweep table of ours (by its first columns; a BOM, as
    spreadsheet programs save, is allowed)."""
    try:
        with open(results_csv, newline="", encoding="utf-8-sig") as f:
            return next(csv.reader(f), [])[:3] == _HEADER_START
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def check_destination(out_dir) -> None:
    """Refuse a sweep folder that would write over what is not a sweep's: one line, nothing written.

    A sweep writes ``results.csv``, ``results.parquet``, ``frontier.png`` and ``runs/`` into
    ``out_dir``. Accepted: a new or empty folder (hidden files aside), or a sweep folder to
    resume or extend: its ``results.csv`` is ours, or it has none and its ``runs/`` holds
    only job folders (``<content>__<style>__<8 hex digits>``).

    Raises
    ------
    OutputExistsError
        ``out_dir`` is the current folder or holds it, is a file, or holds other files.
    """
    from .destination import refuse_current_folder

    out_dir = Path(out_dir)
    refuse_current_folder(out_dir, "sweep", "sweeps/weights")
    absolute = Path(os.path.abspath(out_dir))
    if absolute.exists() and not absolute.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is a file, not a sweep folder; choose another folder with -o.")
    if not absolute.is_dir():
        return
    if not any(not p.name.startswith(".") for p in absolute.iterdir()):
        return
    table = absolute / RESULTS_CSV
    if table.exists():
        if not _ours(table):
            raise OutputExistsError(f"{out_dir}: its {RESULTS_CSV} is not a sweep table of amnst; move it away or "
                                    f"choose another folder with -o.")
        return
    runs = absolute / RUNS_DIR
    if not runs.is_dir() or not all(p.name.startswith(".") or _JOB_FOLDER.fullmatch(p.name) for p in runs.iterdir()):
        raise OutputExistsError(f"{out_dir}: holds files and is not a sweep folder (no {RESULTS_CSV} of amnst, no "
                                f"{RUNS_DIR}/ of job folders), and a sweep writes {RESULTS_CSV}, {FRONTIER_PNG} and "
                                f"{RUNS_DIR}/ there; choose a new or empty folder with -o.")


def earlier_rows(out_dir: Path, current: Sequence[dict]) -> list[dict]:
    """Rows of ``out_dir``'s ``results.csv`` from earlier sweeps that ``current`` does not hold
    (``current``: this sweep's rows, or only their ``run_dir``).

    A sweep run again into its folder with other jobs (another grid, more pairs) rewrites
    the table; the rows of the earlier jobs whose run folders are still in ``runs/`` are
    kept, after this sweep's, so that the folder's table lists every run in it. Rows are
    matched by run folder name, and ``run_dir`` is set to where the folder is now (a
    sweep folder copied or moved elsewhere). Figures are read back as numbers (None where
    empty), ``reused`` as a bool.
    """
    table = Path(out_dir) / RESULTS_CSV
    if not table.is_file():
        return []
    runs = (Path(out_dir) / RUNS_DIR).resolve()
    have = {Path(str(r.get("run_dir"))).name for r in current}
    numeric = set(METRIC_COLUMNS) | {"seconds", "worker_rss_gib"}
    kept = []
    with open(table, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if (reader.fieldnames or [])[:3] != _HEADER_START:  # not ours (check_destination refused it already)
            return []
        for row in reader:
            name = Path(row.get("run_dir") or "").name
            if not name or name in have or not (runs / name).is_dir():
                continue
            have.add(name)
            row["run_dir"] = str(runs / name)
            for k in numeric & set(row):
                try:
                    row[k] = float(row[k]) if row[k] != "" else None
                except ValueError:
                    row[k] = None
            if "reused" in row:
                row["reused"] = {"True": True, "False": False}.get(row["reused"])
            kept.append(row)
    return kept


#: Smallest memory limit a local worker is given: a TensorFlow process with the texture
#: network holds about 0.5-0.7 GiB before its first job (the table's ``worker_rss_gib``).
MIN_WORKER_MEMORY = 2 ** 30


def check_cluster_options(workers: int | None, tf_threads: int | None, memory_limit) -> None:
    """Refuse local-cluster options that would only fail once the cluster runs (one line).

    Raises
    ------
    ParameterError
        ``workers`` or ``tf_threads`` below 1, or a ``memory_limit`` that is neither
        ``"auto"``, nor Dask's share of the machine's memory (0 for none, 0 < x <= 1), nor
        a size of at least :data:`MIN_WORKER_MEMORY` (``"4GiB"``, bytes).
    """
    for name, value in (("--workers", workers), ("--threads", tf_threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ParameterError(f"{name} must be a whole number >= 1, got {value!r}")
    if memory_limit in (None, "auto"):
        return
    from dask.utils import format_bytes, parse_bytes

    try:
        fraction = float(memory_limit)
    except (ValueError, TypeError):
        fraction = None
    if fraction is not None and 0 <= fraction <= 1:
        return  # Dask's own meanings: 0 is no limit, 0 < x <= 1 that share of the machine's memory
    try:
        n_bytes = parse_bytes(memory_limit)
    except (ValueError, TypeError):
        raise ParameterError(f"--memory-limit must be a size such as 4GiB or 6GB, a share of the memory such as "
                             f"0.5, or auto; got {memory_limit!r}") from None
    if n_bytes < MIN_WORKER_MEMORY:
        raise ParameterError(f"--memory-limit {memory_limit} ({format_bytes(n_bytes)}) is less than the "
                             f"{format_bytes(MIN_WORKER_MEMORY)} a worker needs for TensorFlow; give 1GiB or more "
                             f"(4GiB for long tracks), or auto")


def _check_writable(out_dir: Path) -> Path:
    """Create ``out_dir/runs`` and prove it writable before any job starts (nothing lost later)."""
    check_destination(out_dir)
    runs = out_dir / RUNS_DIR
    try:
        runs.mkdir(parents=True, exist_ok=True)
        probe = runs / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ParameterError(f"{out_dir}: cannot write the sweep there ({e.strerror or e}); choose another -o") from None
    return runs


def _row(job: Job, result: dict, runs_dir: Path, override_keys: Sequence[str], varying: Sequence[str]) -> dict:
    settings = job.settings
    label = " ".join(f"{k}={_show(settings[k])}" for k in varying if k in settings) or job.label
    row = {"content": Path(job.content).name, "style": Path(job.style).name, "settings": label}
    row.update({k: (_show(settings[k]) if k in settings else "") for k in override_keys})
    row.update({"settings_hash": job.hash, "run_dir": str(runs_dir / job.name)})
    row.update({"status": result.get("status", "failed"), "error": result.get("error") or "",
                "reused": bool(result.get("reused")), "seconds": result.get("seconds"),
                "worker_rss_gib": result.get("worker_rss_gib")})
    row.update({k: result.get(k) for k in METRIC_COLUMNS})
    return row


def write_results(rows: list[dict], out_dir: Path) -> dict:
    """``results.csv`` (atomically replaced) and, with pandas + pyarrow, ``results.parquet``."""
    files = {}
    if not rows:
        return files
    columns = list(dict.fromkeys(k for r in rows for k in r))  # earlier sweeps' rows may have other settings
    tmp = out_dir / f".{RESULTS_CSV}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, restval="")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)
                        for k, v in r.items()})
    os.replace(tmp, out_dir / RESULTS_CSV)
    files["results_csv"] = out_dir / RESULTS_CSV
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return files
    df = pd.DataFrame(rows, columns=columns)
    for k in METRIC_COLUMNS + ("seconds", "worker_rss_gib"):
        if k in df:
            df[k] = pd.to_numeric(df[k], errors="coerce")
    tmp = out_dir / f".{RESULTS_PARQUET}.tmp-{os.getpid()}"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out_dir / RESULTS_PARQUET)
    files["results_parquet"] = out_dir / RESULTS_PARQUET
    return files


def _client(scheduler: str | None, n_workers: int, memory_limit):
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster (returned to close)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as e:
            raise ParameterError(f"cannot reach the Dask scheduler at {scheduler} ({one_line(e)})") from None
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           memory_limit=memory_limit, dashboard_address=None, silence_logs=logging.ERROR,
                           env={"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")})
    return Client(cluster), cluster


def run_sweep(jobs: Sequence[Job], out_dir, *, scheduler: str | None = None, workers: int | None = None,
              tf_threads: int | None = None, memory_limit="auto", client=None, progress: bool = True,
              log=print) -> SweepResult:
    """Run ``jobs`` on Dask into ``out_dir``; write ``results.csv`` (+ Parquet) and ``frontier.png``.

    Parameters
    ----------
    jobs : sequence of Job
    out_dir : str or Path
        Gets ``runs/<job name>/`` per job, ``results.csv``, ``results.parquet``, ``frontier.png``.
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``); None starts a LocalCluster
        (or uses ``client``).
    workers : int or None
        Local workers (default: one per core, at most one per job).
    tf_threads : int or None
        TensorFlow intra-op threads per worker (default for a local cluster: cores // workers;
        for a remote one: TensorFlow's own default).
    memory_limit : str, int or float
        Per local worker (``"4GiB"``, bytes, or ``"auto"``: the machine's memory / workers).
    client : distributed.Client or None
        An existing client to use (not closed here).
    progress : bool
        A progress bar over jobs (tqdm).
    log : callable
        Where one-line messages go.

    Returns
    -------
    SweepResult
    """
    out_dir = Path(out_dir)
    if client is None and not (scheduler or _scheduler_from_env()):
        check_cluster_options(workers, tf_threads, memory_limit)
    elif tf_threads is not None:
        check_cluster_options(None, tf_threads, None)
    jobs = dedupe(jobs)  # one run folder, one job, one row
    runs_dir = _check_writable(out_dir).resolve()
    override_keys = list(dict.fromkeys(k for j in jobs for k, _ in j.overrides))
    # The label of a job (its point in frontier.png) names only the settings that vary.
    varying = [k for k in override_keys if len({_show(j.settings.get(k, "")) for j in jobs}) > 1]
    results: dict[str, dict] = {}
    todo = []
    for j in jobs:
        record = completed_record(runs_dir / j.name, j.hash)
        if record is not None:
            results[j.name] = {**_row_from_record(record), "reused": True}
        else:
            todo.append(j)

    def this_sweep():
        return [_row(j, results[j.name], runs_dir, override_keys, varying) for j in jobs if j.name in results]

    earlier = earlier_rows(out_dir, [{"run_dir": str(runs_dir / j.name)} for j in jobs])
    if earlier:
        log(f"{RESULTS_CSV}: keeping {len(earlier)} row(s) of earlier sweeps into this folder, after this sweep's")

    def rows():
        return this_sweep() + earlier

    if todo:
        log(f"{len(jobs)} jobs: {len(jobs) - len(todo)} complete from an earlier run, {len(todo)} to run")
        _execute(todo, runs_dir, results, rows, out_dir, scheduler=scheduler, workers=workers,
                         tf_threads=tf_threads, memory_limit=memory_limit, client=client, progress=progress, log=log)
    else:
        log(f"{len(jobs)} jobs: all complete from an earlier run; nothing to run")
    final = this_sweep()
    files = write_results(final + earlier, out_dir)
    files["frontier_png"] = save_frontier(final + earlier, out_dir / FRONTIER_PNG)
    _clean_stale_tmp(runs_dir)
    failed = sum(r["status"] != "ok" for r in final)
    return SweepResult(rows=final, out_dir=out_dir, ran=sum(not r["reused"] for r in final),
                       reused=sum(r["reused"] for r in final), failed=failed, files=files)


def _execute(todo, runs_dir, results, rows, out_dir, *, scheduler, workers, tf_threads, memory_limit, client,
             progress, log):
    from distributed import as_completed

    cluster = None
    own = client is None
    if own:
        scheduler = scheduler or _scheduler_from_env()
        n, threads = plan_local(len(todo), workers)
        if not scheduler:
            tf_threads = tf_threads or threads
            shown = memory_limit
            if memory_limit == "auto":
                import psutil  # a dependency of distributed

                shown = f"auto, {psutil.virtual_memory().total / n / 2 ** 30:.1f} GiB"
            log(f"local Dask cluster: {n} worker process(es) x {tf_threads} TensorFlow thread(s), "
                f"memory limit {shown} per worker")
    quiet = logging.getLogger("distributed")  # its INFO lines (cluster start, close) are not the user's
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if own:
            client, cluster = _client(scheduler, n, memory_limit)
        futures = {client.submit(run_job, j, str(runs_dir), tf_threads, key=f"amnst-{j.name}", pure=False): j
                   for j in todo}
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(futures), unit="job", desc="sweep")
        try:
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    res = fut.result()
                except Exception as e:  # noqa: BLE001 - KilledWorker after repeated worker deaths, ...
                    res = {"status": "failed", "error": f"worker lost: {one_line(e)}", "seconds": None}
                results[job.name] = res
                if res["status"] != "ok":
                    msg = f"{job.name}: {res['status']}: {res['error']}"
                    (bar.write if bar else log)(msg)
                write_results(rows(), out_dir)  # a killed sweep keeps the table of what finished
                if bar:
                    bar.update(1)
        finally:
            if bar:
                bar.close()
    finally:
        if own and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        quiet.setLevel(level)


def _scheduler_from_env() -> str | None:
    """``DASK_SCHEDULER_ADDRESS`` (Dask's own config key ``scheduler-address``)."""
    import dask

    return os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None)


def _clean_stale_tmp(runs_dir: Path) -> None:
    """What attempts whose worker died left in ``runs_dir``: temporary folders, and locks of dead processes.

    Called when every job is done. A lock is removed only if its process is not alive on
    this machine (with a remote cluster, a worker's lock of a finished job is already gone).
    """
    from .destination import clean_stale

    clean_stale(runs_dir)
    for lock in runs_dir.glob(".amnst-lock-*"):
        try:
            pid = int(lock.read_text().strip() or "0")
            os.kill(pid, 0)
        except ProcessLookupError:
            lock.unlink(missing_ok=True)
        except (OSError, ValueError):
            pass


def save_frontier(rows: list[dict], path: Path) -> Path:
    """``frontier.png``: chroma similarity (content kept) against MFCC gap closed (style taken on)."""
    from .plots import plot_frontier

    fig = plot_frontier(rows)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")  # the legends beside the axes included
    os.replace(tmp, path)
    return path
