"""Training the genre classifier whose layers the style transfer uses.

Last stage of classifier training (``dataset`` -> ``features`` -> training). :func:`train`
splits the cached segments (by track, seeded, by default; the original's leaky segment
split on request), streams them from disk with ``tf.data`` a batch at a time, and fits the
original network with the original recipe: Adam 1e-3, batch 32, categorical cross-entropy,
30 epochs, ReduceLROnPlateau(val_accuracy, factor 0.5, patience 2, min_delta 0.005). The
best epoch (by validation accuracy) is kept. Accuracy is reported per 5-second segment
and per track (a vote of its segments, which is how a 30-second clip is classified), with
a confusion matrix and learning curves, and the weights are saved as
``genre_cnn.weights.h5`` with a ``model_card.json`` that records settings, split, data
fingerprint and accuracies. ``amnst transfer --weights .../genre_cnn.weights.h5`` uses them.

TensorFlow is imported inside the functions that need it, so that importing this module
(and building the ``amnst train`` parser in :mod:`amnst_lib.cli`) stays fast.
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .pipeline import library_versions, write_json
from .config import AnalysisConfig
from .dataset import GENRES, find_tracks, read_split_file, split_segments_leaky, split_tracks, write_split_file
from .errors import DatasetError, OutputExistsError, ParameterError
from .features import SEGMENTS_PER_TRACK, TRACK_FRAMES, build_cache, data_fingerprint

WEIGHTS_FILE = "genre_cnn.weights.h5"

#: Segments per forward/backward pass unless told otherwise; keeps training under 2 GiB.
DEFAULT_MICRO_BATCH = 8
CARD_FILE = "model_card.json"
LOG_FILE = "training_log.csv"

#: The original's training recipe.
ORIGINAL_RECIPE = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": 30,
                   "loss": "categorical_crossentropy",
                   "reduce_lr": {"monitor": "val_accuracy", "factor": 0.5, "patience": 2, "min_delta": 0.005}}


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes
    ----------
    out_dir : Path
    weights_path : Path
        ``genre_cnn.weights.h5`` (the best epoch's weights).
    card : dict
        The model card, also saved as ``model_card.json``.
    history : dict
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``.
    """

    out_dir: Path
    weights_path: Path
    card: dict
    history: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Input pipeline


