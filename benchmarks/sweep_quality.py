"""Median quality of settings variants over every content x style pair of a folder.

The tool behind the comparison tables of ``benchmarks/README.md``: each VARIANT is a
comma-separated list of ``field=value`` overrides of the ``default`` preset's
``TransferConfig`` (``rec.field=value`` for ``ReconstructionConfig``; ``preset='melody'``
starts from another preset, as in a sweep grid); an empty string is the default itself. Values are Python literals; a field given twice takes the later value. One line per variant: the medians of
chroma / MFCC gap / random-Gram gap / superposition / flatness / reconstruction SC and
the seconds its runs took (summed); below it the worst pair's value of each (lowest where
higher is better, highest where lower is better). Every variant x pair is one job of
``amnst sweep``'s engine (:mod:`amnst_lib.sweep`): ``--workers N`` runs them in
parallel, ``--scheduler`` on a Dask cluster, ``--out DIR`` keeps the run folders.

    python benchmarks/sweep_quality.py --audio-dir ../shared/audio --seconds 10 \\
        "" "content_weight=2.0" "stats_layers=('bands','dbbands'),rec.init_phase='random'"
    python benchmarks/sweep_quality.py --split benchmarks/dev_split.json --part tuning "" "content_weight=2.0"

``--split FILE --part tuning|validation`` runs one half of a development set split by
clip (see ``bench_quality.py``): choose settings on ``tuning``, report ``validation``.
``--pairs N`` runs only N pairs, evenly spread (a quick screen before a full row).
``--json FILE`` also writes every pair's figures. With two variants or more, a last
block compares each with the FIRST pair by pair: the median of the per-pair changes and
how many pairs got better / worse (``bench_quality.paired``). A gap between two medians
that most pairs do not share is the pairs near the middle changing places, not an effect.
``benchmarks/paired_quality.py`` does the same for the ``--json`` files of two sweeps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amnst_lib.config import RunConfig  # noqa: E402
from amnst_lib.sweep import build_config, make_job, parse_overrides  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import (COLUMNS, ROOT, SHORT, add_engine_arguments, add_pair_arguments,  # noqa: E402
                           format_paired, pairs_from_args, run_jobs, worst)


def parse_variant(text: str) -> RunConfig:
    """``"a=1,rec.b='x'"`` -> RunConfig of the default preset with those fields replaced.

    The overrides of ``amnst sweep`` (:func:`amnst_lib.sweep.parse_overrides`): Python's
    parser reads them as keyword arguments, values may be tuples; a later field wins.
    """
    return build_config(parse_overrides(text))[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("variants", nargs="+", help='overrides of the default preset, e.g. "content_weight=2.0"')
    add_pair_arguments(p, ROOT / "data" / "examples")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json", type=Path, default=None, help="also write every pair's figures as JSON here")
    add_engine_arguments(p)
    args = p.parse_args(argv)
    pairs = pairs_from_args(p, args, ROOT / "data" / "examples")
    overrides = {text: parse_overrides(text) for text in args.variants}  # fail on a typo before any run
    jobs = {(text, c, s): make_job(c, s, {**ov, "max_seconds": args.seconds})
            for text, ov in overrides.items() for c, s in pairs}
    runs = run_jobs(list(jobs.values()), args)  # every variant x pair, on amnst sweep's engine
    where = f"{args.split} {args.part}" if args.split else (args.audio_dir or ROOT / "data" / "examples")
    print(f"audio: {where}  seconds: {args.seconds}  pairs: {len(pairs)}")
    print(f"{'variant':60s} " + " ".join(f"{SHORT[c]:>9s}" for c in COLUMNS) + "       s")
    record = []
    for text in args.variants:
        figures = [runs[jobs[(text, c, s)].name] for c, s in pairs]
        a = np.array([[f[k] for k in COLUMNS] for f in figures], dtype=float)
        med = np.median(a, axis=0)
        bad = [worst(a[:, i], k) for i, k in enumerate(COLUMNS)]
        print(f"{(text or '(default)'):60s} " + " ".join(f"{v:9.3f}" for v in med)
              + f" {sum(f['seconds'] for f in figures):7.0f}")
        print(f"{'  worst pair':60s} " + " ".join(f"{v:9.3f}" for v in bad), flush=True)
        record += [{"variant": text, "pair": f"{c.stem} x {s.stem}", **{k: f[k] for k in COLUMNS}}
                   for (c, s), f in zip(pairs, figures)]
    if len(args.variants) > 1:
        by_variant = {text: {r["pair"]: r for r in record if r["variant"] == text} for text in args.variants}
        first = args.variants[0]
        print(format_paired(by_variant[first], {t: by_variant[t] for t in args.variants[1:]}))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
