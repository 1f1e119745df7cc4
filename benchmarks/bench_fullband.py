"""Full-band stereo output (issue 13): band above 11 kHz, stereo image, mono compatibility,
quality on the mid, and the cost against mono output.

Inputs: a folder of stereo 44.1/48 kHz ``mus*`` and ``amb*`` clips (``make_stereo_clips.py``
cuts them from the dev set's Debian sources; the repository holds none). For each content x
style pair it runs the transfer once (``OutputConfig(format="follow")``, the default
preset) and reports:

- ``hi/sty``, ``hi/con``: the output's share of energy above 11.5 kHz relative to the
  style's and the content's share (dB; -inf: nothing there);
- inter-channel coherence (magnitude-squared, Welch) per band, 0-1 / 1-4 / 4-11 / 11+ kHz,
  of content, style and output;
- mono compatibility: side-to-mid energy (dB) and the level of the mono sum against the
  channels' mean level (dB; 0 = no loss, about -3 = unrelated channels, far below =
  cancellation);
- the quality figures of ``amnst_lib.metrics.evaluate`` on the output's mid (resampled to
  22050 Hz, what run.json records) and on the transfer's mono output, and their
  difference.

``--long FILE`` then times a whole run on a long stereo song (3 minutes) with the output
following the content and at ``mono22050``, each in its own process (peak RSS).

    python benchmarks/bench_fullband.py /tmp/stereo_clips --seconds 10 --long /tmp/stereo_clips/long_mus01_piano_180s.wav
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amnst_lib import fullband as fb  # noqa: E402
from amnst_lib.audio import peak_normalize  # noqa: E402
from amnst_lib.config import OutputConfig, RunConfig, preset  # noqa: E402
from amnst_lib.metrics import evaluate  # noqa: E402

BANDS = ((0, 1000), (1000, 4000), (4000, 11000), (11000, None))
FIGURES = ("chroma_similarity", "mfcc_gap_closed", "random_gram_gap_closed", "superposition", "flatness_ratio",
           "reconstruction_sc")
SHORT = dict(zip(FIGURES, ("chroma", "MFCC", "rGram", "superp", "flat", "SC")))


def coherence_bands(y: np.ndarray, sr: int) -> list[float]:
    """Mean magnitude-squared coherence of two channels in each of :data:`BANDS` (nan: mono
    or a band above Nyquist)."""
    from scipy.signal import coherence

    if y.shape[0] < 2:
        return [float("nan")] * len(BANDS)
    f, c = coherence(y[0], y[1], fs=sr, nperseg=2048)
    out = []
    for lo, hi in BANDS:
        sel = (f >= lo) & (f < (hi or sr / 2))
        out.append(float(np.mean(c[sel])) if sel.any() else float("nan"))
    return out


def high_share_db(y: np.ndarray, sr: int) -> float:
    share = fb.band_energy(y, sr, fb.HIGH_BAND_HZ) if sr / 2 > fb.HIGH_BAND_HZ else 0.0
    return 10 * np.log10(share) if share > 0 else -np.inf


def mono_compat(y: np.ndarray) -> tuple[float, float]:
    """(side / mid energy, mono sum level / mean channel level), dB."""
    if y.shape[0] < 2:
        return -np.inf, 0.0
    e = lambda x: float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-20  # noqa: E731
    mid, side = (y[0] + y[1]) / 2, (y[0] - y[1]) / 2
    return 10 * np.log10(e(side) / e(mid)), 10 * np.log10(e(mid) / ((e(y[0]) + e(y[1])) / 2))


def _fmt(x, spec="+.1f"):
    return "  -inf" if x == -np.inf else ("   nan" if not np.isfinite(x) else format(x, spec))


def run_pairs(audio_dir: Path, seconds: float) -> list[dict]:
    import librosa

    from amnst_lib.pipeline import run_transfer

    files = sorted(p for p in audio_dir.glob("*.wav"))
    contents = [p for p in files if p.name.startswith("mus")]
    styles = [p for p in files if p.name.startswith("amb")]
    config = RunConfig(transfer=preset("default"), output=OutputConfig(format="follow"))
    rows = []
    for c in contents:
        for s in styles:
            t0 = time.perf_counter()
            r = run_transfer(c, s, None, config=config, max_seconds=seconds, progress=False)
            content = fb.load_native(c, max_seconds=seconds)
            style = fb.load_native(s, max_seconds=seconds)
            content.y, style.y = content.y.array(), style.y.array()
            sr = r.written_sr
            if style.sr != sr:
                style.y = librosa.resample(style.y, orig_sr=style.sr, target_sr=sr, axis=-1)
            written = r.written if r.written is not None else r.output[None, :]
            n = written.shape[1]
            # The mid as written, taken back to 22050 Hz (FFT, at the mono output's level).
            back = librosa.resample(written.astype(np.float64).mean(axis=0), orig_sr=sr, target_sr=22050, res_type="fft")[: len(r.output)]
            mid = evaluate(peak_normalize(back.astype(np.float32)), r.content, r.style, 22050, optimised_mel=r.output_mel)
            mono = evaluate(r.output, r.content, r.style, 22050, optimised_mel=r.output_mel)
            rows.append({
                "pair": f"{c.stem[:12]} x {s.stem[:14]}", "sr": sr,
                "hi_out": high_share_db(written, sr), "hi_style": high_share_db(style.y, sr),
                "hi_content": high_share_db(content.y, sr),
                "coh_content": coherence_bands(content.y[:, :n], sr), "coh_style": coherence_bands(style.y, sr),
                "coh_out": coherence_bands(written, sr), "compat": mono_compat(written),
                "compat_content": mono_compat(content.y), "compat_style": mono_compat(style.y),
                "mid": {k: mid[k] for k in FIGURES}, "mono": {k: mono[k] for k in FIGURES},
                "notes": r.record["output_format"]["notes"], "seconds": time.perf_counter() - t0})
            print(f"  done {rows[-1]['pair']} ({rows[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    return rows


def print_tables(rows: list[dict]) -> None:
    print("band above 11.5 kHz (dB of each signal's energy; out-sty, out-con: output relative to style, content)")
    print("and inter-channel coherence per band 0-1 / 1-4 / 4-11 / 11+ kHz")
    print(f"{'pair':30} {'out':>6} {'sty':>6} {'con':>6} {'out-sty':>7} {'out-con':>7}  "
          f"{'coh content':23} {'coh style':23} {'coh output':23}")
    coh = lambda v: " ".join(_fmt(x, ".2f").rjust(5) for x in v)  # noqa: E731
    for r in rows:
        print(f"{r['pair']:30} {_fmt(r['hi_out']):>6} {_fmt(r['hi_style']):>6} {_fmt(r['hi_content']):>6} "
              f"{_fmt(r['hi_out'] - r['hi_style']):>7} {_fmt(r['hi_out'] - r['hi_content']):>7}  "
              f"{coh(r['coh_content']):23} {coh(r['coh_style']):23} {coh(r['coh_out']):23}")
    med = lambda key: np.nanmedian(np.array([r[key] for r in rows], dtype=float), axis=0)  # noqa: E731
    print(f"{'median':30} {'':6} {'':6} {'':6} {'':7} {'':7}  {coh(med('coh_content')):23} "
          f"{coh(med('coh_style')):23} {coh(med('coh_out')):23}")
    print()
    print("mono compatibility (dB): side/mid and mono-sum level vs channel level, of the content, the style")
    print("and the output")
    for r in rows:
        cells = [r[k] for k in ("compat_content", "compat_style", "compat")]
        print(f"{r['pair']:30} " + " | ".join(f"{_fmt(a):>6} {_fmt(b):>6}" for a, b in cells))
    print()
    print("quality on the output's mid (22050 Hz) vs the transfer's mono output")
    head = " ".join(f"{SHORT[k]:>7}" for k in FIGURES)
    print(f"{'pair':30} {'':5} {head}")
    for r in rows:
        for which in ("mid", "mono"):
            print(f"{r['pair'] if which == 'mid' else '':30} {which:5} "
                  + " ".join(f"{r[which][k]:7.3f}" for k in FIGURES))
    for which in ("mid", "mono"):
        print(f"{'median':30} {which:5} "
              + " ".join(f"{np.median([r[which][k] for r in rows]):7.3f}" for k in FIGURES))
    diff = [abs(np.median([r['mid'][k] for r in rows]) - np.median([r['mono'][k] for r in rows])) for k in FIGURES]
    print(f"{'|median mid - median mono|':36} " + " ".join(f"{d:7.4f}" for d in diff))
    notes = sorted({n for r in rows for n in r["notes"]})
    if notes:
        print("notes:", *notes, sep="\n  ")


LONG_RUN = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from amnst_lib.config import OutputConfig, RunConfig, preset
from amnst_lib.pipeline import run_transfer
t = time.perf_counter()
r = run_transfer({content!r}, {style!r}, None, config=RunConfig(transfer=preset("default"),
                 output=OutputConfig(format={fmt!r})), progress=False)
print(json.dumps({{"seconds": time.perf_counter() - t, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "timings": r.record["timings_seconds"], "sr": r.written_sr,
                  "shape": list(r.written.shape) if r.written is not None else [1, len(r.output)]}}))
"""