def segment_dataset(cache, rows, labels, *, batch_size: int = 32, shuffle: bool = False, seed: int = 0,
                    n_classes: int = len(GENRES)):
    """A ``tf.data.Dataset`` of (segments, one-hot labels) batches read from the cache.

    Parameters
    ----------
    cache : amnst_lib.features.FeatureCache
    rows : np.ndarray, shape (n,), int
        Cache rows of the segments to serve.
    labels : np.ndarray, shape (n,), int
        Their genre indices.
    batch_size : int
    shuffle : bool
        Reshuffle every epoch (a seeded sequence of permutations).
    seed : int

    Returns
    -------
    tf.data.Dataset
        Yields ``x`` of shape (b, n_mels, segment_frames, 1) float32 and ``y`` of shape
        (b, n_classes) float32. Only a couple of batches are in memory at a time.
    """
    import tensorflow as tf

    rows = np.asarray(rows, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    eye = np.eye(n_classes, dtype=np.float32)

    def batches():
        order = rng.permutation(len(rows)) if shuffle else np.arange(len(rows))
        for start in range(0, len(rows), batch_size):
            pick = order[start:start + batch_size]
            yield cache.read(rows[pick])[..., None], eye[labels[pick]]

    n_mels, frames = cache.shape[1:]
    ds = tf.data.Dataset.from_generator(batches, output_signature=(
        tf.TensorSpec((None, n_mels, frames, 1), tf.float32), tf.TensorSpec((None, n_classes), tf.float32)))
    n_batches = -(-len(rows) // batch_size)
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)


def make_split(cache, split="track", *, val_fraction: float = 0.2, test_fraction: float = 0.0, seed: int = 0,
               dataset=None) -> dict:
    """Cache rows per subset for a split mode.

    Parameters
    ----------
    cache : FeatureCache
    split : {"track", "segment"} or path
        ``"track"``: seeded genre-stratified split of tracks (fair). ``"segment"``: the
        original's shuffled-segment split (LEAKY: one track's segments on both sides).
        A path: a CSV of track ids per subset (see :func:`amnst_lib.dataset.read_split_file`).
    val_fraction, test_fraction : float
    seed : int
    dataset : Dataset or None
        Needed to check a split file's ids against the whole dataset.

    Returns
    -------
    info : dict
        ``{"mode", "leaky", "rows": {subset: rows}, "tracks": {subset: ids}, ...}``.
    """
    if split == "segment":
        if test_fraction:
            raise ParameterError("the segment split has no test subset; use --test-fraction only with a track split.")
        parts = split_segments_leaky(cache.n_segments, val_fraction=val_fraction, seed=seed)
        all_rows = cache.segment_rows()
        rows = {s: all_rows[idx] for s, idx in parts.items()}
        seg_tracks = cache.segment_track_index()
        tracks = {s: sorted({cache.track_ids[i] for i in seg_tracks[idx]}) for s, idx in parts.items()}
        shared = len(set(tracks["train"]) & set(tracks["val"]))
        warnings.warn(f"segment split: {shared} of {cache.n_tracks} tracks have segments in BOTH train and val; "
                      f"validation accuracy is inflated (this reproduces the original's figures only).",
                      UserWarning, stacklevel=2)
        return {"mode": "segment", "leaky": True, "rows": rows, "tracks": tracks, "tracks_in_both": shared,
                "val_fraction": val_fraction, "seed": seed,
                "note": "LEAKY: split by segment as the original; segments of one track are in train and val"}
    if split == "track":
        subsets = split_tracks([_CacheTrack(t, g) for t, g in zip(cache.track_ids, cache.genres)],
                               val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
        info = {"mode": "track", "leaky": False, "val_fraction": val_fraction, "test_fraction": test_fraction,
                "seed": seed}
    else:
        path = Path(split)
        if dataset is None:
            dataset = _CacheAsDataset(cache)
        skipped = [Path(p).name for p, _ in getattr(dataset, "skipped", [])]
        subsets = read_split_file(path, dataset.tracks, unreadable=skipped)
        cached = set(cache.track_ids)
        dropped = sorted(t for s in subsets.values() for t in s if t not in cached)
        if dropped:
            warnings.warn(f"{path}: {len(dropped)} listed track(s) could not be decoded and are left out: "
                          f"{', '.join(dropped[:10])}", UserWarning, stacklevel=2)
        subsets = {s: [t for t in ids if t in cached] for s, ids in subsets.items()}
        info = {"mode": "file", "leaky": False, "file": str(path.resolve()), "left_out_undecodable": dropped}
    info["tracks"] = subsets
    info["rows"] = {s: cache.segment_rows(cache.track_index(ids)) for s, ids in subsets.items()}
    return info


@dataclass(frozen=True)
class _CacheTrack:
    track_id: str
    genre: str


class _CacheAsDataset:
    def __init__(self, cache):
        self.tracks = [_CacheTrack(t, g) for t, g in zip(cache.track_ids, cache.genres)]


def _row_labels(cache, rows) -> np.ndarray:
    """Genre index of each cache row."""
    return cache.labels[_row_tracks(cache, rows)]


def _row_tracks(cache, rows) -> np.ndarray:
    """Track index of each cache row."""
    track_of_row = np.full(cache.shape[0], -1, dtype=np.int64)
    track_of_row[cache.segment_rows()] = cache.segment_track_index()
    return track_of_row[np.asarray(rows, dtype=np.int64)]


# --------------------------------------------------------------------------------------
# Evaluation


def vote_tracks(probs: np.ndarray, track_of_segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classify tracks by a vote of their segments.

    Parameters
    ----------
    probs : np.ndarray, shape (n_segments, n_classes)
        Softmax outputs per segment.
    track_of_segment : np.ndarray, shape (n_segments,), int
        Which track each segment belongs to.

    Returns
    -------
    tracks : np.ndarray, shape (n_tracks,)
        The distinct track indices, sorted.
    predicted : np.ndarray, shape (n_tracks,), int64
        Most-voted class per track; a tie goes to the class with the higher mean probability.
    """
    tracks, inverse = np.unique(track_of_segment, return_inverse=True)
    n_classes = probs.shape[1]
    votes = np.zeros((len(tracks), n_classes))
    np.add.at(votes, (inverse, probs.argmax(axis=1)), 1.0)
    mean_prob = np.zeros((len(tracks), n_classes))
    np.add.at(mean_prob, inverse, probs)
    mean_prob /= np.bincount(inverse, minlength=len(tracks))[:, None]
    # Votes dominate; the mean probability (< 1) only breaks ties.
    return tracks, (votes + mean_prob / 2).argmax(axis=1).astype(np.int64)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int = len(GENRES)) -> np.ndarray:
    """Counts, shape (n_classes, n_classes): rows are true classes, columns predicted."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return cm


def evaluate(model, cache, rows, *, batch_size: int = 32) -> dict:
    """Accuracy of ``model`` on some cached segments, per segment and per track.

    Parameters
    ----------
    model : keras.Model
    cache : FeatureCache
    rows : np.ndarray, shape (n,), int
        Cache rows to evaluate.

    Returns
    -------
    result : dict
        ``segment_accuracy``, ``track_accuracy``, ``n_segments``, ``n_tracks``,
        ``segment_confusion`` and ``track_confusion`` (lists of lists, rows true).
    """
    rows = np.asarray(rows, dtype=np.int64)
    labels = _row_labels(cache, rows)
    probs = model.predict(segment_dataset(cache, rows, labels, batch_size=batch_size), verbose=0)
    seg_pred = probs.argmax(axis=1)
    tracks, track_pred = vote_tracks(probs, _row_tracks(cache, rows))
    track_true = cache.labels[tracks]
    return {
        "segment_accuracy": float(np.mean(seg_pred == labels)) if len(rows) else float("nan"),
        "track_accuracy": float(np.mean(track_pred == track_true)) if len(tracks) else float("nan"),
        "n_segments": int(len(rows)), "n_tracks": int(len(tracks)),
        "segment_confusion": confusion_matrix(labels, seg_pred).tolist(),
        "track_confusion": confusion_matrix(track_true, track_pred).tolist(),
    }


# --------------------------------------------------------------------------------------
# Figures (matplotlib's object API, no pyplot: no backend is chosen or changed)


def plot_confusion(cm, *, genres=GENRES, title: str = "Confusion matrix"):
    """Confusion matrix as a figure; ``cm`` shape (n, n), rows true, columns predicted."""
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), genres)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=8)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_learning_curves(history: dict):
    """Loss and accuracy per epoch, train and validation, with the learning rate."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    # Markers: a run of one epoch is a single point, which a line alone does not draw.
    for key, style in (("loss", "o-"), ("val_loss", "s--")):
        if key in history:
            ax_loss.plot(epochs, history[key], style, label=key, ms=4)
    for key, style in (("accuracy", "o-"), ("val_accuracy", "s--")):
        if key in history:
            ax_acc.plot(epochs, history[key], style, label=key, ms=4)
    ax_acc.axhline(1 / len(GENRES), color="grey", lw=0.8, ls=":", label="chance")
    if "learning_rate" in history:
        ax_lr = ax_acc.twinx()
        ax_lr.plot(epochs, history["learning_rate"], color="grey", lw=0.8, label="learning rate")
        ax_lr.set_yscale("log")
        ax_lr.set_ylabel("learning rate")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (per segment)", title="Accuracy", ylim=(0, 1.02))
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.legend()
    ax_acc.legend(loc="center right")
    return fig


# --------------------------------------------------------------------------------------
# Training


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        if not overwrite:
            raise OutputExistsError(f"{out_dir}: already exists; pass --overwrite (overwrite=True) to replace it, "
                                    f"or choose another --out folder.")
        if out_dir.is_dir():
            shutil.rmtree(out_dir)
        else:
            out_dir.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)



def train(data_dir, out_dir, *, epochs: int = 30, batch_size: int = 32, learning_rate: float = 1e-3,
          micro_batch_size: int | None = None, split="track", val_fraction: float = 0.2,
          test_fraction: float = 0.0, seed: int = 0, analysis: AnalysisConfig = AnalysisConfig(), cache_dir=None, verify_cache: str = "sample",
          overwrite: bool = False, verbose: int = 1) -> TrainResult:
    """Train the genre CNN on a GTZAN-shaped dataset folder.

    Parameters
    ----------
    data_dir : str or Path
        GTZAN (Kaggle or Marsyas layout) or a generated miniature.
    out_dir : str or Path
        Folder for weights, model card, log and figures; must not exist (or be empty)
        unless ``overwrite``.
    epochs, batch_size, learning_rate
        The original's 30, 32, 1e-3 by default.
    micro_batch_size : int or None
        Run each batch as ``batch_size / micro_batch_size`` smaller passes and apply their
        averaged gradient once (Keras' gradient accumulation): the optimiser still steps on
        ``batch_size`` segments, but memory falls with the micro-batch. At 384 x 431 the
        network's activations, not the data, set the memory: whole batches of 32 need
        about 3.9 GiB on a CPU, micro-batches of 8 about 1.5 GiB, at about the same
        speed (20-40 segments/s either way on 2 cores). BatchNorm then normalises over the
        micro-batch, a small departure from the original; pass ``micro_batch_size =
        batch_size`` for the original's whole batches. None: the largest divisor of
        ``batch_size`` up to :data:`DEFAULT_MICRO_BATCH`.
    split : {"track", "segment"} or path
        See :func:`make_split`. ``"segment"`` is the original's LEAKY split.
    val_fraction, test_fraction : float
        For the generated splits.
    seed : int
        Seeds the split, the shuffling, weight init and dropout.
    analysis : AnalysisConfig
        Feature settings (the shared defaults are the classifier's).
    cache_dir : str, Path or None
        Where feature caches live; default ``DATA_DIR/.amnst_cache`` (or ~/.cache/amnst).
    verify_cache : {"sample", "full", "none"}
    overwrite : bool
    verbose : int
        0 silent, 1 progress bars and a summary.

    Returns
    -------
    TrainResult
    """
    import keras

    from .model import build_genre_cnn, count_params, load_weights, save_weights

    if not (isinstance(epochs, int) and epochs >= 1):
        raise ParameterError(f"epochs must be an integer >= 1, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    micro = (max(d for d in range(1, min(batch_size, DEFAULT_MICRO_BATCH) + 1) if batch_size % d == 0)
             if micro_batch_size is None else micro_batch_size)
    if not (isinstance(micro, int) and 1 <= micro <= batch_size and batch_size % micro == 0):
        raise ParameterError(f"micro_batch_size must divide batch_size ({batch_size}), got {micro_batch_size!r}")
    if not (0 < val_fraction < 1):
        raise ParameterError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if split not in ("track", "segment") and not Path(split).is_file():
        raise DatasetError(f"--split {split!r}: use 'track' (fair, default), 'segment' (the original's, leaky) "
                           f"or the path of a CSV split file; no such file.")
    out_dir = Path(out_dir)
    t0 = time.time()
    dataset = find_tracks(data_dir)
    # Fail on an existing output folder before the (possibly long) feature extraction.
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not overwrite:
        raise OutputExistsError(f"{out_dir}: already exists; pass --overwrite (overwrite=True) to replace it, "
                                f"or choose another --out folder.")
    cache = build_cache(dataset, cache_dir, analysis, verify=verify_cache, progress=verbose > 0)
    t_features = time.time() - t0
    parts = make_split(cache, split, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                       dataset=dataset)
    rows = parts["rows"]
    if len(rows["train"]) == 0 or len(rows["val"]) == 0:
        raise DatasetError(f"the split leaves {len(rows['train'])} training and {len(rows['val'])} validation "
                           f"segments; both must be non-empty (more tracks or another split are needed).")
    _prepare_out_dir(out_dir, overwrite)
    if parts["mode"] != "segment":
        write_split_file(parts["tracks"], out_dir / "split.csv")

    keras.utils.set_random_seed(seed)
    model = build_genre_cnn(analysis.input_shape, n_classes=len(GENRES), seed=seed)
    accumulate = batch_size // micro
    optimizer = (keras.optimizers.Adam(learning_rate, gradient_accumulation_steps=accumulate) if accumulate > 1
                 else keras.optimizers.Adam(learning_rate))
    model.compile(optimizer=optimizer, loss="categorical_crossentropy",
                  metrics=["accuracy"])
    train_ds = segment_dataset(cache, rows["train"], _row_labels(cache, rows["train"]), batch_size=micro,
                               shuffle=True, seed=seed)
    val_ds = segment_dataset(cache, rows["val"], _row_labels(cache, rows["val"]), batch_size=micro)
    best_path = out_dir / "checkpoint" / "best.weights.h5"
    best_path.parent.mkdir()
    rl = ORIGINAL_RECIPE["reduce_lr"]
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor=rl["monitor"], factor=rl["factor"], patience=rl["patience"],
                                          min_delta=rl["min_delta"], mode="max", verbose=int(verbose > 0)),
        keras.callbacks.ModelCheckpoint(str(best_path), monitor="val_accuracy", mode="max", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.CSVLogger(str(out_dir / LOG_FILE)),
    ]
    t1 = time.time()
    fit = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks,
                    shuffle=False,  # segment_dataset reshuffles every epoch itself
                    verbose=1 if verbose > 0 else 0)
    t_train = time.time() - t1
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    best_epoch = int(np.argmax(history["val_accuracy"])) + 1
    load_weights(model, best_path)
    weights_path = save_weights(model, out_dir / WEIGHTS_FILE)
    shutil.rmtree(best_path.parent)

    results = {s: evaluate(model, cache, r, batch_size=micro) for s, r in rows.items() if len(r)}
    report = "test" if "test" in results else "val"
    fig = plot_confusion(results[report]["track_confusion"],
                         title=f"{report} tracks (vote of segments): accuracy {results[report]['track_accuracy']:.3f}")
    fig.savefig(out_dir / "confusion_matrix.png", dpi=120)
    fig = plot_confusion(results[report]["segment_confusion"],
                         title=f"{report} segments: accuracy {results[report]['segment_accuracy']:.3f}")
    fig.savefig(out_dir / "confusion_matrix_segments.png", dpi=120)
    plot_learning_curves(history).savefig(out_dir / "learning_curves.png", dpi=120)

    split_card = {k: v for k, v in parts.items() if k not in ("rows", "tracks")}
    split_card["n_tracks"] = {s: len(v) for s, v in parts["tracks"].items()}
    split_card["n_segments"] = {s: int(len(v)) for s, v in rows.items()}
    split_card["split_csv"] = "split.csv" if parts["mode"] != "segment" else None
    card = {
        "model": "genre_cnn (the original AM-NST classifier)",
        "weights": WEIGHTS_FILE,
        "load_with": "amnst_lib.model.load_weights(amnst_lib.model.build_genre_cnn(), path); "
                     "or amnst transfer --weights path",
        "genres": list(GENRES),
        "input_shape": list(analysis.input_shape),
        "parameters": count_params(model),
        "features": {"analysis": analysis.to_dict(), "track_frames": TRACK_FRAMES,
                     "segments_per_track": SEGMENTS_PER_TRACK, "scale": "magnitude mel, no dB, no normalisation"},
        "training": {"optimizer": "adam", "learning_rate": learning_rate, "batch_size": batch_size,
                     "micro_batch_size": micro,
                     "epochs": epochs, "epochs_run": len(history["loss"]), "best_epoch": best_epoch,
                     "loss": "categorical_crossentropy", "reduce_lr": rl, "checkpoint": "best val_accuracy",
                     "seed": seed, "seconds": round(t_train, 1), "feature_seconds": round(t_features, 1)},
        "split": split_card,
        "data": {"root": str(dataset.root), "layout": dataset.layout, "n_tracks": cache.n_tracks,
                 "fingerprint": data_fingerprint(dataset.tracks), "cache_key": cache.key,
                 "skipped": [str(p) for p, _ in dataset.skipped] + [p for p, _ in cache.skipped]},
        "accuracy": {s: {k: r[k] for k in ("segment_accuracy", "track_accuracy", "n_segments", "n_tracks")}
                     for s, r in results.items()},
        "confusion": {s: {"track": r["track_confusion"], "segment": r["segment_confusion"]} for s, r in results.items()},
        "history": history,
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if parts["leaky"]:
        card["warning"] = ("trained and validated on a SEGMENT split (the original's): validation accuracy is "
                           "inflated by tracks seen in training; do not compare it with track-split figures.")
    write_json(out_dir / CARD_FILE, card)  # NaN (e.g. a diverged epoch's loss) becomes null
    if verbose > 0:
        print(summary(card))
    return TrainResult(out_dir=out_dir, weights_path=weights_path, card=card, history=history)


def summary(card: dict) -> str:
    """A few lines on a model card: split, accuracies, where the weights are."""
    lines = [f"split: {card['split']['mode']}" + (" (LEAKY)" if card["split"].get("leaky") else "")
             + f", tracks {card['split']['n_tracks']}"]
    for subset, acc in card["accuracy"].items():
        lines.append(f"{subset:5s} accuracy: {acc['segment_accuracy']:.3f} per segment ({acc['n_segments']}), "
                     f"{acc['track_accuracy']:.3f} per track ({acc['n_tracks']})")
    lines.append(f"best epoch {card['training']['best_epoch']} of {card['training']['epochs_run']}; "
                 f"weights: {card['weights']}")
    return "\n".join(lines)


if __name__ == "__main__":  # ``python -m amnst_lib.training ...`` is ``amnst train ...``; parsing lives in cli
    from amnst_lib.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
