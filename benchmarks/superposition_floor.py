"""The superposition share that the ambience itself scores: a reference point, not a floor.

Issue 10 asks for a superposition share <= 0.50 (``amnst_lib.metrics.superposition_share``:
how much of the output's magnitude STFT is a non-negative mix ``a |content| + b |style|``).
An output that had become the ambience completely, a second recording of the same place,
is not a mix of the two clips either; this script measures what it scores. For every
content x style pair it takes the style's first ``--seconds`` (what the transfer and the
metrics use) and, as the "output", the LAST ``--seconds`` of the same file (another stretch
of the same ambience; shorter files overlap, shifted by at least 0.5 s), and prints its
superposition share against that content and style, beside the plain mix's (content +
style at equal RMS; the unchanged content would score 1.0 by construction). Then the
median per ambience and over all pairs.

    python benchmarks/superposition_floor.py --split benchmarks/dev_split.json --part validation
    python benchmarks/superposition_floor.py --audio-dir ../shared/audio

No transfer runs; it takes seconds.

It is not a lower bound for a transfer: an output can be unlike both clips' magnitudes,
which another stretch of the ambience is not (the water-fountain pairs' transfers score
0.28-0.31 against that ambience's own 0.375; ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from amnst_lib.audio import load_audio  # noqa: E402
from amnst_lib.metrics import superposition_share  # noqa: E402
from bench_quality import ROOT, add_pair_arguments, pairs_from_args, plain_mix  # noqa: E402

SR = 22050


@functools.lru_cache(maxsize=None)
def other_stretch(path: Path, seconds: float) -> np.ndarray:
    """The last ``seconds`` of the file at 22050 Hz mono (at least 0.5 s after its start)."""
    whole = load_audio(path, sr=SR)
    n = int(round(seconds * SR))
    start = max(len(whole) - n, int(0.5 * SR))
    if start >= len(whole):
        raise SystemExit(f"{path.name}: too short for a second stretch of {seconds} s")
    return whole[start:start + n]


def parse_pairs(argv, description: str) -> tuple[list[tuple[Path, Path]], float]:
    """The pairs (``--audio-dir`` / ``--split --part`` / ``--pairs``) and ``--seconds`` of a
    script that builds outputs without a transfer (this one, ``superposition_bounds.py``)."""
    p = argparse.ArgumentParser(description=description)
    add_pair_arguments(p, ROOT / "data" / "examples")
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    return pairs_from_args(p, args, ROOT / "data" / "examples"), args.seconds


def main(argv=None) -> int:
    pairs, seconds = parse_pairs(argv, __doc__.split("\n\n")[0])
    rows = []
    print(f"{'pair':60s} {'ambience itself':>15s} {'mix':>6s}")
    for content_path, style_path in pairs:
        content = load_audio(content_path, sr=SR, max_seconds=seconds)
        style = load_audio(style_path, sr=SR, max_seconds=seconds)
        itself = superposition_share(other_stretch(style_path, seconds), content, style)
        mix = superposition_share(plain_mix(content, style), content, style)
        rows.append((style_path.stem, itself, mix))
        print(f"{content_path.stem[:29] + ' x ' + style_path.stem[:28]:60s} {itself:15.3f} {mix:6.3f}")
    print()
    for name in sorted({r[0] for r in rows}):
        values = [r[1] for r in rows if r[0] == name]
        print(f"{'median, ' + name:60s} {np.median(values):15.3f}")
    print(f"{'median over all pairs':60s} {np.median([r[1] for r in rows]):15.3f} "
          f"{np.median([r[2] for r in rows]):6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
