"""The genre-classification CNN whose layers give the style transfer its features.

:func:`build_genre_cnn` reproduces the original network exactly (62,670 parameters,
62,604 trainable): Identity -> BatchNorm -> 6 x [Conv 2x2 -> MaxPool 2x2 stride 2] ->
2 x [Conv 2x2 -> MaxPool 2x2 stride 1] -> BatchNorm -> Dropout 0.3 -> Flatten -> Dense 64
-> Dense 10. (The original README's table says every pool has stride 2; pools 7 and 8
have stride 1, as its own shapes show.) Layers have stable names; the original picked
them by index into its Sequential model, which :data:`FEATURE_LAYERS` keeps:
0 identity, 1 batchnorm1, 2 conv1, 3 pool1, 4 conv2, ..., 16 conv8, 17 pool8.

Weights load from Keras' own format (``.weights.h5``) or from the original notebooks'
``np.save`` of a dict of the 28 arrays of ``get_weights()``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras  # noqa: E402

from .errors import LayerError, WeightsError  # noqa: E402

from .dataset import GENRES  # noqa: E402,F401  (the original's label order, defined once)

#: Feature layers in the original's index order (index i = FEATURE_LAYERS[i]).
FEATURE_LAYERS = ("identity", "batchnorm1") + tuple(
    name for i in range(1, 9) for name in (f"conv{i}", f"pool{i}"))

#: Number of arrays in ``get_weights()`` (the original's saved dict has keys 0..27).
N_WEIGHT_ARRAYS = 28


def _weight_labels() -> list[str]:
    labels = [f"batchnorm1 {w}" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    for i in range(1, 9):
        labels += [f"conv{i} kernel", f"conv{i} bias"]
    labels += [f"batchnorm2 {w}" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    labels += ["dense1 kernel", "dense1 bias", "dense2 kernel", "dense2 bias"]
    return labels


WEIGHT_LABELS = tuple(_weight_labels())


def build_genre_cnn(input_shape=(384, 431, 1), n_classes: int = 10, seed: int | None = 0) -> keras.Model:
    """Build the original genre-classification CNN.

    Parameters
    ----------
    input_shape : tuple of int
        (n_mels, frames, 1); the original's is (384, 431, 1).
    n_classes : int
        Output classes (10 GTZAN genres).
    seed : int or None
        Seed of the weight initialisers, so an untrained network is reproducible.

    Returns
    -------
    model : keras.Model
        Uncompiled functional model named ``genre_cnn``.
    """
    def init(offset: int):
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + offset)

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="mel")
    x = layers.Identity(name="identity")(inputs)
    x = layers.BatchNormalization(name="batchnorm1")(x)
    for i in range(1, 9):
        x = layers.Conv2D(32, (2, 2), activation="relu", padding="valid",
                          kernel_initializer=init(i), name=f"conv{i}")(x)
        stride = (2, 2) if i <= 6 else (1, 1)
        x = layers.MaxPooling2D((2, 2), strides=stride, padding="same", name=f"pool{i}")(x)
    x = layers.BatchNormalization(name="batchnorm2")(x)
    x = layers.Dropout(0.3, seed=seed, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", kernel_initializer=init(20), name="dense1")(x)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_initializer=init(21), name="dense2")(x)
    return keras.Model(inputs, outputs, name="genre_cnn")


def resolve_layer(spec) -> str:
    """Name of a feature layer given by name (``"conv1"``) or original index (``2``, ``"2"``).

    Raises
    ------
    LayerError
        If ``spec`` names no feature layer; the message lists the valid ones.
    """
    valid = ", ".join(f"{i}={n}" for i, n in enumerate(FEATURE_LAYERS))
    if isinstance(spec, (bool, np.bool_)):
        raise LayerError(f"layer {spec!r} is not a layer name or index; valid: {valid}")
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().lstrip("-").isdigit()):
        index = int(spec)
        if 0 <= index < len(FEATURE_LAYERS):
            return FEATURE_LAYERS[index]
        raise LayerError(f"layer index {index} is out of range; valid: {valid}")
    if isinstance(spec, str) and spec.strip().lower() in FEATURE_LAYERS:
        return spec.strip().lower()
    raise LayerError(f"unknown layer {spec!r}; valid: {valid}")


def resolve_layers(specs) -> tuple[str, ...]:
    """Resolve several layer specs (names, indices, or one comma-separated string)."""
    if isinstance(specs, str):
        specs = [s for s in specs.replace(" ", ",").split(",") if s]
    names = tuple(resolve_layer(s) for s in specs)
    return tuple(dict.fromkeys(names))  # drop repeats, keep order


def feature_extractor(model: keras.Model, layer_names) -> keras.Model:
    """A model mapping the classifier's input to the outputs of ``layer_names``.

    Returns
    -------
    keras.Model
        Called on (batch, n_mels, frames, 1), returns a list, one (batch, h, w, c) tensor
        per layer, in the order given.
    """
    names = resolve_layers(layer_names)
    outputs = [model.get_layer(n).output for n in names]
    return keras.Model(model.inputs, outputs, name="features")


def save_weights(model: keras.Model, path) -> Path:
    """Save weights in Keras' format; ``path`` must end in ``.weights.h5``."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise WeightsError(f"{path}: Keras weight files must end in '.weights.h5'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(path))
    return path


