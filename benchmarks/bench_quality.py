"""Transfer quality over every content x style pair of a folder, beside two baselines.

Issue 6, part 3. Files whose names start with ``mus`` are contents, ``amb`` styles. Each
pair goes through the named presets (``default``, ``original``: the full pipeline, mel ->
transfer -> Griffin-Lim -> metrics, run as jobs of ``amnst sweep``'s engine,
:mod:`amnst_lib.sweep`: ``--workers N`` in parallel, ``--scheduler`` on a Dask cluster,
``--out DIR`` to keep the run folders) and two baselines that need no transfer:

- ``content``: the content unchanged (what "keep the harmony" alone scores);
- ``mix``: content + style at equal loudness (RMS), the "mere superposition" to beat.

One table comes out: a row per pair and method, then the medians per method, with each
metric's target from issue 6 (``amnst_lib.metrics.METRIC_INFO``) and the seconds per run.

    python benchmarks/bench_quality.py                       # bundled examples
    python benchmarks/bench_quality.py --audio-dir ../shared/audio --seconds 10
    python benchmarks/bench_quality.py --split benchmarks/dev_split.json --part validation --seconds 10

``--split FILE --part tuning|validation`` runs only that half of a development set split
by clip (``benchmarks/dev_split.json``: its ``audio_dir`` unless ``--audio-dir`` is given).
Below the medians, ``worst`` gives each figure's worst value over the pairs (lowest where
higher is better, highest where lower is better).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amnst_lib.audio import load_audio  # noqa: E402
from amnst_lib.config import PRESETS, RETIRED_PRESETS, RunConfig  # noqa: E402
from amnst_lib.metrics import METRIC_INFO, evaluate  # noqa: E402
from amnst_lib.sweep import make_job  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("chroma_similarity", "mfcc_gap_closed", "random_gram_gap_closed", "superposition",
           "flatness_ratio", "reconstruction_sc")
SHORT = {"chroma_similarity": "chroma", "mfcc_gap_closed": "MFCC gap", "random_gram_gap_closed": "rGram gap",
         "superposition": "superpos", "flatness_ratio": "flatness", "reconstruction_sc": "recon SC"}
BASELINES = ("content", "mix")


PARTS = ("tuning", "validation")


def _kind(path: Path) -> str:
    """``"mus"``, ``"amb"`` or ``""``: the clip's role from its name (``dev_`` prefix allowed)."""
    name = path.name.removeprefix("dev_")
    return name[:3] if name[:3] in ("mus", "amb") else ""


def load_split(split_file: Path, part: str) -> tuple[Path, set[str]]:
    """The audio folder and the clip names (stems) of one half of a split file."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    data = json.loads(Path(split_file).read_text())
    clips = set(data[part]["music"]) | set(data[part]["ambience"])
    other = set(data[PARTS[1 - PARTS.index(part)]]["music"]) | set(data[PARTS[1 - PARTS.index(part)]]["ambience"])
    if clips & other:
        raise ValueError(f"{split_file}: clips in both halves: {sorted(clips & other)}")
    return ROOT / data["audio_dir"], clips


def find_pairs(audio_dir: Path, clips: set[str] | None = None) -> list[tuple[Path, Path]]:
    """Every (content, style) pair of ``mus*`` x ``amb*`` audio files in ``audio_dir``.

    Names may start with ``dev_`` (the development set). ``clips``, if given, keeps only
    files with those stems (one half of a split: see :func:`load_split`); a named clip
    that is missing raises FileNotFoundError.
    """
    files = sorted(p for p in audio_dir.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3"))
    if clips is not None:
        missing = sorted(clips - {p.stem for p in files})
        if missing:
            raise FileNotFoundError(f"{audio_dir}: clips of the split not found: {missing}")
        files = [p for p in files if p.stem in clips]
    contents = [p for p in files if _kind(p) == "mus"]
    styles = [p for p in files if _kind(p) == "amb"]
    return [(c, s) for c in contents for s in styles]


def add_pair_arguments(p: argparse.ArgumentParser, default_dir: Path | None) -> None:
    """``--audio-dir``, ``--split``, ``--part``: which pairs a quality benchmark runs."""
    p.add_argument("--audio-dir", type=Path, default=None,
                   help=f"folder of mus*/amb* clips (default: the split's folder, else {default_dir})")
    p.add_argument("--split", type=Path, default=None, help="split file, e.g. benchmarks/dev_split.json")
    p.add_argument("--part", choices=PARTS, default=None, help="with --split: which half to run")
    p.add_argument("--pairs", type=int, default=None, metavar="N",
                   help="only N of the pairs, evenly spread over the sorted list (a quick screen; "
                        "4 of a 4 x 4 half = each music and each ambience once)")


def pairs_from_args(p: argparse.ArgumentParser, args, default_dir: Path) -> list[tuple[Path, Path]]:
    """The pairs named by :func:`add_pair_arguments`' flags (argparse errors on misuse)."""
    if (args.split is None) != (args.part is None):
        p.error("--split and --part go together")
    clips = None
    audio_dir = args.audio_dir or default_dir
    if args.split is not None:
        split_dir, clips = load_split(args.split, args.part)
        audio_dir = args.audio_dir or split_dir
    pairs = find_pairs(audio_dir, clips)
    if not pairs:
        p.error(f"{audio_dir}: no mus* x amb* pairs of audio files")
    if args.pairs is not None:
        if not 1 <= args.pairs <= len(pairs):
            p.error(f"--pairs must be in 1..{len(pairs)}")
        pairs = [pairs[i] for i in np.round(np.linspace(0, len(pairs) - 1, args.pairs)).astype(int)]
    return pairs


