"""Where a run's superposition share comes from: the music's part, the ambience's part, per band.

``amnst_lib.metrics.superposition_share`` fits the output's magnitude STFT (n_fft 2048,
hop 512) as ``a |content| + b |style|`` with one non-negative ``a`` and ``b`` for the whole
clip. One number does not say whether an output scores 0.52 because it is still the music,
or because it is already a stretch of the ambience (a steady noise is fitted by another
stretch of itself: ``superposition_floor.py``). This script reads run folders and prints,
for each:

- ``share``: the metric itself (the run's own figure, recomputed);
- ``music``: the share with ``|content|`` alone (``b = 0``; the run's
  ``superposition_music``);
- ``ambience``: the share with ``|style|`` alone (``a = 0``; its ``superposition_ambience``);
- for each frequency band between ``--edges`` (Hz; by default C3, C5 and C8, so the first
  and last bands are outside the ``pitch`` layer's range): the band's fraction of the
  output's energy, and the two one-column shares within the band.

The share weighs each STFT bin by its squared magnitude, so the bands with most of the
output's energy decide it.

    python benchmarks/bench_quality.py --split benchmarks/dev_split.json --part validation \\
        --seconds 10 --methods ambience --out /tmp/val_runs
    python benchmarks/superposition_parts.py /tmp/val_runs/runs/*/

Each folder needs its ``run.json`` (for the inputs' paths, ``max_seconds`` and the scope the
metrics were measured on) and its output WAV. The output is read as mono 22050 Hz, as the
metrics read it. A folder that cannot be read (a failed run, a moved file) is skipped with
one line, and the exit status is then 1. No transfer runs; it takes about a second per
run. The results and what they say are in ``benchmarks/README.md`` ("Where the share
comes from").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from amnst_lib.audio import load_audio  # noqa: E402
from amnst_lib.errors import AmnstError  # noqa: E402
from amnst_lib.metrics import N_FFT, _magnitude, align_lengths, magnitude_fits, one_column_share  # noqa: E402

SR = 22050
#: Band edges in Hz: C3 and C8, the ends of the ``pitch`` layer's range (it holds C3-B7),
#: and C5 between them.
EDGES_HZ = (130.8, 523.3, 4186.0)


def superposition_parts(output, content, style, edges_hz=EDGES_HZ) -> dict:
    """The superposition share of ``output``, and its music and ambience parts per band.

    Parameters
    ----------
    output, content, style : np.ndarray, shape (n_samples,)
        Mono waveforms at 22050 Hz, any lengths (``metrics.align_lengths``).
    edges_hz : sequence of float
        Inner band edges in Hz, increasing; the bands run from 0 to the first edge, between
        edges, and from the last edge to Nyquist.

    Returns
    -------
    dict
        ``share`` (``metrics.superposition_share``), ``music`` and ``ambience`` (the
        one-column shares over the whole spectrum) and ``bands``: a list of dicts with
        ``low_hz``, ``high_hz``, ``energy`` (the band's fraction of the output's energy;
        they sum to 1), ``music`` and ``ambience`` (the one-column shares within the band).
    """
    edges = check_edges(edges_hz)
    o, c, s = align_lengths(output, content, style)
    mag = {k: _magnitude(v) for k, v in (("o", o), ("c", c), ("s", s))}
    total = float(np.sum(mag["o"].astype(np.float64) ** 2))
    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    bounds = [0.0, *edges, SR / 2 + 1.0]
    bands = []
    for lo, hi in zip(bounds, bounds[1:]):
        k = (freqs >= lo) & (freqs < hi)
        ob = mag["o"][k]
        bands.append({"low_hz": lo, "high_hz": min(hi, SR / 2),
                      "energy": float(np.sum(ob.astype(np.float64) ** 2)) / total if total > 0 else 0.0,
                      "music": one_column_share(ob, mag["c"][k]),
                      "ambience": one_column_share(ob, mag["s"][k])})
    share, music, ambience = magnitude_fits(mag["o"], mag["c"], mag["s"])
    return {"share": share, "music": music, "ambience": ambience, "bands": bands}


def check_edges(edges_hz) -> list[float]:
    """The band edges as floats, or ValueError unless they increase strictly within (0, SR/2)."""
    edges = [float(e) for e in edges_hz]
    if any(b <= a for a, b in zip(edges, edges[1:])) or (edges and (edges[0] <= 0 or edges[-1] >= SR / 2)):
        raise ValueError(f"band edges must increase strictly within (0, {SR / 2:g}) Hz, got {edges}")
    return edges


def load_run(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Output, content and style of a run folder as the run's metrics saw them, and its record.

    The metrics of a long run cover a centred excerpt (``run.json``'s ``metrics_scope``);
    the same excerpt of the output and the content is taken here, and the style's start.
    """
    record_path = folder / "run.json"
    if not record_path.is_file():
        raise SystemExit(f"{folder}: no run.json here; give the folders that `amnst transfer` wrote")
    try:
        record = json.loads(record_path.read_text())
        inputs = record["inputs"]
        max_seconds = inputs.get("max_seconds")
        wav = folder / (record.get("files") or {}).get("wav", "output.wav")
        output = load_audio(wav, SR, purpose="measure")
        content = load_audio(inputs["content"]["path"], SR, max_seconds=max_seconds, purpose="compare with")
        style = load_audio(inputs["style"]["path"], SR, max_seconds=max_seconds, purpose="compare with")
        scope = record.get("metrics_scope") or {}
        if scope and not scope.get("whole", True):
            s0 = int(round(scope["start_seconds"] * SR))
            m = int(round(scope["seconds"] * SR))
            output, content = output[s0:s0 + m], content[s0:s0 + m]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise SystemExit(f"{record_path}: not a run record of `amnst transfer` ({type(e).__name__}: {e})") from None
    except AmnstError as e:
        raise SystemExit(f"{folder}: {e}") from None
    return output, content, style, record