def save_original_format(model: keras.Model, path) -> Path:
    """Save weights as the original notebooks did: ``np.save`` of {i: array} (28 arrays)."""
    path = Path(path)
    np.save(path, {i: w for i, w in enumerate(model.get_weights())}, allow_pickle=True)
    return path if path.suffix == ".npy" else path.with_name(path.name + ".npy")


def _load_original(model: keras.Model, path: Path) -> None:
    try:
        # The original format is a pickled dict: only load files you trust.
        obj = np.load(path, allow_pickle=True)
    except Exception as e:
        raise WeightsError(f"{path}: not a NumPy file ({type(e).__name__}: {e}).") from None
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        raise WeightsError(
            f"{path}: expected the original's format, an np.save'd dict {{0: array, ..., 27: array}}, "
            f"found {type(obj).__name__}.")
    expected = [w.shape for w in model.get_weights()]
    keys = sorted(obj, key=lambda k: int(k)) if all(str(k).isdigit() for k in obj) else None
    if keys is None or [int(k) for k in keys] != list(range(len(expected))):
        raise WeightsError(
            f"{path}: has keys {sorted(map(str, obj))[:10]}{'...' if len(obj) > 10 else ''}; the network "
            f"needs exactly {len(expected)} arrays keyed 0..{len(expected) - 1} (is this a weights file "
            f"for this architecture?).")
    arrays = [np.asarray(obj[k]) for k in keys]
    for i, (a, shape) in enumerate(zip(arrays, expected)):
        if a.shape != shape:
            raise WeightsError(
                f"{path}: array {i} ({WEIGHT_LABELS[i]}) has shape {a.shape}, the network expects "
                f"{shape}. The file was made for a different architecture or input size.")
    model.set_weights(arrays)


def _check_finite(model: keras.Model, path: Path) -> None:
    """Refuse weights holding NaN or infinite values (a diverged training), naming the file."""
    bad = [i for i, w in enumerate(model.get_weights()) if not np.all(np.isfinite(w))]
    if bad:
        where = ", ".join(WEIGHT_LABELS[i] if i < len(WEIGHT_LABELS) else f"array {i}" for i in bad[:3])
        raise WeightsError(
            f"{path}: holds NaN or infinite values ({len(bad)} of {len(model.get_weights())} arrays, e.g. "
            f"{where}); the training that wrote it diverged. Use another weights file or train again.")


def load_weights(model: keras.Model, path) -> dict:
    """Load trained weights into ``model`` from either supported format.

    Parameters
    ----------
    model : keras.Model
        A network from :func:`build_genre_cnn`.
    path : str or Path
        ``*.weights.h5`` / ``*.keras`` (Keras) or ``*.npy`` (the original's dict format).

    Returns
    -------
    info : dict
        ``{"path": str, "format": "keras" | "original-npy"}``.

    Raises
    ------
    WeightsError
        Missing file, unknown format, arrays that do not fit (the message names which), or
        non-finite values.
    """
    path = Path(path)
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder; give the weights file in it (.weights.h5, or the original's .npy).")
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file.")
    name = path.name.lower()
    if name.endswith(".npy"):
        _load_original(model, path)
        _check_finite(model, path)
        return {"path": str(path), "format": "original-npy"}
    if name.endswith(".weights.h5") or name.endswith(".keras") or name.endswith(".h5"):
        try:
            with warnings.catch_warnings():
                # Keras only WARNS when parts of a file do not match and keeps fresh
                # weights there: for us that is a wrong file, not a partial success.
                warnings.simplefilter("error")
                model.load_weights(str(path))
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WeightsError(f"{path}: does not fit this network ({first}).") from None
        _check_finite(model, path)
        return {"path": str(path), "format": "keras"}
    raise WeightsError(
        f"{path}: unknown weights format; use a Keras '.weights.h5' file or the original's '.npy'.")


def count_params(model: keras.Model) -> dict:
    """Total, trainable and non-trainable parameter counts."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}