def long_run(content: Path, style: Path) -> None:
    root = str(Path(__file__).resolve().parents[1])
    res = {}
    for fmt in ("mono22050", "follow"):
        code = LONG_RUN.format(root=root, content=str(content), style=str(style), fmt=fmt)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        res[fmt] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n{content.name} x {style.name}, whole run incl. metrics (one process each):")
    for fmt, r in res.items():
        t = r["timings"]
        print(f"  {fmt:10} {r['seconds']:6.1f} s  peak {r['peak_gib']:.2f} GiB  output {r['shape']} at {r['sr']} Hz"
              f"  (output stage {t.get('output_format', 0):.1f} s, metrics {t.get('metrics', 0):.1f} s,"
              f" load {t['load']:.1f} s)")
    a, b = res["mono22050"], res["follow"]
    print(f"  follow / mono22050: time {b['seconds'] / a['seconds']:.2f}x, peak memory {b['peak_gib'] / a['peak_gib']:.2f}x"
          f" (target <= 1.5x)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("audio_dir", type=Path, help="folder of stereo mus*/amb* clips (make_stereo_clips.py)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of each clip (default 10)")
    p.add_argument("--long", type=Path, help="a long stereo song for the time and memory comparison")
    p.add_argument("--long-style", type=Path, help="its style (default: the first amb* clip)")
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    p.add_argument("--no-pairs", action="store_true", help="only the long run")
    args = p.parse_args(argv)
    if not args.no_pairs:
        rows = run_pairs(args.audio_dir, args.seconds)
        print_tables(rows)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1, default=float))
    if args.long:
        style = args.long_style or sorted(args.audio_dir.glob("amb*.wav"))[0]
        long_run(args.long, style)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