def format_table(rows: list[tuple[str, dict]]) -> str:
    """One line per run (share, music, ambience; then per band: energy, music, ambience) and the medians."""
    first = rows[0][1]["bands"]
    heads = [f"{b['low_hz']:.0f}-{b['high_hz']:.0f} Hz" for b in first]
    lines = [f"{'run':44s} {'share':>6s} {'music':>6s} {'amb.':>6s} | "
             + " | ".join(f"{h:^17s}" for h in heads),
             f"{'':44s} {'':>6s} {'':>6s} {'':>6s} | " + " | ".join(f"{'energy music amb.':^17s}" for _ in heads)]

    def line(name, vals):
        whole = f"{name[:44]:44s} {vals[0]:6.3f} {vals[1]:6.3f} {vals[2]:6.3f} | "
        return whole + " | ".join(f"{vals[3 + 3 * i]:5.2f} {vals[4 + 3 * i]:5.2f} {vals[5 + 3 * i]:5.2f}"
                                  for i in range(len(heads)))

    table = []
    for name, p in rows:
        vals = [p["share"], p["music"], p["ambience"]]
        for b in p["bands"]:
            vals += [b["energy"], b["music"], b["ambience"]]
        table.append(vals)
        lines.append(line(name, vals))
    if len(rows) > 1:
        lines.append(line(f"median of {len(rows)}", list(np.median(np.array(table), axis=0))))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders (each with run.json and its output WAV)")
    p.add_argument("--edges", default=",".join(f"{e:g}" for e in EDGES_HZ),
                   help="inner band edges in Hz, comma-separated (default: C3, C5, C8)")
    args = p.parse_args(argv)
    try:
        edges = check_edges(e for e in args.edges.split(",") if e.strip())
    except ValueError as e:
        p.error(f"--edges: numbers in Hz separated by commas, increasing, got {args.edges!r} ({e})")
    rows, skipped = [], 0
    for folder in args.runs:
        try:
            output, content, style, record = load_run(folder)
            parts = superposition_parts(output, content, style, edges)
        except SystemExit as e:  # one bad folder (a failed run, a moved file) does not end the others
            print(f"skipped: {e}", file=sys.stderr)
            skipped += 1
            continue
        except AmnstError as e:
            print(f"skipped: {folder}: {e}", file=sys.stderr)
            skipped += 1
            continue
        recorded = (record.get("metrics") or {}).get("superposition")
        if recorded is not None and abs(recorded - parts["share"]) > 0.01:
            print(f"note: {folder.name}: share {parts['share']:.3f} here, {recorded:.3f} in its run.json "
                  "(a stereo or resampled output is read here as its mono 22050 Hz mix)", file=sys.stderr)
        names = [Path(record["inputs"][k]["path"]).stem for k in ("content", "style")]
        rows.append((f"{names[0][:20]} x {names[1][:21]}", parts))
    if rows:
        print(format_table(rows))
    if skipped:
        print(f"{skipped} of {len(args.runs)} folder(s) skipped (above)", file=sys.stderr)
    return 1 if skipped else 0


if __name__ == "__main__":
    raise SystemExit(main())
