"""Speed and memory of the style transfer (a benchmark: it prints numbers, asserts nothing).

Prints, at default settings:
  * seconds per NST iteration for 4 and 36 segments, and for a plain ``tf.GradientTape``
    loop over the same network and layers (the floor to compare against);
  * reconstruction seconds and spectral convergence;
  * wall time and peak resident memory of a whole run (load -> WAV, metrics included) for
    a 20-second and a 3-minute content.

Run: ``.venv/bin/python benchmarks/bench_transfer.py [--iterations N] [--quick] [--variant V ...] [--checkout DIR ...]``.
The 3-minute content is the bundled Bach clip repeated (real audio, no synthesis).
``--variant`` (repeatable) runs the whole runs for each settings variant, written as in
``sweep_quality.py`` (``""`` = the default preset, ``"content_weight=2.0"``...), one after
another in the same benchmark, so their times compare as ratios on a loaded machine.
``--checkout DIR`` (repeatable) adds whole runs of ANOTHER checkout's CLI at its own
default, in the same benchmark: a ``git worktree`` of an older commit, say, so that
today's default is compared with an earlier one on the same machine in one run (its
package is put first on ``PYTHONPATH``; this venv's interpreter and libraries run it).
Each run's peak memory is its own (``os.wait4`` of that child).
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

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EX = ROOT / "data" / "examples"
CONTENT = EX / "mus01_baroque_bach_brandenburg2.wav"
STYLE = EX / "amb04_stream.wav"


def plain_tape_seconds(n_segments: int, steps: int = 10) -> float:
    """Seconds per step of the simplest loop: one tape over (n, 384, 431, 1), the original's layers."""
    import tensorflow as tf

    from amnst_lib.model import build_genre_cnn, feature_extractor

    net = build_genre_cnn()
    content_layers, style_layers = ["identity", "conv1"], ["conv2", "conv4", "conv6", "conv8"]
    fx = feature_extractor(net, content_layers + style_layers)
    rng = np.random.default_rng(0)
    x0 = rng.random((n_segments, 384, 431, 1), dtype=np.float32)
    refs = fx(x0)
    grams = [tf.einsum("bhwc,bhwd->cd", f, f) for f in refs[2:]]
    var = tf.Variable(x0)
    opt = tf.keras.optimizers.Adam(0.01)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            feats = fx(var)
            loss = tf.add_n([tf.reduce_mean((f - r) ** 2) for f, r in zip(feats[:2], refs[:2])])
            loss += tf.add_n([tf.reduce_mean((tf.einsum("bhwc,bhwd->cd", f, f) - g) ** 2)
                              for f, g in zip(feats[2:], grams)])
        opt.apply_gradients([(tape.gradient(loss, var), var)])
        return loss

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step().numpy()
    return (time.perf_counter() - t) / steps


def nst_seconds(n_segments: int, steps: int = 12, preset_name: str = "original") -> float:
    """Seconds per step of amnst_lib.transfer.style_transfer on n segments of real audio.

    ``original`` runs the genre CNN (comparable with :func:`plain_tape_seconds`);
    ``default`` the texture preset, its projections included (amortised per step).
    The first two steps are not timed: each window grid is traced on its first step, and
    the shifted grid's window batches have other sizes than the plain grid's (3 segments:
    2 + 1 windows against 3), so its first step traces the step function again (about
    0.25 s at 3 segments, once per run). Timing from step 1 counted that trace in the
    per-step figure: 0.085 s at 3 segments, against 0.058 s timed from step 2 (session 13).
    """
    from amnst_lib.audio import load_audio
    from amnst_lib.config import AnalysisConfig, preset
    from amnst_lib.pipeline import load_network
    from amnst_lib.segments import tile_frames
    from amnst_lib.spectrum import mel_spectrogram
    from amnst_lib.transfer import style_transfer

    a = AnalysisConfig()
    content = tile_frames(mel_spectrogram(load_audio(CONTENT), a), n_segments * a.segment_frames)
    style = mel_spectrogram(load_audio(STYLE), a)
    cfg = preset(preset_name)
    if preset_name == "default":
        steps = max(steps, 2 * cfg.projection_every + 2)  # two projections in the timed steps
    net, _ = load_network(None, seed=0, input_shape=a.input_shape, config=cfg)
    style_transfer(content, style, net, cfg.replace(iterations=2, projection_every=0), a, progress=False)
    r = style_transfer(content, style, net, cfg.replace(iterations=steps), a, progress=False)
    h = r.history
    return (h[-1]["seconds"] - h[1]["seconds"]) / (len(h) - 2)


def reconstruction(seconds: float = 20.0) -> tuple[float, float, float, float]:
    """The written output's reconstruction (from the content's phase) of the Bach clip's mel.

    Returns seconds, linear and mel SC, and the seconds of the same Griffin-Lim with
    librosa's STFT and inverse STFT (what ``spectrum.griffin_lim`` ran before session 14).
    """
    from amnst_lib import metrics
    from amnst_lib.audio import load_audio
    from amnst_lib.config import AnalysisConfig, ReconstructionConfig
    from amnst_lib.spectrum import (_griffin_lim_librosa, griffin_lim, mel_spectrogram, mel_to_stft,
                                    spectral_convergence, stft_phase)

    a, r = AnalysisConfig(), ReconstructionConfig()
    y = load_audio(CONTENT, max_seconds=seconds)
    mel = mel_spectrogram(y, a)
    phase = stft_phase(y, a)
    t = time.perf_counter()
    S = mel_to_stft(mel, a)
    out = griffin_lim(S, a, r, length=len(y), init_phase=phase)
    dt = time.perf_counter() - t
    t = time.perf_counter()
    _griffin_lim_librosa(mel_to_stft(mel, a), phase.copy(), a, r, len(y))
    dt_librosa = time.perf_counter() - t
    return dt, spectral_convergence(S, out, a), metrics.reconstruction_convergence(mel, out, a), dt_librosa


