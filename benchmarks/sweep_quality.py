"""Median quality of settings variants over every content x style pair of a folder.

The tool behind the comparison tables of ``benchmarks/README.md``: each VARIANT is a
comma-separated list of ``field=value`` overrides of the ``default`` preset's
``TransferConfig`` (``rec.field=value`` for ``ReconstructionConfig``); an empty string is
the default itself. Values are Python literals; a field given twice takes the later value. One line per variant: the medians of
chroma / MFCC gap / random-Gram gap / superposition / flatness / reconstruction SC and
the seconds taken (all pairs, one after another); below it the worst pair's value of
each (lowest where higher is better, highest where lower is better).

    python benchmarks/sweep_quality.py --audio-dir ../shared/audio --seconds 10 \\
        "" "content_weight=2.0" "stats_layers=('bands','dbbands'),rec.init_phase='random'"
    python benchmarks/sweep_quality.py --split benchmarks/dev_split.json --part tuning "" "content_weight=2.0"

``--split FILE --part tuning|validation`` runs one half of a development set split by
clip (see ``bench_quality.py``): choose settings on ``tuning``, report ``validation``.
``--json FILE`` also writes every pair's figures.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amnst_lib.config import PRESETS, ReconstructionConfig, RunConfig  # noqa: E402
from amnst_lib.pipeline import run_transfer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import COLUMNS, ROOT, SHORT, add_pair_arguments, pairs_from_args, worst  # noqa: E402


def parse_variant(text: str) -> RunConfig:
    """``"a=1,rec.b='x'"`` -> RunConfig of the default preset with those fields replaced."""
    # Python's own parser reads the overrides as keyword arguments (values may be tuples).
    call = ast.parse(f"f({text.replace('rec.', 'rec__')})", mode="eval").body
    transfer, reconstruction = {}, {}
    for kw in call.keywords:
        value = ast.literal_eval(kw.value)
        if kw.arg.startswith("rec__"):
            reconstruction[kw.arg.removeprefix("rec__")] = value
        else:
            transfer[kw.arg] = value
    return RunConfig(transfer=PRESETS["default"].replace(**transfer),
                     reconstruction=ReconstructionConfig(**reconstruction))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("variants", nargs="+", help='overrides of the default preset, e.g. "content_weight=2.0"')
    add_pair_arguments(p, ROOT / "data" / "examples")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json", type=Path, default=None, help="also write every pair's figures as JSON here")
    args = p.parse_args(argv)
    pairs = pairs_from_args(p, args, ROOT / "data" / "examples")
    configs = [parse_variant(v) for v in args.variants]  # fail on a typo before any run
    where = f"{args.split} {args.part}" if args.split else (args.audio_dir or ROOT / "data" / "examples")
    print(f"audio: {where}  seconds: {args.seconds}  pairs: {len(pairs)}")
    print(f"{'variant':60s} " + " ".join(f"{SHORT[c]:>9s}" for c in COLUMNS) + "       s")
    record = []
    for text, cfg in zip(args.variants, configs):
        t0 = time.perf_counter()
        runs = [run_transfer(c, s, None, config=cfg, max_seconds=args.seconds, progress=False) for c, s in pairs]
        seconds = time.perf_counter() - t0
        a = np.array([[r.metrics[k] for k in COLUMNS] for r in runs], dtype=float)
        med = np.median(a, axis=0)
        bad = [worst(a[:, i], k) for i, k in enumerate(COLUMNS)]
        print(f"{(text or '(default)'):60s} " + " ".join(f"{v:9.3f}" for v in med) + f" {seconds:7.0f}")
        print(f"{'  worst pair':60s} " + " ".join(f"{v:9.3f}" for v in bad), flush=True)
        record += [{"variant": text, "pair": f"{c.stem} x {s.stem}", **{k: r.metrics[k] for k in COLUMNS}}
                   for (c, s), r in zip(pairs, runs)]
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
