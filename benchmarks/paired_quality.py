"""Pair-by-pair comparison of two sweeps' ``--json`` files (``sweep_quality.py`` or ``bench_quality.py``).

Medians over 16 pairs are fragile: when the pairs near the middle change places, the
median moves although most pairs moved the other way. This prints, for each figure, the
median of the per-pair changes from BASE to OTHER and how many pairs got better / worse
(by the figure's direction: higher chroma is better, lower superposition is better), over
the pairs both files hold, beside the two medians.

    python benchmarks/paired_quality.py base.json other.json
    python benchmarks/paired_quality.py sweep.json sweep.json --base-variant "" --other-variant "content_weight=5.0"

A file with several variants needs ``--base-variant`` / ``--other-variant``: the exact
variant text as given to ``sweep_quality.py`` (``""`` is the default preset), or for a
``bench_quality.py`` file the method (a preset or a baseline):

    python benchmarks/paired_quality.py rows.json rows.json --base-variant default --other-variant melody

A ``bench_quality.py`` file pairs with a ``sweep_quality.py`` file too: its cut pair names
are matched to the whole ones by their clips (:func:`align`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from bench_quality import COLUMNS, SHORT, paired  # noqa: E402


def load_rows(path: Path, variant: str | None) -> dict[str, dict]:
    """Pair name -> figures of one variant of a ``sweep_quality.py --json`` file (or one
    method of a ``bench_quality.py --json`` file).

    Raises
    ------
    SystemExit
        The file holds several variants and none was named, or not the one named, or its
        rows name no variant or method.
    """
    rows = json.loads(Path(path).read_text())
    key = next((k for k in ("variant", "method") if rows and all(k in r for r in rows)), None)
    if key is None:
        raise SystemExit(f"{path}: not a --json file of sweep_quality.py or bench_quality.py (every row needs "
                         f"a 'variant' or a 'method')")
    variants = list(dict.fromkeys(r[key] for r in rows))
    if variant is None:
        if len(variants) != 1:
            raise SystemExit(f"{path}: holds {len(variants)} variants; name one with --base-variant/"
                             f"--other-variant: {variants}")
        variant = variants[0]
    if variant not in variants:
        raise SystemExit(f"{path}: no variant {variant!r}; it holds {variants}")
    return {r["pair"]: r for r in rows if r[key] == variant}


def _clips(pair: str) -> tuple[str, ...]:
    """``"dev_mus01_x x dev_amb02_y"`` -> ``("mus01_x", "amb02_y")``: the clip names of a pair."""
    return tuple(name.strip().removeprefix("dev_") for name in pair.split(" x ", 1))


def align(base: dict[str, dict], other: dict[str, dict]) -> dict[str, dict]:
    """``other`` keyed by ``base``'s pair names, so that a ``bench_quality.py`` file pairs with a
    ``sweep_quality.py`` file.

    ``bench_quality.py`` names a pair by its clips' names cut to 18 and 17 characters (and
    without ``dev_``), ``sweep_quality.py`` by the whole names. A pair matches by its exact
    name, else when each clip name of one is the start of the other's and exactly one pair
    of ``other`` does so; pairs that match nothing (or more than one) are left out.
    """
    out = {p: other[p] for p in base if p in other}
    rest = [q for q in other if q not in out]
    for p in base:
        if p in out:
            continue
        a = _clips(p)
        hits = [q for q in rest if len(_clips(q)) == len(a)
                and all(x.startswith(y) or y.startswith(x) for x, y in zip(a, _clips(q)))]
        if len(hits) == 1:
            out[p] = other[hits[0]]
            rest.remove(hits[0])
    return out


def compare(base: dict[str, dict], other: dict[str, dict]) -> str:
    """The table: per figure, both medians over the common pairs, the median change, better/worse.

    Pairs are matched by name, or by their clips' names where one file cuts them (:func:`align`).
    """
    n_other, other = len(other), align(base, other)
    common = [p for p in base if p in other]
    lines = [f"{len(common)} common pairs ({len(base)} in base, {n_other} in other)",
             f"{'figure':10s} {'base':>7s} {'other':>7s} {'median change':>14s} {'better':>7s} {'worse':>6s}"]
    for c in COLUMNS:
        med, up, down, _ = paired(base, other, c)
        b = np.median([base[p][c] for p in common]) if common else float("nan")
        o = np.median([other[p][c] for p in common]) if common else float("nan")
        lines.append(f"{SHORT[c]:10s} {b:7.3f} {o:7.3f} {med:+14.3f} {up:7d} {down:6d}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("base", type=Path)
    p.add_argument("other", type=Path)
    p.add_argument("--base-variant", default=None)
    p.add_argument("--other-variant", default=None)
    args = p.parse_args(argv)
    print(compare(load_rows(args.base, args.base_variant), load_rows(args.other, args.other_variant)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