def worst(values, key: str) -> float:
    """The worst of ``values`` for metric ``key``: min where higher is better, else max."""
    return float(min(values) if METRIC_INFO[key].better == "higher" else max(values))


def paired(base: dict[str, dict], other: dict[str, dict], key: str) -> tuple[float, int, int, int]:
    """Pair-by-pair change of figure ``key`` from ``base`` to ``other`` (pair name -> figures).

    Two medians over 16 pairs can differ by 0.02 only because the pairs near the middle
    changed places, while most pairs moved the other way; the per-pair differences say
    which way a setting moves each pair. Only pairs in both are compared.

    Returns
    -------
    median_change : float
        Median over the common pairs of ``other[p][key] - base[p][key]`` (its sign is the
        figure's, not "better"). NaN with no common pair.
    n_better, n_worse, n_pairs : int
        Pairs where ``other`` is better / worse than ``base`` (by the figure's direction in
        ``METRIC_INFO``; equal values count in neither), and the number of common pairs.
    """
    common = [p for p in base if p in other]
    d = np.array([other[p][key] - base[p][key] for p in common], dtype=float)
    sign = 1.0 if METRIC_INFO[key].better == "higher" else -1.0
    return (float(np.median(d)) if d.size else float("nan"), int(np.sum(sign * d > 0)),
            int(np.sum(sign * d < 0)), len(common))


def format_paired(base: dict[str, dict], variants: dict[str, dict[str, dict]]) -> str:
    """Lines of :func:`paired` for every column: per variant, ``median change better/worse``."""
    lines = [f"{'paired against the first: median change, pairs better/worse':60s} "
             + " ".join(f"{SHORT[c]:>13s}" for c in COLUMNS)]
    for name, rows in variants.items():
        cells = []
        for c in COLUMNS:
            med, up, down, _ = paired(base, rows, c)
            cells.append(f"{med:+7.3f} {up:2d}/{down:<2d}")
        lines.append(f"{(name or '(default)'):60s} " + " ".join(f"{v:>13s}" for v in cells))
    return "\n".join(lines)


def plain_mix(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Content plus style at equal RMS (style tiled or cut to the content's length)."""
    reps = int(np.ceil(len(content) / max(len(style), 1)))
    style = np.tile(style, reps)[: len(content)]
    rms = lambda y: float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) or 1.0  # noqa: E731
    return (content + style * (rms(content) / rms(style))).astype(np.float32)


def baseline(name: str, content_path: Path, style_path: Path, sr: int, seconds) -> dict:
    yc = load_audio(content_path, sr, max_seconds=seconds)
    ys = load_audio(style_path, sr, max_seconds=seconds)
    t = time.perf_counter()
    y = yc if name == "content" else plain_mix(yc, ys)
    m = evaluate(y, yc, ys, sr)
    m["seconds"] = time.perf_counter() - t
    return m


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """``--workers``, ``--scheduler``, ``--out``: where the transfers run (``amnst sweep``'s engine)."""
    p.add_argument("--workers", type=int, default=1,
                   help="local Dask worker processes (default 1: one run at a time with every core, as the "
                        "tables of benchmarks/README.md were measured; s/run is comparable only at equal workers)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler instead")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="keep the run folders, results.csv and frontier.png here; a rerun skips the complete "
                        "runs (same settings; not a code change!). Default: a temporary folder, removed")