def whole_run(content: Path, iterations: int | None, variant: str = "", checkout: Path | None = None) -> dict:
    """One CLI run in a fresh process, so its peak RSS is its own.

    ``checkout``: run that checkout's ``amnst_lib`` (at its own default) instead of this one's.
    """
    out = Path(tempfile.mkdtemp()) / "run"
    cmd = [sys.executable, "-m", "amnst_lib", "transfer", str(content), str(STYLE), "-o", str(out), "-q"]
    env, cwd = None, None
    if checkout is not None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(checkout)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        cwd = str(checkout)
    if variant:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from sweep_quality import parse_variant

        config = out.parent / "variant.json"
        config.write_text(json.dumps({"config": parse_variant(variant).to_dict()}))
        cmd += ["--config", str(config)]
    if iterations is not None:
        cmd += ["--iterations", str(iterations)]
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {child.stderr.read()[-2000:]}")
    rss = usage.ru_maxrss / 1024 ** 2  # KiB -> GiB, this child's own peak
    record = json.loads((out / "run.json").read_text())
    return {"wall": wall, "rss_gib": rss, "timings": record["timings_seconds"],
            "segments": record["resolved"]["n_segments"], "sc": record["metrics"].get("reconstruction_sc")}


def _commit(checkout: Path) -> str:
    """The short commit of a checkout (its folder name where git cannot tell)."""
    r = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else checkout.name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=None, help="NST steps of the whole runs (default: the default)")
    ap.add_argument("--quick", action="store_true", help="skip the 3-minute run")
    ap.add_argument("--variant", action="append", default=None,
                    help='settings variant of the whole runs, as in sweep_quality.py (repeatable; default: "")')
    ap.add_argument("--whole-only", action="store_true", help="only the whole runs (skip the per-iteration table)")
    ap.add_argument("--checkout", action="append", default=[], type=Path, metavar="DIR",
                    help="also run another checkout's CLI at its own default (a git worktree of an older commit; repeatable)")
    args = ap.parse_args()
    for c in args.checkout:
        if not (c / "amnst_lib" / "__main__.py").is_file():
            ap.error(f"--checkout {c}: no amnst_lib/__main__.py there (give the root of an amnst checkout)")
    checkouts = [(f"checkout {_commit(c)}", c.resolve()) for c in args.checkout]
    print(f"machine: {os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as d:
        y, sr = sf.read(str(CONTENT), dtype="float32")
        long_path = Path(d) / "bach_3min.wav"
        sf.write(str(long_path), np.tile(y, 9)[: 180 * sr], sr)
        print("\nwhole runs (CLI, fresh process, metrics included)")
        width = max([24] + [len(v) for v in args.variant or []] + [len(n) for n, _ in checkouts])
        print(f"{'variant':{width}s} {'content':>8} {'segments':>8} {'wall s':>7} {'NST s':>6} {'recon s':>7} {'metrics s':>9} {'peak GiB':>8} {'SC':>6}")
        runs = [("20 s", CONTENT)] + ([] if args.quick else [("3 min", long_path)])
        for label, path in runs:
            for name, variant, checkout in ([(v or "(default)", v, None) for v in args.variant or [""]]
                                            + [(n, "", c) for n, c in checkouts]):
                r = whole_run(path, args.iterations, variant, checkout)
                t = r["timings"]
                print(f"{name:{width}s} {label:>8} {r['segments']:>8} {r['wall']:>7.1f} {t['transfer']:>6.1f} "
                      f"{t['reconstruction']:>7.1f} {t.get('metrics', 0):>9.1f} {r['rss_gib']:>8.2f} "
                      f"{r['sc'] or float('nan'):>6.3f}", flush=True)
    if args.whole_only:
        return
    print("\nseconds per iteration")
    print(f"{'segments':>8} {'original':>9} {'plain tape':>10} {'default':>8}")
    print(f"{'':>8} {'(genre CNN)':>9} {'(same net)':>10} {'(texture)':>8}")
    for n in (3, 4, 36):
        print(f"{n:>8} {nst_seconds(n):>9.3f} {plain_tape_seconds(n):>10.3f} {nst_seconds(n, preset_name='default'):>8.3f}",
              flush=True)
    dt, sc, sc_mel, dt_librosa = reconstruction()
    print(f"\nreconstruction of 20 s (pinv + fast Griffin-Lim from the content's phase, defaults): {dt:.2f} s, "
          f"SC linear {sc:.3f}, SC mel {sc_mel:.3f} (on the content itself); with librosa's STFT pair "
          f"{dt_librosa:.2f} s ({dt_librosa / dt:.1f}x)")

    print("\nnote: peak GiB is each CLI child's own peak (os.wait4); the whole runs come first, while this\n"
          "process is small, because Linux carries a parent's peak RSS into a forked child.")


if __name__ == "__main__":
    main()
