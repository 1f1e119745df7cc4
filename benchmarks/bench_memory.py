"""Peak memory and wall time against track length (a benchmark: it prints numbers, asserts nothing).

Runs ``amnst transfer`` (default preset, ``--iterations 3``, everything else default:
128 Griffin-Lim iterations, metrics on) on a 3-, 10- and 30-minute content, each in a
fresh process, and prints its peak resident memory and wall time with their ratio to the
shortest run, and the stage timings from its run.json. The long contents are the bundled
Bach clip (20 s) repeated, written block by block into a temporary folder; the style is
the bundled stream (20 s). With ``--stereo`` both are 44.1 kHz stereo, and the style has
a band above 11 kHz, so that every stage of the full-band output runs (``fullband.py``).

Run: ``.venv/bin/python benchmarks/bench_memory.py [--minutes 3,10,30] [--iterations 3] [--stereo]``.
A run of the 30-minute case needs a few GiB free (check ``free -g``) and ~10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "data" / "examples"
CONTENT = EX / "mus01_baroque_bach_brandenburg2.wav"
STYLE = EX / "amb04_stream.wav"


def long_content(path: Path, minutes: float, stereo: bool = False) -> Path:
    """The bundled Bach clip repeated to ``minutes``, written one clip at a time.

    With ``stereo`` it is 44.1 kHz stereo (resampled; the right channel 3 ms later and
    quieter), as most users' music files are: the output then follows at full band.
    """
    y, sr = sf.read(str(CONTENT), dtype="float32")
    if stereo:
        from scipy.signal import resample_poly

        y = resample_poly(y, 2, 1).astype(np.float32)
        sr *= 2
        y = np.stack([y, 0.8 * np.roll(y, int(0.003 * sr))], axis=1)
    n = int(minutes * 60 * sr)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1 if y.ndim == 1 else 2, subtype="PCM_16") as f:
        while n > 0:
            f.write(y[:n])
            n -= len(y)
    return path


def stereo_style(path: Path) -> Path:
    """The bundled stream at 44.1 kHz stereo, with a band above 11 kHz (independent noise per
    channel, 30 dB below the stream): a style whose high band the output takes on."""
    from scipy.signal import resample_poly

    y, sr = sf.read(str(STYLE), dtype="float32")
    y = resample_poly(y, 2, 1).astype(np.float32)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2, len(y)))
    spec = np.fft.rfft(noise, axis=1)
    spec[:, np.fft.rfftfreq(len(y), 1 / 44100) < 11500] = 0
    high = np.fft.irfft(spec, n=len(y), axis=1)
    high *= 10 ** (-30 / 20) * np.std(y) / np.std(high)
    sf.write(str(path), (y[None, :] + high).T.astype(np.float32), 44100, subtype="FLOAT")
    return path


def one_run(content: Path, out: Path, iterations: int, style: Path = STYLE) -> dict:
    """Run the CLI in a child of a fresh launcher process; its peak RSS is that child's alone."""
    launcher = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'rc': p.returncode, 'wall': wall, 'rss': rss, 'err': p.stderr[-800:]}))\n")
    cmd = [sys.executable, "-m", "amnst_lib", "transfer", str(content), str(style), "-o", str(out),
           "--iterations", str(iterations), "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    p = subprocess.run([sys.executable, "-c", launcher, *cmd], capture_output=True, text=True, env=env, check=True)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"run failed ({res['rc']}): {res['err']}")
    rec = json.loads((out / "run.json").read_text())
    res["timings"] = rec["timings_seconds"]
    res["chunks"] = rec.get("chunking", {}).get("transfer_chunks")
    res["format"] = rec.get("output_format", {})
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="3,10,30", help="content lengths in minutes (default 3,10,30)")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--stereo", action="store_true",
                    help="a 44.1 kHz stereo content (full-band stereo output) instead of 22.05 kHz mono")
    args = ap.parse_args()
    minutes = [float(m) for m in args.minutes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="amnst-bench-memory-") as tmp:
        tmp = Path(tmp)
        style = stereo_style(tmp / "style.wav") if args.stereo else STYLE
        for m in minutes:
            content = long_content(tmp / f"content_{m:g}min.wav", m, args.stereo)
            t = time.perf_counter()
            res = one_run(content, tmp / f"run_{m:g}", args.iterations, style)
            res["minutes"] = m
            rows.append(res)
            content.unlink()
            print(f"  {m:g} min done in {time.perf_counter() - t:.0f} s: peak RSS {res['rss'] / 2 ** 30:.2f} GiB, "
                  f"Griffin-Lim {res['timings'].get('reconstruction', 0):.0f} s", file=sys.stderr, flush=True)
    base = rows[0]
    kind = "44.1 kHz stereo (style too, with a band above 11 kHz)" if args.stereo else "22.05 kHz mono"
    print(f"amnst transfer, default preset, --iterations {args.iterations}, Griffin-Lim 128 iterations, metrics on; "
          f"{kind} content; {os.cpu_count()} CPUs")
    head = (f"{'content':>8} {'chunks':>6} {'peak RSS GiB':>12} {'x':>5} {'wall s':>7} {'x':>5} "
            f"{'transfer':>8} {'griffin-lim':>11} {'metrics':>7} {'full-band':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        t = r["timings"]
        print(f"{r['minutes']:>6g} m {r['chunks'] or 1:>6} {r['rss'] / 2 ** 30:>12.2f} {r['rss'] / base['rss']:>5.2f} "
              f"{r['wall']:>7.0f} {r['wall'] / base['wall']:>5.2f} {t.get('transfer', 0):>8.0f} "
              f"{t.get('reconstruction', 0):>11.0f} {t.get('metrics', 0):>7.0f} {t.get('output_format', 0):>9.0f}")

    f = rows[-1]["format"]
    print(f"output written: {f.get('sample_rate')} Hz, {f.get('channels')} channel(s), image {f.get('image')}, "
          f"band above 11 kHz from the style: {f.get('high_band')}")


if __name__ == "__main__":
    main()
