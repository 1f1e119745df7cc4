"""Speed and memory of classifier training (a benchmark: it prints numbers, asserts nothing).

On a generated miniature (GTZAN's layout, 30-second tracks) it measures:
  * feature extraction: segments per second into a cold cache, and the time to reopen it;
  * training at the original's batch size 32, whole and as 4 accumulated micro-batches of
    8: segments per second (epochs after the first, so graph tracing is not counted);
  * peak resident memory (ru_maxrss) after each phase, and the feature file's size;
and from those estimates one full-GTZAN run on this machine (999 tracks, 5,994 segments,
80 % of them trained on, 30 epochs).

Run: ``.venv/bin/python benchmarks/bench_training.py [--tracks-per-class N] [--epochs E]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

GTZAN_SEGMENTS = 999 * 6


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks-per-class", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (the first is discarded as warm-up)")
    args = ap.parse_args()

    from amnst_lib.dataset import find_tracks, make_miniature
    from amnst_lib.features import build_cache

    print(f"machine: {os.cpu_count()} CPU cores; start peak RSS {peak_mib():.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        root = make_miniature(tmp / "mini", tracks_per_class=args.tracks_per_class, seed=0)
        print(f"miniature: {10 * args.tracks_per_class} tracks x 30 s synthesised in {time.perf_counter() - t:.1f} s")
        ds = find_tracks(root)

        t = time.perf_counter()
        cache = build_cache(ds, tmp / "cache", progress=False)
        extract_s = time.perf_counter() - t
        seg_rate_features = cache.n_segments / extract_s
        t = time.perf_counter()
        build_cache(ds, tmp / "cache", progress=False, verify="sample")
        reopen_s = time.perf_counter() - t
        size_mib = cache.path.stat().st_size / 2**20
        print(f"features: {cache.n_segments} segments in {extract_s:.1f} s = {seg_rate_features:.0f} segments/s "
              f"(decode + mel + write); reopen with sampled checksums {reopen_s:.2f} s; "
              f"file {size_mib:.0f} MiB; peak RSS {peak_mib():.0f} MiB")

        import keras

        from amnst_lib.model import build_genre_cnn
        from amnst_lib.training import _row_labels, segment_dataset

        rows = cache.segment_rows()
        rates = {}
        # Micro-batches first: ru_maxrss only grows, so the smaller peak must be read first.
        for micro in (8, 32):
            keras.utils.set_random_seed(0)
            model = build_genre_cnn()
            accumulate = 32 // micro
            opt = (keras.optimizers.Adam(1e-3, gradient_accumulation_steps=accumulate) if accumulate > 1
                   else keras.optimizers.Adam(1e-3))
            model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
            data = segment_dataset(cache, rows, _row_labels(cache, rows), batch_size=micro, shuffle=True)
            timings = []

            class Timer(keras.callbacks.Callback):
                def on_epoch_begin(self, epoch, logs=None):
                    self.t = time.perf_counter()

                def on_epoch_end(self, epoch, logs=None):
                    timings.append(time.perf_counter() - self.t)

            model.fit(data, epochs=1 + args.epochs, verbose=0, callbacks=[Timer()], shuffle=False)
            epoch_s = float(np.mean(timings[1:]))
            rates[micro] = len(rows) / epoch_s
            label = "batch 32" if micro == 32 else f"batch 32 as {accumulate} micro-batches of {micro} (--micro-batch {micro})"
            print(f"training, {label}: {len(rows)} segments in {epoch_s:.1f} s/epoch = {rates[micro]:.1f} segments/s "
                  f"(first epoch, with tracing, {timings[0]:.1f} s); peak RSS so far {peak_mib():.0f} MiB")
            del model, data
        seg_rate_train = rates[8]  # the default

    train_segments = int(GTZAN_SEGMENTS * 0.8)
    val_segments = GTZAN_SEGMENTS - train_segments
    # Validation is a forward pass only, roughly a third of a training step's cost.
    epoch_full = train_segments / seg_rate_train + val_segments / (3 * seg_rate_train)
    print(f"estimate for full GTZAN here ({GTZAN_SEGMENTS} segments, {GTZAN_SEGMENTS * 384 * 431 * 4 / 2**30:.1f} GiB "
          f"of features): extraction {GTZAN_SEGMENTS / seg_rate_features / 60:.1f} min once; "
          f"{epoch_full / 60:.1f} min/epoch, {30 * epoch_full / 3600:.1f} h for 30 epochs with the default "
          f"micro-batches of 8 ({30 * epoch_full * rates[8] / rates[32] / 3600:.1f} h with whole batches of 32) "
          f"(the original: ~137 s/epoch on a Colab GPU). Memory does not grow with the dataset "
          f"(batches are read from disk); it is set by the batch's activations, see the peaks above.")


if __name__ == "__main__":
    main()