def run_jobs(jobs, args) -> dict[str, dict]:
    """Run ``jobs`` with :func:`amnst_lib.sweep.run_sweep`; the figures by job name.

    Each value has ``COLUMNS`` and ``seconds``: a user's wait, the run's total minus its
    metrics (which a plain run also computes, but which are the benchmark's cost, not the
    method's). A failed job stops the benchmark (a table with holes would mislead).
    """
    from amnst_lib.sweep import run_sweep

    with tempfile.TemporaryDirectory(prefix="amnst-bench-") as tmp:
        out = args.out or Path(tmp)
        result = run_sweep(jobs, out, workers=args.workers, scheduler=args.scheduler, progress=False,
                           log=lambda m: print(m, file=sys.stderr, flush=True))
        failed = [f"{Path(r['run_dir']).name}: {r['error']}" for r in result.rows if r["status"] != "ok"]
        if failed:
            raise SystemExit("failed runs:\n  " + "\n  ".join(failed))
        figures = {}
        for r in result.rows:
            t = json.loads((Path(r["run_dir"]) / "run.json").read_text())["timings_seconds"]
            figures[Path(r["run_dir"]).name] = {**{k: r[k] for k in COLUMNS},
                                                "seconds": t["total"] - t.get("metrics", 0.0)}
    return figures


def _fmt(v) -> str:
    return "    -" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:5.2f}"


def format_rows(rows: list[dict], methods: list[str]) -> str:
    """The table: one line per pair and method, then medians per method and the targets."""
    head = f"{'pair':38s} {'method':9s} " + " ".join(f"{SHORT[k]:>9s}" for k in COLUMNS) + f" {'s/run':>6s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['pair'][:38]:38s} {r['method']:9s} " + " ".join(f"{_fmt(r[k]):>9s}" for k in COLUMNS)
                     + f" {r['seconds']:6.1f}")
    lines += ["", f"{'median over ' + str(len({r['pair'] for r in rows})) + ' pairs':38s} {'':9s}"]
    for method in methods:
        sel = [r for r in rows if r["method"] == method]
        med = {k: (float(np.median([r[k] for r in sel])) if all(r[k] is not None for r in sel) else None)
               for k in COLUMNS}
        secs = float(np.median([r["seconds"] for r in sel]))
        lines.append(f"{'':38s} {method:9s} " + " ".join(f"{_fmt(med[k]):>9s}" for k in COLUMNS) + f" {secs:6.1f}")
    lines.append(f"{'worst pair (each figure)':38s}")
    for method in methods:
        sel = [r for r in rows if r["method"] == method]
        bad = {k: (worst([r[k] for r in sel], k) if all(r[k] is not None for r in sel) else None) for k in COLUMNS}
        lines.append(f"{'':38s} {method:9s} " + " ".join(f"{_fmt(bad[k]):>9s}" for k in COLUMNS))
    target = " ".join(f"{('>=' if METRIC_INFO[k].better == 'higher' else '<=') + format(METRIC_INFO[k].target, '.2f'):>9s}"
                      for k in COLUMNS)
    lines.append(f"{'':38s} {'target':9s} {target}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_pair_arguments(p, ROOT / "data" / "examples")
    p.add_argument("--seconds", type=float, default=None, help="use only the first N seconds of each clip")
    p.add_argument("--methods", default="default,original," + ",".join(BASELINES),
                   help=f"comma-separated: presets {sorted(PRESETS)} and baselines {list(BASELINES)}")
    p.add_argument("--json", type=Path, default=None, help="also write all rows as JSON here")
    add_engine_arguments(p)
    args = p.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in PRESETS and m not in BASELINES]
    if unknown:
        hints = "".join(f" ({m!r}: {RETIRED_PRESETS[m]})" for m in unknown if m in RETIRED_PRESETS)
        p.error(f"unknown method(s) {unknown}{hints}; choose from {sorted(PRESETS) + list(BASELINES)}")
    pairs = pairs_from_args(p, args, ROOT / "data" / "examples")
    sr = RunConfig().analysis.sr
    limit = {"max_seconds": args.seconds} if args.seconds else {}
    jobs = {(c, s, m): make_job(c, s, {"preset": m, **limit}) for c, s in pairs for m in methods if m in PRESETS}
    runs = run_jobs(list(jobs.values()), args)  # every transfer, on amnst sweep's engine
    rows = []
    for c, s in pairs:
        for method in methods:
            if method in BASELINES:
                m = baseline(method, c, s, sr, args.seconds)
            else:
                m = runs[jobs[(c, s, method)].name]
            rows.append({"pair": f"{c.stem.removeprefix('dev_')[:18]} x {s.stem.removeprefix('dev_')[:17]}", "method": method,
                         **{k: m.get(k) for k in COLUMNS}, "seconds": m["seconds"]})
            print(f"  {rows[-1]['pair']} {method}: " + ", ".join(f"{SHORT[k]} {_fmt(m.get(k))}" for k in COLUMNS),
                  file=sys.stderr, flush=True)
    where = f"{args.split} {args.part}" if args.split else (args.audio_dir or ROOT / "data" / "examples")
    print(f"audio: {where}  seconds: {args.seconds or 'whole clips'}  pairs: {len(pairs)}")
    print(format_rows(rows, methods))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
