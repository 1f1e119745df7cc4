"""The genre CNN: exact architecture, layer selection, weight files."""

import numpy as np
import pytest

from amnst_lib.errors import LayerError, WeightsError
from amnst_lib.model import (FEATURE_LAYERS, build_genre_cnn, count_params, feature_extractor, load_weights,
                             resolve_layer, resolve_layers, save_original_format, save_weights)

# Output shapes from the original README's table (batch axis dropped).
EXPECTED_SHAPES = {
    "identity": (384, 431, 1), "batchnorm1": (384, 431, 1),
    "conv1": (383, 430, 32), "pool1": (192, 215, 32), "conv2": (191, 214, 32), "pool2": (96, 107, 32),
    "conv3": (95, 106, 32), "pool3": (48, 53, 32), "conv4": (47, 52, 32), "pool4": (24, 26, 32),
    "conv5": (23, 25, 32), "pool5": (12, 13, 32), "conv6": (11, 12, 32), "pool6": (6, 6, 32),
    "conv7": (5, 5, 32), "pool7": (5, 5, 32), "conv8": (4, 4, 32), "pool8": (4, 4, 32),
    "batchnorm2": (4, 4, 32), "dropout": (4, 4, 32), "flatten": (512,), "dense1": (64,), "dense2": (10,),
}
EXPECTED_PARAMS = {"batchnorm1": 4, "conv1": 160, **{f"conv{i}": 4128 for i in range(2, 9)},
                   "batchnorm2": 128, "dense1": 32832, "dense2": 650}


def test_parameter_counts(net):
    assert count_params(net) == {"total": 62670, "trainable": 62604, "non_trainable": 66}


def test_every_layer_shape_and_params(net):
    layers = [l for l in net.layers if l.name != "mel"]
    assert [l.name for l in layers] == list(EXPECTED_SHAPES)
    for layer in layers:
        assert tuple(layer.output.shape[1:]) == EXPECTED_SHAPES[layer.name], layer.name
        assert layer.count_params() == EXPECTED_PARAMS.get(layer.name, 0), layer.name


def test_pools_7_and_8_have_stride_one(net):
    assert net.get_layer("pool6").strides == (2, 2)
    assert net.get_layer("pool7").strides == (1, 1)
    assert net.get_layer("pool8").strides == (1, 1)


def test_layers_by_original_index_and_name():
    assert FEATURE_LAYERS[0] == "identity" and FEATURE_LAYERS[1] == "batchnorm1"
    assert [resolve_layer(i) for i in (0, 2, 4, 8, 12, 16, 17)] == [
        "identity", "conv1", "conv2", "conv4", "conv6", "conv8", "pool8"]
    assert resolve_layer("3") == "pool1" and resolve_layer("Conv2") == "conv2"
    assert resolve_layers("0, 2") == ("identity", "conv1")
    assert resolve_layers([4, "conv2", 8]) == ("conv2", "conv4")


@pytest.mark.parametrize("bad", ["conv9", 18, -1, "dense1", "", True])
def test_bad_layer_names_are_rejected_with_the_valid_list(bad):
    with pytest.raises(LayerError, match="valid: 0=identity"):
        resolve_layer(bad)


def test_feature_extractor_outputs(net):
    fx = feature_extractor(net, [0, "conv8"])
    out = fx(np.zeros((2, 384, 431, 1), np.float32))
    assert [tuple(o.shape) for o in out] == [(2, 384, 431, 1), (2, 4, 4, 32)]


def test_seeded_random_weights_are_reproducible():
    a, b, c = build_genre_cnn(seed=3), build_genre_cnn(seed=3), build_genre_cnn(seed=4)
    wa, wb, wc = a.get_weights(), b.get_weights(), c.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))
    assert not np.array_equal(wa[4], wc[4])


def _trained_like(seed=7):
    """A network whose weights all differ from the defaults (stand-in for a trained one)."""
    m = build_genre_cnn(seed=seed)
    rng = np.random.default_rng(seed)
    m.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) if i % 4 != 3 else w + 0.5
                   for i, w in enumerate(m.get_weights())])
    return m


def test_original_npy_format_loads_with_identical_predictions(tmp_path):
    src = _trained_like()
    # Written exactly as the original notebooks did: np.save of {index: array}.
    np.save(tmp_path / "weights.npy", {i: w for i, w in enumerate(src.get_weights())})
    dst = build_genre_cnn(seed=0)
    info = load_weights(dst, tmp_path / "weights.npy")
    assert info["format"] == "original-npy"
    x = np.random.default_rng(0).random((2, 384, 431, 1), dtype=np.float32)
    np.testing.assert_array_equal(src.predict(x, verbose=0), dst.predict(x, verbose=0))


def test_keras_format_round_trip(tmp_path):
    src = _trained_like(8)
    path = save_weights(src, tmp_path / "clf.weights.h5")
    dst = build_genre_cnn(seed=1)
    assert load_weights(dst, path)["format"] == "keras"
    x = np.random.default_rng(1).random((1, 384, 431, 1), dtype=np.float32)
    np.testing.assert_array_equal(src.predict(x, verbose=0), dst.predict(x, verbose=0))
    assert save_original_format(src, tmp_path / "orig").name == "orig.npy"


def test_mismatched_shape_names_the_array(tmp_path):
    weights = {i: w for i, w in enumerate(build_genre_cnn().get_weights())}
    weights[5] = np.zeros(64, np.float32)  # conv1 bias with 64 filters
    np.save(tmp_path / "bad.npy", weights)
    with pytest.raises(WeightsError, match=r"array 5 \(conv1 bias\) has shape \(64,\).*expects \(32,\)"):
        load_weights(build_genre_cnn(), tmp_path / "bad.npy")


def test_wrong_count_and_wrong_kind_are_rejected(tmp_path):
    weights = {i: w for i, w in enumerate(build_genre_cnn().get_weights()[:20])}
    np.save(tmp_path / "short.npy", weights)
    with pytest.raises(WeightsError, match="exactly 28 arrays"):
        load_weights(build_genre_cnn(), tmp_path / "short.npy")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(WeightsError, match="expected the original's format"):
        load_weights(build_genre_cnn(), tmp_path / "array.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(WeightsError, match="not a NumPy file"):
        load_weights(build_genre_cnn(), tmp_path / "junk.npy")
    (tmp_path / "w.txt").write_text("hello")
    with pytest.raises(WeightsError, match="unknown weights format"):
        load_weights(build_genre_cnn(), tmp_path / "w.txt")
    with pytest.raises(WeightsError, match="no such weights file"):
        load_weights(build_genre_cnn(), tmp_path / "missing.weights.h5")
    with pytest.raises(WeightsError, match="is a folder; give the weights file in it"):
        load_weights(build_genre_cnn(), tmp_path)


def test_keras_file_for_another_network_is_rejected(tmp_path):
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    other.save_weights(str(tmp_path / "other.weights.h5"))
    with pytest.raises(WeightsError, match="does not fit this network"):
        load_weights(build_genre_cnn(), tmp_path / "other.weights.h5")
