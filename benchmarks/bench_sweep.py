"""``amnst sweep``'s cost: 1 vs 2 local Dask workers, and its overhead per job against a shell loop.

Issue 12. The same 8 jobs (1 content x 2 styles x 4 content weights of the bundled clips,
``--seconds`` of each, ``--iterations`` steps) run three ways, each into a fresh folder:

- ``amnst transfer`` one job at a time, each a new process (start-up and TensorFlow import
  included): what a shell loop does;
- :func:`amnst_lib.sweep.run_sweep` on an embedded LocalCluster of 1 worker (2 TensorFlow
  threads on a 2-core machine), then of 2 workers (1 thread each); cluster start included.

Per mode: wall seconds, seconds per job, the sum of the jobs' own compute (``run.json``'s
``timings_seconds.total``), the overhead per job = (wall x workers - compute) / jobs (the
process-seconds not spent inside a job: start-up, imports, scheduling, idle workers), and
the speed-up over the one-by-one loop.

    python benchmarks/bench_sweep.py                      # 8 jobs, 5 s clips, 20 steps
    python benchmarks/bench_sweep.py --seconds 10 --iterations 65
    python benchmarks/bench_sweep.py --modes "" --memory-jobs 24   # one worker's memory, job after job

``--memory-jobs N`` runs N jobs (the Bach clip x the stream, seeds 0..N-1) on ONE worker and
prints that worker's resident memory after each (``results.csv``'s ``worker_rss_gib``):
a long-lived worker that kept something per job would climb.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amnst_lib.sweep import available_cores, make_job, run_sweep  # noqa: E402

EXAMPLES = ROOT / "data" / "examples"
WEIGHTS = (2.0, 3.3, 4.0, 5.0)


def jobs_for(seconds: float, iterations: int):
    content = EXAMPLES / "mus01_baroque_bach_brandenburg2.wav"
    styles = (EXAMPLES / "amb04_stream.wav", EXAMPLES / "amb07_fireplace.wav")
    return [make_job(content, s, {"content_weight": w, "iterations": iterations, "max_seconds": seconds})
            for s in styles for w in WEIGHTS]


def compute_seconds(run_dirs) -> float:
    return sum(json.loads((Path(d) / "run.json").read_text())["timings_seconds"]["total"] for d in run_dirs)


def one_by_one(jobs, out: Path) -> tuple[float, float]:
    """Each job as its own ``amnst transfer`` process; returns (wall, compute) seconds."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    dirs = []
    for j in jobs:
        s = j.settings
        d = out / j.name
        subprocess.run([sys.executable, "-m", "amnst_lib", "transfer", j.content, j.style, "-o", str(d), "-q",
                        "--content-weight", str(s["content_weight"]), "--iterations", str(s["iterations"]),
                        "--max-seconds", str(s["max_seconds"])], check=True, env=env, stdout=subprocess.DEVNULL)
        dirs.append(d)
    return time.perf_counter() - t0, compute_seconds(dirs)


def swept(jobs, out: Path, workers: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    result = run_sweep(jobs, out, workers=workers, progress=False, log=lambda *_: None)
    wall = time.perf_counter() - t0
    bad = [r for r in result.rows if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"failed jobs: {bad}")
    return wall, compute_seconds(r["run_dir"] for r in result.rows)


def memory_run(n: int, seconds: float, iterations: int) -> None:
    content = EXAMPLES / "mus01_baroque_bach_brandenburg2.wav"
    style = EXAMPLES / "amb04_stream.wav"
    jobs = [make_job(content, style, {"seed": k, "iterations": iterations, "max_seconds": seconds}) for k in range(n)]
    with tempfile.TemporaryDirectory(prefix="bench_sweep-memory-") as tmp:
        result = run_sweep(jobs, Path(tmp), workers=1, progress=False, log=lambda *_: None)
    rss = [r["worker_rss_gib"] for r in result.rows]
    if any(r["status"] != "ok" for r in result.rows) or None in rss:
        raise SystemExit(f"failed jobs: {[r for r in result.rows if r['status'] != 'ok']}")
    print(f"one worker, {n} jobs ({seconds:g} s clips, {iterations} steps): resident memory after each job, GiB")
    print("  " + " ".join(f"{x:.2f}" for x in rss))
    later = rss[1:]
    slope = (later[-1] - later[0]) / max(len(later) - 1, 1)
    print(f"after job 1: {rss[0]:.2f}; after job 2: {later[0]:.2f}; after job {n}: {rss[-1]:.2f}; "
          f"max {max(rss):.2f}; change per job from job 2 on: {1024 * slope:+.1f} MiB")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="seconds of each clip (default 5: one segment)")
    p.add_argument("--iterations", type=int, default=20, help="transfer steps per job (default 20)")
    p.add_argument("--modes", default="loop,1,2", help="comma-separated: loop (amnst transfer one by one), "
                                                       "and worker counts for the sweep (default loop,1,2)")
    p.add_argument("--memory-jobs", type=int, default=0,
                   help="also run this many jobs on one worker and print its memory after each (default 0: no)")
    args = p.parse_args(argv)
    if args.memory_jobs:
        memory_run(args.memory_jobs, args.seconds, args.iterations)
    if not args.modes:
        return 0
    jobs = jobs_for(args.seconds, args.iterations)
    print(f"{len(jobs)} jobs: {args.seconds:g} s clips, {args.iterations} steps; {available_cores()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_sweep-") as tmp:
        for mode in args.modes.split(","):
            out = Path(tmp) / mode
            if mode == "loop":
                label = "amnst transfer x8 (one by one)"
                results[label] = (*one_by_one(jobs, out), 1)
            else:
                label = f"amnst sweep, {mode} worker(s)"
                results[label] = (*swept(jobs, out, int(mode)), int(mode))
            print(f"  {label}: {results[label][0]:.0f} s", file=sys.stderr, flush=True)
    base = next(iter(results.values()))[0]
    head = f"{'mode':34s} {'wall s':>7s} {'s/job':>6s} {'compute s':>9s} {'overhead s/job':>14s} {'speed-up':>8s}"
    print(head)
    print("-" * len(head))
    for label, (wall, compute, workers) in results.items():
        n = len(jobs)
        overhead = (wall * workers - compute) / n  # process-seconds not spent in a job's own run
        print(f"{label:34s} {wall:7.0f} {wall / n:6.1f} {compute:9.0f} {overhead:14.1f} {base / wall:8.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at end (the machine is shared: compare rows of one run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
